"""Display names (issue 15 item 3; docs/api.md, user, POST /users, PATCH /users/me): 1 to 100
Unicode characters of any script beside the login name, trimmed, one line; the login name by
default. Everything that shows a user to others carries it beside the name: members, note
authors, event actors and member payloads, viewers and presence, editing badges, the trash. A
change reaches the boards the user is viewing at once (presence).
"""

import pytest

import tbsse as sse
import tbclient as tb

# How soon the others on a board hear a new display name (a NOTIFY at the change's commit).
PROMPTLY = 3.0

# (value sent, why it is refused): each one is 422 invalid naming display_name.
BAD = [
    ("", "empty"),
    ("   ", "only spaces"),
    ("\u3000\u00a0\u200b", "only Unicode white space"),
    ("\u00e9" * 101, "101 characters (202 bytes)"),
    ("a\nb", "a newline"),
    ("a\tb", "a tab"),
    ("a\u0085b", "a C1 control"),
    ("a\u007fb", "DEL"),
    ("a\u2028b", "a line separator"),
    ("a\u202eb", "a right-to-left override"),
    ("a\u2066b", "a bidirectional isolate"),
    (5, "a number"),
    (None, "null"),
    (["Ann"], "an array"),
]


@pytest.fixture
def streams(server):
    s = sse.Streams(server)
    yield s
    s.close_all()


def set_name(server, user, value):
    return tb.request(server, "PATCH", "/users/me", {"display_name": value}, token=user.token)


def me(server, user):
    return tb.check_user(tb.assert_status(tb.request(server, "GET", "/me", token=user.token), 200))


def test_a_new_user_is_shown_by_the_login_name_until_it_sets_one(server):
    user = tb.new_user(server, "dn")
    doc = me(server, user)
    assert doc["display_name"] == user.name == doc["name"]


def test_sign_up_takes_a_display_name_trimmed(server):
    name = tb.unique("dns")
    resp = tb.request(server, "POST", "/users",
                      {"name": name, "password": "password1", "display_name": "\u3000 Zo\u00eb \u5c71\u7530 \u00a0"})
    doc = tb.check_user(tb.assert_status(resp, 201))
    assert doc["name"] == name and doc["display_name"] == "Zo\u00eb \u5c71\u7530"
    # Sign-in still uses the login name, and the session's user carries both.
    login, _ = tb.login(server, name, "password1")
    assert tb.check_user(login["user"])["display_name"] == "Zo\u00eb \u5c71\u7530"


@pytest.mark.parametrize("value", [
    "\u1f08\u03bb\u03ad\u03be\u03b1\u03bd\u03b4\u03c1\u03bf\u03c2",  # Greek
    "\u0633\u0627\u0631\u0629",  # Arabic, right to left without any control
    "\u8a9e" * 100,  # 100 characters, 300 bytes: counted as characters
    "\U0001f98a fox",  # outside the BMP
    "x",
], ids=["greek", "arabic", "100-cjk", "emoji", "one"])
def test_patch_sets_any_script(server, value):
    user = tb.new_user(server, "dnp")
    # The limits count what is sent (trimmed after): 100 characters leave no room for padding.
    sent = value if len(value) > 98 else " " + value + " "
    doc = tb.check_user(tb.assert_status(set_name(server, user, sent), 200))
    assert doc["id"] == user.id and doc["name"] == user.name and doc["display_name"] == value
    assert me(server, user)["display_name"] == value


@pytest.mark.parametrize("value,why", BAD, ids=[w for _, w in BAD])
def test_patch_refuses_a_bad_display_name(server, value, why):
    user = tb.new_user(server, "dnb")
    tb.assert_error(set_name(server, user, value), 422, "invalid", field="display_name")
    assert me(server, user)["display_name"] == user.name, why


@pytest.mark.parametrize("value,why", BAD, ids=[w for _, w in BAD])
def test_sign_up_refuses_a_bad_display_name(server, value, why):
    name = tb.unique("dnr")
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "password1", "display_name": value})
    tb.assert_error(resp, 422, "invalid", field="display_name")
    assert server.sql("SELECT 1 FROM teamboard.users WHERE name = %s", (name,)) == [], why


def test_patch_takes_display_name_or_password_not_both(server):
    user = tb.new_user(server, "dn2")
    body = {"display_name": "Both", "password": {"current": user.password, "new": "another password"}}
    resp = tb.request(server, "PATCH", "/users/me", body, token=user.token)
    tb.assert_error(resp, 422, "invalid", field="display_name")
    assert me(server, user)["display_name"] == user.name
    tb.login(server, user.name, user.password)  # the password did not change either


def test_patch_without_a_session_is_401(server):
    tb.assert_error(tb.request(server, "PATCH", "/users/me", {"display_name": "Nobody"}), 401, "unauthorized")


def test_the_database_keeps_the_rules_too(server):
    """The column's constraint refuses what the API would: a write that bypasses it fails."""
    user = tb.new_user(server, "dndb")
    for bad in ("", " padded ", "a\nb", "x" * 101):
        with pytest.raises(Exception, match="users_display_name_check"):
            server.sql("UPDATE teamboard.users SET display_name = %s WHERE id = %s", (bad, user.id))
    # user_display (sql/functions/common.sql), for what shows people by display name only.
    server.sql("SELECT set_config('search_path', 'teamboard', false)")
    try:
        shown = server.sql("SELECT user_display(NULL), user_display(%s)", (user.id,))
        bid = tb.create_board(server, user)["id"]
        tb.create_item(server, user, bid, text="x")
        public = server.sql("SELECT board_author_names(%s)", (bid,))
    finally:
        server.sql("SELECT set_config('search_path', '\"$user\", public', false)")
    assert shown == [("deleted user", user.name)]
    assert public == [([{"id": user.id, "display_name": user.name}],)]


