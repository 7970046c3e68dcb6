"""Boards: GET/POST /boards, GET/PATCH/DELETE /boards/:id, ETag and If-Match."""

import urllib.parse

import pytest

import tbclient as tb


def board_row(server, board_id):
    """The board's row while it is live (not in the trash: sql/016)."""
    rows = server.sql("SELECT title, version, team_id, owner_id FROM teamboard.boards"
                      " WHERE id = %s AND deleted_at IS NULL", (board_id,))
    return rows[0] if rows else None


def test_create_personal_board_201(server):
    owner = tb.new_user(server)
    title = tb.unique("Board")
    resp = tb.request(server, "POST", "/boards", {"title": title}, token=owner.token)
    board = tb.check_board(tb.assert_status(resp, 201))
    assert board["title"] == title and board["team_id"] is None
    assert board["owner_id"] == owner.id and board["role"] == "owner"
    assert board["items"] == [] and board["version"] >= 1 and board["last_event_id"] >= 0
    tb.assert_etag(resp, board)
    assert resp.header("Location") == "/api/v1/boards/%d" % board["id"]
    assert board_row(server, board["id"]) == (title, board["version"], None, owner.id)


def test_create_board_team_id_null_is_personal(server):
    owner = tb.new_user(server)
    resp = tb.request(server, "POST", "/boards", {"title": "t", "team_id": None}, token=owner.token)
    assert tb.assert_status(resp, 201)["team_id"] is None


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_create_team_board_201(server, role):
    owner, creator = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], creator, role)
    resp = tb.request(server, "POST", "/boards", {"title": "plan", "team_id": team["id"]},
                      token=creator.token)
    board = tb.check_board(tb.assert_status(resp, 201))
    assert board["team_id"] == team["id"] and board["owner_id"] == creator.id
    assert board["role"] == "owner"
    # The team's other members see it with their team role.
    got = tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=owner.token), 200)
    assert got["role"] == "admin"


def test_create_board_in_team_as_viewer_403(server):
    owner, viewer = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], viewer, "viewer")
    resp = tb.request(server, "POST", "/boards", {"title": "nope", "team_id": team["id"]},
                      token=viewer.token)
    tb.assert_error(resp, 403, "forbidden")
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE owner_id = %s", (viewer.id,)) == [(0,)]


def test_create_board_in_foreign_team_422(server):
    owner, stranger = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, owner)
    resp = tb.request(server, "POST", "/boards", {"title": "x", "team_id": team["id"]},
                      token=stranger.token)
    doc = tb.assert_error(resp, 422, "invalid", field="team_id")
    assert "no such team" in doc["error"]["message"]
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE owner_id = %s", (stranger.id,)) == [(0,)]


def test_create_board_in_missing_team_422(server):
    owner = tb.new_user(server)
    resp = tb.request(server, "POST", "/boards", {"title": "x", "team_id": 9223372036854775807},
                      token=owner.token)
    tb.assert_error(resp, 422, "invalid", field="team_id")


@pytest.mark.parametrize("title,ok", [
    ("a", True),
    ("B" * 200, True),
    ("Sprint \u2116 7 \u2014 r\u00e9tro \U0001f4cc", True),
    ("", False),
    ("B" * 201, False),
    ("two\nlines", False),
    ("tab\tbed", False),
    ("esc\u001b[31m", False),
], ids=tb.short_id)
def test_create_board_title_limits(server, title, ok):
    owner = tb.new_user(server)
    resp = tb.request(server, "POST", "/boards", {"title": title}, token=owner.token)
    if ok:
        assert tb.check_board(tb.assert_status(resp, 201))["title"] == title
    else:
        tb.assert_error(resp, 422, "invalid", field="title")
        assert server.sql("SELECT count(*) FROM teamboard.boards WHERE owner_id = %s",
                          (owner.id,)) == [(0,)]


def test_create_board_requires_title(server):
    owner = tb.new_user(server)
    tb.assert_error(tb.request(server, "POST", "/boards", {}, token=owner.token), 422, "invalid",
                    field="title")
    tb.assert_error(tb.request(server, "POST", "/boards", {"team_id": None}, token=owner.token),
                    422, "invalid", field="title")


