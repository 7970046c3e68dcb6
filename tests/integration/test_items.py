"""Items (sticky notes): POST /boards/:id/items, GET/PATCH/DELETE /boards/:id/items/:item_id."""

import pytest

import tbclient as tb

DEFAULTS = {"text": "", "color": "#fff59d", "x": 0, "y": 0, "width": 200, "height": 150}


def item_row(server, item_id):
    rows = server.sql("SELECT text, color, x, y, w, h, z, version FROM teamboard.items WHERE id = %s",
                      (item_id,))
    return rows[0] if rows else None


@pytest.fixture
def owner_board(server):
    owner = tb.new_user(server)
    return owner, tb.create_board(server, owner)


def test_create_item_defaults_201(server, owner_board):
    owner, board = owner_board
    resp = tb.request(server, "POST", "/boards/%d/items" % board["id"], {}, token=owner.token)
    item = tb.check_item(tb.assert_status(resp, 201))
    for key, value in DEFAULTS.items():
        assert item[key] == value, (key, item)
    assert item["z"] == 0  # first item on an empty board
    assert item["board_id"] == board["id"] and item["author_id"] == owner.id
    assert item["version"] >= 1
    tb.assert_etag(resp, item)
    assert resp.header("Location") == "/api/v1/boards/%d/items/%d" % (board["id"], item["id"])


def test_create_item_all_fields(server, owner_board):
    owner, board = owner_board
    body = {"text": "Ship it\nsoon\ttab\r\n", "color": "#A1B2C3", "x": -100000, "y": 100000,
            "width": 20, "height": 4000, "z": -1000000}
    resp = tb.request(server, "POST", "/boards/%d/items" % board["id"], body, token=owner.token)
    item = tb.check_item(tb.assert_status(resp, 201))
    expected = dict(body, color="#a1b2c3")
    for key, value in expected.items():
        assert item[key] == value, (key, item)
    assert item_row(server, item["id"])[:7] == ("Ship it\nsoon\ttab\r\n", "#a1b2c3", -100000, 100000,
                                                20, 4000, -1000000)


def test_create_item_default_z_is_max_plus_one(server, owner_board):
    owner, board = owner_board
    tb.create_item(server, owner, board["id"], z=41)
    tb.create_item(server, owner, board["id"], z=-7)
    item = tb.create_item(server, owner, board["id"])
    assert item["z"] == 42


@pytest.mark.parametrize("field,value", [
    ("x", -100000), ("x", 100000), ("y", -100000), ("y", 100000),
    ("width", 20), ("width", 4000), ("height", 20), ("height", 4000),
    ("z", -1000000), ("z", 1000000),
    ("color", "#000000"), ("color", "#FFFFFF"), ("color", "#aBcDeF"),
    ("text", ""), ("text", "x" * 10000), ("text", "\u00e9" * 10000), ("text", "\U0001f600" * 10000),
], ids=tb.short_id)
def test_create_item_limits_accepted(server, owner_board, field, value):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"], **{field: value})
    assert item[field] == (value.lower() if field == "color" else value)


@pytest.mark.parametrize("field,value", [
    ("x", -100001), ("x", 100001), ("y", -100001), ("y", 100001),
    ("width", 19), ("width", 4001), ("width", 0), ("height", 19), ("height", 4001),
    ("z", -1000001), ("z", 1000001),
    ("color", "red"), ("color", "#fff"), ("color", "#ggggGG"), ("color", "fff59d"), ("color", "#fff59d0"),
    ("color", ""), ("color", None),
    ("text", "x" * 10001), ("text", "\u00e9" * 10001), ("text", "bell\u0007"), ("text", "nul\u0000"),
    ("text", None),
    ("x", None), ("x", "5"), ("x", 1.5), ("x", 1.0), ("x", True), ("x", [1]), ("x", {"v": 1}),
    ("width", 9223372036854775808),
], ids=tb.short_id)
def test_create_item_invalid_422(server, owner_board, field, value):
    owner, board = owner_board
    resp = tb.request(server, "POST", "/boards/%d/items" % board["id"], {field: value},
                      token=owner.token)
    tb.assert_error(resp, 422, "invalid", field=field)
    assert server.sql("SELECT count(*) FROM teamboard.items WHERE board_id = %s", (board["id"],)) == [(0,)]


def test_create_item_unknown_field_422(server, owner_board):
    owner, board = owner_board
    resp = tb.request(server, "POST", "/boards/%d/items" % board["id"], {"text": "a", "w": 300},
                      token=owner.token)
    tb.assert_error(resp, 422, "invalid", field="w")


def test_create_item_on_missing_board_404(server):
    user = tb.new_user(server)
    resp = tb.request(server, "POST", "/boards/9223372036854775807/items", {}, token=user.token)
    tb.assert_error(resp, 404, "not_found")


def test_get_item_200(server, owner_board):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"], text="hello")
    resp = tb.request(server, "GET", "/boards/%d/items/%d" % (board["id"], item["id"]), token=owner.token)
    got = tb.check_item(tb.assert_status(resp, 200))
    assert got == item
    tb.assert_etag(resp, got)


def test_get_item_through_another_board_404(server, owner_board):
    owner, board = owner_board
    other = tb.create_board(server, owner)
    item = tb.create_item(server, owner, board["id"])
    for method, body in (("GET", None), ("PATCH", {"text": "moved?"}), ("DELETE", None)):
        resp = tb.request(server, method, "/boards/%d/items/%d" % (other["id"], item["id"]), body=body,
                          token=owner.token)
        tb.assert_error(resp, 404, "not_found")
    assert item_row(server, item["id"])[0] == "" and item_row(server, item["id"])[7] == item["version"]


