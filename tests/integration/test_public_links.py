"""Public read-only links (issue 15 item 2; docs/api.md, "Public links"): the board's owner or a team
admin makes, lists and deletes links; whoever has one reads the board and follows it live as a
guest, with no session and no login name in anything sent; deleting the link (or the board) ends
the guests' streams at once; a link's token is no session anywhere else; guests have their own
stream limit (max_guest_streams). Who may call which route is in test_authz_matrix.py.

The guests' streams run in both stream modes (a stream host reads a board's public events once for
all its guests); the tests of the links themselves, which say nothing about streams, in the
worker's only."""

import re
import secrets
import time

import pytest

import tbsse as sse
import tbclient as tb
from tbsse import streams  # noqa: F401  (fixture)
from tbfixture import server_in_both_modes  # noqa: F401  (`server` in both stream modes)

NO_STREAM = "the links' REST routes and pages: no stream, the same code in both modes"

# How soon a guest hears that its link was deleted (the deletion sends a heartbeat at once; no
# supervisor runs here, so a heartbeat-interval wait would fail this).
PROMPTLY = 3.0


def guest(streams, board_id, token, expect=200, **kw):
    """A tracked guest stream, connected; with expect=200 its hello has come."""
    c = sse.PublicStream(streams.server, board_id, token,
                         name="guest-%d-%d" % (board_id, len(streams.clients) + 1), **kw)
    streams.clients.append(c)
    streams.boards.add(board_id)
    c.connect()
    assert c.status == expect, c.describe() + repr(c.body[:300])
    if expect == 200:
        c.wait_count(1, timeout=15)
        assert c.events[0].type == "hello", c.describe()
    return c


def make_link(server, user, board_id):
    return tb.assert_status(tb.request(server, "POST", "/boards/%d/links" % board_id, token=user.token), 201)


def public(server, token, suffix="", **kw):
    return tb.request(server, "GET", "/public/boards/%s%s" % (token, suffix), **kw)


def no_login_names(text, *users):
    return all(u.name not in text for u in users)


def displayed(server, user, display_name):
    """Gives user a display name other than their login name (which it is by default): a guest is
    shown people by display name only, and no_login_names then proves the login name never goes."""
    tb.assert_status(tb.request(server, "PATCH", "/users/me", {"display_name": display_name}, token=user.token), 200)
    user.display_name = display_name
    return user


_teams = {}  # one team per environment (server is per test here: one per stream mode)


@pytest.fixture
def team(server):
    if id(server) not in _teams:
        _teams[id(server)] = make_team(server)
    return _teams[id(server)]


def make_team(server):
    owner = displayed(server, tb.new_user(server, "plo"), "Owner Ödegaard")
    editor = displayed(server, tb.new_user(server, "ple"), "Editor 山田")
    t = tb.create_team(server, owner)
    tb.add_member(server, owner, t["id"], editor, "editor")
    return {"owner": owner, "editor": editor, "team": t}


def team_board(server, team):
    return tb.create_board(server, team["owner"], team_id=team["team"]["id"])


# ---- making, listing and deleting links ------------------------------------------------------------

@pytest.mark.same_in_both_modes(NO_STREAM)
def test_create_list_delete(server, team):
    owner = team["owner"]
    board = team_board(server, team)
    link = make_link(server, owner, board["id"])
    assert set(link) == {"id", "board_id", "token", "url", "created_at"}
    assert re.fullmatch(r"[0-9a-f]{64}", link["token"]) and link["board_id"] == board["id"]
    assert link["url"] == "%s/#/public/%s" % (server.base, link["token"])
    # Only the token's SHA-256 is stored.
    assert server.sql("SELECT token_hash = sha256(decode(%s, 'hex')), created_by FROM teamboard.board_links"
                      " WHERE id = %s", (link["token"], link["id"])) == [(True, owner.id)]
    other = make_link(server, owner, board["id"])
    assert other["token"] != link["token"]
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d/links" % board["id"], token=owner.token), 200)
    assert [l["id"] for l in doc["links"]] == [link["id"], other["id"]]
    assert all(set(l) == {"id", "board_id", "created_by", "created_at", "guests"} for l in doc["links"])
    assert link["token"] not in tb.request(server, "GET", "/boards/%d/links" % board["id"],
                                           token=owner.token).body.decode()
    path = "/boards/%d/links/%d" % (board["id"], link["id"])
    tb.assert_status(tb.request(server, "DELETE", path, token=owner.token), 204)
    tb.assert_error(tb.request(server, "DELETE", path, token=owner.token), 404, "not_found")
    tb.assert_error(public(server, link["token"]), 404, "not_found")
    tb.assert_status(public(server, other["token"]), 200)


