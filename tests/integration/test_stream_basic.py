"""The board event stream, the basics (docs/events-contract.txt): the opening (retry, hello,
headers), who may stream, every change delivered exactly once in seq order with the right type and
payload, a 9,000-character note through the seq-only NOTIFY path, the JSON polling fallback,
presence (viewers) and a stream request that carries a body.

Streams hold a worker each and the test pool is small (TB_WORKERS, 4 by default): every test opens
at most three at a time, and the `streams` fixture closes them and frees their workers afterwards.
"""

import json
import os
import time

import pytest

import tbclient as tb
import tbsse as sse
from tbsse import streams  # noqa: F401  (fixture)
from tbfixture import server_in_both_modes  # noqa: F401  (`server` in both stream modes)

EVENT_KEYS = {"seq", "type", "board_id", "at", "actor"}
HELLO_KEYS = {"board_id", "last_event_id", "heartbeat", "lifetime", "viewers"}
ITEM_KEYS = {"id", "board_id", "text", "color", "x", "y", "width", "height", "z", "author_id",
             "version", "created_at", "updated_at"}


def team_with(server, owner, **members):
    """A team created by owner with members {role: [User...]}; returns its id."""
    team = tb.create_team(server, owner)
    for role, users in members.items():
        for u in users:
            tb.add_member(server, owner, team["id"], u, role)
    return team["id"]


def check_event(ev, board_id, actor=None):
    """The common envelope of a change event: id line = seq, event line = type."""
    assert ev.explicit_id, "a change event without its own id: line: %r" % ev
    assert "\n" not in ev.data, "data is not one line: %r" % ev
    d = ev.json
    assert EVENT_KEYS <= set(d), ev
    assert d["seq"] == ev.seq, ev
    assert d["type"] == ev.type, ev
    assert d["board_id"] == board_id, ev
    tb.parse_time(d["at"])
    if actor is not None:
        assert d["actor"] == {"id": actor.id, "name": actor.name, "display_name": actor.name}, ev
    return d


def check_same_item(event_item, rest_item):
    assert set(event_item) == ITEM_KEYS, event_item
    for k in ITEM_KEYS - {"created_at", "updated_at"}:
        assert event_item[k] == rest_item[k], (k, event_item, rest_item)
    assert tb.parse_time(event_item["updated_at"]) == tb.parse_time(rest_item["updated_at"])


def change_events(client):
    return [e for e in client.snapshot() if e.explicit_id and e.type != "hello"]


# ---- the opening -------------------------------------------------------------------------------

