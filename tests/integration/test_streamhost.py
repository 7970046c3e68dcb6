"""The stream host's registry rows (issue 13 item 1; docs/design.md, "Stream host"): a web host of
its own in front of the session's database (tbenv Env.add_host, lighttpd with teamboard-streamhost
as the stream backend), so these run in host mode whatever TB_STREAM_MODE is.

  * a host's row is marked (in_host, sql/025) with the client's address and its session's hash;
  * the heartbeat is ONE statement per host process: a poke on one board refreshes the rows of
    every stream of the process; a stream whose row is gone ends (recycled) and resumes, one whose
    session ended is revoked;
  * the supervisor's recycling deletes a host's row but never terminates the host's pool backend;
  * a SIGKILLed host process leaves rows that the supervisor's next cycle removes, and its clients
    resume on a new process without loss;
  * max_streams, max_streams_per_user and max_streams_per_address hold for host streams with
    503 too_many_streams, host streams and JSON polls count against each other (a poll keeps its
    one extra place), and the metrics' held-streams gauge counts host streams;
  * a crowd of streams that ends at once is unregistered in batches: the board's presence reaches
    the viewer who stays once per batch (not once per stream that left) with the right list;
  * a change too large for NOTIFY is read from the log once per board for all its member streams
    (the host's debug line of each board read, and no stream replaying it for itself);
  * a board's read that fails (its members' events, its guests' events, its viewers) ends the
    streams it was for (closed as error, as a worker's stream ends), and they resume;
  * a long replay is one batch per job on the one pool thread: another stream's start does not
    wait for all of it.
  * until a long replay's last batch and its access re-check, the stream gets no viewers' list
    nor editing notice: a member removed meanwhile is revoked without one;
  * a batch DELETE of ended streams that fails is tried again: their rows go.
"""

import hashlib
import json
import os
import re
import signal
import threading
import time

import pytest

import tbclient as tb
import tbsse as sse

HOST_NAME = "streamhost-test"
CONFIG = {"heartbeat_interval": 5, "max_streams": 5, "max_streams_per_user": 2,
          "max_streams_per_address": 3}
CROWD_NAME = "streamhost-crowd"
CROWD_CONFIG = {"heartbeat_interval": 5, "max_streams": 60, "max_streams_per_user": 10,
                "max_streams_per_address": 0, "max_guest_streams": 50,
                "log_level": "debug"}  # the board reads' lines (test_a_large_change_is_read_once_per_board)


@pytest.fixture(scope="module")
def host(server):
    if server.with_supervisor or server.config.get("supervisor") == "auto":
        pytest.skip("the session's own web host runs a supervisor (TB_SUPERVISOR or set-up %s)"
                    % server.setup)
    # One host process: the SIGKILL test kills the one that holds both streams (with two, the
    # socket's EPOLLEXCLUSIVE may hand them to either; test_stream_failover.py runs two).
    h = server.add_host("lighttpd", HOST_NAME, config=CONFIG, stream_mode="host", stream_hosts=1)
    try:
        yield h
    finally:
        problems = h.stop()
        assert not problems, problems


@pytest.fixture(scope="module")
def crowd_host(server):
    """A host with room for a crowd (the limits of `host` are small on purpose)."""
    if server.with_supervisor or server.config.get("supervisor") == "auto":
        pytest.skip("the session's own web host runs a supervisor (TB_SUPERVISOR or set-up %s)"
                    % server.setup)
    h = server.add_host("lighttpd", CROWD_NAME, config=CROWD_CONFIG, stream_mode="host", stream_hosts=1)
    try:
        yield h
    finally:
        problems = h.stop()
        assert not problems, problems


@pytest.fixture
def streams(host):
    tracker = sse.Streams(host)
    try:
        yield tracker
    finally:
        host.sql("DELETE FROM teamboard.streams WHERE host = %s AND pid = 1", (HOST_NAME,))  # fake_rows
        tracker.close_all(release_timeout=10)