@pytest.mark.same_in_both_modes(NO_STREAM)
def test_bad_inputs(server, team):
    owner = team["owner"]
    board, elsewhere = team_board(server, team), team_board(server, team)
    link = make_link(server, owner, board["id"])
    # A link of another board, a link that never was, a board that never was.
    tb.assert_error(tb.request(server, "DELETE", "/boards/%d/links/%d" % (elsewhere["id"], link["id"]),
                               token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "DELETE", "/boards/%d/links/999999999" % board["id"],
                               token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "POST", "/boards/999999999/links", token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "GET", "/boards/999999999/links", token=owner.token), 404, "not_found")
    for bad in ("/boards/%d/links/0", "/boards/%d/links/abc", "/boards/%d/links/-1"):
        tb.assert_error(tb.request(server, "DELETE", bad % board["id"], token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "PUT", "/boards/%d/links" % board["id"], token=owner.token),
                    405, "method_not_allowed")
    # Tokens: unknown, too short, too long, upper case, not hex: all 404, as a deleted link.
    for token in (secrets.token_hex(32), link["token"][:63], link["token"] + "0", link["token"].upper(),
                  "g" * 64):
        tb.assert_error(public(server, token), 404, "not_found")
        tb.assert_error(public(server, token, "/events"), 404, "not_found")
    tb.assert_error(tb.request(server, "POST", "/public/boards/%s" % link["token"]), 405, "method_not_allowed")
    tb.assert_error(tb.request(server, "DELETE", "/public/boards/%s/events" % link["token"]),
                    405, "method_not_allowed")
    tb.assert_error(public(server, link["token"], "?items_after=x"), 400, "bad_request")
    tb.assert_error(public(server, link["token"], "/events?after=-1"), 400, "bad_request")
    tb.assert_error(public(server, link["token"], "/events?limit=0"), 400, "bad_request")


@pytest.mark.same_in_both_modes(NO_STREAM)
def test_at_most_20_links_per_board(server, team):
    owner = team["owner"]
    board = team_board(server, team)
    for _ in range(20):
        make_link(server, owner, board["id"])
    tb.assert_error(tb.request(server, "POST", "/boards/%d/links" % board["id"], token=owner.token),
                    409, "too_many_links")
    assert server.sql("SELECT count(*) FROM teamboard.board_links WHERE board_id = %s", (board["id"],)) == [(20,)]


# ---- what a guest reads --------------------------------------------------------------------------------

