"""Invite links (docs/api.md, "Invite links"): a team admin makes, lists and revokes links; whoever
holds one sees the team and the role without a session and, signed in, joins with that role, at
most max_uses times even when the accepts come at once; member.added reaches the team's open boards
live. Unknown, expired, used up and revoked links are 410 gone; guesses are throttled as sign-ins.

The throttled guesses come from their own loopback address (127.0.0.61), whose throttle rows are
deleted afterwards, so 127.0.0.1 is never throttled for the tests that follow."""

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

import tbsse as sse
import tbclient as tb

SOURCE = "127.0.0.61"
TOKEN_RE = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def streams(server):
    s = sse.Streams(server)
    yield s
    s.close_all()


@pytest.fixture
def clean_throttle(server):
    yield
    server.sql("DELETE FROM teamboard.login_throttle WHERE key = %s OR key LIKE 'invite:%%'", (SOURCE,))


def create(server, admin, team_id, body=None):
    return tb.request(server, "POST", "/teams/%d/invites" % team_id,
                      {"role": "editor"} if body is None else body, token=admin.token)


def make(server, admin, team_id, **body):
    body.setdefault("role", "editor")
    return tb.assert_status(create(server, admin, team_id, body), 201)


def show(server, token, user=None, source=None):
    return tb.request(server, "GET", "/invites/" + token, token=user.token if user else None, source=source)


def accept(server, token, user, source=None):
    return tb.request(server, "POST", "/invites/%s/accept" % token, token=user.token, source=source)


def listed(server, admin, team_id):
    return tb.assert_status(tb.request(server, "GET", "/teams/%d/invites" % team_id, token=admin.token), 200)


def role_of(server, team_id, user):
    return server.sql("SELECT role FROM teamboard.team_members WHERE team_id = %s AND user_id = %s",
                      (team_id, user.id))


def test_create_defaults_list_without_tokens_and_revoke(server):
    admin = tb.new_user(server, "iva")
    team = tb.create_team(server, admin)
    before = datetime.now(timezone.utc)
    inv = make(server, admin, team["id"])
    assert set(inv) == {"id", "team_id", "token", "url", "role", "created_at", "created_by", "expires_at",
                        "max_uses", "uses"}
    assert TOKEN_RE.match(inv["token"]) and inv["url"].endswith("/#/invite/" + inv["token"])
    assert (inv["role"], inv["max_uses"], inv["uses"], inv["team_id"]) == ("editor", 1, 0, team["id"])
    expires = tb.parse_time(inv["expires_at"])
    assert before + timedelta(hours=168) - timedelta(minutes=1) < expires < before + timedelta(hours=168, minutes=1)
    # Only the token's SHA-256 is kept.
    assert server.sql("SELECT count(*) FROM teamboard.team_invites WHERE token_hash = sha256(decode(%s, 'hex'))",
                      (inv["token"],)) == [(1,)]
    other = make(server, admin, team["id"], role="viewer", expires_in_hours=1, max_uses=1000)
    assert (other["role"], other["max_uses"]) == ("viewer", 1000)
    assert tb.parse_time(other["expires_at"]) < before + timedelta(hours=1, minutes=1)
    doc = listed(server, admin, team["id"])
    assert [i["id"] for i in doc["invites"]] == [other["id"], inv["id"]]
    assert all("token" not in i and "url" not in i for i in doc["invites"])
    resp = tb.request(server, "DELETE", "/teams/%d/invites/%d" % (team["id"], inv["id"]), token=admin.token)
    assert resp.status == 204, resp
    assert [i["id"] for i in listed(server, admin, team["id"])["invites"]] == [other["id"]]
    tb.assert_error(show(server, inv["token"]), 410, "gone")
    tb.assert_error(tb.request(server, "DELETE", "/teams/%d/invites/%d" % (team["id"], inv["id"]),
                               token=admin.token), 404, "not_found")
    # A malformed invite id is no such path; a team that does not exist is 404 as one not seen.
    tb.assert_error(tb.request(server, "DELETE", "/teams/%d/invites/x1" % team["id"], token=admin.token),
                    404, "not_found")
    tb.assert_error(create(server, admin, 2 ** 62), 404, "not_found")
    tb.assert_error(tb.request(server, "GET", "/teams/%d/invites" % 2 ** 62, token=admin.token), 404, "not_found")
    # Another team's invite id is not this team's.
    elsewhere = tb.create_team(server, admin)
    tb.assert_error(tb.request(server, "DELETE", "/teams/%d/invites/%d" % (elsewhere["id"], other["id"]),
                               token=admin.token), 404, "not_found")