def rows(host, board_ids):
    """{id: (pid, backend_pid, in_host, address, session_hash)} of the boards' rows."""
    return {r[0]: tuple(r[1:]) for r in host.sql(
        "SELECT id, pid, backend_pid, in_host, address, session_hash FROM teamboard.streams"
        " WHERE board_id = ANY(%s)", (list(board_ids),))}


def row_of(host, client):
    """The registry row id of the one stream of client's board opened last."""
    return host.sql("SELECT max(id) FROM teamboard.streams WHERE board_id = %s", (client.board_id,))[0][0]


def backend_alive(host, pid):
    return bool(host.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)))


def assert_refused(resp):
    tb.assert_error(resp, 503, "too_many_streams")
    assert re.fullmatch(r"[1-9][0-9]*", resp.header("Retry-After") or ""), resp.headers.items()


def refused_stream(streams, bid, token, source=None):
    c = streams.client(bid, token=token, source=source)
    c.connect()
    assert_refused(sse.error_response(c))


def poll(host, user, bid, source=None):
    return tb.request(host, "GET", "/boards/%d/events?after=0" % bid, token=user.token, source=source)


def held_streams(host):
    body = tb.request(host, "GET", "/metrics").body.decode()
    m = re.search(r'^teamboard_workers_held\{host="[^"]*",kind="stream"\} (\d+)$', body, re.M)
    assert m, body
    return int(m.group(1))


def fake_rows(host, user, bid, n, address=None):
    """n host rows of another (pid 1) process of this host: they count like streams."""
    for _ in range(n):
        host.sql("INSERT INTO teamboard.streams (host, pid, backend_pid, board_id, user_id, in_host, address)"
                 " VALUES (%s, 1, 1, %s, %s, true, %s)", (HOST_NAME, bid, user.id, address))


def old_heartbeats(host):
    """A supervisor_status that says heartbeats have gone out for long: the next cycle may recycle."""
    host.sql("INSERT INTO teamboard.supervisor_status (id, host, pid, since, last_run, report)"
             " VALUES (1, 'earlier', 1, now(), now(), %s)"
             " ON CONFLICT (id) DO UPDATE SET last_run = now(), report = EXCLUDED.report",
             ('{"interval": 5, "heartbeats_since": "2000-01-01 00:00:00+00"}',))


def supervise(host):
    rc = host.supervisor_once()
    assert rc.returncode == 0, rc
    return host.sql("SELECT report FROM teamboard.supervisor_status WHERE id = 1")[0][0]


def test_a_host_row_is_marked_with_its_address_and_session(host, streams):
    user = tb.new_user(host, "hrow")
    bid = tb.create_board(host, user)["id"]
    streams.open(bid, user)
    [(pid, backend, in_host, address, session_hash)] = rows(host, [bid]).values()
    assert in_host is True and address == "127.0.0.1"
    assert bytes(session_hash) == hashlib.sha256(bytes.fromhex(user.token)).digest()
    app = host.sql("SELECT application_name FROM pg_stat_activity WHERE pid = %s", (backend,))
    assert app == [("teamboard-streamhost",)], app


