"""The life of a stream holder (docs/events-contract.txt): a vanished client
frees its worker, `revoked` when access goes (member removed, also a board's creator, or while the
stream opens; board deleted; session logged out or expired), PostgreSQL restarted
under open streams, the max_streams limits (503 + Retry-After, REST still served), the holder's own
keep-alive and its answer to a heartbeat NOTIFY, and the metrics.

These tests do not run the supervisor: where one would send a heartbeat NOTIFY, sse.poke() sends
the same NOTIFY ({"type":"hb"} on board_<id>). Tests that change the configuration restore it in
`finally` (server.restart_app() with no overrides).
"""

import re
import threading
import time

import pytest

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)
from tbfixture import server_in_both_modes  # noqa: F401  (`server` in both stream modes)

FREE_TIMEOUT = 30.0  # generous: the speed goal belongs to the benchmark


def team_board(server, prefix, **members):
    owner = tb.new_user(server, prefix)
    team = tb.create_team(server, owner)
    users = {}
    for role, names in members.items():
        for n in names:
            u = tb.new_user(server, "%s%s" % (prefix, n))
            tb.add_member(server, owner, team["id"], u, role)
            users[n] = u
    bid = tb.create_board(server, owner, team_id=team["id"])["id"]
    return owner, team["id"], bid, users


def row_of(server, bid, user):
    rows = [r for r in sse.registry_rows(server, [bid]) if r[2] == user.id]
    assert len(rows) == 1, "registry rows of user %d on board %d: %r" % (user.id, bid, rows)
    return rows[0]


def backend_state(server, backend_pid):
    """(state, query) of a PostgreSQL backend, or None when it is gone."""
    rows = server.sql("SELECT state, query FROM pg_stat_activity WHERE pid = %s", (backend_pid,))
    return rows[0] if rows else None


