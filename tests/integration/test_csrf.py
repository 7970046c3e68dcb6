"""CSRF: a write authenticated by the session cookie must come from an allowed origin (Origin, else
the origin of Referer; neither -> 403 bad_origin). Bearer requests are not checked. Unauthenticated
POST /users and POST /sessions are refused only when a foreign Origin is present."""

import pytest

import tbclient as tb

FOREIGN = "http://evil.example"


@pytest.fixture
def user(server):
    return tb.new_user(server, "csrf")


def board_count(server, user):
    return server.sql("SELECT count(*) FROM teamboard.boards WHERE owner_id = %s", (user.id,))[0][0]


def post_board(server, user, **kw):
    return tb.request(server, "POST", "/boards", {"title": tb.unique("c")}, cookie=user.cookie, **kw)


def test_cookie_write_same_origin_ok(server, user):
    tb.assert_status(post_board(server, user, origin=server.base), 201)


@pytest.mark.parametrize("origin", [
    FOREIGN,
    "null",
    "http://127.0.0.1:1",
    "https://127.0.0.1:{port}",
    "http://127.0.0.1:{port}.evil.example",
    "http://evil.example/http://127.0.0.1:{port}",
    "http://127.0.0.1:{port}@evil.example",
    "",
])
def test_cookie_write_foreign_origin_403(server, user, origin):
    origin = origin.format(port=server.port)
    before = board_count(server, user)
    resp = post_board(server, user, origin=origin)
    tb.assert_error(resp, 403, "bad_origin")
    assert board_count(server, user) == before


def test_cookie_write_without_origin_or_referer_403(server, user):
    before = board_count(server, user)
    tb.assert_error(post_board(server, user, origin=None), 403, "bad_origin")
    assert board_count(server, user) == before


def test_cookie_write_referer_of_allowed_origin_ok(server, user):
    resp = post_board(server, user, origin=None, headers={"Referer": server.base + "/board.html?b=1"})
    tb.assert_status(resp, 201)


def test_cookie_write_foreign_referer_403(server, user):
    before = board_count(server, user)
    resp = post_board(server, user, origin=None, headers={"Referer": FOREIGN + "/attack.html"})
    tb.assert_error(resp, 403, "bad_origin")
    assert board_count(server, user) == before


def test_origin_wins_over_referer(server, user):
    # Origin present: it alone decides, whatever Referer says.
    resp = post_board(server, user, origin=FOREIGN, headers={"Referer": server.base + "/"})
    tb.assert_error(resp, 403, "bad_origin")


def test_cookie_write_own_host_origin_ok_without_being_listed(server, user):
    # The request's own scheme://Host counts as allowed even when not in allowed_origins.
    host = "teamboard.test:%d" % server.port
    resp = post_board(server, user, origin="http://" + host, headers={"Host": host})
    tb.assert_status(resp, 201)


def test_cookie_patch_and_delete_foreign_origin_403(server, user):
    board = tb.create_board(server, user)
    item = tb.create_item(server, user, board["id"], text="keep")
    paths = [("PATCH", "/boards/%d" % board["id"], {"title": "pwned"}),
             ("DELETE", "/boards/%d" % board["id"], None),
             ("POST", "/boards/%d/items" % board["id"], {"text": "spam"}),
             ("PATCH", "/boards/%d/items/%d" % (board["id"], item["id"]), {"text": "pwned"}),
             ("DELETE", "/boards/%d/items/%d" % (board["id"], item["id"]), None),
             ("POST", "/teams", {"name": "pwned"})]
    for method, path, body in paths:
        for origin in (FOREIGN, None):
            resp = tb.request(server, method, path, body=body, cookie=user.cookie, origin=origin)
            tb.assert_error(resp, 403, "bad_origin")
    got = tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=user.token), 200)
    assert got["title"] == board["title"] and got["version"] == board["version"]
    assert [i["text"] for i in got["items"]] == ["keep"]
    assert server.sql("SELECT count(*) FROM teamboard.teams WHERE created_by = %s", (user.id,)) == [(0,)]


