"""Every row of issue 2's "Bad input" table, each as its own test with the exact status and error
code, and a check that the refused request changed nothing. The last tests check that the
workers survived all of it."""

import json
import os
import secrets
import socket
import time

import pytest

import tbclient as tb
from tbcgi import needs_web_server


@pytest.fixture(scope="module")
def world(server):
    """owner: a personal board with one item, and a team board where viewer and editor are
    members; other: a user who shares nothing with owner."""
    owner, other = tb.new_user(server, "bo"), tb.new_user(server, "bx")
    viewer, editor = tb.new_user(server, "bv"), tb.new_user(server, "be")
    board = tb.create_board(server, owner)
    item = tb.create_item(server, owner, board["id"], text="original")
    team = tb.create_team(server, owner)
    tb.add_member(server, owner, team["id"], viewer, "viewer")
    tb.add_member(server, owner, team["id"], editor, "editor")
    tboard = tb.create_board(server, owner, team_id=team["id"])
    titem = tb.create_item(server, owner, tboard["id"], text="team note")
    return {"owner": owner, "other": other, "viewer": viewer, "editor": editor, "board": board,
            "item": item, "team": team, "tboard": tboard, "titem": titem,
            "pids": worker_pids(server)}


def snapshot(server, user_id=None):
    """What a refused request must not touch: every live board (a deleted one is in the trash,
    sql/016), item and membership of the test's users (by owner), and the counts of users and
    sessions."""
    boards = server.sql("SELECT id, title, version, team_id FROM teamboard.boards "
                        "WHERE owner_id = %s AND deleted_at IS NULL ORDER BY id", (user_id,))
    items = server.sql("SELECT i.id, i.text, i.color, i.x, i.y, i.w, i.h, i.z, i.version "
                       "FROM teamboard.items i JOIN teamboard.boards b ON b.id = i.board_id "
                       "WHERE b.owner_id = %s AND b.deleted_at IS NULL ORDER BY i.id", (user_id,))
    members = server.sql("SELECT m.team_id, m.user_id, m.role FROM teamboard.team_members m "
                         "JOIN teamboard.teams t ON t.id = m.team_id WHERE t.created_by = %s "
                         "ORDER BY 1, 2", (user_id,))
    return boards, items, members


@pytest.fixture
def unchanged(server, world):
    """Asserts after the test that nothing of owner's data changed and no board was created by
    any of world's users."""
    ids = [world[k].id for k in ("owner", "other", "viewer", "editor")]
    before = [snapshot(server, uid) for uid in ids]
    yield
    after = [snapshot(server, uid) for uid in ids]
    assert after == before, "a refused request changed data"


def post_board_raw(server, world, raw, headers=None):
    return tb.request(server, "POST", "/boards", raw=raw, headers=headers, token=world["owner"].token)


# --- 400 bad_json -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"hello",
    b"",
    b" ",
    b"{",
    b'{"title":"a"',
    b"{'title':'a'}",
    b"{title:\"a\"}",
    b'{"title":"a",}',
    b'{"title":"a" "x":1}',
    b'{"title":"\\x41"}',
    b'{"title":"a","z":01}',
    b'{"title":"a","x":NaN}',
    b'{"title":"a","x":Infinity}',
    b'{"title":"a","x":0x10}',
    b'{"title":"a","x":+1}',
    b'{"title":"a"}/*comment*/',
    b"title=a",
], ids=lambda r: r.decode("latin-1") or "empty")
def test_not_json_400(server, world, unchanged, raw):
    tb.assert_error(post_board_raw(server, world, raw), 400, "bad_json")


@pytest.mark.parametrize("raw", [
    b'{"title":"a"} x',
    b'{"title":"a"}{"title":"b"}',
    b'{"title":"a"}}',
    b'{"title":"a"}\x00',
    b'{"title":"a"}\n,',
], ids=["word", "second-object", "brace", "nul", "comma"])
def test_trailing_bytes_400(server, world, unchanged, raw):
    tb.assert_error(post_board_raw(server, world, raw), 400, "bad_json")