@pytest.mark.same_in_both_modes(NO_STREAM)
def test_public_board_and_notes_without_login_names(server, team):
    owner, editor = team["owner"], team["editor"]
    board = team_board(server, team)
    notes = [tb.create_item(server, u, board["id"], text="note by " + u.name[:2]) for u in (owner, editor)]
    link = make_link(server, owner, board["id"])
    resp = public(server, link["token"])
    doc = tb.assert_status(resp, 200)
    assert doc["id"] == board["id"] and doc["title"] == board["title"] and doc["role"] == "guest"
    assert "team_id" not in doc and "owner_id" not in doc
    assert [i["id"] for i in doc["items"]] == [n["id"] for n in notes]
    assert doc["last_event_id"] == 2 and resp.header("ETag") == '"%d"' % doc["version"]
    assert doc["authors"] == [{"id": u.id, "display_name": u.display_name} for u in (owner, editor)]
    assert no_login_names(resp.body.decode(), owner, editor)
    # A board in the trash has no public page; restored, the link works again.
    tb.assert_status(tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token), 204)
    tb.assert_error(public(server, link["token"]), 404, "not_found")
    tb.assert_error(public(server, link["token"], "/events"), 404, "not_found")
    tb.assert_status(tb.request(server, "POST", "/boards/%d/restore" % board["id"], token=owner.token), 200)
    tb.assert_status(public(server, link["token"]), 200)


@pytest.mark.same_in_both_modes(NO_STREAM)
def test_link_token_is_no_session(server, team):
    """Every route but the /public ones answers a link's token 401, writes above all."""
    owner = team["owner"]
    board = team_board(server, team)
    note = tb.create_item(server, owner, board["id"])
    token = make_link(server, owner, board["id"])["token"]
    b, i = board["id"], note["id"]
    for method, path, body in (("POST", "/boards/%d/items" % b, {"text": "guest"}),
                               ("PATCH", "/boards/%d/items/%d" % (b, i), {"x": 1}),
                               ("DELETE", "/boards/%d/items/%d" % (b, i), None),
                               ("PATCH", "/boards/%d" % b, {"title": "guest"}),
                               ("DELETE", "/boards/%d" % b, None),
                               ("POST", "/boards/%d/links" % b, None),
                               ("POST", "/boards/%d/undo" % b, None),
                               ("GET", "/boards/%d" % b, None),
                               ("GET", "/boards/%d/events" % b, None),
                               # the caller's own account and membership: a link holder has none
                               ("PATCH", "/users/me", {"display_name": "guest"}),
                               ("DELETE", "/users/me", {"password": "guess-it"}),
                               ("DELETE", "/teams/%d/members/%d" % (team["team"]["id"], owner.id), None)):
        tb.assert_error(tb.request(server, method, path, body=body, token=token), 401, "unauthorized")
        tb.assert_error(tb.request(server, method, path, body=body, cookie=token), 401, "unauthorized")
    assert server.sql("SELECT title, version FROM teamboard.boards WHERE id = %s", (b,)) == \
        [(board["title"], board["version"])]
    assert server.sql("SELECT version FROM teamboard.items WHERE id = %s", (i,)) == [(note["version"],)]


def test_guest_poll(server, team):
    owner = team["owner"]
    board = team_board(server, team)
    tb.create_item(server, owner, board["id"], text="one")
    token = make_link(server, owner, board["id"])["token"]
    resp = public(server, token, "/events?after=0")
    doc = tb.assert_status(resp, 200)
    assert [e["type"] for e in doc["events"]] == ["item.created"] and doc["last_event_id"] == 1
    assert doc["events"][0]["actor"] == {"id": owner.id, "display_name": owner.display_name}
    assert no_login_names(resp.body.decode(), owner)
    tb.assert_error(public(server, token, "/events?after=5"), 410, "reset")


# ---- following live ----------------------------------------------------------------------------------