def test_list_boards_own_and_teams(server):
    alice, bob = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, bob)
    tb.add_member(server, bob, team["id"], alice, "viewer")
    mine = tb.create_board(server, alice)
    teams = tb.create_board(server, bob, team_id=team["id"])
    bobs_personal = tb.create_board(server, bob)
    other_team = tb.create_team(server, bob)
    hidden = tb.create_board(server, bob, team_id=other_team["id"])
    resp = tb.request(server, "GET", "/boards", token=alice.token)
    doc = tb.assert_status(resp, 200)
    assert set(doc) == {"boards"} and isinstance(doc["boards"], list)
    for b in doc["boards"]:
        tb.check_board(b, items=False)
    got = {b["id"]: b for b in doc["boards"]}
    assert set(got) == {mine["id"], teams["id"]}
    assert got[mine["id"]]["role"] == "owner" and got[teams["id"]]["role"] == "viewer"
    assert bobs_personal["id"] not in got and hidden["id"] not in got


def test_list_boards_empty(server):
    user = tb.new_user(server)
    assert tb.assert_status(tb.request(server, "GET", "/boards", token=user.token), 200) == {"boards": []}


def test_get_board_with_items_in_z_then_id_order(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    bid = board["id"]
    a = tb.create_item(server, owner, bid, text="a", z=5)
    b = tb.create_item(server, owner, bid, text="b", z=-3)
    c = tb.create_item(server, owner, bid, text="c", z=5)
    d = tb.create_item(server, owner, bid, text="d")  # default z: max + 1 = 6
    resp = tb.request(server, "GET", "/boards/%d" % bid, token=owner.token)
    got = tb.check_board(tb.assert_status(resp, 200))
    tb.assert_etag(resp, got)
    assert [i["id"] for i in got["items"]] == [b["id"], a["id"], c["id"], d["id"]]
    assert got["items"][3]["z"] == 6
    assert {i["board_id"] for i in got["items"]} == {bid}


def test_get_missing_board_404(server):
    user = tb.new_user(server)
    tb.assert_error(tb.request(server, "GET", "/boards/9223372036854775807", token=user.token),
                    404, "not_found")


def test_get_someone_elses_board_404(server):
    owner, other = tb.new_user(server), tb.new_user(server)
    board = tb.create_board(server, owner)
    tb.assert_error(tb.request(server, "GET", "/boards/%d" % board["id"], token=other.token),
                    404, "not_found")


# --- PATCH /boards/:id --------------------------------------------------------------------------

def test_patch_board_title_bumps_version(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    resp = tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "Renamed"},
                      token=owner.token)
    got = tb.check_board(tb.assert_status(resp, 200), items=False)  # PATCH answers without items
    tb.assert_etag(resp, got)
    assert got["title"] == "Renamed" and got["version"] == board["version"] + 1
    assert got["team_id"] == board["team_id"] and got["owner_id"] == board["owner_id"]
    assert tb.parse_time(got["updated_at"]) >= tb.parse_time(board["updated_at"])
    assert board_row(server, board["id"])[:2] == ("Renamed", board["version"] + 1)
    # The reply's last_event_id is the rename's own event: a stream resumed from it misses nothing
    # and gets nothing twice.
    after = tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=owner.token), 200)
    assert got["last_event_id"] == after["last_event_id"] == board["last_event_id"] + 1, (got, after)


@pytest.mark.parametrize("if_match", ['"{v}"', 'W/"{v}"', '"999999", "{v}"', "*"])
def test_patch_board_if_match_current(server, if_match):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    resp = tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "ok"}, token=owner.token,
                      headers={"If-Match": if_match.format(v=board["version"])})
    assert tb.assert_status(resp, 200)["version"] == board["version"] + 1


def test_patch_board_stale_if_match_412(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    first = tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "first"},
                       token=owner.token, headers={"If-Match": tb.etag_of(board["version"])})
    current = tb.assert_status(first, 200)
    resp = tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "second"},
                      token=owner.token, headers={"If-Match": tb.etag_of(board["version"])})
    doc = tb.assert_error(resp, 412, "version_mismatch")
    assert set(doc) == {"error", "current"}, doc
    cur = tb.check_board(doc["current"], items="items" in doc["current"])
    assert cur["title"] == "first" and cur["version"] == current["version"]
    assert board_row(server, board["id"])[:2] == ("first", current["version"])


def test_patch_board_empty_422(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    resp = tb.request(server, "PATCH", "/boards/%d" % board["id"], {}, token=owner.token)
    doc = tb.assert_error(resp, 422, "invalid")
    assert "no field to change" in doc["error"]["message"]
    assert board_row(server, board["id"])[1] == board["version"]


@pytest.mark.parametrize("body,field", [
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "ok", "owner_id": 1}, "owner_id"),
    ({"version": 7}, "version"),
])
def test_patch_board_invalid_422(server, body, field):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    resp = tb.request(server, "PATCH", "/boards/%d" % board["id"], body, token=owner.token)
    tb.assert_error(resp, 422, "invalid", field=field)
    assert board_row(server, board["id"])[:2] == (board["title"], board["version"])