def test_trailing_whitespace_is_fine(server, world):
    # RFC 8259: insignificant whitespace may surround the value (curl users send a newline).
    resp = post_board_raw(server, world, b'  {"title":"ws"}\r\n\t ')
    assert tb.assert_status(resp, 201)["title"] == "ws"


def nested(containers):
    """{"title": [[...[]...]]} with `containers` JSON containers in all (the object counts),
    the innermost empty, so the nesting depth is exactly `containers`."""
    return b'{"title":' + b"[" * (containers - 1) + b"]" * (containers - 1) + b"}"


def test_nesting_depth_33_400(server, world, unchanged):
    tb.assert_error(post_board_raw(server, world, nested(33)), 400, "bad_json")


def test_nesting_depth_100000_400(server, world, unchanged):
    raw = b'{"title":' + b"[" * 30000 + b"]" * 30000 + b"}"
    tb.assert_error(post_board_raw(server, world, raw), 400, "bad_json")


def test_nesting_depth_32_parses_then_field_refused_422(server, world, unchanged):
    # 32 levels is within the parser's limit, so this is JSON; an array where a string belongs is a
    # wrong type for the field: 422 naming it, not 400.
    tb.assert_error(post_board_raw(server, world, nested(32)), 422, "invalid", field="title")


def test_nested_object_as_field_value_422(server, world, unchanged):
    raw = json.dumps({"title": {"nested": {"deeper": [1, 2, {"x": None}]}}}).encode()
    tb.assert_error(post_board_raw(server, world, raw), 422, "invalid", field="title")


# --- invalid UTF-8, NUL, control characters ------------------------------------------------------

@pytest.mark.parametrize("bad", [
    b"\xff",               # never valid
    b"\x80",               # lone continuation byte
    b"\xc3",               # truncated two-byte sequence
    b"\xe2\x82",           # truncated three-byte sequence
    b"\xc0\xaf",           # overlong "/"
    b"\xe0\x80\xaf",       # overlong "/" in three bytes
    b"\xed\xa0\x80",       # UTF-16 surrogate encoded in UTF-8
    b"\xf4\x90\x80\x80",   # above U+10FFFF
    b"\xfe\xfe",
], ids=lambda b: b.hex())
def test_invalid_utf8_in_value_400(server, world, unchanged, bad):
    raw = b'{"title":"ok ' + bad + b' ok"}'
    tb.assert_error(post_board_raw(server, world, raw), 400, "bad_json")


def test_invalid_utf8_in_key_400(server, world, unchanged):
    tb.assert_error(post_board_raw(server, world, b'{"ti\xfftle":"a"}'), 400, "bad_json")


def test_invalid_utf8_in_item_text_400(server, world, unchanged):
    raw = b'{"text":"caf\xe9"}'  # Latin-1, not UTF-8
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"], raw=raw,
                      token=world["owner"].token)
    tb.assert_error(resp, 400, "bad_json")


def test_invalid_utf8_in_user_name_400(server):
    name = tb.unique("utf")
    raw = b'{"name":"' + name.encode() + b'\xff","password":"password1"}'
    tb.assert_error(tb.request(server, "POST", "/users", raw=raw), 400, "bad_json")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE name LIKE %s", (name + "%",)) == [(0,)]


def test_nul_byte_in_body_400(server, world, unchanged):
    tb.assert_error(post_board_raw(server, world, b'{"title":"a\x00b"}'), 400, "bad_json")


def test_raw_control_character_in_string_400(server, world, unchanged):
    # RFC 8259 section 7: U+0000..U+001F must be escaped inside a string, so this is not JSON.
    tb.assert_error(post_board_raw(server, world, b'{"title":"a\x07b"}'), 400, "bad_json")


def test_raw_newline_in_item_text_400(server, world, unchanged):
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"],
                      raw=b'{"text":"line1\nline2"}', token=world["owner"].token)
    tb.assert_error(resp, 400, "bad_json")


@pytest.mark.parametrize("char", ["\u0000", "\u0001", "\u0007", "\t", "\n", "\r", "\u001b", "\u007f",
                                  "\u0085", "\u009f"], ids=lambda c: "U+%04X" % ord(c))
def test_control_character_in_title_422(server, world, unchanged, char):
    resp = tb.request(server, "POST", "/boards", {"title": "a" + char + "b"}, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="title")


