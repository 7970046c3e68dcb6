"""Several stream host processes on one socket (issue 13, host mode only): tbenv creates the
listening socket and starts TB_STREAM_HOSTS (2) teamboard-streamhost processes with --fd, as
systemd does with conf/systemd/teamboard-streamhost.socket. Both accept on it (EPOLLEXCLUSIVE),
a change reaches the streams of both, and when one is killed with SIGKILL its clients reconnect
to the other and resume with Last-Event-ID without loss; the supervisor deletes its registry rows.

Runs against the host-mode environment of the lighttpd suite (tbfixture.host_mode_server), or
the session's when the whole run is TB_STREAM_MODE=host; behind Apache there is no stream host.
"""

import os
import signal
import time

import pytest

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)


@pytest.fixture(name="server")
def hosts(request, server):
    if server.stream_mode == "host":
        env = server
    elif server.setup == "lighttpd":  # also under TB_BOTH_STREAM_MODES=0: this is host mode's test
        env = request.getfixturevalue("host_mode_server")
    else:
        pytest.skip("no stream host in the %s set-up" % server.setup)
    if len(env.stream_host_pids()) < 2:
        pytest.skip("needs TB_STREAM_HOSTS >= 2")
    return env


def holders(server, bid):
    """{pid of the stream host: number of registry rows} for the board."""
    out = {}
    for row in sse.registry_rows(server, [bid]):
        out[row[4]] = out.get(row[4], 0) + 1
    return out


def open_on_both(server, streams, bid, user):
    """Four streams on the board, held by both host processes. An idle process waiting in
    epoll_wait takes every connection (EPOLLEXCLUSIVE wakes the first waiter), so the holder of
    the first two is stopped (SIGSTOP) while the next two open: they must go to the other one.
    When it continues, the socket it was woken for is already taken: its accept must not block
    (an inherited socket is blocking until teamboard-streamhost makes it non-blocking)."""
    clients = [streams.open(bid, user, last_event_id=0) for _ in range(2)]
    first = set(holders(server, bid))
    assert len(first) == 1 or first == set(server.stream_host_pids()), first
    busy = first.pop()
    os.kill(busy, signal.SIGSTOP)
    try:
        clients += [streams.open(bid, user, last_event_id=0) for _ in range(2)]
    finally:
        os.kill(busy, signal.SIGCONT)
    assert set(holders(server, bid)) == set(server.stream_host_pids()), holders(server, bid)
    return clients


def test_two_hosts_on_one_socket_each_serve_streams(server, streams):
    owner = tb.new_user(server, "twohost")
    bid = tb.create_board(server, owner)["id"]
    clients = open_on_both(server, streams, bid, owner)
    item = tb.create_item(server, owner, bid, text="to both")
    seq = sse.log_seqs(server, bid)[-1]
    for c in clients:
        ev = c.wait_seq(seq, timeout=10)
        assert ev.type == "item.created" and ev.json["item"]["id"] == item["id"], c.describe()


def test_sigkill_of_a_host_its_clients_resume_on_the_other(server, streams):
    owner = tb.new_user(server, "hostkill")
    bid = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, bid, text="before")
    clients = open_on_both(server, streams, bid, owner)
    for c in clients:
        c.wait_seq(1, timeout=10)
    held = holders(server, bid)
    victim = max(held, key=held.get)
    survivor = [p for p in server.stream_host_pids() if p != victim][0]
    try:
        os.kill(victim, signal.SIGKILL)
        tb.create_item(server, owner, bid, text="while it dies")
        assert tb.wait_for(lambda: sum(c.ended for c in clients) >= held[victim], timeout=10), \
            "%d of the killed host's %d clients saw their stream end" % (
                sum(c.ended for c in clients), held[victim])
        time.sleep(0.5)  # no more end than the killed host's
        ended = [c for c in clients if c.ended]
        assert len(ended) == held[victim], [c.describe() for c in ended]
        resumed = [(c.seqs(), streams.open(bid, owner, last_event_id=int(c.last_id)))
                   for c in ended]
        tb.create_item(server, owner, bid, text="after")
        log = sse.log_seqs(server, bid)
        assert log == [1, 2, 3], log
        for received, c in resumed:
            c.wait_seq(log[-1], timeout=10)
            assert received + c.seqs() == log, (received, c.describe())
        for c in clients:
            if not c.ended:
                c.wait_seq(log[-1], timeout=10)
                assert c.seqs() == log, c.describe()
        # The dead process's rows stay until the supervisor deletes them: their backend (the
        # killed host's pool connection) is gone.
        assert holders(server, bid) == {victim: held[victim], survivor: len(clients)}, \
            holders(server, bid)
        assert server.supervisor_once().returncode in (0, 3)  # 3: a running one leads
        assert tb.wait_for(lambda: not [r for r in sse.registry_rows(server) if r[4] == victim],
                           timeout=10), sse.registry_rows(server)
        assert holders(server, bid) == {survivor: len(clients)}, holders(server, bid)
    finally:
        for c in streams.clients:
            c.close()
        server.restart_app()  # the killed host back, for the next tests
