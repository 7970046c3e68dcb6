"""Editing announcements (issue 17, "Being edited by X"; docs/api.md, Editing announcements):
POST and DELETE /boards/:id/items/:item_id/editing answer 204 and reach every stream of the board
as the control events `editing` and `editing.end` (no id: line): never in the event log, never
replayed, not a resume point, never in a poll. Editor and up; a viewer 403; a board or note the
caller cannot see 404, also when the note is deleted while the call runs. A user announces a note
at most once per second between two starts (extra calls are 204 and send nothing), but a start
after an end always goes out (an editor closed and opened again shows its badge at once); an end
goes out only after an announcement it ends.

The tests never depend on how fast requests are answered: a limit that must hold is pinned in the
database (the last start moved into the future), and a burst's count is bounded by its own
duration.

Streams hold a worker each: every test opens at most three at a time (the `streams` fixture)."""

import math
import threading
import time

import pytest

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)

EDITING = ("editing", "editing.end")


def editing_path(board_id, item_id):
    return "/boards/%d/items/%d/editing" % (board_id, item_id)


def announce(server, user, board_id, item_id, method="POST", **kw):
    kw.setdefault("token", user.token if user is not None else None)
    return tb.request(server, method, editing_path(board_id, item_id), **kw)


def ephemeral(client, start=0):
    return [e for e in client.snapshot()[start:] if e.type in EDITING]


@pytest.fixture
def team_board(server):
    """A team board with an item: admin (the team's creator), editor, viewer, and a stranger."""
    admin, editor, viewer, stranger = (tb.new_user(server, p) for p in ("adm", "edi", "vie", "str"))
    team = tb.create_team(server, admin)["id"]
    tb.add_member(server, admin, team, editor, "editor")
    tb.add_member(server, admin, team, viewer, "viewer")
    board = tb.create_board(server, admin, team_id=team)["id"]
    item = tb.create_item(server, admin, board, text="edit me")["id"]
    return {"admin": admin, "editor": editor, "viewer": viewer, "stranger": stranger, "team": team,
            "board": board, "item": item}


def test_announcement_reaches_every_stream_and_ends(server, streams, team_board):
    a, b = team_board["admin"], team_board["editor"]
    bid, iid = team_board["board"], team_board["item"]
    log_before = sse.log_seqs(server, bid)
    sb = streams.open(bid, b)
    sa = streams.open(bid, a)

    r = announce(server, a, bid, iid)
    assert r.status == 204 and r.body == b"", r
    ev = sb.wait_type("editing")
    assert not ev.explicit_id, "an editing event has no id: line: %r" % ev
    assert ev.json == {"item_id": iid, "user_id": a.id, "name": a.name, "display_name": a.name, "ttl": 30}, ev
    # The announcer's own streams get it too (the client ignores its own user_id).
    own = sa.wait_type("editing")
    assert own.json == ev.json

    r = announce(server, a, bid, iid, method="DELETE")
    assert r.status == 204 and r.body == b"", r
    end = sb.wait_type("editing.end")
    assert not end.explicit_id, end
    assert end.json == {"item_id": iid, "user_id": a.id}, end
    sa.wait_type("editing.end")

    # Nothing was recorded: the log and the board's last_event_id did not move.
    assert sse.log_seqs(server, bid) == log_before
    board = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=b.token), 200)
    assert board["last_event_id"] == (log_before[-1] if log_before else 0)

    # The next change takes the next seq, and the browser's last event id stays a change's seq.
    tb.create_item(server, b, bid, text="after")
    ch = sb.wait_type("item.created")
    assert ch.seq == board["last_event_id"] + 1, sb.describe()
    hello = sb.events[0]
    for e in sb.snapshot():
        if e.type in EDITING:
            assert e.id == hello.id, "an editing event changed the last event id: %r" % e


def test_not_replayed_not_polled(server, streams, team_board):
    a, b = team_board["admin"], team_board["editor"]
    bid, iid = team_board["board"], team_board["item"]
    start = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=b.token), 200)["last_event_id"]
    live = streams.open(bid, b)
    assert announce(server, a, bid, iid).status == 204
    live.wait_type("editing")
    tb.create_item(server, a, bid, text="a change")
    live.wait_type("item.created")
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    live.wait_type("editing.end")

    # A resume from before the announcements replays the change only.
    again = streams.open(bid, b, last_event_id=start)
    again.wait_type("item.created")
    again.collect(1.0)
    assert [e.type for e in again.snapshot()] == ["hello", "item.created"], again.describe()

    # A poll has the change and nothing else.
    polled = tb.assert_status(tb.request(server, "GET", "/boards/%d/events?after=0" % bid,
                                         token=b.token), 200)
    types = [e["type"] for e in polled["events"]]
    assert "item.created" in types and not set(types) & set(EDITING), polled