@pytest.mark.parametrize("char", ["\u0000", "\u0008", "\n", "\u007f"], ids=lambda c: "U+%04X" % ord(c))
def test_control_character_in_team_name_422(server, world, unchanged, char):
    resp = tb.request(server, "POST", "/teams", {"name": "team" + char}, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="name")


@pytest.mark.parametrize("char", ["\u0000", "\n", "\u001f"], ids=lambda c: "U+%04X" % ord(c))
def test_control_character_in_user_name_422(server, char):
    name = tb.unique("ctl")
    resp = tb.request(server, "POST", "/users", {"name": name + char, "password": "password1"})
    tb.assert_error(resp, 422, "invalid", field="name")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE name LIKE %s", (name + "%",)) == [(0,)]


def test_nul_in_password_422(server):
    name = tb.unique("nulpw")
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "password\u0000tail"})
    tb.assert_error(resp, 422, "invalid", field="password")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE name = %s", (name,)) == [(0,)]


@pytest.mark.parametrize("char", ["\u0000", "\u0007", "\u001b", "\u007f"], ids=lambda c: "U+%04X" % ord(c))
def test_control_character_in_item_text_422(server, world, unchanged, char):
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"],
                      {"text": "note" + char}, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="text")


def test_newline_tab_cr_allowed_in_item_text(server, world):
    item = tb.create_item(server, world["owner"], world["board"]["id"], text="a\nb\tc\r\nd")
    assert item["text"] == "a\nb\tc\r\nd"


# --- 422 invalid: JSON, but not what the route takes ---------------------------------------------

@pytest.mark.parametrize("raw", [b"[]", b'[{"title":"a"}]', b'"title"', b"1", b"null", b"true"],
                         ids=lambda r: r.decode())
def test_json_not_an_object_422(server, world, unchanged, raw):
    tb.assert_error(post_board_raw(server, world, raw), 422, "invalid")


def test_unknown_field_422(server, world, unchanged):
    resp = tb.request(server, "POST", "/boards", {"title": "t", "colour": "red"}, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="colour")


def test_unknown_field_on_item_patch_422(server, world, unchanged):
    w = world
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"]),
                      {"text": "changed", "owner": 1}, token=w["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="owner")


@pytest.mark.parametrize("field,value", [
    ("x", "5"), ("x", "abc"), ("x", 1.5), ("x", 1.0), ("x", 1e3), ("x", True), ("x", None), ("x", [0]),
    ("x", {}), ("text", 5), ("text", ["a"]), ("color", 0xfff59d), ("width", "200"), ("z", False),
], ids=lambda v: repr(v))
def test_wrong_type_item_field_422(server, world, unchanged, field, value):
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"], {field: value},
                      token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field=field)


@pytest.mark.parametrize("value", [1.0, 1.5, "1", True, [1], {"id": 1}, 0, -1],
                         ids=lambda v: repr(v))
def test_wrong_type_or_range_team_id_422(server, world, unchanged, value):
    body = {"title": "t", "team_id": value}
    resp = tb.request(server, "POST", "/boards", body, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="team_id")


def test_float_team_id_equal_to_real_id_422(server, world, unchanged):
    # 5.0 is a float even when 5 is the owner's team: ids are JSON integers.
    raw = ('{"title":"t","team_id":%d.0}' % world["team"]["id"]).encode()
    tb.assert_error(post_board_raw(server, world, raw), 422, "invalid", field="team_id")


@pytest.mark.parametrize("field,value", [
    ("title", 5), ("title", None), ("title", True), ("title", ["t"]),
])
def test_wrong_type_title_422(server, world, unchanged, field, value):
    resp = tb.request(server, "POST", "/boards", {field: value}, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field=field)


@pytest.mark.parametrize("field,value", [
    ("x", 100001), ("x", -100001), ("y", 100001), ("y", -100001), ("width", 19), ("width", 4001),
    ("height", 19), ("height", 4001), ("z", 1000001), ("z", -1000001),
    ("x", 9223372036854775807), ("x", 9223372036854775808), ("x", -9223372036854775809),
    ("z", 10 ** 30),
], ids=lambda v: repr(v))
def test_out_of_range_422(server, world, unchanged, field, value):
    raw = ('{"%s":%d}' % (field, value)).encode()
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"], raw=raw,
                      token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field=field)