def wait_freed(server, row_id, backend_pid, timeout=FREE_TIMEOUT, nudge=None):
    """Polls until the registry row is gone and the backend that LISTENed is idle (or gone).
    nudge() is called now and then (e.g. a heartbeat NOTIFY) while waiting."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        row = server.sql("SELECT id FROM teamboard.streams WHERE id = %s", (row_id,))
        st = backend_state(server, backend_pid)
        last = (row, st)
        if not row and (st is None or (st[0] == "idle" and not (st[1] or "").lstrip().upper().startswith("LISTEN"))):
            return
        if nudge is not None:
            nudge()
        time.sleep(0.25)
    raise AssertionError("stream row %d / backend %d not freed within %.0f s: row %r, backend %r"
                         % (row_id, backend_pid, timeout, last[0], last[1]))


# ---- a vanished client frees its worker --------------------------------------------------------

def test_killing_a_client_frees_its_worker(server, streams):
    owner = tb.new_user(server, "kill")
    bid = tb.create_board(server, owner)["id"]
    workers = int(getattr(server, "workers", 4))
    # More cycles than there are workers: a worker that stayed on a dead stream would starve the
    # pool and the last open would time out.
    for i in range(workers + 2):
        c = streams.open(bid, owner)
        row_id, _, _, backend_pid, pid = row_of(server, bid, owner)
        st = backend_state(server, backend_pid)
        assert st is not None, "the registered backend %d does not exist" % backend_pid
        c.close(abrupt=i % 3 != 2)  # mostly a reset (killed browser), sometimes a plain FIN
        if i % 2 == 0:
            # The next write on the board reveals the dead client.
            tb.create_item(server, owner, bid, text="after close %d" % i)
            wait_freed(server, row_id, backend_pid)
        else:
            # A quiet board: a heartbeat NOTIFY (what the supervisor sends) reveals it.
            wait_freed(server, row_id, backend_pid, nudge=lambda: sse.poke(server, bid))
    c = streams.open(bid, owner)
    tb.create_item(server, owner, bid, text="served")
    ev = c.wait_type("item.created")
    assert ev.json["item"]["text"] == "served"


@pytest.mark.needs_stream_worker('a worker serving stream after stream on one LISTEN connection; a host stream is a connection of its own')
def test_a_reused_worker_carries_only_its_new_boards_events(server, streams):
    """A worker that held a stream on board X and later holds one on board Y must not hand Y's
    client anything of X (notifications queued on its connection when X's client went)."""
    owner = tb.new_user(server, "iso")
    x = tb.create_board(server, owner)["id"]
    y = tb.create_board(server, owner)["id"]
    workers = int(getattr(server, "workers", 4))
    for i in range(workers + 1):
        cx = streams.open(x, owner)
        row = row_of(server, x, owner)
        cx.close()
        # A burst on X: the first write reveals the dead client, the rest queue up meanwhile.
        for k in range(5):
            tb.create_item(server, owner, x, text="x%d-%d" % (i, k))
        wait_freed(server, row[0], row[3])
        cy = streams.open(y, owner, last_event_id=(sse.log_seqs(server, y) or [0])[-1])
        tb.create_item(server, owner, y, text="y%d" % i)
        last = sse.log_seqs(server, y)[-1]
        cy.wait_seq(last)
        time.sleep(0.2)
        assert cy.seqs() == [last], cy.describe()
        assert cy.foreign() == [], cy.describe()
        rowy = row_of(server, y, owner)
        cy.close()
        tb.create_item(server, owner, y, text="wake y%d" % i)
        wait_freed(server, rowy[0], rowy[3])


# ---- revoked -----------------------------------------------------------------------------------

def test_removing_a_member_revokes_their_stream(server, streams):
    owner, tid, bid, u = team_board(server, "rev", viewer=["v"], editor=["e"])
    sv = streams.open(bid, u["v"])
    se = streams.open(bid, u["e"])
    so = streams.open(bid, owner)

    # A role change that keeps access does not revoke.
    tb.assert_status(tb.request(server, "PATCH", "/teams/%d/members/%d" % (tid, u["e"].id), {"role": "viewer"},
                                token=owner.token), 200)
    ev = se.wait_type("member.updated")
    assert ev.json["member"]["user_id"] == u["e"].id and ev.json["member"]["role"] == "viewer", ev

    # The admin removes the viewer: its stream gets member.removed, then revoked, then ends.
    tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, u["v"].id),
                                token=owner.token), 204)
    rv = sv.wait_type("revoked", timeout=10)
    assert rv.json == {"reason": "access_removed"}, rv
    assert not rv.explicit_id, rv
    sv.wait_ended(timeout=10)
    assert sv.events[-1] is rv, sv.describe()
    assert [e.type for e in sv.events if e.explicit_id] == ["hello", "member.updated", "member.removed"], \
        sv.describe()
    # The others saw the change and stay.
    for c in (se, so):
        ev = c.wait_type("member.removed")
        assert ev.json["member"]["user_id"] == u["v"].id and ev.json["member"]["role"] is None, ev
    time.sleep(0.5)
    assert not se.typed("revoked") and not so.typed("revoked"), (se.describe(), so.describe())
    assert not se.ended and not so.ended
    # Its registry row is gone and it cannot come back.
    assert tb.wait_for(lambda: not [r for r in sse.registry_rows(server, [bid]) if r[2] == u["v"].id],
                       timeout=10), sse.registry_rows(server, [bid])
    again = streams.client(bid, token=u["v"].token)
    again.connect()
    tb.assert_error(sse.error_response(again), 404, "not_found")

    # A member who leaves by themself is revoked too.
    tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, u["e"].id),
                                token=u["e"].token), 204)
    rv = se.wait_type("revoked", timeout=10)
    assert rv.json == {"reason": "access_removed"}, rv
    se.wait_ended(timeout=10)
    assert not so.typed("revoked") and not so.ended, so.describe()
    # The owner's stream got both removals, in order, once.
    so.wait_seq(sse.log_seqs(server, bid)[-1])
    assert so.seqs() == sse.log_seqs(server, bid), so.describe()