def test_show_needs_no_session_and_accept_joins_live(server, streams):
    admin, joiner = tb.new_user(server, "ivb"), tb.new_user(server, "ivj")
    team = tb.create_team(server, admin)
    board = tb.create_board(server, admin, team_id=team["id"])
    watcher = streams.open(board["id"], admin)
    inv = make(server, admin, team["id"], role="editor", max_uses=2)
    doc = tb.assert_status(show(server, inv["token"]), 200)
    assert doc == {"team": {"id": team["id"], "name": team["name"]}, "role": "editor",
                   "expires_at": inv["expires_at"]}
    joined = tb.assert_status(accept(server, inv["token"], joiner), 201)
    assert joined["id"] == team["id"] and joined["role"] == "editor"
    mine = [m for m in joined["members"] if m["user_id"] == joiner.id]
    assert len(mine) == 1 and (mine[0]["name"], mine[0]["role"]) == (joiner.name, "editor"), joined
    assert role_of(server, team["id"], joiner) == [("editor",)]
    ev = watcher.wait_for(lambda e: e.type == "member.added", timeout=10)
    member = ev.json["member"]
    assert (member["team_id"], member["user_id"], member["name"], member["role"]) == \
        (team["id"], joiner.id, joiner.name, "editor"), ev
    assert ev.json["actor"]["id"] == joiner.id
    # The new member reads the board; accepting again is 409 and uses nothing.
    tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=joiner.token), 200)
    doc = tb.assert_error(accept(server, inv["token"], joiner), 409, "already_member")
    assert doc["team_id"] == team["id"]
    tb.assert_error(accept(server, inv["token"], admin), 409, "already_member")
    assert listed(server, admin, team["id"])["invites"][0]["uses"] == 1


def test_gone_when_used_up_expired_revoked_or_unknown(server, clean_throttle):
    admin, first, second = (tb.new_user(server, p) for p in ("ivc", "iv1", "iv2"))
    team = tb.create_team(server, admin)
    used = make(server, admin, team["id"], role="viewer")
    tb.assert_status(accept(server, used["token"], first), 201)
    tb.assert_error(show(server, used["token"]), 410, "gone")
    tb.assert_error(accept(server, used["token"], second, source=SOURCE), 410, "gone")
    assert listed(server, admin, team["id"])["invites"] == []
    expired = make(server, admin, team["id"])
    server.sql("UPDATE teamboard.team_invites SET expires_at = now() - interval '1 second' WHERE id = %s",
               (expired["id"],))
    tb.assert_error(show(server, expired["token"], source=SOURCE), 410, "gone")
    tb.assert_error(accept(server, expired["token"], second, source=SOURCE), 410, "gone")
    revoked = make(server, admin, team["id"])
    tb.assert_status(tb.request(server, "DELETE", "/teams/%d/invites/%d" % (team["id"], revoked["id"]),
                                token=admin.token), 204)
    tb.assert_error(accept(server, revoked["token"], second, source=SOURCE), 410, "gone")
    tb.assert_error(show(server, "ab" * 32, source=SOURCE), 410, "gone")
    tb.assert_error(accept(server, "ab" * 32, second, source=SOURCE), 410, "gone")
    assert role_of(server, team["id"], second) == []
    # Malformed tokens are no such path; the route takes no other method.
    tb.assert_error(show(server, "AB" * 32), 404, "not_found")
    tb.assert_error(show(server, "ab" * 31), 404, "not_found")
    tb.assert_error(accept(server, "ab" * 33, second), 404, "not_found")
    resp = tb.request(server, "DELETE", "/invites/" + "ab" * 32, token=admin.token)
    tb.assert_error(resp, 405, "method_not_allowed")
    assert resp.header("Allow") == "GET"
    # Making a new link clears the team's expired and used-up ones.
    make(server, admin, team["id"])
    assert server.sql("SELECT count(*) FROM teamboard.team_invites WHERE id IN (%s, %s)",
                      (used["id"], expired["id"])) == [(0,)]