def test_out_of_range_message_names_the_limits(server, world, unchanged):
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"], {"x": 100001},
                      token=world["owner"].token)
    doc = tb.assert_error(resp, 422, "invalid", field="x")
    msg = doc["error"]["message"]
    assert "100000" in msg and "-100000" in msg, msg


def test_overflowing_team_id_422(server, world, unchanged):
    raw = b'{"title":"t","team_id":99999999999999999999}'
    tb.assert_error(post_board_raw(server, world, raw), 422, "invalid", field="team_id")


def test_over_long_text_10001_422(server, world, unchanged):
    resp = tb.request(server, "POST", "/boards/%d/items" % world["board"]["id"], {"text": "n" * 10001},
                      token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field="text")


def test_text_10000_ok(server, world):
    item = tb.create_item(server, world["owner"], world["board"]["id"], text="n" * 10000)
    assert len(item["text"]) == 10000


@pytest.mark.parametrize("path,body,field", [
    ("/boards", {"title": "t" * 201}, "title"),
    ("/teams", {"name": "n" * 101}, "name"),
])
def test_over_long_names_422(server, world, unchanged, path, body, field):
    resp = tb.request(server, "POST", path, body, token=world["owner"].token)
    tb.assert_error(resp, 422, "invalid", field=field)


def test_over_long_user_name_422(server):
    tb.assert_error(tb.request(server, "POST", "/users", {"name": "n" * 65, "password": "password1"}),
                    422, "invalid", field="name")


# --- 413 too_large ------------------------------------------------------------------------------

def max_body(server):
    return int(server.config.get("max_body", 65536))


def padded_board(size):
    """A valid board body of exactly size bytes (whitespace padding)."""
    core = b'{"title":"big"}'
    return core + b" " * (size - len(core))


def test_body_over_max_body_sent_413(server, world, unchanged):
    raw = padded_board(max_body(server) + 1)
    tb.assert_error(post_board_raw(server, world, raw), 413, "too_large")


def test_body_of_exactly_max_body_accepted(server, world):
    resp = post_board_raw(server, world, padded_board(max_body(server)))
    assert tb.assert_status(resp, 201)["title"] == "big"


def test_huge_body_sent_413(server, world, unchanged):
    raw = padded_board(4 * 1024 * 1024)
    tb.assert_error(post_board_raw(server, world, raw), 413, "too_large")


def head_only(server, path, length, token=None, ctype="application/json"):
    lines = ["POST %s HTTP/1.1" % tb.api_path(path), "Host: %s:%d" % (server.host, server.port),
             "Content-Type: %s" % ctype, "Content-Length: %d" % length, "Origin: %s" % server.base,
             "Connection: close"]
    if token:
        lines.append("Authorization: Bearer " + token)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_content_length_over_max_body_without_body_413_promptly(server, world, unchanged):
    # Only the headers are sent: the answer must come without waiting for the body.
    data = head_only(server, "/boards", 10 * 1024 * 1024, token=world["owner"].token)
    resp = tb.raw_exchange(server, data, timeout=tb.seconds(5.0))
    tb.assert_error(resp, 413, "too_large")
    assert resp.elapsed < tb.seconds(5.0)


def test_content_length_just_over_max_body_without_body_413(server, world, unchanged):
    data = head_only(server, "/boards", max_body(server) + 1, token=world["owner"].token)
    resp = tb.raw_exchange(server, data, timeout=tb.seconds(5.0))
    tb.assert_error(resp, 413, "too_large")


def test_content_length_over_max_body_unauthenticated_route_413(server):
    # POST /users takes no session, so the size check is the first guard that refuses it.
    data = head_only(server, "/users", 50 * 1024 * 1024)
    resp = tb.raw_exchange(server, data, timeout=tb.seconds(5.0))
    tb.assert_error(resp, 413, "too_large")


