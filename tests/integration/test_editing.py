"""Editing announcements (issue 17, "Being edited by X"; docs/api.md, Editing announcements):
POST and DELETE /boards/:id/items/:item_id/editing answer 204 and reach every stream of the board
as the control events `editing` and `editing.end` (no id: line): never in the event log, never
replayed, not a resume point, never in a poll. Editor and up; a viewer 403; a board or note the
caller cannot see 404. A user announces a note at most once per second (extra calls are 204 and
send nothing); an end goes out only after an announcement it ends.

Streams hold a worker each: every test opens at most three at a time (the `streams` fixture)."""

import time

import pytest

import tbclient as tb
import sse
from sse import streams  # noqa: F401  (fixture)

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
    assert ev.json == {"item_id": iid, "user_id": a.id, "name": a.name, "ttl": 30}, ev
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


def test_at_most_once_per_second_and_end_only_after_start(server, streams, team_board):
    a, b = team_board["admin"], team_board["editor"]
    bid, iid = team_board["board"], team_board["item"]
    other = tb.create_item(server, a, bid, text="another")["id"]
    s = streams.open(bid, b)

    # An end with nothing to end sends nothing.
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    # Three announcements at once: one goes out, the others are 204 and silent.
    started = time.monotonic()
    for _ in range(3):
        assert announce(server, a, bid, iid).status == 204
    if time.monotonic() - started >= 1.0:
        pytest.skip("three requests took a second or more on this machine: the limit cannot be seen")
    s.wait_type("editing")
    # Another note and another user are counted on their own.
    assert announce(server, a, bid, other).status == 204
    assert announce(server, b, bid, iid).status == 204
    s.wait_count(3, predicate=lambda e: e.type == "editing")
    # The end goes out at once (it ends a sent announcement); a second end does not.
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    assert announce(server, a, bid, iid, method="DELETE").status == 204
    s.wait_type("editing.end")
    s.collect(1.2)
    got = [(e.type, e.json["user_id"], e.json["item_id"]) for e in ephemeral(s)]
    assert sorted(got) == sorted([("editing", a.id, iid), ("editing", a.id, other), ("editing", b.id, iid),
                                  ("editing.end", a.id, iid)]), s.describe()
    # A second later the note may be announced again.
    n = len(s.snapshot())
    assert announce(server, a, bid, iid).status == 204
    ev = s.wait_type("editing", start=n)
    assert ev.json["user_id"] == a.id and ev.json["item_id"] == iid


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
    tb.assert_error(announce(server, t["editor"], bid, item, "DELETE"), 404, "not_found")
    # Its announcement state went with it.
    assert server.sql("SELECT count(*) FROM teamboard.editing_announcements WHERE item_id = %s", (item,))[0][0] == 0