def test_one_seen_per_process_recycles_what_it_does_not_find(host, streams):
    user = tb.new_user(host, "hseen")
    b1, b2 = (tb.create_board(host, user)["id"] for _ in range(2))
    second = tb.login(host, user.name, user.password)[0]["token"]
    s1 = streams.open(b1, user)
    s2 = streams.open(b2, token=second)
    host.sql("UPDATE teamboard.streams SET last_seen = now() - interval '1 hour' WHERE board_id = ANY(%s)",
             ([b1, b2],))
    # A heartbeat on b1 alone: the process's one SEEN refreshes b2's row too.
    sse.poke(host, b1)
    assert tb.wait_for(lambda: host.sql(
        "SELECT bool_and(last_seen > now() - interval '1 minute') FROM teamboard.streams"
        " WHERE board_id = ANY(%s)", ([b1, b2],))[0][0], timeout=10)
    assert not s2.comments or all(c.text != "hb" for c in s2.comments), s2.describe()
    # The supervisor deleted s2's row: at the next heartbeat (on another board) it ends, recycled.
    host.sql("DELETE FROM teamboard.streams WHERE board_id = %s", (b2,))
    sse.poke(host, b1)
    s2.wait_ended(timeout=10)
    assert not s2.typed("revoked"), s2.describe()
    item = tb.create_item(host, user, b2, text="while away")
    again = s2.reconnect()
    assert again.wait_type("item.created", timeout=10).json["item"]["id"] == item["id"], again.describe()
    streams.clients.append(again)
    # A session that ended: revoked at the next heartbeat; the other session's stream lives on.
    tb.assert_status(tb.request(host, "DELETE", "/sessions/current", token=second), 204)
    sse.poke(host, b1)
    assert again.wait_type("revoked", timeout=10).json == {"reason": "session_ended"}, again.describe()
    again.wait_ended(timeout=10)
    assert not s1.ended and not s1.typed("revoked"), s1.describe()


def test_recycling_deletes_a_host_row_and_never_terminates_the_pool(host, streams):
    user = tb.new_user(host, "hrecycle")
    bid = tb.create_board(host, user)["id"]
    keep = streams.open(bid, user)
    keep_row = row_of(host, keep)
    pool = host.sql("SELECT backend_pid FROM teamboard.streams WHERE id = %s", (keep_row,))[0][0]
    # A host row that missed its heartbeats, on the same pool backend (another process's row here,
    # so that the host's own SEEN neither keeps it nor deletes it first).
    stale = host.sql("INSERT INTO teamboard.streams (host, pid, backend_pid, board_id, user_id, in_host,"
                     " last_seen) VALUES (%s, 1, %s, %s, %s, true, now() - interval '1 hour') RETURNING id",
                     (HOST_NAME, pool, bid, user.id))[0][0]
    assert host.sql("SELECT count(*) FROM teamboard.streams WHERE id <> %s"
                    " AND last_seen < now() - interval '30 seconds'", (stale,))[0][0] == 0
    old_heartbeats(host)
    report = supervise(host)
    assert report["recycled"] == 1 and report["terminated"] == 0, report
    assert backend_alive(host, pool)
    assert host.sql("SELECT id FROM teamboard.streams WHERE board_id = %s", (bid,)) == [(keep_row,)]
    item = tb.create_item(host, user, bid, text="after recycling")
    assert keep.wait_type("item.created", timeout=10).json["item"]["id"] == item["id"], keep.describe()
    assert not keep.ended, keep.describe()


def test_a_sigkilled_host_leaves_rows_the_supervisor_removes(host, streams):
    user = tb.new_user(host, "hkill")
    bid = tb.create_board(host, user)["id"]
    a = streams.open(bid, user)
    b = streams.open(bid, user)
    [pid] = {r[0] for r in rows(host, [bid]).values()}
    os.kill(pid, signal.SIGKILL)
    a.wait_ended(timeout=10)
    b.wait_ended(timeout=10)
    assert len(rows(host, [bid])) == 2
    item = tb.create_item(host, user, bid, text="while the host was down")
    report = supervise(host)
    assert report["dead"] >= 2, report
    assert rows(host, [bid]) == {}
    host.restart_app()
    again = a.reconnect()
    streams.clients.append(again)
    assert again.wait_type("item.created", timeout=10).json["item"]["id"] == item["id"], again.describe()
    [(new_pid, *_)] = rows(host, [bid]).values()
    assert new_pid != pid