def test_deleting_the_board_revokes_every_stream(server, streams):
    owner, tid, bid, u = team_board(server, "del", viewer=["v"])
    tb.create_item(server, owner, bid, text="x")
    so = streams.open(bid, owner)
    sv = streams.open(bid, u["v"])
    board = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=owner.token), 200)
    tb.assert_status(tb.request(server, "DELETE", "/boards/%d" % bid, token=owner.token), 204)
    for c in (so, sv):
        gone = c.wait_type("board.deleted", timeout=10)
        assert gone.explicit_id and gone.seq == board["last_event_id"] + 1, gone
        d = gone.json
        assert d["type"] == "board.deleted" and d["seq"] == gone.seq and d["board_id"] == bid, d
        assert d["board"] == {"id": bid, "version": board["version"] + 1}, d
        assert d["actor"] == {"id": owner.id, "name": owner.name, "display_name": owner.name}, d
        rv = c.wait_type("revoked", timeout=10)
        assert rv.json == {"reason": "board_deleted"}, rv
        assert rv.index == gone.index + 1, c.describe()
        c.wait_ended(timeout=10)
        assert c.events[-1] is rv, c.describe()
    assert tb.wait_for(lambda: not sse.registry_rows(server, [bid]), timeout=10)
    again = streams.client(bid, token=owner.token)
    again.connect()
    tb.assert_error(sse.error_response(again), 404, "not_found")


@pytest.mark.same_in_both_modes('the REST access rules; its stream part is test_removing_a_member_revokes_their_stream')
def test_a_creator_removed_from_the_team_loses_the_board(server, streams):
    # The board's creator ranks as its owner only while they are in the board's team.
    admin, tid, _, u = team_board(server, "own", editor=["c", "d"])
    c, d = u["c"], u["d"]
    for who, by in ((c, admin), (d, d)):  # removed by the admin; left by themself
        bid = tb.create_board(server, who, team_id=tid)["id"]
        sc = streams.open(bid, who)
        tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, who.id), token=by.token), 204)
        rv = sc.wait_type("revoked", timeout=10)
        assert rv.json == {"reason": "access_removed"}, sc.describe()
        sc.wait_ended(timeout=10)
        tb.assert_error(tb.request(server, "GET", "/boards/%d" % bid, token=who.token), 404, "not_found")
        tb.assert_error(tb.request(server, "PATCH", "/boards/%d" % bid, {"title": "mine"}, token=who.token),
                        404, "not_found")
        tb.assert_error(tb.request(server, "DELETE", "/boards/%d" % bid, token=who.token), 404, "not_found")
        tb.assert_error(tb.request(server, "POST", "/boards/%d/items" % bid, {"text": "x"}, token=who.token),
                        404, "not_found")
        tb.assert_error(tb.request(server, "GET", "/boards/%d/events" % bid, token=who.token), 404, "not_found")
        tb.assert_error(tb.request(server, "GET", "/boards/%d/viewers" % bid, token=who.token), 404, "not_found")
        listed = tb.assert_status(tb.request(server, "GET", "/boards", token=who.token), 200)["boards"]
        assert bid not in [b["id"] for b in listed], listed
        again = streams.client(bid, token=who.token)
        again.connect()
        tb.assert_error(sse.error_response(again), 404, "not_found")
        # The team keeps the board: its admin sees it (as admin, owner_id unchanged) and may delete it.
        b = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=admin.token), 200)
        assert b["role"] == "admin" and b["owner_id"] == who.id, b
    # Back in the team as an editor, the creator is its owner again (as a viewer they would be a
    # viewer of it: docs/api.md).
    tb.add_member(server, admin, tid, c, "editor")
    mine = [b for b in tb.assert_status(tb.request(server, "GET", "/boards", token=c.token), 200)["boards"]
            if b["owner_id"] == c.id]
    assert len(mine) == 1 and mine[0]["role"] == "owner", mine
    tb.assert_status(tb.request(server, "PATCH", "/boards/%d" % mine[0]["id"], {"title": "back"}, token=c.token),
                     200)


def test_a_removal_while_the_stream_opens_is_not_missed(server, streams):
    # The access check of the request runs before the holder LISTENs. A removal that commits in
    # between has announced itself to no one: the holder checks again once it listens.
    owner, tid, bid, u = team_board(server, "race", viewer=["v"])
    lock = server.connect()
    lock.autocommit = False
    try:
        cur = lock.cursor()
        cur.execute("LOCK TABLE teamboard.streams IN SHARE ROW EXCLUSIVE MODE")  # holds the registration
        sv = streams.client(bid, token=u["v"].token)
        opener = threading.Thread(target=sv.connect, daemon=True)
        opener.start()
        assert tb.wait_for(lambda: server.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%%INSERT INTO streams%%'")[0][0] == 1, timeout=10), "the open never queued"
        tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, u["v"].id),
                                    token=owner.token), 204)
        lock.rollback()
        opener.join(15)
        assert sv.status == 200, sv.describe()
        rv = sv.wait_type("revoked", timeout=10)
        assert rv.json == {"reason": "access_removed"}, sv.describe()
        sv.wait_ended(timeout=10)
        assert not [e for e in sv.events if e.type not in ("revoked", "presence")], sv.describe()
    finally:
        lock.close()