def test_others_see_the_display_name_beside_the_login_name(server):
    owner = tb.new_user(server, "dno")
    member = tb.new_user(server, "dnm")
    tb.assert_status(set_name(server, member, "Mira M\u00fcller"), 200)
    team = tb.create_team(server, owner)
    added = tb.add_member(server, owner, team["id"], member, "editor")
    assert added["display_name"] == "Mira M\u00fcller" and added["name"] == member.name
    got = tb.request(server, "GET", "/teams/%d" % team["id"], token=owner.token)
    members = {m["user_id"]: m for m in tb.check_team(tb.assert_status(got, 200))["members"]}
    assert members[member.id] == {"user_id": member.id, "name": member.name,
                                  "display_name": "Mira M\u00fcller", "role": "editor"}

    board = tb.create_board(server, owner, team_id=team["id"])
    assert board["authors"] == []
    note = tb.create_item(server, member, board["id"], text="hello")
    tb.create_item(server, owner, board["id"], text="mine")
    got = tb.check_board(tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"],
                                                     token=owner.token), 200))
    assert got["authors"] == sorted([
        {"id": owner.id, "name": owner.name, "display_name": owner.name},
        {"id": member.id, "name": member.name, "display_name": "Mira M\u00fcller"}], key=lambda a: a["id"])

    # Events name the actor with both; a later change of name shows in the log's replies too.
    resp = tb.request(server, "GET", "/boards/%d/events?after=0" % board["id"], token=owner.token,
                      headers={"Accept": "application/json"})
    events = tb.assert_status(resp, 200)["events"]
    created = [e for e in events if e["type"] == "item.created" and e["item"]["id"] == note["id"]]
    assert created[0]["actor"] == {"id": member.id, "name": member.name, "display_name": "Mira M\u00fcller"}

    # The trash says who deleted a note by both names.
    tb.assert_status(tb.request(server, "DELETE", "/boards/%d/items/%d" % (board["id"], note["id"]),
                                token=member.token), 204)
    trash = tb.assert_status(tb.request(server, "GET", "/boards/%d/trash" % board["id"], token=owner.token), 200)
    assert trash["trash"][0]["deleted_by"] == {"id": member.id, "name": member.name,
                                               "display_name": "Mira M\u00fcller"}


def test_a_new_display_name_reaches_the_board_live(server, streams):
    owner = tb.new_user(server, "dnl")
    member = tb.new_user(server, "dnv")
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], member, "viewer")
    bid = tb.create_board(server, owner, team_id=team["id"])["id"]
    watcher = streams.open(bid, owner)
    other = streams.open(bid, member)
    hello = other.events[0].json["viewers"]
    assert {"user_id": member.id, "name": member.name, "display_name": member.name} in hello

    mark = len(watcher.snapshot())
    tb.assert_status(set_name(server, member, "Vera \u0412\u0435\u0440\u0430"), 200)
    want = {"user_id": member.id, "name": member.name, "display_name": "Vera \u0412\u0435\u0440\u0430"}
    pres = watcher.wait_for(lambda e: e.type == "presence" and want in e.json.get("viewers", []),
                            timeout=PROMPTLY, start=mark, what="presence with the new display name")
    assert pres.json["board_id"] == bid
    viewers = tb.assert_status(tb.request(server, "GET", "/boards/%d/viewers" % bid, token=owner.token), 200)
    assert want in viewers["viewers"]

    # A member added now is announced with both names.
    late = tb.new_user(server, "dna")
    tb.assert_status(set_name(server, late, "Late Comer"), 200)
    tb.add_member(server, owner, team["id"], late, "viewer")
    added = watcher.wait_type("member.added", timeout=10)
    assert added.json["member"]["display_name"] == "Late Comer" and added.json["member"]["name"] == late.name


def test_editing_badges_carry_the_display_name(server, streams):
    owner = tb.new_user(server, "dne")
    tb.assert_status(set_name(server, owner, "\u00c5sa"), 200)
    bid = tb.create_board(server, owner)["id"]
    item = tb.create_item(server, owner, bid, text="x")
    s = streams.open(bid, owner)
    resp = tb.request(server, "POST", "/boards/%d/items/%d/editing" % (bid, item["id"]), token=owner.token)
    assert resp.status in (200, 204), resp
    ev = s.wait_type("editing", timeout=10)
    assert ev.json["name"] == owner.name and ev.json["display_name"] == "\u00c5sa"


def test_a_deleted_author_drops_out_of_the_authors(server):
    owner = tb.new_user(server, "dnd")
    gone = tb.new_user(server, "dng")
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], gone, "editor")
    bid = tb.create_board(server, owner, team_id=team["id"])["id"]
    tb.create_item(server, gone, bid, text="left behind")
    tb.assert_status(tb.request(server, "DELETE", "/users/me", {"password": gone.password}, token=gone.token), 204)
    got = tb.assert_status(tb.request(server, "GET", "/boards/%d" % bid, token=owner.token), 200)
    assert got["items"][0]["author_id"] is None and got["authors"] == []