# --- DELETE /boards/:id -------------------------------------------------------------------------

def test_delete_board_204_and_into_the_trash_with_its_items(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    item = tb.create_item(server, owner, board["id"], text="bye")
    resp = tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token)
    assert resp.status == 204 and resp.body == b"", resp
    assert board_row(server, board["id"]) is None
    # In the trash (test_trash.py has the rest): its notes are kept with it, out of sight.
    assert server.sql("SELECT deleted_by FROM teamboard.boards WHERE id = %s", (board["id"],)) == [(owner.id,)]
    assert server.sql("SELECT count(*) FROM teamboard.items WHERE id = %s", (item["id"],)) == [(1,)]
    tb.assert_error(tb.request(server, "GET", "/boards/%d/items/%d" % (board["id"], item["id"]),
                               token=owner.token), 404, "not_found")
    tb.assert_error(tb.request(server, "GET", "/boards/%d" % board["id"], token=owner.token),
                    404, "not_found")
    tb.assert_error(tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token),
                    404, "not_found")


def test_delete_board_if_match(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    tb.assert_status(tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "v2"},
                                token=owner.token), 200)
    stale = tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token,
                       headers={"If-Match": tb.etag_of(board["version"])})
    doc = tb.assert_error(stale, 412, "version_mismatch")
    assert doc["current"]["version"] == board["version"] + 1 and doc["current"]["title"] == "v2"
    assert board_row(server, board["id"]) is not None
    ok = tb.request(server, "DELETE", "/boards/%d" % board["id"], token=owner.token,
                    headers={"If-Match": tb.etag_of(board["version"] + 1)})
    assert ok.status == 204, ok
    assert board_row(server, board["id"]) is None


def test_demoted_creator_is_a_viewer_of_the_board(server):
    """A team board's creator ranks as its owner only while an editor or admin of the team
    (sql/011): demoted to viewer, they are a viewer of it; promoted again, its owner again."""
    admin, creator = tb.new_user(server), tb.new_user(server)
    team = tb.create_team(server, admin)
    tb.add_member(server, admin, team["id"], creator, "editor")
    board = tb.create_board(server, creator, team_id=team["id"])
    assert board["role"] == "owner"
    member = "/teams/%d/members/%d" % (team["id"], creator.id)
    tb.assert_status(tb.request(server, "PATCH", member, {"role": "viewer"}, token=admin.token), 200)
    path = "/boards/%d" % board["id"]
    got = tb.assert_status(tb.request(server, "GET", path, token=creator.token), 200)
    assert got["role"] == "viewer"
    listed = tb.assert_status(tb.request(server, "GET", "/boards", token=creator.token), 200)
    assert [b["role"] for b in listed["boards"] if b["id"] == board["id"]] == ["viewer"]
    tb.assert_error(tb.request(server, "PATCH", path, {"title": "mine"}, token=creator.token),
                    403, "forbidden")
    tb.assert_error(tb.request(server, "DELETE", path, token=creator.token), 403, "forbidden")
    tb.assert_error(tb.request(server, "POST", path + "/items", {"text": "x"}, token=creator.token),
                    403, "forbidden")
    assert server.sql("SELECT title, version FROM teamboard.boards WHERE id = %s",
                      (board["id"],)) == [(board["title"], board["version"])]
    tb.assert_status(tb.request(server, "PATCH", member, {"role": "editor"}, token=admin.token), 200)
    got = tb.assert_status(tb.request(server, "GET", path, token=creator.token), 200)
    assert got["role"] == "owner"
    tb.assert_status(tb.request(server, "DELETE", path, token=creator.token), 204)


# --- GET /boards/:id beyond max_reply: items in pages ------------------------------------------

def board_pages(server, user, board_id, limit=65536, max_pages=20):
    """Every page of GET /boards/:id, following items_next; asserts each reply fits in limit."""
    pages, query = [], ""
    for _ in range(max_pages):
        resp = tb.request(server, "GET", "/boards/%d%s" % (board_id, query), token=user.token)
        doc = tb.assert_status(resp, 200)
        assert len(resp.body) <= limit, "a page of %d bytes" % len(resp.body)
        pages.append(doc)
        if not doc.get("items_more"):
            assert "items_more" not in doc and "items_next" not in doc, doc.keys()
            return pages
        assert isinstance(doc["items_next"], str) and doc["items"], doc.keys()
        query = "?items_after=" + urllib.parse.quote(doc["items_next"], safe="")
    raise AssertionError("more than %d pages" % max_pages)