def test_cookie_team_member_writes_foreign_origin_403(server, user):
    team = tb.create_team(server, user)
    other = tb.new_user(server)
    resp = tb.request(server, "POST", "/teams/%d/members" % team["id"], {"name": other.name, "role": "admin"},
                      cookie=user.cookie, origin=FOREIGN)
    tb.assert_error(resp, 403, "bad_origin")
    assert server.sql("SELECT count(*) FROM teamboard.team_members WHERE team_id = %s",
                      (team["id"],)) == [(1,)]


def test_cookie_logout_foreign_origin_403(server, user):
    resp = tb.request(server, "DELETE", "/sessions/current", cookie=user.cookie, origin=FOREIGN)
    tb.assert_error(resp, 403, "bad_origin")
    tb.assert_status(tb.request(server, "GET", "/me", cookie=user.cookie), 200)


def test_cookie_read_from_foreign_origin_ok(server, user):
    # Safe methods are not checked (the browser's same-origin policy keeps the answer from the page).
    resp = tb.request(server, "GET", "/me", cookie=user.cookie, origin=FOREIGN)
    assert tb.assert_status(resp, 200)["id"] == user.id


def test_bearer_write_foreign_origin_ok(server, user):
    resp = tb.request(server, "POST", "/boards", {"title": "script"}, token=user.token, origin=FOREIGN)
    tb.assert_status(resp, 201)


def test_bearer_write_without_origin_ok(server, user):
    resp = tb.request(server, "POST", "/boards", {"title": "script"}, token=user.token, origin=None)
    tb.assert_status(resp, 201)


def test_bearer_and_cookie_uses_bearer_so_no_origin_check(server, user):
    resp = tb.request(server, "POST", "/boards", {"title": "both"}, token=user.token, cookie=user.cookie,
                      origin=FOREIGN)
    tb.assert_status(resp, 201)


def test_auth_before_csrf_forged_cookie_401(server):
    # Guard order: a cookie that is no session is 401 before the Origin is looked at.
    resp = tb.request(server, "POST", "/boards", {"title": "x"}, cookie="ab" * 32, origin=FOREIGN)
    tb.assert_error(resp, 401, "unauthorized")


def test_register_foreign_origin_403(server):
    name = tb.unique("csrfreg")
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "password1"}, origin=FOREIGN)
    tb.assert_error(resp, 403, "bad_origin")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE name = %s", (name,)) == [(0,)]


def test_register_without_origin_ok(server):
    resp = tb.request(server, "POST", "/users", {"name": tb.unique("noorig"), "password": "password1"},
                      origin=None)
    tb.assert_status(resp, 201)


def test_login_foreign_origin_403(server):
    _, name, password = tb.register(server)
    resp = tb.request(server, "POST", "/sessions", {"name": name, "password": password}, origin=FOREIGN)
    tb.assert_error(resp, 403, "bad_origin")
    assert not [c for c in resp.header_all("Set-Cookie") if c.startswith("tb_session=") and "Max-Age=0" not in c]


def test_login_without_origin_ok(server):
    _, name, password = tb.register(server)
    resp = tb.request(server, "POST", "/sessions", {"name": name, "password": password}, origin=None)
    tb.assert_status(resp, 201)


def test_allowed_origins_config(server):
    u = tb.new_user(server)
    with tb.restarted(server, allowed_origins="https://teamboard.example http://app.example:8443"):
        for origin in ("https://teamboard.example", "http://app.example:8443"):
            tb.assert_status(post_board(server, u, origin=origin), 201)
        # The request's own origin is still fine; others are not.
        tb.assert_status(post_board(server, u, origin=server.base), 201)
        for origin in ("http://teamboard.example", "http://app.example", FOREIGN):
            tb.assert_error(post_board(server, u, origin=origin), 403, "bad_origin")