def test_auth_is_checked_before_size(server):
    # Guard order: 401 (auth) comes before 413 (size).
    data = head_only(server, "/boards", 10 * 1024 * 1024)
    resp = tb.raw_exchange(server, data, timeout=tb.seconds(5.0))
    tb.assert_error(resp, 401, "unauthorized")


def test_post_without_content_length(server, world):
    """A body-less POST sent without Content-Length (`curl -X POST URL`): lighttpd refuses it
    itself with 411 and its own HTML page, before any worker (docs/api.md, Conventions); Apache
    reads it as an empty body, so the route answers (here: a valid session, a board that is not
    there: 404). With Content-Length: 0 it reaches the route behind both."""
    user = world["owner"]
    head = ("POST /api/v1/boards/999999999/undo HTTP/1.1\r\nHost: %s:%d\r\n"
            "Authorization: Bearer %s\r\nConnection: close\r\n" % (server.host, server.port, user.token))
    bare = tb.raw_exchange(server, (head + "\r\n").encode(), timeout=tb.seconds(5.0))
    if server.setup == "lighttpd":
        assert bare.status == 411, (bare.status, bare.body[:200])
    else:
        tb.assert_error(bare, 404, "not_found")
    zero = tb.raw_exchange(server, (head + "Content-Length: 0\r\n\r\n").encode(),
                           timeout=tb.seconds(5.0))
    tb.assert_error(zero, 404, "not_found")


def test_max_body_is_configurable(server, world):
    owner = tb.new_user(server)
    try:
        with tb.restarted(server, max_body=1024):
            tb.assert_error(tb.request(server, "POST", "/boards", raw=padded_board(1025),
                                       token=owner.token), 413, "too_large")
            # The whole body is sent: lighttpd buffers a REST body before a worker sees it and
            # refuses early only past the max_body its config names (65536; the test above), so
            # a max_body lowered in teamboard.conf alone is enforced once the body is there.
            resp = tb.raw_exchange(server, head_only(server, "/boards", 1025, token=owner.token)
                                   + b" " * 1025, timeout=tb.seconds(5.0))
            tb.assert_error(resp, 413, "too_large")
            ok = tb.request(server, "POST", "/boards", raw=padded_board(1024), token=owner.token)
            tb.assert_status(ok, 201)
            # A route that takes no body refuses one over max_body all the same (docs/api.md,
            # "How a request is checked", 4), and does nothing: the board is still there.
            board_id = ok.json()["id"]
            path = "/api/v1/boards/%d" % board_id
            head = ("DELETE %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: 1025\r\nConnection: close\r\n\r\n"
                    % (path, server.host, server.port, owner.token))
            resp = tb.raw_exchange(server, head.encode() + b" " * 1025, timeout=tb.seconds(5.0))
            tb.assert_error(resp, 413, "too_large")
            tb.assert_status(tb.request(server, "GET", "/boards/%d" % board_id, token=owner.token), 200)
    finally:
        world["pids"] = worker_pids(server)  # the restarts replaced the workers
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE owner_id = %s AND deleted_at IS NULL",
                      (owner.id,)) == [(1,)]


# --- 415 unsupported_media_type ------------------------------------------------------------------

@pytest.mark.parametrize("ctype", [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/jsonp",
    "application/json-patch+json",
    "application/json; charset=latin1",
    "",
], ids=lambda c: "absent" if c is None else (c or "empty"))
def test_wrong_content_type_415(server, world, unchanged, ctype):
    resp = tb.request(server, "POST", "/boards", raw=b'{"title":"t"}', token=world["owner"].token,
                      headers={"Content-Type": ctype})
    tb.assert_error(resp, 415, "unsupported_media_type")


def test_wrong_content_type_on_patch_415(server, world, unchanged):
    w = world
    resp = tb.request(server, "PATCH", "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"]),
                      raw=b'{"text":"t"}', token=w["owner"].token, headers={"Content-Type": "text/plain"})
    tb.assert_error(resp, 415, "unsupported_media_type")


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8",
                                   "application/json;charset=UTF-8", "Application/JSON"])
def test_json_content_types_accepted(server, world, ctype):
    resp = tb.request(server, "POST", "/boards", raw=b'{"title":"ct"}', token=world["owner"].token,
                      headers={"Content-Type": ctype})
    tb.assert_status(resp, 201)