def test_postgresql_restart_the_listen_connection_comes_back(host, server, streams):
    # The LISTEN connection is made anew without blocking the loop (PQconnectStart/PQconnectPoll):
    # while PostgreSQL is away the host still answers, and afterwards a resumed stream is live.
    user = tb.new_user(host, "hpg")
    bid = tb.create_board(host, user)["id"]
    tb.create_item(host, user, bid, text="before")
    a = streams.open(bid, user, last_event_id=0)
    a.wait_seq(1)
    try:
        server.stop_db()
        a.wait_ended(timeout=30)
        c = streams.client(bid, token=user.token, timeout=20)
        c.connect()
        tb.assert_error(sse.error_response(c), 503, "db_unavailable")
    finally:
        server.start_db()
    item = tb.create_item(host, user, bid, text="while reconnecting")
    refusals = []

    def reopen():
        # A host process that tried its connection while PostgreSQL was away tries again at most
        # once a second (tb_db): until then it answers 503 db_unavailable, and the client retries.
        c = sse.open_stream(host, bid, user, last_event_id=int(a.last_id), expect=None)
        if c.status == 200:
            return c
        refusals.append((c.status, c.body))
        c.close()
        tb.assert_error(sse.error_response(c), 503, "db_unavailable")
        return None
    again = tb.wait_for(reopen, timeout=20)
    assert again, "no stream after the restart: %r" % refusals[-3:]
    streams.clients.append(again)
    assert again.wait_type("item.created", timeout=10).json["item"]["id"] == item["id"], again.describe()
    live = tb.create_item(host, user, bid, text="live")
    again.wait_for(lambda e: e.type == "item.created" and e.json["item"]["id"] == live["id"], 10, 0, "the live one")
    host.sql("DELETE FROM teamboard.streams WHERE board_id = %s AND backend_pid NOT IN"
             " (SELECT pid FROM pg_stat_activity)", (bid,))


def test_limits_count_host_streams_and_polls_together(host, streams):
    a, b, c, d = (tb.new_user(host, "hlim%s" % n) for n in "abcd")
    ba, bb, bc, bd = (tb.create_board(host, u)["id"] for u in (a, b, c, d))
    assert poll(host, a, ba).status == 200
    # max_streams_per_user (2)
    streams.open(ba, a)
    streams.open(ba, a)
    refused_stream(streams, ba, a.token)
    tb.assert_status(poll(host, a, ba), 200)  # a poll keeps its one extra place
    # max_streams_per_address (3), every user from 127.0.0.1 counted
    streams.open(bb, b)
    refused_stream(streams, bc, c.token)
    tb.assert_status(poll(host, c, bc), 200)
    streams.open(bc, c, source="127.0.0.2")   # another address
    assert held_streams(host) == 4            # the gauge counts host streams
    fake_rows(host, d, bd, 1, address="127.0.0.1")
    assert_refused(poll(host, c, bc))         # 4 host streams from the address: no extra place
    # max_streams (5): 4 streams and the row of another host process
    refused_stream(streams, bd, d.token, source="127.0.0.3")
    tb.assert_status(poll(host, d, bd, source="127.0.0.3"), 200)
    fake_rows(host, d, bd, 1)
    assert_refused(poll(host, d, bd, source="127.0.0.3"))