def wait_blocked(server, like, what, timeout=10):
    """Waits until a backend waits on a lock while running a query LIKE like."""
    assert tb.wait_for(lambda: server.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        (like,))[0][0] >= 1, timeout=timeout), what


def test_a_removal_between_the_check_and_the_replay_is_not_missed(server, streams):
    # The removal commits after the holder's access check (after LISTEN) but before its replay:
    # the replay sends member.removed and moves the resume point past it, so its live copy is a
    # duplicate. The holder checks access after the replay, and re-checks on a member event
    # about its user even when it is a duplicate: the stream is revoked either way.
    # Three table locks hold the holder at the right place: the registration (streams), then
    # its access check (team_members), then the presence read just before the replay (streams).
    owner, tid, bid, u = team_board(server, "replayrace", viewer=["v"])
    locks = [server.connect() for _ in range(3)]
    try:
        for c in locks:
            c.autocommit = False
        reg, members, presence = (c.cursor() for c in locks)
        reg.execute("LOCK TABLE teamboard.streams IN SHARE ROW EXCLUSIVE MODE")
        sv = streams.client(bid, token=u["v"].token)
        opener = threading.Thread(target=sv.connect, daemon=True)
        opener.start()
        wait_blocked(server, "%INSERT INTO streams%", "the registration never queued")
        members.execute("LOCK TABLE teamboard.team_members IN ACCESS EXCLUSIVE MODE")
        locks[0].rollback()
        wait_blocked(server, "%board_role%", "the access check after LISTEN never queued")
        presence.execute("LOCK TABLE teamboard.streams IN ACCESS EXCLUSIVE MODE")
        locks[1].rollback()  # the check passes: still a member
        wait_blocked(server, "%FROM streams WHERE board_id%", "the presence read never queued")
        tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, u["v"].id),
                                    token=owner.token), 204)
        locks[2].rollback()
        opener.join(15)
        assert sv.status == 200, sv.describe()
        rv = sv.wait_type("revoked", timeout=10)
        assert rv.json == {"reason": "access_removed"}, sv.describe()
        sv.wait_ended(timeout=10)
        tb.create_item(server, owner, bid, text="after the removal")
        time.sleep(0.5)
        assert not [e for e in sv.events if e.type == "item.created"], sv.describe()
    finally:
        for c in locks:
            c.close()


@pytest.mark.needs_stream_worker("a host stream has no backend of its own: its row's backend_pid is the pool connection's, shared by the host's streams, and terminating it ends none (the host's LISTEN connection breaking: test_postgresql_restart_ends_streams_and_they_resume)")
def test_a_stream_whose_connection_is_terminated_ends(server, streams):
    # tb_db reconnects inside a query after a lost connection; a stream's new connection would
    # not LISTEN, and the stream would go on deaf. Its connection is pinned: it ends instead (the
    # client resumes with Last-Event-ID).
    owner = tb.new_user(server, "term")
    bid = tb.create_board(server, owner)["id"]
    c = streams.open(bid, owner)
    row = row_of(server, bid, owner)
    server.sql("SELECT pg_terminate_backend(%s)", (row[3],))
    c.wait_ended(timeout=10)
    assert not c.typed("revoked"), c.describe()
    # (Its registry row goes when the worker can reconnect, at most once a second, else with its
    # next stream or the supervisor's next round; that worker may answer 503 db_unavailable
    # within the same second.)
    item = tb.create_item(server, owner, bid, text="missed")
    again = reconnect(streams, bid, owner, int(c.last_id), timeout=20)
    ev = again.wait_type("item.created", timeout=10)
    assert ev.json["item"]["id"] == item["id"], again.describe()
    server.sql("DELETE FROM teamboard.streams WHERE id = %s", (row[0],))  # as the supervisor would