def test_hello_first_with_headers_and_resume_point(server, streams):
    owner = tb.new_user(server, "hello")
    board = tb.create_board(server, owner)
    bid = board["id"]
    tb.create_item(server, owner, bid, text="one")
    tb.create_item(server, owner, bid, text="two")
    got = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=owner.token), 200)
    last = got["last_event_id"]
    assert last == sse.log_seqs(server, bid)[-1] == 2

    c = streams.open(bid, owner)
    ctype = (c.header("Content-Type") or "").replace(" ", "").lower()
    assert ctype == "text/event-stream;charset=utf-8", c.headers.items()
    assert "no-store" in (c.header("Cache-Control") or "").lower(), c.headers.items()
    assert (c.header("X-Accel-Buffering") or "").lower() == "no", c.headers.items()
    assert c.header("Content-Length") is None, "a stream has no length: %r" % c.headers.items()

    # retry: first, then hello (id = the resume point: the board's current last event id).
    assert c.records[0] == ("retry", 2000), c.records[:3]
    kinds = [k for k, _ in c.records]
    assert kinds.index("event") == 1, c.records[:3]
    hello = c.events[0]
    assert hello.type == "hello" and hello.explicit_id and hello.seq == last, hello
    h = hello.json
    assert HELLO_KEYS <= set(h), h
    assert h["board_id"] == bid and h["last_event_id"] == last, h
    assert h["heartbeat"] == int(server.config["heartbeat_interval"]), h
    assert h["lifetime"] == int(server.config["stream_max_seconds"]), h
    assert {"user_id": owner.id, "name": owner.name, "display_name": owner.name} in h["viewers"], h
    for v in h["viewers"]:
        assert set(v) == {"user_id", "name", "display_name"}, h

    # No resume point given: nothing is replayed; the next change comes live and next.
    time.sleep(0.5)
    assert change_events(c) == [], c.describe()
    item = tb.create_item(server, owner, bid, text="three")
    ev = c.wait_seq(3)
    assert change_events(c) == [ev] and ev.type == "item.created", c.describe()
    check_event(ev, bid, owner)
    check_same_item(ev.json["item"], item)
    assert c.last_id == "3"

    # Last-Event-ID: hello carries it, the log after it is replayed, in order.
    r = streams.open(bid, owner, last_event_id=1)
    assert r.events[0].seq == 1 and r.events[0].json["last_event_id"] == 1, r.describe()
    r.wait_seq(3)
    assert [e.seq for e in change_events(r)] == [2, 3], r.describe()
    assert [e.type for e in change_events(r)] == ["item.created"] * 2
    assert json.loads(change_events(r)[1].data) == ev.json, "a replayed event differs from the live one"

    # ?last_event_id= when there is no header; the header wins over the query.
    q = streams.open(bid, owner, query="last_event_id=0")
    assert q.events[0].seq == 0, q.describe()
    q.wait_seq(3)
    assert [e.seq for e in change_events(q)] == [1, 2, 3], q.describe()


def test_header_wins_and_cookie_auth(server, streams):
    owner = tb.new_user(server, "cookie")
    bid = tb.create_board(server, owner)["id"]
    for i in range(3):
        tb.create_item(server, owner, bid, text="n%d" % i)
    c = streams.open(bid, cookie=owner.cookie, last_event_id=2, query="last_event_id=0")
    assert c.events[0].seq == 2, c.describe()
    c.wait_seq(3)
    assert [e.seq for e in change_events(c)] == [3], c.describe()
    # Last-Event-ID 0 is a valid resume point (everything).
    z = streams.open(bid, owner, last_event_id=0)
    z.wait_seq(3)
    assert [e.seq for e in change_events(z)] == [1, 2, 3], z.describe()


# ---- who may stream ----------------------------------------------------------------------------

def test_anonymous_401_stranger_404_viewer_streams_but_cannot_write(server, streams):
    owner = tb.new_user(server, "authz")
    viewer = tb.new_user(server, "authzv")
    stranger = tb.new_user(server, "authzs")
    tid = team_with(server, owner, viewer=[viewer])
    bid = tb.create_board(server, owner, team_id=tid)["id"]

    anon = streams.client(bid)
    anon.connect()
    tb.assert_error(sse.error_response(anon), 401, "unauthorized")
    forged = streams.client(bid, token="ab" * 32)
    forged.connect()
    tb.assert_error(sse.error_response(forged), 401, "unauthorized")
    other = streams.client(bid, token=stranger.token)
    other.connect()
    tb.assert_error(sse.error_response(other), 404, "not_found")
    missing = streams.client(bid + 100000, token=owner.token)
    missing.connect()
    tb.assert_error(sse.error_response(missing), 404, "not_found")
    # The same for the JSON poll.
    tb.assert_error(tb.request(server, "GET", "/boards/%d/events" % bid), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/boards/%d/events" % bid, token=stranger.token),
                    404, "not_found")

    # A malformed resume point is 400 bad_request.
    for bad in ("abc", "-1", "1.5", "1e3", "+1", "99999999999999999999"):
        c = streams.client(bid, token=owner.token, last_event_id=bad)
        c.connect()
        assert c.status == 400, "Last-Event-ID %r: %s\n%s" % (bad, c.status, c.describe())
        tb.assert_error(sse.error_response(c), 400, "bad_request")
    c = streams.client(bid, token=owner.token, query="last_event_id=x")
    c.connect()
    tb.assert_error(sse.error_response(c), 400, "bad_request")

    # A viewer streams, but may not write; it sees what an editor... here the owner, writes.
    v = streams.open(bid, viewer)
    tb.assert_error(tb.request(server, "POST", "/boards/%d/items" % bid, {"text": "no"},
                               token=viewer.token), 403, "forbidden")
    tb.assert_error(tb.request(server, "PATCH", "/boards/%d" % bid, {"title": "no"},
                               token=viewer.token), 403, "forbidden")
    item = tb.create_item(server, owner, bid, text="from the owner")
    ev = v.wait_type("item.created")
    check_event(ev, bid, owner)
    check_same_item(ev.json["item"], item)
    assert [e.type for e in change_events(v)] == ["item.created"], v.describe()
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d/events" % bid, token=viewer.token), 200)
    assert [e["seq"] for e in doc["events"]] == [ev.seq]