def test_guest_follows_live_without_names_and_resumes(server, team, streams):
    owner, editor = team["owner"], team["editor"]
    board = team_board(server, team)
    token = make_link(server, owner, board["id"])["token"]
    member = streams.open(board["id"], token=owner.token)
    g = guest(streams, board["id"], token)
    hello = g.events[0].json
    assert hello["guests"] == 1 and hello["viewers"] == [{"user_id": owner.id, "display_name": owner.display_name}], g.describe()
    member.wait_for(lambda e: e.type == "presence" and e.json.get("guests") == 1, timeout=5)
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d/viewers" % board["id"], token=owner.token), 200)
    assert doc["guests"] == 1
    note = tb.create_item(server, editor, board["id"], text="live")
    ev = g.wait_type("item.created", timeout=5)
    assert ev.json["item"]["id"] == note["id"] and ev.json["actor"] == {"id": editor.id, "display_name": editor.display_name} and ev.seq == 1
    # Editing announcements name their user: a guest gets none; member events lose their member.
    tb.assert_status(tb.request(server, "POST", "/boards/%d/items/%d/editing" % (board["id"], note["id"]),
                                token=editor.token), 204)
    member.wait_type("editing", timeout=5)
    newcomer = displayed(server, tb.new_user(server, "pln"), "Newcomer")
    tb.add_member(server, owner, team["team"]["id"], newcomer, "viewer")
    added = g.wait_type("member.added", timeout=5)
    assert "member" not in added.json and added.seq == 2
    tb.assert_status(tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "renamed"},
                                token=owner.token), 200)
    renamed = g.wait_type("board.updated", timeout=5).json["board"]
    assert renamed["title"] == "renamed" and "team_id" not in renamed and "owner_id" not in renamed
    assert not g.typed("editing"), g.describe()
    assert no_login_names(bytes(g.raw).decode(), owner, editor, newcomer), g.describe()
    # A second guest, come later, resumes from the log and then follows live with the first.
    other = guest(streams, board["id"], token, last_event_id=1)
    other.wait_type("board.updated", timeout=5)
    tb.create_item(server, editor, board["id"], text="both")
    for c in (g, other):
        c.wait_for(lambda e: e.type == "item.created" and e.seq == 4, timeout=5)
    assert g.seqs() == [1, 2, 3, 4] and other.seqs() == [2, 3, 4], g.describe() + other.describe()
    assert no_login_names(bytes(other.raw).decode(), owner, editor, newcomer), other.describe()
    other.close()
    # Resume: what happened while away comes again, from Last-Event-ID on.
    g.close()
    tb.assert_status(tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], note["id"]),
                                {"x": 40}, token=editor.token), 200)
    again = guest(streams, board["id"], token, last_event_id=1)
    again.wait_type("item.updated", timeout=5)
    assert again.seqs() == [2, 3, 4, 5], again.describe()


def test_presence_too_long_for_notify_is_read_in_each_form(server, team, streams):
    """A presence list too long for NOTIFY comes as a reference ("ref", sql/functions/presence.sql),
    made here by hand: members read the list with login names, guests the public one (a stream host
    reads the board's once for all its streams that owe one)."""
    owner, editor = team["owner"], team["editor"]
    board = team_board(server, team)
    token = make_link(server, owner, board["id"])["token"]
    members = [streams.open(board["id"], token=u.token) for u in (owner, editor)]
    guests = [guest(streams, board["id"], token) for _ in range(2)]
    for c in members:
        c.wait_for(lambda e: e.type == "presence" and e.json.get("guests") == 2, timeout=5)
    time.sleep(1.1)  # past the presence reads' throttle (TB_PRESENCE_READ_INTERVAL_MS)
    marks = [len(c.events) for c in members + guests]
    server.sql("SELECT pg_notify('board_' || %s, json_build_object('type', 'presence', 'board_id', %s::bigint,"
               " 'ref', true)::text)", (board["id"], board["id"]))
    want = sorted([owner.id, editor.id])
    for c, mark in zip(members + guests, marks):
        ev = c.wait_for(lambda e: e.type == "presence", start=mark, timeout=5, what="the list read")
        assert sorted(v["user_id"] for v in ev.json["viewers"]) == want and ev.json["guests"] == 2, c.describe()
        if c in members:
            assert {v["name"] for v in ev.json["viewers"]} == {owner.name, editor.name}, c.describe()
    for c in guests:
        assert no_login_names(bytes(c.raw).decode(), owner, editor), c.describe()