def pin_last_start(server, user, item_id, seconds):
    """Moves the user's last start for the note to now() + seconds (server time): a large positive
    value keeps it 'within the last second' for the rest of the test, however slow the machine."""
    n = server.sql("UPDATE teamboard.editing_announcements SET sent_at = now() + %s * interval '1 second'"
                   " WHERE user_id = %s AND item_id = %s RETURNING 1", (seconds, user.id, item_id))
    assert len(n) == 1, "no announcement row for user %d, note %d" % (user.id, item_id)


def test_at_most_once_per_second_and_end_only_after_start(server, streams, team_board):
    a, b = team_board["admin"], team_board["editor"]
    bid, iid = team_board["board"], team_board["item"]
    other = tb.create_item(server, a, bid, text="another")["id"]
    s = streams.open(bid, b)

    # An end with nothing to end sends nothing.
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    # A burst of starts: the first goes out, and any two that go out are a second apart, so at
    # most 1 + (the burst's duration in whole seconds) of them (one on any machine that answers
    # three requests within a second); the others are 204 and silent.
    started = time.monotonic()
    for _ in range(3):
        assert announce(server, a, bid, iid).status == 204
    burst = time.monotonic() - started
    s.wait_type("editing")
    # Within a second of the last start (pinned: the start 'happened' an hour from now) a start
    # is silent, whatever the requests' latency.
    pin_last_start(server, a, iid, 3600)
    assert announce(server, a, bid, iid).status == 204
    # Another note and another user are counted on their own.
    assert announce(server, a, bid, other).status == 204
    assert announce(server, b, bid, iid).status == 204
    s.wait_for(lambda e: e.type == "editing" and e.json["item_id"] == other)
    s.wait_for(lambda e: e.type == "editing" and e.json["user_id"] == b.id)
    # The end goes out at once (it ends a sent announcement); a second end does not.
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    s.wait_type("editing.end")
    s.collect(1.2)
    got = [(e.type, e.json["user_id"], e.json["item_id"]) for e in ephemeral(s)]
    bursts = got.count(("editing", a.id, iid))
    assert 1 <= bursts <= 1 + math.floor(burst), (burst, s.describe())
    assert sorted(got) == sorted([("editing", a.id, iid)] * bursts +
                                 [("editing", a.id, other), ("editing", b.id, iid),
                                  ("editing.end", a.id, iid)]), s.describe()
    # More than a second after its start (the collect above waited 1.2 s) a note may be
    # announced again.
    n = len(s.snapshot())
    assert announce(server, a, bid, other).status == 204
    ev = s.wait_type("editing", start=n)
    assert ev.json["user_id"] == a.id and ev.json["item_id"] == other


def test_start_right_after_end_goes_out(server, streams, team_board):
    """Closing an editor and opening it again at once shows the badge again: an end does not
    start the one-second window, and a start after an end is not limited; a repeat of that start
    is limited again."""
    a, b = team_board["admin"], team_board["editor"]
    bid, iid = team_board["board"], team_board["item"]
    s = streams.open(bid, b)
    for method in ("POST", "DELETE", "POST"):
        assert announce(server, a, bid, iid, method=method).status == 204
    s.wait_count(2, predicate=lambda e: e.type == "editing")
    # The same with the last start pinned within the second: still out after an end.
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    pin_last_start(server, a, iid, 3600)
    assert announce(server, a, bid, iid).status == 204
    s.wait_count(3, predicate=lambda e: e.type == "editing")
    # A repeat within the second of that start: silent.
    pin_last_start(server, a, iid, 3600)
    assert announce(server, a, bid, iid).status == 204
    s.collect(1.0)
    got = [e.type for e in ephemeral(s)]
    assert got == ["editing", "editing.end", "editing", "editing.end", "editing"], s.describe()


def test_who_may_announce(server, streams, team_board):
    t = team_board
    bid, iid = t["board"], t["item"]
    s = streams.open(bid, t["admin"])
    for method in ("POST", "DELETE"):
        tb.assert_error(announce(server, t["viewer"], bid, iid, method), 403, "forbidden")
        tb.assert_error(announce(server, t["stranger"], bid, iid, method), 404, "not_found")
        tb.assert_error(announce(server, None, bid, iid, method, token=None), 401, "unauthorized")
        tb.assert_error(announce(server, t["editor"], bid, iid + 1000000, method), 404, "not_found")
        tb.assert_error(announce(server, t["editor"], bid + 1000000, iid, method), 404, "not_found")
        # CSRF as on every write: a cookie needs our own origin.
        tb.assert_error(announce(server, t["editor"], bid, iid, method, token=None, cookie=t["editor"].cookie,
                                 origin="https://evil.example"), 403, "bad_origin")
        tb.assert_error(announce(server, t["editor"], bid, iid, method, token=None, cookie=t["editor"].cookie,
                                 origin=None), 403, "bad_origin")
    # A note of another board of the same team is not on this board.
    elsewhere = tb.create_board(server, t["admin"], team_id=t["team"])["id"]
    foreign = tb.create_item(server, t["admin"], elsewhere)["id"]
    tb.assert_error(announce(server, t["editor"], bid, foreign), 404, "not_found")
    # A personal board is its owner's alone.
    mine = tb.create_board(server, t["stranger"])["id"]
    note = tb.create_item(server, t["stranger"], mine)["id"]
    tb.assert_error(announce(server, t["editor"], mine, note), 404, "not_found")
    assert announce(server, t["stranger"], mine, note).status == 204
    # Other methods: 405 with Allow.
    r = announce(server, t["editor"], bid, iid, method="GET")
    tb.assert_error(r, 405, "method_not_allowed")
    assert set(x.strip() for x in r.header("Allow").split(",")) == {"POST", "DELETE"}, r.header("Allow")
    # A cookie from our own page works.
    assert announce(server, t["editor"], bid, iid, token=None, cookie=t["editor"].cookie).status == 204
    s.wait_type("editing")
    s.collect(0.5)
    assert [e.json["user_id"] for e in ephemeral(s)] == [t["editor"].id], s.describe()