def test_logging_out_or_expiry_ends_the_stream(server, streams):
    # A stream lives on its session: at the next heartbeat after the session ends it is revoked.
    owner = tb.new_user(server, "out")
    bid = tb.create_board(server, owner)["id"]
    second = tb.login(server, owner.name, owner.password)[0]["token"]
    third = tb.login(server, owner.name, owner.password)[0]["token"]
    s1 = streams.open(bid, token=second)
    s2 = streams.open(bid, token=third)
    s0 = streams.open(bid, owner)
    tb.assert_status(tb.request(server, "DELETE", "/sessions/current", token=second), 204)
    server.sql("UPDATE teamboard.sessions SET expires_at = now() - interval '1 second'"
               " WHERE token_hash = sha256(decode(%s, 'hex'))", (third,))
    sse.poke(server, bid)
    for c in (s1, s2):
        rv = c.wait_type("revoked", timeout=10)
        assert rv.json == {"reason": "session_ended"}, c.describe()
        c.wait_ended(timeout=10)
    # The session still valid keeps its stream.
    assert s0.wait_comment(lambda x: x.text == "hb", timeout=5) is not None
    time.sleep(0.5)
    assert not s0.ended and not s0.typed("revoked"), s0.describe()
    again = streams.client(bid, token=second)
    again.connect()
    tb.assert_error(sse.error_response(again), 401, "unauthorized")


# ---- PostgreSQL restarted under open streams ---------------------------------------------------