# --- 404 not_found: paths and ids ---------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/nope",
    "/boards/abc",
    "/boards/0",
    "/boards/-1",
    "/boards/01",
    "/boards/1x",
    "/boards/1.0",
    "/boards/+1",
    "/boards/99999999999999999999",
    "/boards/9223372036854775808",
    "/boards/1/nope",
    "/boards/1/items/abc",
    "/boards/1/items/0",
    "/boards/1/items/99999999999999999999",
    "/boards/abc/items/1",
    "/teams/abc",
    "/teams/0",
    "/teams/18446744073709551616",
    "/teams/1/members/abc",
    "/teams/1/members/0",
    "/users/1",
    "/sessions/other",
    "/api/v1/",
    "/api/v1/boards/",
])
def test_unknown_path_or_bad_id_404(server, world, path):
    resp = tb.request(server, "GET", path, token=world["owner"].token)
    tb.assert_error(resp, 404, "not_found")


def test_bad_id_404_before_auth(server):
    # Guard order: the route (404) is checked before the session (401).
    tb.assert_error(tb.request(server, "GET", "/boards/abc"), 404, "not_found")
    tb.assert_error(tb.request(server, "PATCH", "/boards/0", {"title": "x"}), 404, "not_found")


def test_largest_id_is_a_valid_id_but_missing(server, world):
    resp = tb.request(server, "GET", "/boards/9223372036854775807", token=world["owner"].token)
    tb.assert_error(resp, 404, "not_found")


def test_query_string_does_not_change_the_route(server, world):
    resp = tb.request(server, "GET", "/boards/%d?x=1" % world["board"]["id"], token=world["owner"].token)
    assert tb.assert_status(resp, 200)["id"] == world["board"]["id"]


# --- 405 method_not_allowed ---------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/boards", {"GET", "POST"}),
    ("PUT", "/boards", {"GET", "POST"}),
    ("PUT", "/boards/1", {"GET", "PATCH", "DELETE"}),
    ("POST", "/boards/1", {"GET", "PATCH", "DELETE"}),
    ("GET", "/boards/1/items", {"POST"}),
    ("PUT", "/boards/1/items/1", {"GET", "PATCH", "DELETE"}),
    ("POST", "/me", {"GET"}),
    ("GET", "/users", {"POST"}),
    ("GET", "/sessions", {"POST"}),
    ("GET", "/sessions/current", {"DELETE"}),
    ("PATCH", "/teams", {"GET", "POST"}),
    ("DELETE", "/teams/1", {"GET"}),
    ("GET", "/teams/1/members", {"POST"}),
    ("GET", "/teams/1/members/1", {"PATCH", "DELETE"}),
    ("DELETE", "/health", {"GET"}),
])
def test_wrong_method_405_with_allow(server, world, method, path, allow):
    resp = tb.request(server, method, path, token=world["owner"].token,
                      raw=b"{}" if method in ("POST", "PUT", "PATCH") else None)
    tb.assert_error(resp, 405, "method_not_allowed")
    got = {m.strip() for m in (resp.header("Allow") or "").split(",") if m.strip()}
    assert got == allow, "Allow: %r" % resp.header("Allow")


def test_wrong_method_405_before_auth(server):
    resp = tb.request(server, "PUT", "/boards/1", raw=b"{}")
    tb.assert_error(resp, 405, "method_not_allowed")
    assert resp.header("Allow")


# --- 401 unauthorized ---------------------------------------------------------------------------