def test_a_crowd_leaving_is_unregistered_in_batches(crowd_host):
    # 50 streams of one board end at once: 4 of a member and 46 guests' (each guest's end announces
    # presence). Over HTTP/1.1 lighttpd notices a client's plain close (FIN) at its next write: the
    # poke's heartbeat, written to every stream of the board together, ends the 50 at once.
    h = crowd_host
    owner, member = tb.new_user(h, "hcrowd"), tb.new_user(h, "hcrowdm")
    team = tb.create_team(h, owner)
    tb.add_member(h, owner, team["id"], member, "editor")
    bid = tb.create_board(h, owner, team_id=team["id"])["id"]
    link = tb.assert_status(tb.request(h, "POST", "/boards/%d/links" % bid, token=owner.token), 201)
    tracker = sse.Streams(h)
    try:
        stays = tracker.open(bid, owner)
        leaving = [tracker.open(bid, member) for _ in range(4)]
        for n in range(46):
            g = sse.PublicStream(h, bid, link["token"], name="crowd-guest-%d" % n)
            tracker.clients.append(g)
            g.connect()
            assert g.status == 200, g.describe()
            leaving.append(g)
        assert tb.wait_for(lambda: len(rows(h, [bid])) == 51, timeout=5)
        for g in leaving:
            g.wait_count(1, timeout=10)
        closers = [threading.Thread(target=c.close, kwargs={"abrupt": False}) for c in leaving]
        for t in closers:
            t.start()
        for t in closers:
            t.join()
        mark = len(stays.events)
        t0 = time.monotonic()
        sse.poke(h, bid)
        assert tb.wait_for(lambda: len(rows(h, [bid])) == 1, timeout=5, interval=0.02), rows(h, [bid])
        emptied = time.monotonic() - t0
        want = {"type": "presence", "board_id": bid, "guests": 0,
                "viewers": [{"user_id": owner.id, "name": owner.name, "display_name": owner.name}]}
        stays.wait_for(lambda e: e.type == "presence" and e.json == want, 5, mark, "the presence after")
        stays.collect(0.3)
        presence = [e.json for e in stays.events[mark:] if e.type == "presence"]
        # One announcement per batch of ends (the host's loop sees them in one or two wake-ups);
        # one per stream that left would be 47.
        assert 1 <= len(presence) <= 5 and presence[-1] == want, (emptied, presence)
        assert not stays.ended, stays.describe()
    finally:
        tracker.close_all(release_timeout=10)


def counter(h, name, reason=None):
    """A counter of the host's /metrics, summed over its labels (reason: that one only)."""
    body = tb.request(h, "GET", "/metrics").body.decode()
    total = 0
    for m in re.finditer(r'^%s\{([^}]*)\} (\S+)$' % re.escape(name), body, re.M):
        if reason is None or 'reason="%s"' % reason in m.group(1):
            total += float(m.group(2))
    return total


def log_size(h):
    return os.path.getsize(h.logs["streams.log"])


def board_reads(h, since, bid, form):
    """The host's board reads of the log since offset `since` (its debug lines): [events read]."""
    with open(h.logs["streams.log"], "rb") as f:
        f.seek(since)
        text = f.read().decode("utf-8", "replace")
    return [int(n) for n in re.findall(r"board %d: (\d+) events read from the log for its %s streams" % (bid, form),
                                       text)]


def team_boards(h, prefix, n):
    owner, member = tb.new_user(h, prefix), tb.new_user(h, prefix + "m")
    team = tb.create_team(h, owner)
    tb.add_member(h, owner, team["id"], member, "editor")
    return owner, member, [tb.create_board(h, owner, team_id=team["id"])["id"] for _ in range(n)]


def test_a_large_change_is_read_once_per_board(crowd_host):
    # A note of 9,000 characters is too large for NOTIFY ("<seq> <type>" alone, events.sql): the
    # host reads it from the log once per board, for all the board's member streams, and every
    # one of them gets the same event; none replays it for itself (events_replayed stays).
    h = crowd_host
    owner, member, (ba, bb) = team_boards(h, "hlarge", 2)
    tracker = sse.Streams(h)
    try:
        on_a = [tracker.open(ba, u) for u in (owner, member) for _ in range(4)]
        on_b = [tracker.open(bb, u) for u in (owner, member)]
        replayed, since = counter(h, "teamboard_events_replayed_total"), log_size(h)
        text = ("large " * 1500)[:9000]
        items = {bid: tb.create_item(h, owner, bid, text=text) for bid in (ba, bb)}
        for bid, clients in ((ba, on_a), (bb, on_b)):
            got = [c.wait_type("item.created", timeout=10) for c in clients]
            assert len(got[0].data.encode()) > 8000, "not the large-event path"
            assert got[0].json["item"]["id"] == items[bid]["id"]
            assert all(e.data == got[0].data and e.id == got[0].id for e in got), [c.describe() for c in clients]
        assert tb.wait_for(lambda: board_reads(h, since, ba, "members'") and board_reads(h, since, bb, "members'"),
                           timeout=5), "no board read logged"
        assert board_reads(h, since, ba, "members'") == [1] and board_reads(h, since, bb, "members'") == [1]
        assert counter(h, "teamboard_events_replayed_total") == replayed
        # A small change after it is forwarded as it came, in order, to all.
        small = tb.create_item(h, owner, ba, text="small")
        for c in on_a:
            c.wait_for(lambda e: e.type == "item.created" and e.json["item"]["id"] == small["id"], 10, 0, "small")
            assert c.seqs() == sorted(set(c.seqs())), c.describe()
        assert board_reads(h, since, ba, "members'") == [1]
    finally:
        tracker.close_all(release_timeout=10)