def reconnect(streams, bid, user, resume, timeout=45.0):
    """Reconnects with Last-Event-ID until a stream is served (503 meanwhile is fine), bounded."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        c = streams.client(bid, token=user.token, last_event_id=resume)
        try:
            c.connect()
        except (OSError, sse.StreamError) as exc:
            last = repr(exc)
            c.close()
            time.sleep(0.5)
            continue
        if c.status == 200:
            c.wait_count(1, timeout=15)
            assert c.events[0].type == "hello" and c.events[0].seq == resume, c.describe()
            return c
        last = "%s %r" % (c.status, c.body[:200])
        assert c.status == 503, "reconnect: %s" % last
        time.sleep(0.5)
    raise AssertionError("no stream within %.0f s after the restart: %s" % (timeout, last))


def test_postgresql_restart_ends_streams_and_they_resume(server, streams):
    owner, tid, bid, u = team_board(server, "pgr", viewer=["v"])
    for i in range(3):
        tb.create_item(server, owner, bid, text="before %d" % i)
    a = streams.open(bid, owner, last_event_id=0)
    b = streams.open(bid, u["v"], last_event_id=0)
    a.wait_seq(3)
    b.wait_seq(3)
    received = {"a": a.seqs(), "b": b.seqs()}
    try:
        run_restart_and_resume(server, streams, owner, u["v"], bid, a, b, received)
    finally:
        # Rows of the streams cut by the restart belong to backends that are gone; removing them
        # is the supervisor's job (it does not run here), so do its part for the next tests.
        for c in streams.clients:
            c.close()
        server.sql("DELETE FROM teamboard.streams WHERE board_id = %s AND backend_pid NOT IN"
                   " (SELECT pid FROM pg_stat_activity)", (bid,))
        sse.release(server, [bid], timeout=10)


def run_restart_and_resume(server, streams, owner, viewer, bid, a, b, received):
    try:
        server.stop_db()
        for c in (a, b):
            c.wait_ended(timeout=30)
        # Meanwhile a stream is refused as the REST calls are: 503 db_unavailable.
        c = streams.client(bid, token=owner.token, timeout=20)
        c.connect()
        tb.assert_error(sse.error_response(c), 503, "db_unavailable")
    finally:
        server.start_db()
    received["a"] = a.seqs()
    received["b"] = b.seqs()
    a2 = reconnect(streams, bid, owner, int(a.last_id))
    b2 = reconnect(streams, bid, viewer, int(b.last_id))
    # Changes after the restart arrive on the new streams.
    for i in range(3):
        tb.create_item(server, owner, bid, text="after %d" % i)
    log = sse.log_seqs(server, bid)
    assert log == [1, 2, 3, 4, 5, 6], log
    for name, c in (("a", a2), ("b", b2)):
        c.wait_seq(log[-1], timeout=15)
        got = received[name] + c.seqs()
        assert got == log, "%s received %r, log %r" % (name, got, log)
    # The workers reconnected by themselves: REST calls all succeed, nobody restarted them.
    for _ in range(2 * int(getattr(server, "workers", 4)) + 2):
        tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=owner.token), 200)


# ---- limits ------------------------------------------------------------------------------------

def test_max_streams_answers_503_and_rest_still_works(server, streams):
    owner, tid, bid, u = team_board(server, "max", viewer=["1", "2", "3"])
    server.restart_app(max_streams=2, max_streams_per_user=1)
    try:
        s1 = streams.open(bid, u["1"])
        # max_streams_per_user: the same user's second stream.
        c = streams.client(bid, token=u["1"].token)
        c.connect()
        tb.assert_error(sse.error_response(c), 503, "too_many_streams")
        assert re.fullmatch(r"[1-9][0-9]*", c.header("Retry-After") or ""), c.headers.items()
        s2 = streams.open(bid, u["2"])
        # max_streams (per host).
        started = time.monotonic()
        c = streams.client(bid, token=u["3"].token)
        c.connect()
        assert time.monotonic() - started < 5, "the refusal took %.1f s" % (time.monotonic() - started)
        tb.assert_error(sse.error_response(c), 503, "too_many_streams")
        assert re.fullmatch(r"[1-9][0-9]*", c.header("Retry-After") or ""), c.headers.items()
        # REST keeps being answered, quickly, and so does the fallback, a poll: it is counted
        # like a stream but may take one place more (test_stream_limits.py).
        for path in ("/boards/%d" % bid, "/me", "/boards/%d/events" % bid):
            resp = tb.request(server, "GET", path, token=u["3"].token, timeout=10)
            tb.assert_status(resp, 200)
            assert resp.elapsed < 5, "%s took %.1f s" % (path, resp.elapsed)
        item = tb.create_item(server, owner, bid, text="still live")
        for s in (s1, s2):
            assert s.wait_type("item.created").json["item"]["id"] == item["id"]
        # A stream that ends frees its place.
        s1.close()
        left = sse.release(server, [bid], keep=1)
        assert len(left) == 1, left
        s3 = streams.open(bid, u["3"])
        assert s3.events[0].type == "hello"
    finally:
        streams.close_all()
        server.restart_app()


# ---- heartbeats --------------------------------------------------------------------------------

def test_keep_alive_on_a_quiet_stream_and_heartbeat_notify(server, streams):
    owner = tb.new_user(server, "hb")
    bid = tb.create_board(server, owner)["id"]
    server.restart_app(heartbeat_interval=1)
    try:
        c = streams.open(bid, owner)
        assert c.events[0].json["heartbeat"] == 1, c.describe()
        time.sleep(6.0)
        alive = [x for x in c.comments if x.text == "keep-alive"]
        assert len(alive) >= 2, "keep-alives in 6 s: %r\n%s" % (alive, c.describe())
        assert alive[0].t - c.events[0].t <= 4.5, "first keep-alive after %.1f s" % (alive[0].t - c.events[0].t)
        gaps = [b.t - a.t for a, b in zip(alive, alive[1:])]
        assert all(1.0 <= g <= 4.5 for g in gaps), "keep-alive gaps %r (expected ~2 s)" % gaps
        assert c.seqs() == [] and [e.type for e in c.events if e.type != "presence"] == ["hello"], c.describe()
        assert not c.ended

        # A heartbeat NOTIFY (the supervisor's) is answered at once with a comment, and the
        # holder marks its registry row as seen.
        row_id = row_of(server, bid, owner)[0]
        before = server.sql("SELECT last_seen FROM teamboard.streams WHERE id = %s", (row_id,))[0][0]
        mark = len(c.comments)
        time.sleep(0.05)
        sse.poke(server, bid)
        hb = c.wait_comment(lambda x: x.text == "hb", timeout=5, start=mark)
        assert hb is not None
        assert tb.wait_for(lambda: server.sql("SELECT last_seen FROM teamboard.streams WHERE id = %s",
                                              (row_id,))[0][0] > before, timeout=5), "last_seen not updated"
        assert c.seqs() == [] and [e.type for e in c.events if e.type != "presence"] == ["hello"], c.describe()

        # A vanished client on a quiet board is found by the keep-alive alone (no write, no NOTIFY).
        d = streams.open(bid, owner)
        rows = [r for r in sse.registry_rows(server, [bid]) if r[0] != row_id]
        assert len(rows) == 1, rows
        d.close()
        wait_freed(server, rows[0][0], rows[0][3], timeout=15)
    finally:
        streams.close_all()
        server.restart_app()


# ---- metrics -----------------------------------------------------------------------------------

SERIES_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
COUNTERS = ["teamboard_events_sent_total", "teamboard_events_replayed_total", "teamboard_heartbeats_total",
            "teamboard_streams_opened_total", "teamboard_streams_refused_total", "teamboard_streams_closed_total",
            "teamboard_polls_total"]
GAUGES = ["teamboard_streams_open", "teamboard_supervisor_leader"]
REASONS = ["client_gone", "lifetime", "revoked", "recycled", "error"]


def metrics(server):
    """GET /api/v1/metrics: {(name, reason-or-None): value summed over other labels}."""
    resp = tb.request(server, "GET", "/api/v1/metrics", headers={"Accept": "text/plain"})
    assert resp.status == 200, resp
    ctype = (resp.header("Content-Type") or "").lower()
    assert ctype.startswith("text/plain"), ctype
    out = {}
    for line in resp.body.decode("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = SERIES_RE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        key = (m.group(1), labels.get("reason"))
        out[key] = out.get(key, 0.0) + float(m.group(3))
    return out


def test_metrics_move_as_streams_open_and_close(server, streams):
    owner = tb.new_user(server, "met")
    bid = tb.create_board(server, owner)["id"]
    tb.create_item(server, owner, bid, text="m")
    m0 = metrics(server)
    names = {k[0] for k in m0}
    for n in COUNTERS + GAUGES:
        assert n in names, "series %s missing: %r" % (n, sorted(names))
    for r in REASONS:
        assert ("teamboard_streams_closed_total", r) in m0, "no closed series for reason %s" % r

    c = streams.open(bid, owner, last_event_id=0)  # one event replayed
    c.wait_seq(1)
    m1 = metrics(server)
    assert m1[("teamboard_streams_opened_total", None)] >= m0[("teamboard_streams_opened_total", None)] + 1
    assert m1[("teamboard_streams_open", None)] >= 1
    assert m1[("teamboard_events_replayed_total", None)] >= m0[("teamboard_events_replayed_total", None)] + 1
    tb.create_item(server, owner, bid, text="live")
    c.wait_seq(2)
    tb.request(server, "GET", "/boards/%d/events" % bid, token=owner.token)
    m2 = metrics(server)
    assert m2[("teamboard_events_sent_total", None)] >= m1[("teamboard_events_sent_total", None)] + 1
    assert m2[("teamboard_polls_total", None)] >= m1[("teamboard_polls_total", None)] + 1

    row = row_of(server, bid, owner)
    c.close()
    sse.poke(server, bid)
    wait_freed(server, row[0], row[3], nudge=lambda: sse.poke(server, bid))
    key = ("teamboard_streams_closed_total", "client_gone")
    assert tb.wait_for(lambda: metrics(server)[key] >= m2[key] + 1, timeout=10), \
        "streams closed (client_gone) did not move: %r -> %r" % (m2[key], metrics(server)[key])
    m3 = metrics(server)
    assert m3[("teamboard_streams_open", None)] <= m2[("teamboard_streams_open", None)] - 1

    # Counters survive a restart of the workers; other addresses are refused.
    server.restart_app(metrics_allow="10.11.12.13")
    try:
        resp = tb.request(server, "GET", "/api/v1/metrics", headers={"Accept": "text/plain"})
        assert resp.status == 403, "metrics from an address not in metrics_allow: %r" % resp
    finally:
        server.restart_app()
    m4 = metrics(server)
    for k, v in m3.items():
        if k[0].endswith("_total"):
            assert m4.get(k, 0) >= v, "counter %s went back from %s to %s after a restart" % (k, v, m4.get(k))
