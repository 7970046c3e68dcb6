"""Resuming a board's event stream without loss (docs/events-contract.txt): Last-Event-ID under
load from four concurrent writers, `reset` when the log cannot bring a client up to date (pruned,
ahead of the board, over replay_limit), and `bye` at the stream's lifetime followed by a resume.

The check is always the same: the ids a client received, over all its connections, concatenated,
equal the board's log (teamboard.board_events) exactly: no gap, no duplicate.
"""

import random
import threading
import time

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)
from tbfixture import server_in_both_modes  # noqa: F401  (`server` in both stream modes)

WRITERS = 4
CHANGES_PER_WRITER = 200
LOAD_DEADLINE = 150.0  # seconds for the whole load (bounded: a stuck pool fails, never hangs)


def change_seqs(client):
    return client.seqs()


def assert_resumed(client, resume):
    """hello of a resumed connection names the resume point."""
    hello = client.events[0]
    assert hello.type == "hello" and hello.seq == resume, client.describe()
    assert hello.json["last_event_id"] == resume, hello


def assert_no_gap(received, log, what):
    if received == log:
        return
    dup = sorted({s for s in received if received.count(s) > 1})
    missing = sorted(set(log) - set(received))
    extra = sorted(set(received) - set(log))
    order = received != sorted(received)
    raise AssertionError("%s: received %d ids, log has %d; duplicates %s, missing %s, not in the log %s%s"
                         % (what, len(received), len(log), dup[:20], missing[:20], extra[:20],
                            ", out of order" if order else ""))


# ---- under load --------------------------------------------------------------------------------

def writer(server, user, bid, n, errors, counts, k):
    """n changes on the board: creates, moves, deletes. Every successful request is one event."""
    current = None
    done = 0
    try:
        for i in range(n):
            if current is None or i % 10 == 0:
                r = tb.request(server, "POST", "/boards/%d/items" % bid,
                               {"text": "w%d-%d" % (k, i), "x": i}, token=user.token, timeout=30)
                if r.status != 201:
                    raise AssertionError("writer %d create: %r" % (k, r))
                current = r.json()["id"]
            elif i % 10 == 9:
                r = tb.request(server, "DELETE", "/boards/%d/items/%d" % (bid, current),
                               token=user.token, timeout=30)
                if r.status != 204:
                    raise AssertionError("writer %d delete: %r" % (k, r))
                current = None
            else:
                r = tb.request(server, "PATCH", "/boards/%d/items/%d" % (bid, current),
                               {"x": i, "y": k}, token=user.token, timeout=30)
                if r.status != 200:
                    raise AssertionError("writer %d patch: %r" % (k, r))
            done += 1
    except BaseException as exc:
        errors.append(exc)
    finally:
        counts[k] = done


def test_resume_without_loss_under_load(server, streams):
    rnd = random.Random(20240603)
    owner = tb.new_user(server, "load")
    editors = [tb.new_user(server, "loadw%d" % k) for k in range(WRITERS)]
    team = tb.create_team(server, owner)
    for u in editors:
        tb.add_member(server, owner, team["id"], u, "editor")
    bid = tb.create_board(server, owner, team_id=team["id"])["id"]

    c = streams.open(bid, owner)
    start = c.events[0].seq
    assert start == 0, c.describe()

    errors, counts = [], {}
    threads = [threading.Thread(target=writer, args=(server, u, bid, CHANGES_PER_WRITER, errors, counts, k),
                                daemon=True, name="writer-%d" % k) for k, u in enumerate(editors)]
    began = time.monotonic()
    for t in threads:
        t.start()
    received = []
    connections = 1
    try:
        while True:
            writers_done = not any(t.is_alive() for t in threads)
            if writers_done:
                final = sse.log_seqs(server, bid)[-1:] or [0]
                c.wait_until(lambda: (c.last_id is not None and int(c.last_id) >= final[0]) or None,
                             timeout=30, what="the last event %d" % final[0])
                c.close()
                received += change_seqs(c)
                break
            target = rnd.randint(20, 50)
            try:
                c.wait_until(lambda: len(c.seqs()) >= target or not any(t.is_alive() for t in threads),
                             timeout=60, what="%d events" % target)
            finally:
                c.close()  # abrupt: the reconnect must not depend on the server noticing
            received += change_seqs(c)
            resume = int(c.last_id)
            assert time.monotonic() - began < LOAD_DEADLINE, "load took too long"
            # Alternately the header and the query parameter, like EventSource and a manual client.
            if connections % 3 == 2:
                c = streams.open(bid, owner, query="last_event_id=%d" % resume)
            else:
                c = streams.open(bid, owner, last_event_id=resume)
            connections += 1
            assert_resumed(c, resume)
    finally:
        for t in threads:
            t.join(timeout=max(1.0, LOAD_DEADLINE - (time.monotonic() - began)))
    assert not errors, errors[:3]
    assert sum(counts.values()) == WRITERS * CHANGES_PER_WRITER, counts
    log = sse.log_seqs(server, bid)
    assert len(log) == WRITERS * CHANGES_PER_WRITER
    # Under a loaded machine the writers may finish first; a handful of resumes still proves it.
    assert connections >= 5, "too few reconnects (%d) to prove anything" % connections
    assert_no_gap(received, log, "%d connections" % connections)

    # A client that starts from 0 gets the whole log by replay (more than one replay batch).
    full = streams.open(bid, owner, last_event_id=0)
    full.wait_seq(log[-1], timeout=30)
    time.sleep(0.2)
    assert_no_gap(full.seqs(), log, "a replay of the whole log")
    assert all(e.json["seq"] == e.seq and e.json["board_id"] == bid for e in full.events[1:] if e.explicit_id)