def cancel_blocked(h, like, what, timeout=10):
    """Waits until a backend waits on a lock running a query LIKE like, and cancels it: the
    query fails as any failed read would."""
    q = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s"
    assert tb.wait_for(lambda: h.sql("SELECT count(*) " + q, (like,))[0][0] >= 1, timeout=timeout), what
    h.sql("SELECT pg_cancel_backend(pid) " + q, (like,))


def assert_failed_read_ends(h, clients, lock_sql, provoke, like):
    """With lock_sql held, provoke() makes the board read that `like` names wait; cancelled once,
    it fails, and every stream it was for ends the way a worker's stream ends on an error: the
    response just ends (no revoked, no bye), counted as closed{reason="error"}."""
    errors = counter(h, "teamboard_streams_closed_total", "error")
    lock = h.connect()
    try:
        lock.autocommit = False
        lock.cursor().execute(lock_sql)
        provoke()
        cancel_blocked(h, like, "the board read never waited")
        for c in clients:
            c.wait_ended(timeout=5)  # one cancel: each stream's own read would still wait
            assert not c.typed("revoked") and not c.typed("bye"), c.describe()
    finally:
        lock.rollback()
        lock.close()
    assert tb.wait_for(lambda: counter(h, "teamboard_streams_closed_total", "error") >= errors + len(clients),
                       timeout=10), counter(h, "teamboard_streams_closed_total", "error")


def resumes(h, tracker, clients, owner, bid):
    item = tb.create_item(h, owner, bid, text="after the failed read")
    for c in clients:
        if isinstance(c, sse.PublicStream):
            again = sse.PublicStream(h, bid, c.link_token, last_event_id=c.last_id, name=c.name + "+")
            again.connect()
        else:
            again = c.reconnect()
        tracker.clients.append(again)
        again.wait_for(lambda e: e.type == "item.created" and e.json["item"]["id"] == item["id"], 10, 0, "resumed")


def fake_large_notice(h, bid):
    """The notice of a change too large for NOTIFY ("<seq> <type>"), for the next seq: the board
    reads it from the log."""
    h.sql("SELECT pg_notify('board_' || id, (last_seq + 1) || ' item.created') FROM teamboard.boards WHERE id = %s",
          (bid,))


def test_a_failed_read_of_a_large_change_ends_the_board_streams(crowd_host):
    h = crowd_host
    owner, member, (bid,) = team_boards(h, "hfailm", 1)
    tracker = sse.Streams(h)
    try:
        clients = [tracker.open(bid, u) for u in (owner, member, owner)]
        assert_failed_read_ends(h, clients, "LOCK TABLE teamboard.board_events IN ACCESS EXCLUSIVE MODE",
                                lambda: fake_large_notice(h, bid), "%event_json%FROM board_events%")
        resumes(h, tracker, clients, owner, bid)
    finally:
        tracker.close_all(release_timeout=10)


