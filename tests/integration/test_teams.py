"""Teams and their members: POST/GET /teams, GET /teams/:id, POST /teams/:id/members,
PATCH and DELETE /teams/:id/members/:user_id."""

import pytest

import tbclient as tb


def members_of(server, team_id):
    return dict(server.sql("SELECT user_id, role FROM teamboard.team_members WHERE team_id = %s",
                           (team_id,)))


def test_create_team_201_creator_is_admin(server):
    owner = tb.new_user(server)
    name = tb.unique("Team")
    resp = tb.request(server, "POST", "/teams", {"name": name}, token=owner.token)
    team = tb.check_team(tb.assert_status(resp, 201))
    assert team["name"] == name and team["role"] == "admin"
    assert team["members"] == [{"user_id": owner.id, "name": owner.name, "display_name": owner.name, "role": "admin"}]
    assert members_of(server, team["id"]) == {owner.id: "admin"}


@pytest.mark.parametrize("name,ok", [
    ("x", True),
    ("T" * 100, True),
    ("Design & Research \u2013 \u00e9quipe \U0001f680", True),
    ("", False),
    ("T" * 101, False),
    ("tab\there", False),
    ("line\nbreak", False),
    ("bell\u0007", False),
    ("nul\u0000", False),
    ("del\u007f", False),
    ("c1\u0085", False),
], ids=tb.short_id)
def test_create_team_name_limits(server, name, ok):
    owner = tb.new_user(server)
    before = server.sql("SELECT count(*) FROM teamboard.teams WHERE created_by = %s", (owner.id,))
    resp = tb.request(server, "POST", "/teams", {"name": name}, token=owner.token)
    if ok:
        assert tb.check_team(tb.assert_status(resp, 201))["name"] == name
    else:
        tb.assert_error(resp, 422, "invalid", field="name")
        after = server.sql("SELECT count(*) FROM teamboard.teams WHERE created_by = %s", (owner.id,))
        assert after == before


def test_create_team_requires_name(server):
    owner = tb.new_user(server)
    tb.assert_error(tb.request(server, "POST", "/teams", {}, token=owner.token), 422, "invalid",
                    field="name")


def test_list_teams_only_mine(server):
    alice, bob = tb.new_user(server), tb.new_user(server)
    t1 = tb.create_team(server, alice)
    t2 = tb.create_team(server, bob)
    tb.add_member(server, bob, t2["id"], alice, "viewer")
    t3 = tb.create_team(server, bob)  # alice is not in it
    resp = tb.request(server, "GET", "/teams", token=alice.token)
    doc = tb.assert_status(resp, 200)
    assert set(doc) == {"teams"} and isinstance(doc["teams"], list)
    for t in doc["teams"]:
        tb.check_team(t, members=False)
    got = {t["id"]: t for t in doc["teams"]}
    assert set(got) == {t1["id"], t2["id"]}
    assert got[t1["id"]]["role"] == "admin" and got[t2["id"]]["role"] == "viewer"
    assert t3["id"] not in got


def test_list_teams_empty(server):
    loner = tb.new_user(server)
    assert tb.assert_status(tb.request(server, "GET", "/teams", token=loner.token), 200) == {"teams": []}


def test_get_team_for_members_with_members(server):
    owner, viewer = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], viewer, "viewer")
    resp = tb.request(server, "GET", "/teams/%d" % team["id"], token=viewer.token)
    doc = tb.check_team(tb.assert_status(resp, 200))
    assert doc["role"] == "viewer" and doc["id"] == team["id"] and doc["name"] == team["name"]
    assert sorted((m["user_id"], m["name"], m["role"]) for m in doc["members"]) == sorted(
        [(owner.id, owner.name, "admin"), (viewer.id, viewer.name, "viewer")])


def test_get_team_non_member_404(server):
    owner, stranger = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.assert_error(tb.request(server, "GET", "/teams/%d" % team["id"], token=stranger.token),
                    404, "not_found")


def test_get_team_missing_404(server):
    user = tb.new_user(server)
    tb.assert_error(tb.request(server, "GET", "/teams/9223372036854775807", token=user.token),
                    404, "not_found")