# ---- reset -------------------------------------------------------------------------------------

def expect_reset(streams, bid, user, last_event_id=None, query=None, last=None):
    """A stream that must answer `reset` {"last_event_id": last} and end, with no change events.
    Whether a hello precedes the reset the contract leaves open: both are accepted."""
    c = streams.open(bid, user, last_event_id=last_event_id, query=query, expect=200, hello_timeout=10,
                     expect_hello=False)
    ev = c.wait_type("reset", timeout=10)
    assert not ev.explicit_id, "reset carries no id: line: %r" % ev
    assert ev.json == {"last_event_id": last}, ev
    c.wait_ended(timeout=10)
    assert change_seqs(c) == [], c.describe()
    assert [e.type for e in c.events if e.type != "hello"] == ["reset"], c.describe()
    return c


def test_reset_past_retention_and_beyond_the_log(server, streams):
    owner = tb.new_user(server, "reset")
    bid = tb.create_board(server, owner)["id"]
    for i in range(6):
        tb.create_item(server, owner, bid, text="r%d" % i)
    assert sse.log_seqs(server, bid) == [1, 2, 3, 4, 5, 6]
    # Pruned by retention (as the supervisor would): seqs 1-3 are gone.
    server.sql("DELETE FROM teamboard.board_events WHERE board_id = %s AND seq <= 3", (bid,))

    for resume in (0, 1, 2):
        expect_reset(streams, bid, owner, last_event_id=resume, last=6)
    expect_reset(streams, bid, owner, query="last_event_id=1", last=6)
    # Ahead of the board (a client of another database, or a forged id).
    for resume in (7, 1000):
        expect_reset(streams, bid, owner, last_event_id=resume, last=6)

    # 3: the log still has everything after it; 6: up to date. Both resume normally.
    c = streams.open(bid, owner, last_event_id=3)
    c.wait_seq(6)
    assert change_seqs(c) == [4, 5, 6], c.describe()
    d = streams.open(bid, owner, last_event_id=6)
    tb.create_item(server, owner, bid, text="live")
    c.wait_seq(7)
    d.wait_seq(7)
    assert change_seqs(c) == [4, 5, 6, 7] and change_seqs(d) == [7], (c.describe(), d.describe())
    assert not [e for e in c.events + d.events if e.type == "reset"]
    # The reset streams left nothing in the registry: only c and d are there.
    rows = sse.registry_rows(server, [bid])
    assert len(rows) == 2, rows


def test_reset_when_more_than_replay_limit_behind(server, streams):
    owner = tb.new_user(server, "rlimit")
    bid = tb.create_board(server, owner)["id"]
    for i in range(8):
        tb.create_item(server, owner, bid, text="l%d" % i)
    server.restart_app(replay_limit=5)
    try:
        expect_reset(streams, bid, owner, last_event_id=2, last=8)   # 6 behind
        expect_reset(streams, bid, owner, last_event_id=0, last=8)   # 8 behind
        c = streams.open(bid, owner, last_event_id=3)                # 5 behind: replayed
        c.wait_seq(8)
        assert change_seqs(c) == [4, 5, 6, 7, 8], c.describe()
        assert not c.typed("reset")
    finally:
        streams.close_all()
        server.restart_app()


# ---- bye at the lifetime -----------------------------------------------------------------------

def test_bye_at_lifetime_then_resume_without_loss(server, streams):
    lifetime = 3
    owner = tb.new_user(server, "bye")
    bid = tb.create_board(server, owner)["id"]
    server.restart_app(stream_max_seconds=lifetime)
    stop = threading.Event()
    errors = []

    def write():
        try:
            item = tb.create_item(server, owner, bid, text="bye")
            i = 0
            while not stop.is_set():
                i += 1
                r = tb.request(server, "PATCH", "/boards/%d/items/%d" % (bid, item["id"]), {"x": i},
                               token=owner.token, timeout=30)
                if r.status != 200:
                    raise AssertionError(repr(r))
                stop.wait(0.1)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=write, daemon=True, name="bye-writer")
    try:
        c = streams.open(bid, owner)
        assert c.events[0].json["lifetime"] == lifetime, c.describe()
        received = []
        t.start()
        for rotation in range(2):
            bye = c.wait_type("bye", timeout=lifetime + 10)
            age = bye.t - c.connected_at
            assert lifetime - 1.0 <= age <= lifetime + 5.0, "bye after %.1f s (lifetime %d)" % (age, lifetime)
            assert bye.json == {"reason": "lifetime"}, bye
            assert not bye.explicit_id, bye
            c.wait_ended(timeout=10)
            assert c.events[-1] is bye, "events after bye: %s" % c.describe()
            received += change_seqs(c)
            resume = int(c.last_id)
            time.sleep(0.3)  # a browser waits `retry` ms; changes made meanwhile must come by replay
            c = streams.open(bid, owner, last_event_id=resume)
            assert_resumed(c, resume)
        stop.set()
        t.join(timeout=30)
        assert not t.is_alive() and not errors, errors
        final = sse.log_seqs(server, bid)[-1]
        c.wait_seq(final, timeout=10)
        c.close()
        received += change_seqs(c)
        assert_no_gap(received, sse.log_seqs(server, bid), "3 connections rotated by bye")
        assert len(received) >= 10, received
    finally:
        stop.set()
        t.join(timeout=30) if t.is_alive() else None
        streams.close_all()
        server.restart_app()
