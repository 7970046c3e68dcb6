"""Live lists (issue 17; docs/api.md, Versions, ETag and If-Match): GET /boards, GET /teams and
GET /teams/:id carry a strong ETag over the reply body and answer If-None-Match (an entity tag, a
weak one W/"..." compared weakly as RFC 9110 says for GET, a list of them, or *) with 304 and no
body. The access checks come first: a team you are not in stays 404. A header that is not an
entity-tag list (RFC 9110: `*`, or comma-separated "..." / W/"..." with optional whitespace) is
ignored as a whole, even when it holds the current tag: 200 with the body, never 304."""

import pytest

import tbclient as tb


def get(server, user, path, inm=None):
    headers = {} if inm is None else {"If-None-Match": inm}
    return tb.request(server, "GET", path, headers=headers, token=user.token)


def strong_etag(resp):
    etag = resp.header("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"') and len(etag) > 2, resp.headers.items()
    assert not etag.startswith("W/"), etag
    return etag


def check_304(resp, etag):
    assert resp.status == 304, resp
    assert resp.body == b"", resp
    assert resp.header("ETag") == etag, resp.headers.items()
    assert "no-store" in (resp.header("Cache-Control") or ""), resp.headers.items()


def check_conditional(server, user, path):
    """The If-None-Match forms on one list; returns its ETag."""
    first = get(server, user, path)
    body = tb.assert_status(first, 200)
    etag = strong_etag(first)
    second = get(server, user, path)
    assert second.header("ETag") == etag and second.body == first.body
    for inm in (etag, "W/" + etag, '"nope", ' + etag, '"a","b" ,  W/%s' % etag, "*", " *"):
        check_304(get(server, user, path, inm), etag)
    for inm in ('"nope"', 'W/"nope"', etag[:-2] + '"', "garbage", etag[1:-1], '"a", "b"'):
        r = get(server, user, path, inm)
        assert tb.assert_status(r, 200) == body, (inm, r)
        assert r.header("ETag") == etag
    return etag


def test_boards_list(server):
    u = tb.new_user(server, "etb")
    tb.create_board(server, u)
    etag = check_conditional(server, u, "/boards")
    # A new board, a rename and a deletion each change the ETag.
    board = tb.create_board(server, u)
    first, seen = etag, {etag}
    for change in ("create", "rename", "delete"):
        if change == "rename":
            tb.assert_status(tb.request(server, "PATCH", "/boards/%d" % board["id"], {"title": "renamed"},
                                        token=u.token), 200)
        elif change == "delete":
            assert tb.request(server, "DELETE", "/boards/%d" % board["id"], token=u.token).status == 204
        r = get(server, u, "/boards", etag)
        tb.assert_status(r, 200)
        etag = strong_etag(r)
        if change == "delete":  # the list is as it was at first: so is its tag
            assert etag == first and etag not in seen - {first}
        else:
            assert etag not in seen, change
        seen.add(etag)
        check_304(get(server, u, "/boards", etag), etag)


def test_boards_list_changes_when_added_to_a_team(server):
    a, b = tb.new_user(server, "eta"), tb.new_user(server, "etc")
    team = tb.create_team(server, a)["id"]
    tb.create_board(server, a, team_id=team)
    before = strong_etag(get(server, b, "/boards"))
    tb.add_member(server, a, team, b, "viewer")
    r = get(server, b, "/boards", before)
    assert tb.assert_status(r, 200)["boards"], r
    assert strong_etag(r) != before


def test_teams_list(server):
    u = tb.new_user(server, "ett")
    tb.create_team(server, u)
    etag = check_conditional(server, u, "/teams")
    tb.create_team(server, u)
    r = get(server, u, "/teams", etag)
    assert len(tb.assert_status(r, 200)["teams"]) == 2
    assert strong_etag(r) != etag


def test_team(server):
    a, b, c = tb.new_user(server, "etm"), tb.new_user(server, "etn"), tb.new_user(server, "eto")
    team = tb.create_team(server, a)["id"]
    path = "/teams/%d" % team
    etag = check_conditional(server, a, path)
    tb.add_member(server, a, team, b, "editor")
    r = get(server, a, path, etag)
    assert len(tb.assert_status(r, 200)["members"]) == 2
    changed = strong_etag(r)
    assert changed != etag
    # Another member's view has another role in it: another ETag, its own 304.
    rb = get(server, b, path)
    tb.assert_status(rb, 200)
    assert strong_etag(rb) != changed
    check_304(get(server, b, path, strong_etag(rb)), strong_etag(rb))
    # Not a member: 404 whatever If-None-Match says; no such team: 404 too.
    for inm in (None, "*", changed):
        tb.assert_error(get(server, c, path, inm), 404, "not_found")
        tb.assert_error(get(server, a, "/teams/%d" % (team + 1000000), inm), 404, "not_found")


def malformed(etag):
    """If-None-Match values that hold the current tag but are not an entity-tag list."""
    return (etag + "junk", etag + 'x"', etag + etag, etag + "W/" + etag, etag + ", junk", "junk, " + etag,
            '"a b", ' + etag, etag + ', "a b"', "W/ " + etag, "w/" + etag, etag + ", *", "*, " + etag,
            etag + ' "x"', etag + ";")


@pytest.mark.parametrize("which", ["boards", "teams", "team"])
def test_malformed_if_none_match_is_ignored(server, which):
    u = tb.new_user(server, "etmal")
    tb.create_board(server, u)
    path = {"boards": "/boards", "teams": "/teams",
            "team": "/teams/%d" % tb.create_team(server, u)["id"]}[which]
    first = get(server, u, path)
    body = tb.assert_status(first, 200)
    etag = strong_etag(first)
    for inm in malformed(etag):
        r = get(server, u, path, inm)
        assert r.status == 200, (inm, r)
        assert tb.assert_status(r, 200) == body and r.header("ETag") == etag, (inm, r)
    # Empty list members and whitespace around them are allowed (RFC 9110, 5.6.1).
    for inm in (", " + etag, etag + " ,", ' , "x" ,, \t' + etag + "\t"):
        check_304(get(server, u, path, inm), etag)


@pytest.mark.parametrize("path", ["/boards", "/teams"])
def test_lists_need_a_session(server, path):
    r = tb.request(server, "GET", path, headers={"If-None-Match": "*"})
    tb.assert_error(r, 401, "unauthorized")


def test_each_user_has_own_tag(server):
    a, b = tb.new_user(server, "etx"), tb.new_user(server, "ety")
    tb.create_board(server, a)
    ea = strong_etag(get(server, a, "/boards"))
    r = get(server, b, "/boards", ea)
    assert tb.assert_status(r, 200) == {"boards": []}