def test_concurrent_accepts_never_pass_max_uses(server):
    admin = tb.new_user(server, "ivd")
    team = tb.create_team(server, admin)
    inv = make(server, admin, team["id"], role="viewer", max_uses=3)
    users = [tb.new_user(server, "ivx") for _ in range(8)]
    results = [None] * len(users)
    go = threading.Barrier(len(users))

    def run(i):
        go.wait(timeout=30)
        results[i] = accept(server, inv["token"], users[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 3 + [410] * 5, results
    for r in results:
        if r.status == 410:
            tb.assert_error(r, 410, "gone")
    assert server.sql("SELECT uses FROM teamboard.team_invites WHERE id = %s", (inv["id"],)) == [(3,)]
    joined = server.sql("SELECT count(*) FROM teamboard.team_members WHERE team_id = %s AND user_id = ANY(%s)",
                        (team["id"], [u.id for u in users]))
    assert joined == [(3,)]


def test_guesses_are_throttled(server, clean_throttle):
    admin = tb.new_user(server, "ive")
    team = tb.create_team(server, admin)
    inv = make(server, admin, team["id"])
    # One failure short of the address's limit: the next unknown token blocks the address.
    server.sql("INSERT INTO teamboard.login_throttle (kind, key, failures) VALUES ('address', %s, 9)"
               " ON CONFLICT (kind, key) DO UPDATE SET failures = 9, blocked_until = NULL", (SOURCE,))
    tb.assert_error(show(server, "cd" * 32, source=SOURCE), 410, "gone")
    resp = show(server, inv["token"], source=SOURCE)
    tb.assert_error(resp, 429, "too_many_attempts")
    assert int(resp.header("Retry-After")) > 0
    tb.assert_error(accept(server, inv["token"], admin, source=SOURCE), 429, "too_many_attempts")
    tb.assert_status(show(server, inv["token"]), 200)


def test_a_team_has_at_most_100_open_links(server):
    admin = tb.new_user(server, "ivf")
    team = tb.create_team(server, admin)
    server.sql("INSERT INTO teamboard.team_invites (team_id, token_hash, role, expires_at, max_uses)"
               " SELECT %s, sha256(convert_to(%s || g, 'UTF8')), 'viewer', now() + interval '1 hour', 1"
               " FROM generate_series(1, 99) g", (team["id"], tb.unique("t")))
    make(server, admin, team["id"])
    tb.assert_error(create(server, admin, team["id"]), 409, "too_many_invites")
    assert len(listed(server, admin, team["id"])["invites"]) == 100


def test_accept_checks_the_origin(server):
    user = tb.new_user(server, "ivg")
    resp = tb.request(server, "POST", "/invites/%s/accept" % ("ef" * 32), cookie=user.cookie,
                      origin="https://evil.example")
    tb.assert_error(resp, 403, "bad_origin")


@pytest.mark.parametrize("body,field", [
    ({}, "role"),
    ({"role": "owner"}, "role"),
    ({"role": ""}, "role"),
    ({"role": 3}, "role"),
    ({"role": "viewer", "expires_in_hours": 0}, "expires_in_hours"),
    ({"role": "viewer", "expires_in_hours": 721}, "expires_in_hours"),
    ({"role": "viewer", "expires_in_hours": "24"}, "expires_in_hours"),
    ({"role": "viewer", "expires_in_hours": 1.5}, "expires_in_hours"),
    ({"role": "viewer", "max_uses": 0}, "max_uses"),
    ({"role": "viewer", "max_uses": 1001}, "max_uses"),
    ({"role": "viewer", "max_uses": None}, "max_uses"),
    ({"role": "viewer", "token": "ab" * 32}, "token"),
])
def test_create_bad_bodies_422(server, body, field):
    admin = tb.new_user(server, "ivh")
    team = tb.create_team(server, admin)
    tb.assert_error(create(server, admin, team["id"], body), 422, "invalid", field=field)
    assert listed(server, admin, team["id"])["invites"] == []


def test_create_not_json_400(server):
    admin = tb.new_user(server, "ivi")
    team = tb.create_team(server, admin)
    resp = tb.request(server, "POST", "/teams/%d/invites" % team["id"], raw=b'{"role":', token=admin.token)
    tb.assert_error(resp, 400, "bad_json")
    assert listed(server, admin, team["id"])["invites"] == []
