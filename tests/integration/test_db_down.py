"""The database goes away and comes back: workers answer 503 db_unavailable meanwhile, stay up, and
reconnect by themselves."""

import time

import pytest

import tbclient as tb
from tbsse import streams  # noqa: F401  (fixture)
from tbfixture import server_in_both_modes  # noqa: F401  (`server` in both stream modes)

RECOVERY_SECONDS = tb.seconds(30)


@pytest.mark.same_in_both_modes("REST requests only: the REST pool is the same in both modes")
def test_database_down_then_back(server):
    user = tb.new_user(server, "dbdown")
    board = tb.create_board(server, user)
    server.stop_db()
    try:
        # Enough requests that every worker has tried its broken connection at least once.
        for _ in range(12):
            resp = tb.request(server, "GET", "/health", timeout=tb.seconds(15))
            tb.assert_error(resp, 503, "db_unavailable")
            assert resp.elapsed < tb.seconds(10), "503 took %.1f s" % resp.elapsed
        resp = tb.request(server, "GET", "/boards/%d" % board["id"], token=user.token, timeout=tb.seconds(15))
        tb.assert_error(resp, 503, "db_unavailable")
        resp = tb.request(server, "GET", "/me", cookie=user.cookie, timeout=tb.seconds(15))
        tb.assert_error(resp, 503, "db_unavailable")
        resp = tb.request(server, "POST", "/boards", {"title": "while down"}, token=user.token, timeout=tb.seconds(15))
        tb.assert_error(resp, 503, "db_unavailable")
        resp = tb.request(server, "POST", "/sessions", {"name": user.name, "password": user.password},
                          timeout=tb.seconds(15))
        tb.assert_error(resp, 503, "db_unavailable")
        # Routing needs no database: an unknown path is still 404, a wrong method still 405.
        tb.assert_error(tb.request(server, "GET", "/no-such-thing", timeout=tb.seconds(15)), 404, "not_found")
        tb.assert_error(tb.request(server, "PUT", "/boards", raw=b"{}", timeout=tb.seconds(15)), 405,
                        "method_not_allowed")
    finally:
        server.start_db()

    def healthy():
        resp = tb.request(server, "GET", "/health", timeout=tb.seconds(10))
        return resp.status == 200
    started = time.monotonic()
    assert tb.wait_for(healthy, timeout=RECOVERY_SECONDS, interval=0.5), \
        "/health not 200 within %.0f s of the database's return" % RECOVERY_SECONDS
    # Every worker reconnects, not just one: a run of requests all succeed (bounded retries while the
    # last workers reconnect, at most once a second each).
    deadline = started + RECOVERY_SECONDS

    def all_ok():
        for _ in range(20):
            resp = tb.request(server, "GET", "/boards/%d" % board["id"], token=user.token, timeout=tb.seconds(10))
            if resp.status != 200:
                return False
        return True
    assert tb.wait_for(all_ok, timeout=max(1.0, deadline - time.monotonic()), interval=1.0), \
        "not every worker reconnected"
    # The session survived; writes work again, and nothing was written while the database was down.
    titles = [b["title"] for b in tb.assert_status(tb.request(server, "GET", "/boards", token=user.token),
                                                   200)["boards"]]
    assert "while down" not in titles
    tb.assert_status(tb.request(server, "POST", "/boards", {"title": "after"}, token=user.token), 201)
    tb.assert_status(tb.request(server, "GET", "/me", cookie=user.cookie), 200)


def test_a_quick_restart_costs_no_request(server, streams):
    """PostgreSQL restarted while nobody asked anything (a package upgrade at night): every
    connection the processes hold is dead, and each finds out before it sends its next query, so
    no request fails for it. (A closed connection's goodbye takes two reads to show: the
    server's FATAL message, then the end of the connection. Each process's first query after the
    restart used to be sent on the dead connection and answered 503 db_unavailable.)"""
    user = tb.new_user(server, "quick")
    bid = tb.create_board(server, user)["id"]
    # Connections everywhere: the REST workers', and those of the stream holders (several open at
    # once, so several stream workers, or both host processes' pools).
    for _ in range(8):
        tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=user.token), 200)
    held = [streams.open(bid, user) for _ in range(4)]
    for c in held:
        c.close()
    streams.close_all()
    server.stop_db()
    server.start_db()  # (it waits for /health: one REST worker has then reconnected)
    again = []
    for _ in range(4):
        c = streams.client(bid, token=user.token)
        c.connect()
        again.append(c)
    assert [c.status for c in again] == [200] * 4, [(c.status, c.body) for c in again]
    for _ in range(12):
        tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=user.token), 200)