def test_a_failed_read_of_the_guests_events_ends_the_guests(crowd_host):
    h = crowd_host
    owner, member, (bid,) = team_boards(h, "hfailg", 1)
    link = tb.assert_status(tb.request(h, "POST", "/boards/%d/links" % bid, token=owner.token), 201)
    tracker = sse.Streams(h)
    try:
        guests = []
        for n in range(3):
            g = sse.PublicStream(h, bid, link["token"], name="fail-guest-%d" % n)
            tracker.clients.append(g)
            g.connect()
            assert g.status == 200, g.describe()
            g.wait_type("hello", timeout=10)
            guests.append(g)
        # No member stream: the change is read for the guests alone.
        assert_failed_read_ends(h, guests, "LOCK TABLE teamboard.board_events IN ACCESS EXCLUSIVE MODE",
                                lambda: fake_large_notice(h, bid), "%public_event_json%FROM board_events%")
        resumes(h, tracker, guests, owner, bid)
    finally:
        tracker.close_all(release_timeout=10)


def test_a_failed_read_of_the_viewers_ends_the_streams_it_was_for(crowd_host):
    h = crowd_host
    owner, member, (bid,) = team_boards(h, "hfailp", 1)
    tracker = sse.Streams(h)
    try:
        clients = [tracker.open(bid, u) for u in (owner, member)]
        time.sleep(1.1)  # past the presence reads' throttle (TB_PRESENCE_READ_INTERVAL_MS)
        ref = lambda: h.sql("SELECT pg_notify('board_' || %s, json_build_object('type', 'presence',"  # noqa: E731
                            " 'board_id', %s::bigint, 'ref', true)::text)", (bid, bid))
        assert_failed_read_ends(h, clients, "LOCK TABLE teamboard.streams IN ACCESS EXCLUSIVE MODE", ref,
                                "%board_viewers%")
        resumes(h, tracker, clients, owner, bid)
    finally:
        tracker.close_all(release_timeout=10)


def test_a_long_replay_does_not_hold_up_another_streams_start(crowd_host):
    # The pool runs one job at a time; a replay is one batch (500 events) per job, the next one
    # queued behind what waits, so a stream opened while another replays 5,000 events (the most,
    # replay_limit) gets its hello before that replay ends. (One job for the whole replay sent the
    # hello only with the replay's last event, and the other stream's start came after it.)
    h = crowd_host
    owner, member, (big, small) = team_boards(h, "hlong", 2)
    h.sql("SET search_path TO teamboard; SELECT count(record_event(%s, 'item.created', jsonb_build_object('item',"
          " jsonb_build_object('id', g, 'text', repeat('x', 300))))) FROM generate_series(1, 5000) g", (big,))
    tracker = sse.Streams(h)
    try:
        long = tracker.open(big, owner, last_event_id=0, hello_timeout=30)
        other = tracker.open(small, member, hello_timeout=30)
        long.wait_seq(5000, timeout=30)
        last = [e for e in long.events if e.seq == 5000][0]
        assert other.events[0].t < last.t, (other.events[0].t, last.t)
        assert long.seqs() == list(range(1, 5001)), "the replay lost or repeated events"
    finally:
        tracker.close_all(release_timeout=10)


def cancel_until(h, like, also, what, timeout=10):
    """Cancels the backends that wait on a lock running a query LIKE also (another job of the one
    pool thread queued before it) until one runs a query LIKE like, and cancels that one too."""
    q = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s"
    deadline = time.monotonic() + timeout
    while not h.sql("SELECT count(*) " + q, (like,))[0][0]:
        assert time.monotonic() < deadline, what
        h.sql("SELECT pg_cancel_backend(pid) " + q, (also,))
        time.sleep(0.05)
    h.sql("SELECT pg_cancel_backend(pid) " + q, (like,))