def test_no_session_401(server, world, unchanged):
    tb.assert_error(tb.request(server, "POST", "/boards", {"title": "anon"}), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/boards/%d" % world["board"]["id"]), 401, "unauthorized")


def test_expired_session_401(server, world, unchanged):
    doc, _ = tb.login(server, world["owner"].name, world["owner"].password)
    token = doc["token"]
    # Expire exactly this session: the newest one of the owner.
    server.sql("UPDATE teamboard.sessions SET expires_at = now() - interval '1 second' WHERE token_hash = "
               "(SELECT token_hash FROM teamboard.sessions WHERE user_id = %s ORDER BY created_at DESC "
               "LIMIT 1)", (world["owner"].id,))
    tb.assert_error(tb.request(server, "POST", "/boards", {"title": "late"}, token=token), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/me", token=token), 401, "unauthorized")
    # The owner's first session is untouched.
    tb.assert_status(tb.request(server, "GET", "/me", token=world["owner"].token), 200)


def test_forged_session_401(server, world, unchanged):
    forged = secrets.token_hex(32)
    tb.assert_error(tb.request(server, "POST", "/boards", {"title": "forged"}, token=forged),
                    401, "unauthorized")
    tb.assert_error(tb.request(server, "POST", "/boards", {"title": "forged"}, cookie=forged),
                    401, "unauthorized")
    # A real token with one digit changed.
    real = world["owner"].token
    flipped = real[:-1] + ("0" if real[-1] != "0" else "1")
    tb.assert_error(tb.request(server, "GET", "/me", token=flipped), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/me", token=real.upper()), 401, "unauthorized")


# --- 404 for what is not yours; 403 for too low a role -------------------------------------------

def test_someone_elses_board_404(server, world, unchanged):
    w, other = world, world["other"]
    bid = w["board"]["id"]
    for method, body in (("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)):
        tb.assert_error(tb.request(server, method, "/boards/%d" % bid, body=body, token=other.token),
                        404, "not_found")
    tb.assert_error(tb.request(server, "POST", "/boards/%d/items" % bid, {"text": "spam"}, token=other.token),
                    404, "not_found")


def test_someone_elses_item_404(server, world, unchanged):
    w, other = world, world["other"]
    path = "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"])
    for method, body in (("GET", None), ("PATCH", {"text": "defaced"}), ("DELETE", None)):
        tb.assert_error(tb.request(server, method, path, body=body, token=other.token), 404, "not_found")
    # Nor through a board of their own.
    own = tb.create_board(server, other)
    try:
        path = "/boards/%d/items/%d" % (own["id"], w["item"]["id"])
        for method, body in (("GET", None), ("PATCH", {"text": "defaced"}), ("DELETE", None)):
            tb.assert_error(tb.request(server, method, path, body=body, token=other.token), 404, "not_found")
    finally:
        tb.request(server, "DELETE", "/boards/%d" % own["id"], token=other.token)


def test_team_members_do_not_see_personal_boards_404(server, world, unchanged):
    for who in ("viewer", "editor"):
        tb.assert_error(tb.request(server, "GET", "/boards/%d" % world["board"]["id"], token=world[who].token),
                        404, "not_found")


def test_viewer_writing_403(server, world, unchanged):
    w, v = world, world["viewer"]
    bid, iid = w["tboard"]["id"], w["titem"]["id"]
    cases = [("PATCH", "/boards/%d" % bid, {"title": "viewer was here"}),
             ("DELETE", "/boards/%d" % bid, None),
             ("POST", "/boards/%d/items" % bid, {"text": "viewer note"}),
             ("PATCH", "/boards/%d/items/%d" % (bid, iid), {"text": "viewer edit"}),
             ("DELETE", "/boards/%d/items/%d" % (bid, iid), None),
             ("POST", "/boards", {"title": "in team", "team_id": w["team"]["id"]})]
    for method, path, body in cases:
        tb.assert_error(tb.request(server, method, path, body=body, token=v.token), 403, "forbidden")


def test_editor_deleting_board_403(server, world, unchanged):
    resp = tb.request(server, "DELETE", "/boards/%d" % world["tboard"]["id"], token=world["editor"].token)
    tb.assert_error(resp, 403, "forbidden")


def test_editor_managing_members_403(server, world, unchanged):
    w, e = world, world["editor"]
    tid = w["team"]["id"]
    cases = [("POST", "/teams/%d/members" % tid, {"name": w["other"].name, "role": "viewer"}),
             ("PATCH", "/teams/%d/members/%d" % (tid, w["viewer"].id), {"role": "admin"}),
             ("PATCH", "/teams/%d/members/%d" % (tid, e.id), {"role": "admin"}),
             ("DELETE", "/teams/%d/members/%d" % (tid, w["viewer"].id), None)]
    for method, path, body in cases:
        tb.assert_error(tb.request(server, method, path, body=body, token=e.token), 403, "forbidden")


# --- 412 version_mismatch -----------------------------------------------------------------------

def test_stale_if_match_412_with_current_item(server, world, unchanged):
    w = world
    path = "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"])
    current = tb.assert_status(tb.request(server, "GET", path, token=w["owner"].token), 200)
    stale = tb.etag_of(current["version"] - 1) if current["version"] > 1 else '"0"'
    for method, body in (("PATCH", {"text": "stale write"}), ("DELETE", None)):
        resp = tb.request(server, method, path, body=body, token=w["owner"].token, headers={"If-Match": stale})
        doc = tb.assert_error(resp, 412, "version_mismatch")
        assert doc["current"] == current


def test_stale_if_match_412_with_current_board(server, world, unchanged):
    w = world
    path = "/boards/%d" % w["board"]["id"]
    for method, body in (("PATCH", {"title": "stale"}), ("DELETE", None)):
        resp = tb.request(server, method, path, body=body, token=w["owner"].token,
                          headers={"If-Match": '"999999"'})
        doc = tb.assert_error(resp, 412, "version_mismatch")
        assert doc["current"]["id"] == w["board"]["id"]
        assert doc["current"]["title"] == w["board"]["title"]


@pytest.mark.parametrize("value", ['"abc"', "garbage", '""', 'W/"x"'])
def test_if_match_that_matches_nothing_412(server, world, unchanged, value):
    w = world
    path = "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"])
    resp = tb.request(server, "PATCH", path, {"text": "x"}, token=w["owner"].token, headers={"If-Match": value})
    tb.assert_error(resp, 412, "version_mismatch")