# ---- every change, exactly once ----------------------------------------------------------------

def test_two_listeners_get_every_change_once_in_order(server, streams):
    owner = tb.new_user(server, "two")
    editor = tb.new_user(server, "twoe")
    extra = tb.new_user(server, "twox")
    tid = team_with(server, owner, editor=[editor])
    board = tb.create_board(server, owner, team_id=tid)
    bid = board["id"]
    assert sse.log_seqs(server, bid) == []

    a = streams.open(bid, owner)
    b = streams.open(bid, cookie=editor.cookie)
    path = "/boards/%d" % bid

    expect = []  # (type, actor, check(data))

    def items_path(item_id):
        return "%s/items/%d" % (path, item_id)

    i1 = tb.create_item(server, owner, bid, text="first", x=1, y=2)
    expect.append(("item.created", owner, lambda d, i=i1: check_same_item(d["item"], i)))
    i2 = tb.create_item(server, editor, bid, text="second")
    expect.append(("item.created", editor, lambda d, i=i2: check_same_item(d["item"], i)))

    u1 = tb.assert_status(tb.request(server, "PATCH", items_path(i1["id"]), {"x": 10, "text": "moved"},
                                     token=owner.token), 200)
    assert u1["version"] == i1["version"] + 1

    def upd(d, item, changed):
        check_same_item(d["item"], item)
        assert sorted(d["changed"]) == sorted(changed), d
    expect.append(("item.updated", owner, lambda d, i=u1: upd(d, i, ["x", "text"])))
    u2 = tb.assert_status(tb.request(server, "PATCH", items_path(i2["id"]), {"color": "#AABBCC"},
                                     token=editor.token), 200)
    expect.append(("item.updated", editor, lambda d, i=u2: upd(d, i, ["color"])))
    u3 = tb.assert_status(tb.request(server, "PATCH", items_path(i1["id"]),
                                     {"width": 300, "height": 100, "z": 5, "y": 7}, token=owner.token), 200)
    expect.append(("item.updated", owner, lambda d, i=u3: upd(d, i, ["width", "height", "z", "y"])))

    nb = tb.assert_status(tb.request(server, "PATCH", path, {"title": "renamed"}, token=editor.token), 200)

    def board_upd(d):
        assert d["changed"] == ["title"], d
        assert d["board"]["id"] == bid and d["board"]["title"] == "renamed", d
        assert d["board"]["version"] == nb["version"], d
        assert "role" not in d["board"] and "last_event_id" not in d["board"], d
    expect.append(("board.updated", editor, board_upd))

    def member(d, user, role):
        assert d["member"] == {"team_id": tid, "user_id": user.id, "name": user.name, "display_name": user.name,
                               "role": role}, d
    tb.add_member(server, owner, tid, extra, "viewer")
    expect.append(("member.added", owner, lambda d: member(d, extra, "viewer")))
    tb.assert_status(tb.request(server, "PATCH", "/teams/%d/members/%d" % (tid, extra.id), {"role": "editor"},
                                token=owner.token), 200)
    expect.append(("member.updated", owner, lambda d: member(d, extra, "editor")))
    tb.assert_status(tb.request(server, "DELETE", "/teams/%d/members/%d" % (tid, extra.id),
                                token=owner.token), 204)
    expect.append(("member.removed", owner, lambda d: member(d, extra, None)))

    tb.assert_status(tb.request(server, "DELETE", items_path(i2["id"]), token=editor.token), 204)

    def deleted(d):  # the whole note as it was, with the deletion's version (issue 14)
        assert d["item"] == dict(u2, version=u2["version"] + 1), d
    expect.append(("item.deleted", editor, deleted))

    log = sse.log_seqs(server, bid)
    types = sse.log_types(server, bid)
    assert len(log) == len(expect), (log, types)
    assert [types[s] for s in log] == [t for t, _, _ in expect], types

    for client in (a, b):
        client.wait_seq(log[-1], timeout=15)
        time.sleep(0.3)  # anything extra (a duplicate) would arrive now
        evs = change_events(client)
        assert [e.seq for e in evs] == log, client.describe(40)
        for ev, (typ, actor, check) in zip(evs, expect):
            assert ev.type == typ, (ev, typ)
            d = check_event(ev, bid, actor)
            check(d)
        # nothing but hello, changes and presence
        assert {e.type for e in client.snapshot()} <= {"hello", "presence"} | {t for t, _, _ in expect}, \
            client.describe(40)
    # Both listeners got the same events.
    assert [e.json for e in change_events(a)] == [e.json for e in change_events(b)]
    # And the poll returns them too, the same way.
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d/events" % bid, token=owner.token), 200)
    assert doc["events"] == [e.json for e in change_events(a)]