def test_a_failed_unregistration_is_retried(host, streams):
    # The batch DELETE of the streams that ended fails (cancelled while it waited for a lock): the
    # host keeps those streams registered and deletes their rows after the next heartbeat's SEEN
    # (the poke after the lock). (It dropped them: the process's heartbeat kept such a row fresh,
    # so the supervisor never removed it, and it counted against the limits while the process
    # lived.)
    user = tb.new_user(host, "hunreg")
    bid = tb.create_board(host, user)["id"]
    stays = streams.open(bid, user)
    leaves = streams.open(bid, user)
    gone = row_of(host, leaves)
    lock = host.connect()
    try:
        lock.autocommit = False
        lock.cursor().execute("LOCK TABLE teamboard.streams IN ACCESS EXCLUSIVE MODE")
        leaves.close(abrupt=False)
        sse.poke(host, bid)  # its heartbeat finds the client gone; the process's SEEN waits first
        cancel_until(host, "DELETE FROM streams WHERE host = $1 AND pid = $2::int AND id = ANY%",
                     "%UPDATE streams SET last_seen%", "the batch DELETE never waited")
    finally:
        lock.rollback()
        lock.close()
    sse.poke(host, bid)
    assert tb.wait_for(lambda: gone not in rows(host, [bid]), timeout=10), rows(host, [bid])
    assert len(rows(host, [bid])) == 1 and not stays.ended, stays.describe()


def test_a_member_removed_during_a_long_replay_gets_no_presence(crowd_host):
    # A replay longer than one batch makes the stream live with its first one; its start's second
    # access re-check (a removal replayed is not notified again) waits for the last batch. Until
    # then the stream gets no viewers' list (login names) nor editing notice: a member removed
    # meanwhile is revoked without one (they were written to it before the re-check), while a live
    # stream of the board gets them. (A lock on team_members would hold the re-check itself, but
    # board_role's snapshot is older than the removal then.)
    h = crowd_host
    owner, member, (bid,) = team_boards(h, "hreplayrm", 1)
    team = h.sql("SELECT team_id FROM teamboard.boards WHERE id = %s", (bid,))[0][0]
    h.sql("SET search_path TO teamboard; SELECT count(record_event(%s, 'item.created', jsonb_build_object('item',"
          " jsonb_build_object('id', g, 'text', repeat('x', 300))))) FROM generate_series(1, 5000) g", (bid,))
    tracker = sse.Streams(h)
    lock = h.connect()
    try:
        lock.autocommit = False
        stays = tracker.open(bid, owner, last_event_id=4990, hello_timeout=30)  # one batch: re-checked at once
        stays.wait_seq(5000, timeout=30)
        s = tracker.open(bid, member, last_event_id=0, hello_timeout=30)
        cur = lock.cursor()
        cur.execute("SET LOCAL search_path TO teamboard")
        # The member's next batch waits; meanwhile it is removed, and the notices come after that.
        cur.execute("LOCK TABLE teamboard.board_events IN ACCESS EXCLUSIVE MODE")
        q = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
             " AND query LIKE 'SELECT seq, type, event_json%%'")
        assert tb.wait_for(lambda: h.sql(q)[0][0] >= 1, timeout=10), "the replay ended before the lock"
        cur.execute("DELETE FROM teamboard.team_members WHERE team_id = %s AND user_id = %s", (team, member.id))
        viewers = [{"user_id": owner.id, "name": owner.name, "display_name": owner.name}]
        cur.execute("SELECT pg_notify('board_' || %s, json_build_object('type', 'presence', 'board_id', %s::bigint,"
                    " 'viewers', %s::jsonb, 'guests', 0)::text)", (bid, bid, json.dumps(viewers)))
        cur.execute("SELECT pg_notify('board_' || %s, 'editing ' || json_build_object('board_id', %s::bigint,"
                    " 'item_id', 1, 'user', %s)::text)", (bid, bid, owner.name))
        lock.commit()
        assert s.wait_type("revoked", timeout=30).json == {"reason": "access_removed"}, s.describe()
        s.wait_ended(timeout=10)
        assert not s.typed("presence") and not s.typed("editing"), s.describe()
        stays.wait_for(lambda e: e.type == "presence" and e.json["viewers"] == viewers, 10, 0, "the list")
        stays.wait_type("editing", timeout=10)
        assert not stays.typed("revoked") and not stays.ended, stays.describe()
    finally:
        lock.rollback()
        lock.close()
        tracker.close_all(release_timeout=10)