def test_get_missing_item_404(server, owner_board):
    owner, board = owner_board
    resp = tb.request(server, "GET", "/boards/%d/items/9223372036854775807" % board["id"],
                      token=owner.token)
    tb.assert_error(resp, 404, "not_found")


# --- PATCH --------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"x": 5}, {"y": -9}, {"text": "new text"}, {"color": "#00FF00"}, {"width": 321},
    {"height": 99}, {"z": 77}, {"x": 1, "y": 2, "width": 30, "height": 40},
])
def test_patch_item_changes_only_named_fields(server, owner_board, change):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"], text="orig", color="#123456", x=10, y=20,
                          width=300, height=250, z=3)
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), change,
                      token=owner.token)
    got = tb.check_item(tb.assert_status(resp, 200))
    tb.assert_etag(resp, got)
    expected = dict(item)
    expected.update({k: (v.lower() if k == "color" else v) for k, v in change.items()})
    for key in ("id", "board_id", "text", "color", "x", "y", "width", "height", "z", "author_id",
                "created_at"):
        assert got[key] == expected[key], (key, got)
    assert got["version"] == item["version"] + 1
    assert tb.parse_time(got["updated_at"]) >= tb.parse_time(item["updated_at"])
    again = tb.assert_status(tb.request(server, "GET", "/boards/%d/items/%d" % (board["id"], item["id"]),
                                        token=owner.token), 200)
    assert again == got


def test_patch_item_by_another_editor_keeps_author(server):
    owner, editor = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], editor, "editor")
    board = tb.create_board(server, owner, team_id=team["id"])
    item = tb.create_item(server, owner, board["id"], text="mine")
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), {"x": 1},
                      token=editor.token)
    assert tb.assert_status(resp, 200)["author_id"] == owner.id


def test_patch_item_empty_422(server, owner_board):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"])
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), {},
                      token=owner.token)
    doc = tb.assert_error(resp, 422, "invalid")
    assert "no field to change" in doc["error"]["message"]
    assert item_row(server, item["id"])[7] == item["version"]


@pytest.mark.parametrize("change,field", [
    ({"x": "5"}, "x"), ({"x": 100001}, "x"), ({"text": "t" * 10001}, "text"), ({"color": "blue"}, "color"),
    ({"id": 5}, "id"), ({"board_id": 1}, "board_id"), ({"version": 9}, "version"),
    ({"x": 1, "bogus": 2}, "bogus"), ({"width": None}, "width"),
], ids=tb.short_id)
def test_patch_item_invalid_422_nothing_changes(server, owner_board, change, field):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"], text="keep")
    before = item_row(server, item["id"])
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), change,
                      token=owner.token)
    tb.assert_error(resp, 422, "invalid", field=field)
    assert item_row(server, item["id"]) == before


@pytest.mark.parametrize("if_match", ['"{v}"', 'W/"{v}"', '"0", "{v}"', "*"])
def test_patch_item_if_match_current(server, owner_board, if_match):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"])
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), {"x": 9},
                      token=owner.token, headers={"If-Match": if_match.format(v=item["version"])})
    got = tb.assert_status(resp, 200)
    assert got["x"] == 9 and got["version"] == item["version"] + 1


def test_patch_item_stale_if_match_412_with_current(server, owner_board):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"], text="v1")
    path = "/boards/%d/items/%d" % (board["id"], item["id"])
    v2 = tb.assert_status(tb.request(server, "PATCH", path, {"text": "v2"}, token=owner.token), 200)
    resp = tb.request(server, "PATCH", path, {"text": "lost update"}, token=owner.token,
                      headers={"If-Match": tb.etag_of(item["version"])})
    doc = tb.assert_error(resp, 412, "version_mismatch")
    assert set(doc) == {"error", "current"}, doc
    assert tb.check_item(doc["current"]) == v2
    assert item_row(server, item["id"])[0] == "v2"
    assert item_row(server, item["id"])[7] == v2["version"]


# --- DELETE -------------------------------------------------------------------------------------

def test_delete_item_204(server, owner_board):
    owner, board = owner_board
    keep = tb.create_item(server, owner, board["id"], text="keep")
    item = tb.create_item(server, owner, board["id"])
    path = "/boards/%d/items/%d" % (board["id"], item["id"])
    resp = tb.request(server, "DELETE", path, token=owner.token)
    assert resp.status == 204 and resp.body == b"", resp
    assert item_row(server, item["id"]) is None and item_row(server, keep["id"]) is not None
    tb.assert_error(tb.request(server, "GET", path, token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "DELETE", path, token=owner.token), 404, "not_found")
    got = tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=owner.token), 200)
    assert [i["id"] for i in got["items"]] == [keep["id"]]


def test_delete_item_stale_if_match_412(server, owner_board):
    owner, board = owner_board
    item = tb.create_item(server, owner, board["id"])
    path = "/boards/%d/items/%d" % (board["id"], item["id"])
    v2 = tb.assert_status(tb.request(server, "PATCH", path, {"y": 4}, token=owner.token), 200)
    resp = tb.request(server, "DELETE", path, token=owner.token,
                      headers={"If-Match": tb.etag_of(item["version"])})
    doc = tb.assert_error(resp, 412, "version_mismatch")
    assert tb.check_item(doc["current"]) == v2
    assert item_row(server, item["id"]) is not None
    resp = tb.request(server, "DELETE", path, token=owner.token,
                      headers={"If-Match": tb.etag_of(v2["version"])})
    assert resp.status == 204, resp