def test_note_of_9000_characters_arrives_whole(server, streams):
    owner = tb.new_user(server, "big")
    bid = tb.create_board(server, owner)["id"]
    piece = 'Ünïcødé € "quoted" \\ back\tslash\nline 😀 '
    text = (piece * (9000 // len(piece) + 1))[:9000]
    assert len(text) == 9000
    c = streams.open(bid, owner)
    item = tb.create_item(server, owner, bid, text=text, color="#123456")
    ev = c.wait_type("item.created", timeout=15)
    check_event(ev, bid, owner)
    assert len(ev.data.encode("utf-8")) > 8000, "not the large-event path: %d bytes" % len(ev.data)
    assert ev.json["item"]["text"] == text
    check_same_item(ev.json["item"], item)

    text2 = text[::-1]
    upd = tb.assert_status(tb.request(server, "PATCH", "/boards/%d/items/%d" % (bid, item["id"]),
                                      {"text": text2}, token=owner.token), 200)
    ev2 = c.wait_type("item.updated", timeout=15)
    check_event(ev2, bid, owner)
    assert ev2.json["item"]["text"] == text2 and ev2.json["changed"] == ["text"]
    check_same_item(ev2.json["item"], upd)
    # A small change after the large ones still arrives, in order.
    tb.assert_status(tb.request(server, "PATCH", "/boards/%d/items/%d" % (bid, item["id"]),
                                {"x": 5}, token=owner.token), 200)
    c.wait_seq(3)
    assert [e.seq for e in change_events(c)] == [1, 2, 3], c.describe()
    # The same events by replay.
    r = streams.open(bid, owner, last_event_id=0)
    r.wait_seq(3)
    assert [e.json for e in change_events(r)] == [e.json for e in change_events(c)]


# ---- polling -----------------------------------------------------------------------------------

def poll(server, user, bid, query=None, accept="application/json"):
    path = "/boards/%d/events" % bid + ("?" + query if query else "")
    return tb.request(server, "GET", path, token=user.token, headers={"Accept": accept})


def test_polling_after_limit_more_reset_and_bad_values(server):
    owner = tb.new_user(server, "poll")
    bid = tb.create_board(server, owner)["id"]
    doc = tb.assert_status(poll(server, owner, bid), 200)
    assert doc == {"events": [], "last_event_id": 0, "more": False}
    for i in range(5):
        tb.create_item(server, owner, bid, text="p%d" % i, x=i)

    doc = tb.assert_status(poll(server, owner, bid), 200)
    assert set(doc) == {"events", "last_event_id", "more"}
    assert [e["seq"] for e in doc["events"]] == [1, 2, 3, 4, 5] and doc["last_event_id"] == 5
    assert doc["more"] is False
    for e in doc["events"]:
        assert EVENT_KEYS <= set(e) and e["type"] == "item.created" and e["board_id"] == bid, e
        assert e["actor"] == {"id": owner.id, "name": owner.name, "display_name": owner.name}, e
        assert e["item"]["version"] == 1, e

    doc = tb.assert_status(poll(server, owner, bid, "limit=2"), 200)
    assert [e["seq"] for e in doc["events"]] == [1, 2] and doc["more"] is True and doc["last_event_id"] == 5
    doc = tb.assert_status(poll(server, owner, bid, "after=2&limit=2"), 200)
    assert [e["seq"] for e in doc["events"]] == [3, 4] and doc["more"] is True
    doc = tb.assert_status(poll(server, owner, bid, "after=3"), 200)
    assert [e["seq"] for e in doc["events"]] == [4, 5] and doc["more"] is False
    doc = tb.assert_status(poll(server, owner, bid, "after=5"), 200)
    assert doc == {"events": [], "last_event_id": 5, "more": False}
    doc = tb.assert_status(poll(server, owner, bid, "after=0&limit=1000"), 200)
    assert len(doc["events"]) == 5
    # Anything but text/event-stream in Accept is a poll.
    for accept in ("*/*", "application/json, text/plain", None):
        resp = poll(server, owner, bid, "after=4", accept=accept)
        doc = tb.assert_status(resp, 200)
        assert [e["seq"] for e in doc["events"]] == [5], (accept, doc)

    for bad in ("after=-1", "after=x", "after=1.5", "after=", "limit=0", "limit=1001", "limit=-3",
                "limit=x", "after=99999999999999999999"):
        tb.assert_error(poll(server, owner, bid, bad), 400, "bad_request")

    # After beyond the log: 410 reset with the board's last id.
    resp = poll(server, owner, bid, "after=6")
    doc = tb.assert_error(resp, 410, "reset")
    assert doc["last_event_id"] == 5, doc

    # Events pruned (as retention would): a resume point older than the log is 410 reset;
    # one right before what is kept is fine; no explicit after gives what is kept.
    server.sql("DELETE FROM teamboard.board_events WHERE board_id = %s AND seq <= 2", (bid,))
    for after in (0, 1):
        doc = tb.assert_error(poll(server, owner, bid, "after=%d" % after), 410, "reset")
        assert doc["last_event_id"] == 5, doc
    doc = tb.assert_status(poll(server, owner, bid, "after=2"), 200)
    assert [e["seq"] for e in doc["events"]] == [3, 4, 5]
    doc = tb.assert_status(poll(server, owner, bid), 200)
    assert [e["seq"] for e in doc["events"]] == [3, 4, 5]


# ---- viewers and presence ----------------------------------------------------------------------

def viewers(server, user, bid):
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d/viewers" % bid, token=user.token), 200)
    assert set(doc) == {"viewers", "guests"} and doc["guests"] == 0, doc
    for v in doc["viewers"]:
        assert set(v) == {"user_id", "name", "display_name"}, doc
    return doc["viewers"]


def test_viewers_and_presence(server, streams):
    owner = tb.new_user(server, "pres")
    member = tb.new_user(server, "presm")
    stranger = tb.new_user(server, "press")
    tid = team_with(server, owner, viewer=[member])
    bid = tb.create_board(server, owner, team_id=tid)["id"]
    me_owner = {"user_id": owner.id, "name": owner.name, "display_name": owner.name}
    me_member = {"user_id": member.id, "name": member.name, "display_name": member.name}

    assert viewers(server, member, bid) == []
    tb.assert_error(tb.request(server, "GET", "/boards/%d/viewers" % bid), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/boards/%d/viewers" % bid, token=stranger.token),
                    404, "not_found")

    a = streams.open(bid, owner)
    assert viewers(server, member, bid) == [me_owner]
    mark = len(a.snapshot())

    b = streams.open(bid, member)
    assert {"user_id": member.id, "name": member.name, "display_name": member.name} in b.events[0].json["viewers"], b.describe()
    assert me_owner in b.events[0].json["viewers"], b.describe()
    pres = a.wait_for(lambda e: e.type == "presence" and me_member in e.json.get("viewers", []),
                      timeout=10, start=mark, what="presence with the member")
    assert not pres.explicit_id, "presence must not carry an id: line: %r" % pres
    assert pres.json["type"] == "presence" and pres.json["board_id"] == bid, pres
    assert sorted(pres.json["viewers"], key=lambda v: v["user_id"]) == sorted(
        [me_owner, me_member], key=lambda v: v["user_id"]), pres
    assert a.last_id == a.events[0].id, "presence changed the last event id"
    assert sorted(viewers(server, owner, bid), key=lambda v: v["user_id"]) == sorted(
        [me_owner, me_member], key=lambda v: v["user_id"])

    # A second stream of the same user: still one viewer entry per user.
    a2 = streams.open(bid, owner)
    vs = viewers(server, owner, bid)
    assert sorted(v["user_id"] for v in vs) == sorted([owner.id, member.id]), vs

    # The member leaves (its tab vanishes); once the holder notices, the others hear of it.
    mark = len(a.snapshot())
    b.close()
    left = sse.release(server, [bid], timeout=30, keep=2)
    assert len(left) == 2, "the member's stream was not freed: %r" % (left,)
    a.wait_for(lambda e: e.type == "presence" and me_member not in e.json["viewers"]
               and me_owner in e.json["viewers"], timeout=10, start=mark, what="presence without the member")
    assert viewers(server, owner, bid) == [me_owner]
    a2.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_stream_request_with_a_body(server, streams):
    # A GET has no body. lighttpd refuses one itself (400, its own page); Apache passes it on, so
    # the program answers one over max_body with 413 and reads and ignores a small one, and the
    # holder must then neither spin on it nor miss its client leaving.
    owner = tb.new_user(server, "body")
    bid = tb.create_board(server, owner)["id"]
    if server.setup == "lighttpd":
        c = streams.client(bid, token=owner.token, body=b"hello")
        c.connect()
        assert c.status == 400 and not sse.registry_rows(server, [bid]), (c.status, c.body[:200])
        return
    big = streams.client(bid, token=owner.token, body=b"x" * (int(server.config.get("max_body", 65536)) + 1))
    big.connect()
    tb.assert_error(sse.error_response(big), 413, "too_large")
    small = streams.open(bid, owner, body=b"hello")
    rows = sse.registry_rows(server, [bid])
    assert len(rows) == 1, rows
    item = tb.create_item(server, owner, bid, text="after a body")
    ev = small.wait_type("item.created", timeout=10)
    assert ev.json["item"]["id"] == item["id"], small.describe()
    if server.setup != "apache-cgi":  # the holder's process (under CGI the request's own)
        before = cpu_seconds(rows[0][4])
        time.sleep(2.0)
        used = cpu_seconds(rows[0][4]) - before
        assert used < 0.5, "the holder used %.2f s of CPU in 2 s on a quiet stream" % used
    # Gone is noticed at once behind lighttpd's FastCGI, at a write behind Apache: heartbeats
    # (as the supervisor sends them) until the row goes, bounded.
    small.close()

    def freed():
        sse.poke(server, bid)
        return not sse.registry_rows(server, [bid])
    assert tb.wait_for(freed, timeout=15, interval=0.5), \
        "the holder did not notice its client left: %r" % sse.registry_rows(server, [bid])