def test_deleting_link_ends_its_guests_at_once(server, team, streams):
    owner = team["owner"]
    board = team_board(server, team)
    doomed, kept = make_link(server, owner, board["id"]), make_link(server, owner, board["id"])
    member = streams.open(board["id"], token=owner.token)
    g1 = guest(streams, board["id"], doomed["token"])
    g2 = guest(streams, board["id"], kept["token"])
    t0 = time.monotonic()
    tb.assert_status(tb.request(server, "DELETE", "/boards/%d/links/%d" % (board["id"], doomed["id"]),
                                token=owner.token), 204)
    rv = g1.wait_type("revoked", timeout=PROMPTLY)
    assert rv.json == {"reason": "link_deleted"} and rv.t - t0 < PROMPTLY, g1.describe()
    g1.wait_ended(timeout=10)
    # The board's other streams heard one more heartbeat and go on.
    g2.wait_comment(lambda c: c.text == "hb", timeout=PROMPTLY)
    member.wait_for(lambda e: e.type == "presence" and e.json.get("guests") == 1, timeout=5)
    assert not g2.ended and not member.ended, g2.describe() + member.describe()
    tb.assert_error(sse.error_response(guest(streams, board["id"], doomed["token"], expect=404)), 404, "not_found")


def test_deleting_board_ends_its_guests(server, team, streams):
    owner = team["owner"]
    board = team_board(server, team)
    g = guest(streams, board["id"], make_link(server, owner, board["id"])["token"])
    # A note first: once it has come, the stream is past its start (a board deleted while the stream
    # starts ends it as a deleted link would: revoked link_deleted, with no board.deleted).
    tb.create_item(server, owner, board["id"])
    g.wait_type("item.created", timeout=5)
    tb.assert_status(tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token), 204)
    g.wait_type("board.deleted", timeout=PROMPTLY)
    assert g.wait_type("revoked", timeout=PROMPTLY).json == {"reason": "board_deleted"}
    g.wait_ended(timeout=10)


def test_max_guest_streams(server, team, streams):
    owner = team["owner"]
    board = team_board(server, team)
    token = make_link(server, owner, board["id"])["token"]
    with tb.restarted(server, max_guest_streams=1):
        guest(streams, board["id"], token)
        refused = guest(streams, board["id"], token, expect=503)
        tb.assert_error(sse.error_response(refused), 503, "too_many_streams")
        assert refused.header("Retry-After")
        # A poll may take one place more (the fallback of a refused stream); a member is not a guest.
        tb.assert_status(public(server, token, "/events"), 200)
        streams.open(board["id"], token=owner.token)
        assert streams.close_all() == []  # before the workers restart with the default config


@pytest.mark.needs_stream_worker("the workers' shared table of held streams; a host always counts in the registry (test_max_guest_streams)")
def test_max_guest_streams_without_shared_memory(server, team, streams):
    """Without the workers' shared file (one of another layout, as test_stream_limits makes it) the
    registry counts the guests, all together, under its advisory locks."""
    import os
    from test_stream_limits import held_gauges, metrics_file
    owner = team["owner"]
    board = team_board(server, team)
    token = make_link(server, owner, board["id"])["token"]
    path = metrics_file(server)
    os.rename(path, path + ".saved")
    try:
        with open(path, "wb") as f:
            f.write((0x54424D4554520009).to_bytes(8, "little") + bytes(568))
        os.chmod(path, 0o600)
        os.chown(path, server.account.uid, -1)
        server.restart_app(max_guest_streams=1)
        assert held_gauges(server) == {}  # no table: the registry counts
        guest(streams, board["id"], token)
        tb.assert_error(sse.error_response(guest(streams, board["id"], token, expect=503)), 503, "too_many_streams")
        streams.open(board["id"], token=owner.token)
        assert server.sql("SELECT count(*) FROM teamboard.streams WHERE board_id = %s AND user_id IS NULL",
                          (board["id"],)) == [(1,)]
    finally:
        streams.close_all()
        os.replace(path + ".saved", path)
        server.restart_app()