def test_get_large_board_pages_its_items(server):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    # 16 notes of 10,000 characters (about 10 KB of JSON each; some with 2-byte characters), and
    # z values that put them out of id order: more than 64 KiB in all.
    made = []
    for k in range(16):
        text = ("\u00e9" if k % 3 == 0 else "n") * 10000
        made.append(tb.create_item(server, owner, board["id"], text=text, z=(k * 7) % 5 - 2))
    made += [tb.create_item(server, owner, board["id"], text="small %d" % k) for k in range(5)]
    want = [i["id"] for i in sorted(made, key=lambda i: (i["z"], i["id"]))]
    with tb.restarted(server, max_reply=65536):
        pages = board_pages(server, owner, board["id"])
        assert len(pages) >= 3, [len(p["items"]) for p in pages]
        got = [i["id"] for p in pages for i in p["items"]]
        assert got == want
        for p in pages:
            body = {k: v for k, v in p.items() if k not in ("items_more", "items_next")}
            tb.check_board(body)
            assert body["version"] == board["version"] and body["role"] == "owner"
    # With the default budget (4 MiB) the same board comes whole.
    pages = board_pages(server, owner, board["id"], limit=4 << 20)
    assert len(pages) == 1 and [i["id"] for i in pages[0]["items"]] == want


def test_board_pages_see_changes_between_pages(server):
    """A note changed or added between two page reads is in the event log after the first page's
    last_event_id; a note that did not change comes exactly once."""
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    made = [tb.create_item(server, owner, board["id"], text="n" * 10000, z=k) for k in range(10)]
    with tb.restarted(server, max_reply=65536):
        first = tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"],
                                            token=owner.token), 200)
        assert first["items_more"] is True
        seen = {i["id"] for i in first["items"]}
        moved = made[-1]  # not yet read: moved in front of the cursor
        tb.assert_status(tb.request(server, "PATCH", "/boards/%d/items/%d" % (board["id"], moved["id"]),
                                    {"z": -5}, token=owner.token), 200)
        rest = board_pages(server, owner, board["id"])  # from the start again: all of them
        assert sorted(i["id"] for p in rest for i in p["items"]) == sorted(i["id"] for i in made)
        query = "?items_after=" + urllib.parse.quote(first["items_next"], safe="")
        second = tb.assert_status(tb.request(server, "GET", "/boards/%d%s" % (board["id"], query),
                                             token=owner.token), 200)
        assert not seen & {i["id"] for i in second["items"]}
        events = tb.assert_status(tb.request(
            server, "GET", "/boards/%d/events?after=%d" % (board["id"], first["last_event_id"]),
            token=owner.token), 200)["events"]
        assert [(e["type"], e["item"]["id"]) for e in events] == [("item.updated", moved["id"])]


@pytest.mark.parametrize("cursor", ["", "abc", "1", "1.", ".1", "1.0", "01.5", "-0.5", "1.05",
                                    "1000001.5", "-1000001.5", "1.5.6", "1%20.5", "%2B1.5",
                                    "1.99999999999999999999", "%zz"])
def test_board_bad_items_after_400(server, cursor):
    owner = tb.new_user(server)
    board = tb.create_board(server, owner)
    resp = tb.request(server, "GET", "/boards/%d?items_after=%s" % (board["id"], cursor),
                      token=owner.token)
    tb.assert_error(resp, 400, "bad_request")


def test_board_items_after_needs_access(server):
    owner, stranger = tb.new_user(server), tb.new_user(server)
    board = tb.create_board(server, owner)
    tb.create_item(server, owner, board["id"], z=3)
    tb.assert_error(tb.request(server, "GET", "/boards/%d?items_after=0.1" % board["id"],
                               token=stranger.token), 404, "not_found")
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d?items_after=3.1" % board["id"],
                                      token=owner.token), 200)
    assert [i["z"] for i in doc["items"]] == [3]
    doc = tb.assert_status(tb.request(server, "GET", "/boards/%d?items_after=3.%d" % (
        board["id"], 2 ** 62), token=owner.token), 200)
    assert doc["items"] == [] and "items_more" not in doc