# --- 403 bad_origin -----------------------------------------------------------------------------

def test_cookie_write_from_foreign_origin_403(server, world, unchanged):
    w = world
    for method, path, body in (("POST", "/boards", {"title": "csrf"}),
                               ("PATCH", "/boards/%d" % w["board"]["id"], {"title": "csrf"}),
                               ("DELETE", "/boards/%d/items/%d" % (w["board"]["id"], w["item"]["id"]), None)):
        resp = tb.request(server, method, path, body=body, cookie=w["owner"].cookie,
                          origin="http://evil.example")
        tb.assert_error(resp, 403, "bad_origin")


# --- the workers survived all of the above ------------------------------------------------------

def worker_pids(server):
    """PIDs of this test server's Teamboard processes: those whose command line or environment
    mentions the test state directory (best effort; empty when none can be told apart)."""
    state = str(getattr(server, "state_dir", "") or "")
    pids = set()
    if not state:
        return pids
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as f:
                comm = f.read().strip()
            if not comm.startswith("teamboard"):
                continue
            blobs = []
            for name in ("cmdline", "environ"):
                with open("/proc/%s/%s" % (entry, name), "rb") as f:
                    blobs.append(f.read())
        except OSError:
            continue
        if any(state.encode() in b for b in blobs):
            pids.add(int(entry))
    return pids


@needs_web_server("each request is a process of its own: no long-lived worker to survive it")
def test_zz_workers_survived_bad_input(server, world):
    for _ in range(50):
        assert tb.request(server, "GET", "/health", timeout=tb.seconds(5)).status == 200
    for _ in range(20):
        resp = tb.request(server, "GET", "/boards/%d" % world["board"]["id"], token=world["owner"].token,
                          timeout=tb.seconds(5))
        assert tb.assert_status(resp, 200)["items"][0]["text"] == "original"
    assert world["pids"], "no Teamboard process found running from %s" % server.state_dir
    gone = {p for p in world["pids"] if not os.path.exists("/proc/%d" % p)}
    assert not gone, "worker processes died during the bad-input tests: %r" % sorted(gone)


def test_zz_no_leaked_database_connections(server):
    # One connection per worker (plus a supervisor's): refused requests must not open more.
    pids = worker_pids(server)
    rows = server.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
    count = rows[0][0]
    if pids:
        assert count <= 2 * len(pids) + 3, (count, sorted(pids))
    assert count <= 64, count
