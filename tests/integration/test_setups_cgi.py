"""The plain CGI set-up itself (TB_SETUP=apache-cgi): the shared-hosting web space on a host
without mod_fcgid, so Apache (mod_cgid) runs teamboard-bin/'s scripts as CGI programs: one process
per request and one per open stream. Events are not held back by Apache, and a stream's process
ends when its client has gone."""

import json
import time

import pytest

import tbclient as tb
import tbsse


@pytest.fixture(autouse=True)
def only_cgi(server):
    if server.setup != "apache-cgi":
        pytest.skip("the session's web host is %s, not apache-cgi" % server.setup)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_each_stream_is_a_process_of_its_own_and_ends_with_its_client(server):
    user = tb.new_user(server)
    b = tb.create_board(server, user)["id"]
    streams = []
    try:
        for _ in range(2):
            streams.append(tbsse.Stream(server, b, user.token))
            streams[-1].wait_event("hello", tb.seconds(15))
        pids = sorted(r[2] for r in tbsse.registry(server, [b]))
        assert len(set(pids)) == 2 and all(alive(p) for p in pids), pids
        # events arrive at once: Apache passes CGI output on as it comes
        for k in range(3):
            marks = [len(s.events) for s in streams]
            t = time.monotonic()
            tb.create_item(server, user, b, text="n%d" % k)
            for s, m in zip(streams, marks):
                ev = s.wait_event("item.created", tb.seconds(5), after=m)
                assert ev.t - t < tb.seconds(1.0)
        # one client goes: its process ends at a heartbeat, the other stream lives on
        gone = streams.pop(0)
        gone_pid = tbsse.registry(server, [b])[0][2]  # the first row: the first stream opened
        gone.close()
        deadline = time.monotonic() + tb.seconds(20)
        while time.monotonic() < deadline and alive(gone_pid):
            server.sql("SELECT pg_notify(%s, %s)", ("board_%d" % b, json.dumps({"type": "hb"})))
            time.sleep(0.3)
        assert not alive(gone_pid)
        rows = tbsse.registry(server, [b])
        assert len(rows) == 1 and rows[0][2] != gone_pid, rows
        mark = len(streams[0].events)
        tb.create_item(server, user, b, text="still there")
        streams[0].wait_event("item.created", tb.seconds(5), after=mark)
    finally:
        for s in streams:
            s.close()
        tbsse.release(server, [b], timeout=tb.seconds(20))
