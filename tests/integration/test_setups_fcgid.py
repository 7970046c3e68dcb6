"""The Apache + mod_fcgid set-up itself (TB_SETUP=apache-fcgid: conf/apache/teamboard.conf, run
by the harness inside a Debian-like Apache): two process classes, the configuration from the
class's InitialEnv, no buffering and no compression of event streams, and a vanished client's
worker freed by the second heartbeat write (mod_fcgid notices a gone client one write later
than lighttpd)."""

import json
import os
import time

import pytest

import tbclient as tb
import tbsse


@pytest.fixture(autouse=True)
def only_apache_fcgid(server):
    if server.setup != "apache-fcgid":
        pytest.skip("the session's web host is %s, not apache-fcgid" % server.setup)


def exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


def fcgid_processes(server, name):
    path = os.path.join(server.state_dir, "fcgi-bin", name)
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and exe(int(p)) == path]


@pytest.fixture
def board(server):
    user = tb.new_user(server)
    b = tb.create_board(server, user)["id"]
    yield user, b
    tbsse.release(server, [b], timeout=tb.seconds(20))


def test_streams_and_rest_calls_run_in_two_classes(server, board):
    user, b = board
    with tbsse.Stream(server, b, user.token) as s:
        s.wait_event("hello", tb.seconds(15))
        pid = tbsse.registry(server, [b])[0][2]
        assert exe(pid) == os.path.join(server.state_dir, "fcgi-bin", "teamboard-stream.fcgi")
        # REST calls are served meanwhile, by the other copy
        tb.assert_status(tb.request(server, "GET", "/boards/%d" % b, token=user.token), 200)
        assert fcgid_processes(server, "teamboard.fcgi")
        assert pid not in fcgid_processes(server, "teamboard.fcgi")


def test_programs_get_the_config_from_the_class_initialenv(server, board):
    # The harness starts Apache without TEAMBOARD_CONF: the virtual host passes it.
    procs = fcgid_processes(server, "teamboard.fcgi")
    assert procs
    for pid in procs:
        assert environ(pid).get(b"TEAMBOARD_CONF") == server.config_file.encode()


def test_event_streams_are_neither_buffered_nor_compressed(server, board):
    user, b = board
    # mod_deflate is on (Debian's default) and compresses the page ...
    page = tb.request(server, "GET", "/", api=False, timeout=10,
                      headers={"Accept": None, "Accept-Encoding": "gzip"})
    page_encoding = page.header("Content-Encoding")
    assert page_encoding == "gzip"
    # ... but not an event stream, and every event arrives at once.
    with tbsse.Stream(server, b, user.token, headers={"Accept-Encoding": "gzip"}) as s:
        s.wait_event("hello", tb.seconds(5))
        assert s.t_head - s.t_open < tb.seconds(2)
        assert "content-encoding" not in s.headers, s.headers
        for k in range(3):
            mark = len(s.events)
            t = time.monotonic()
            tb.create_item(server, user, b, text="n%d" % k)
            ev = s.wait_event("item.created", tb.seconds(5), after=mark)
            assert ev.t - t < tb.seconds(1.0)


def test_a_vanished_client_frees_its_worker_by_the_second_heartbeat(server, board):
    user, b = board
    s = tbsse.Stream(server, b, user.token)
    s.wait_event("hello", tb.seconds(15))
    assert len(tbsse.registry(server, [b])) == 1
    s.close()
    time.sleep(0.3)
    needed = None
    for k in range(1, 6):
        server.sql("SELECT pg_notify(%s, %s)", ("board_%d" % b, json.dumps({"type": "hb"})))
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and tbsse.registry(server, [b]):
            time.sleep(0.01)
        if not tbsse.registry(server, [b]):
            needed = k
            break
    print("apache-fcgid: heartbeats until the worker was free: %s" % needed)
    assert needed is not None and needed <= 2, needed