# --- POST /teams/:id/members --------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_add_member_201(server, role):
    owner, new = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": new.name, "role": role}, token=owner.token)
    member = tb.check_member(tb.assert_status(resp, 201))
    assert member == {"user_id": new.id, "name": new.name, "display_name": new.name, "role": role}
    assert members_of(server, team["id"]) == {owner.id: "admin", new.id: role}
    got = tb.assert_status(tb.request(server, "GET", "/teams/%d" % team["id"], token=new.token), 200)
    assert got["role"] == role


def test_add_member_by_name_other_case(server):
    # Names are one person regardless of case, so adding "ALICE" adds alice.
    owner, new = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": new.name.upper(), "role": "viewer"}, token=owner.token)
    member = tb.assert_status(resp, 201)
    assert member["user_id"] == new.id and member["name"] == new.name


def test_add_member_no_such_user_422(server):
    owner = tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": tb.unique("nobody"), "role": "viewer"}, token=owner.token)
    doc = tb.assert_error(resp, 422, "invalid", field="name")
    assert "no such user" in doc["error"]["message"]


def test_add_member_already_member_409(server):
    owner, new = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], new, "viewer")
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": new.name, "role": "admin"}, token=owner.token)
    tb.assert_error(resp, 409, "already_member")
    assert members_of(server, team["id"])[new.id] == "viewer"


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "role": "owner"}, "role"),
    ({"name": "x", "role": "Admin"}, "role"),
    ({"name": "x", "role": 1}, "role"),
    ({"name": "x"}, "role"),
    ({"role": "viewer"}, "name"),
    ({"name": "x", "role": "viewer", "extra": True}, "extra"),
])
def test_add_member_invalid_422(server, body, field):
    owner = tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"], body, token=owner.token)
    tb.assert_error(resp, 422, "invalid", field=field)
    assert members_of(server, team["id"]) == {owner.id: "admin"}


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_add_member_by_non_admin_403(server, role):
    owner, actor, new = tb.new_user(server), tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], actor, role)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": new.name, "role": "viewer"}, token=actor.token)
    tb.assert_error(resp, 403, "forbidden")
    assert new.id not in members_of(server, team["id"])


def test_add_member_by_stranger_404(server):
    owner, stranger = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      {"name": stranger.name, "role": "admin"}, token=stranger.token)
    tb.assert_error(resp, 404, "not_found")
    assert members_of(server, team["id"]) == {owner.id: "admin"}


# --- PATCH /teams/:id/members/:user_id ----------------------------------------------------------

def test_change_role_200(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], m.id),
                      {"role": "editor"}, token=owner.token)
    assert tb.check_member(tb.assert_status(resp, 200)) == {"user_id": m.id, "name": m.name, "display_name": m.name,
                                                             "role": "editor"}
    assert members_of(server, team["id"])[m.id] == "editor"


def test_change_role_not_a_member_404(server):
    owner, outsider = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], outsider.id),
                      {"role": "editor"}, token=owner.token)
    tb.assert_error(resp, 404, "not_found")
    assert outsider.id not in members_of(server, team["id"])


def test_demote_last_admin_409(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "editor")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], owner.id),
                      {"role": "editor"}, token=owner.token)
    tb.assert_error(resp, 409, "last_admin")
    assert members_of(server, team["id"])[owner.id] == "admin"


def test_demote_admin_when_another_admin_remains(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "admin")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], owner.id),
                      {"role": "viewer"}, token=owner.token)
    assert tb.assert_status(resp, 200)["role"] == "viewer"
    # Now a viewer: no more member management.
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], m.id),
                      {"role": "viewer"}, token=owner.token)
    tb.assert_error(resp, 403, "forbidden")


def test_change_role_empty_patch_422(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], m.id), {},
                      token=owner.token)
    tb.assert_error(resp, 422, "invalid")


def test_change_role_invalid_role_422(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], m.id),
                      {"role": "superuser"}, token=owner.token)
    tb.assert_error(resp, 422, "invalid", field="role")
    assert members_of(server, team["id"])[m.id] == "viewer"


def test_editor_changing_roles_403(server):
    owner, editor, m = tb.new_user(server), tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], editor, "editor")
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], m.id),
                      {"role": "admin"}, token=editor.token)
    tb.assert_error(resp, 403, "forbidden")
    resp = tb.request(server, "PATCH", "/teams/%d/members/%d" % (team["id"], editor.id),
                      {"role": "admin"}, token=editor.token)
    tb.assert_error(resp, 403, "forbidden")
    assert members_of(server, team["id"]) == {owner.id: "admin", editor.id: "editor", m.id: "viewer"}