def test_removed_member_gets_404(server, streams, team_board):
    t = team_board
    bid, iid, ed = t["board"], t["item"], t["editor"]
    assert announce(server, ed, bid, iid).status == 204
    r = tb.request(server, "DELETE", "/teams/%d/members/%d" % (t["team"], ed.id), token=t["admin"].token)
    assert r.status == 204, r
    s = streams.open(bid, t["admin"])
    for method in ("POST", "DELETE"):
        tb.assert_error(announce(server, ed, bid, iid, method), 404, "not_found")
    s.collect(1.0)
    assert ephemeral(s) == [], s.describe()


def test_deleted_note_is_404(server, team_board):
    t = team_board
    bid = t["board"]
    item = tb.create_item(server, t["editor"], bid)["id"]
    assert announce(server, t["editor"], bid, item).status == 204
    assert tb.request(server, "DELETE", "/boards/%d/items/%d" % (bid, item), token=t["editor"].token).status == 204
    for method in ("DELETE", "POST"):
        tb.assert_error(announce(server, t["editor"], bid, item, method), 404, "not_found")
    # Its announcement state went with it.
    assert server.sql("SELECT count(*) FROM teamboard.editing_announcements WHERE item_id = %s", (item,))[0][0] == 0


def blocked_on_lock(server, pattern):
    """Whether a backend is waiting for a lock while running a statement that contains pattern."""
    return server.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                      " AND query LIKE %s", ("%" + pattern + "%",))[0][0] > 0


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_note_deleted_while_announcing_is_404(server, team_board, method):
    """The note is deleted by a transaction that commits while the announcement waits for it: 404
    as for a note that is gone (it was a foreign-key error, 500)."""
    t = team_board
    bid, ed = t["board"], t["editor"]
    item = tb.create_item(server, ed, bid)["id"]
    if method == "DELETE":  # an end has a start to end
        assert announce(server, ed, bid, item).status == 204
    conn = server.connect()
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SET LOCAL search_path = teamboard")
            cur.execute("DELETE FROM items WHERE id = %s", (item,))
        result = []
        worker = threading.Thread(target=lambda: result.append(announce(server, ed, bid, item, method)))
        worker.start()
        # The announcement sees the note (the deletion is not committed) and waits for its row.
        assert tb.wait_for(lambda: blocked_on_lock(server, "editing_announcements") or not worker.is_alive(),
                           timeout=tb.seconds(15)), "the announcement never waited for the deletion"
        conn.commit()
    finally:
        conn.close()
    worker.join(timeout=tb.seconds(15))
    assert result, "no answer"
    tb.assert_error(result[0], 404, "not_found")
    assert server.sql("SELECT count(*) FROM teamboard.editing_announcements WHERE item_id = %s", (item,))[0][0] == 0


def test_announcing_while_notes_are_deleted(server, team_board):
    """Announcements racing real deletions (bounded: 15 notes, 20 s): every answer is 204 or 404,
    never 500."""
    t = team_board
    bid, ed, adm = t["board"], t["editor"], t["admin"]
    deadline = time.monotonic() + tb.seconds(20)
    statuses = []
    for _ in range(15):
        if time.monotonic() > deadline:
            break
        item = tb.create_item(server, adm, bid)["id"]
        stop = threading.Event()

        def spam(item=item, stop=stop):
            for i in range(200):
                if stop.is_set():
                    break
                statuses.append(announce(server, ed, bid, item, "DELETE" if i % 2 else "POST").status)

        worker = threading.Thread(target=spam)
        worker.start()
        time.sleep(0.02)
        assert tb.request(server, "DELETE", "/boards/%d/items/%d" % (bid, item), token=adm.token).status == 204
        time.sleep(0.02)
        stop.set()
        worker.join(timeout=tb.seconds(30))
        assert not worker.is_alive()
    assert statuses and set(statuses) <= {204, 404}, sorted(set(statuses))