# --- DELETE /teams/:id/members/:user_id ---------------------------------------------------------

def test_admin_removes_member_204(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "editor")
    board = tb.create_board(server, owner, team_id=team["id"])
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], m.id), token=owner.token)
    assert resp.status == 204 and resp.body == b"", resp
    assert m.id not in members_of(server, team["id"])
    # Gone from the team: neither the team nor its boards are visible any more.
    tb.assert_error(tb.request(server, "GET", "/teams/%d" % team["id"], token=m.token), 404, "not_found")
    tb.assert_error(tb.request(server, "GET", "/boards/%d" % board["id"], token=m.token),
                    404, "not_found")


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_member_leaves_204(server, role):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, role)
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], m.id), token=m.token)
    assert resp.status == 204, resp
    assert members_of(server, team["id"]) == {owner.id: "admin"}


def test_last_admin_cannot_leave_409(server):
    owner, m = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], owner.id),
                      token=owner.token)
    tb.assert_error(resp, 409, "last_admin")
    assert members_of(server, team["id"]) == {owner.id: "admin", m.id: "viewer"}


def test_remove_not_a_member_404(server):
    owner, outsider = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], outsider.id),
                      token=owner.token)
    tb.assert_error(resp, 404, "not_found")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_non_admin_removing_other_403(server, role):
    owner, actor, m = tb.new_user(server), tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], actor, role)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], m.id), token=actor.token)
    tb.assert_error(resp, 403, "forbidden")
    assert m.id in members_of(server, team["id"])


def test_stranger_removing_member_404(server):
    owner, stranger, m = tb.new_user(server), tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], m, "viewer")
    resp = tb.request(server, "DELETE", "/teams/%d/members/%d" % (team["id"], m.id),
                      token=stranger.token)
    tb.assert_error(resp, 404, "not_found")
    assert m.id in members_of(server, team["id"])


def test_add_member_name_with_escaped_nul_422(server):
    """"text\\u0000zz" is not the user "text": a NUL inside a string is refused, not cut off."""
    owner, text = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    raw = ('{"name": "%s\\u0000zz", "role": "viewer"}' % text.name).encode()
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"], raw=raw, token=owner.token)
    tb.assert_error(resp, 422, "invalid", field="name")
    assert members_of(server, team["id"]) == {owner.id: "admin"}


@pytest.mark.parametrize("raw", [
    '{"name": "%s", "role\\u0000zz": "admin"}',
    '{"name\\u0000zz": "%s", "role": "admin"}',
    '{"name": "%s", "role": "viewer", "role\\u0000": "admin"}',
], ids=["role", "name", "twice"])
def test_add_member_field_name_with_escaped_nul_400(server, raw):
    """json-c keeps member names as C strings: "role\\u0000zz" would be taken as "role"."""
    owner, new = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"],
                      raw=(raw % new.name).encode(), token=owner.token)
    tb.assert_error(resp, 400, "bad_json")
    assert members_of(server, team["id"]) == {owner.id: "admin"}


@pytest.mark.parametrize("method,path,raw", [
    ("POST", "/boards", '{"title\\u0000x": "t"}'),
    ("PATCH", "/boards/{b}", '{"title\\u0000x": "t"}'),
    ("POST", "/boards/{b}/items", '{"text\\u0000": "t"}'),
    ("PATCH", "/boards/{b}/items/{i}", '{"x\\u0000y": 5}'),
    ("POST", "/teams", '{"name\\u0000": "t"}'),
    ("PATCH", "/teams/{t}/members/{u}", '{"role\\u0000": "viewer"}'),
    ("POST", "/sessions", '{"name\\u0000": "a", "password": "b"}'),
    ("POST", "/users", '{"name": "a", "password\\u0000": "bbbbbbbbbb"}'),
], ids=lambda v: v if v in ("POST", "PATCH") else None)
def test_every_body_refuses_escaped_nul_in_a_field_name(server, method, path, raw):
    owner, other = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], other, "viewer")
    board = tb.create_board(server, owner, team_id=team["id"])
    item = tb.create_item(server, owner, board["id"])
    path = path.format(b=board["id"], i=item["id"], t=team["id"], u=other.id)
    resp = tb.request(server, method, path, raw=raw.encode(),
                      token=None if path in ("/sessions", "/users") else owner.token)
    tb.assert_error(resp, 400, "bad_json")
