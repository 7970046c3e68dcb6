"""Accounts (docs/api.md, PATCH and DELETE /users/me, POST /password-resets/:token; docs/operations.md,
the account commands of teamboard-admin): a password change ends the user's other sessions and their
streams at once, an account deletion keeps the team's boards and notes, an administrator sets a
password, makes a one-time reset link, lists, disables and enables users.

The failed password checks come from their own loopback addresses (127.0.0.5x), whose throttle rows
are deleted afterwards, so the session's 127.0.0.1 is never throttled for the tests that follow.
"""

import re
import subprocess
import time

import pytest

import tbsse as sse
import tbclient as tb

SOURCES = ("127.0.0.51", "127.0.0.52", "127.0.0.53")
TOKEN_RE = re.compile(r"/#/reset-password/([0-9a-f]{64})$", re.M)
# How soon a stream hears that its session ended (measured: tens of milliseconds; the bound leaves
# room for a loaded CI machine, and is far below heartbeat_interval, the old way of noticing).
PROMPTLY = 3.0


@pytest.fixture
def streams(server):
    s = sse.Streams(server)
    yield s
    s.close_all()


@pytest.fixture
def clean_throttle(server):
    yield
    server.sql("DELETE FROM teamboard.login_throttle WHERE key = ANY(%s) OR key LIKE 'reset:%%'",
               (list(SOURCES),))


def admin(server, *args, stdin=""):
    """teamboard-admin --config <the test server's> ARGS, as the service account."""
    return server._run([server.path("bin", "teamboard-admin"), "--config", server.config_file] + list(args),
                       timeout=60, input=stdin, check=False, log_name="admin.log")


def second_session(server, user):
    return tb.login(server, user.name, user.password)[0]["token"]


def me(server, token):
    return tb.request(server, "GET", "/me", token=token)


def change(server, user, current, new, token=None, source=None):
    return tb.request(server, "PATCH", "/users/me", {"password": {"current": current, "new": new}},
                      token=token or user.token, source=source)


def assert_revoked_promptly(client, since, reason="session_ended"):
    rv = client.wait_type("revoked", timeout=PROMPTLY)
    assert rv.json == {"reason": reason}, client.describe()
    assert rv.t - since < PROMPTLY, client.describe()
    client.wait_ended(timeout=10)
    return rv.t - since


# ---- PATCH /users/me -------------------------------------------------------------------------------

def test_password_change_ends_other_sessions_and_their_streams_at_once(server, streams):
    user = tb.new_user(server, "pwc")
    other = second_session(server, user)
    board = tb.create_board(server, user)
    kept = streams.open(board["id"], token=user.token)
    ended = streams.open(board["id"], token=other)
    t0 = time.monotonic()
    resp = change(server, user, user.password, "a new passphrase")
    doc = tb.assert_status(resp, 200)
    assert doc["id"] == user.id and doc["name"] == user.name
    # No supervisor runs here: the stream hears it from the change itself, not a heartbeat.
    assert_revoked_promptly(ended, t0)
    kept.wait_comment(lambda c: c.text == "hb", timeout=PROMPTLY)
    assert not kept.ended and not kept.typed("revoked"), kept.describe()
    tb.assert_error(me(server, other), 401, "unauthorized")
    tb.assert_status(me(server, user.token), 200)
    tb.assert_error(tb.request(server, "POST", "/sessions", {"name": user.name, "password": user.password}),
                    401, "invalid_credentials")
    tb.login(server, user.name, "a new passphrase")


def test_password_change_wrong_current_403_counts_as_failed_sign_in(server, clean_throttle):
    user = tb.new_user(server, "pww")
    resp = change(server, user, "not my password", "another passphrase", source=SOURCES[0])
    tb.assert_error(resp, 403, "wrong_password")
    rows = server.sql("SELECT failures FROM teamboard.login_throttle WHERE kind = 'account' AND key = lower(%s)",
                      (user.name,))
    assert rows == [(1,)]
    # One failure short of the limit: the next wrong one blocks, then even the right one is 429.
    server.sql("UPDATE teamboard.login_throttle SET failures = 9 WHERE kind = 'account' AND key = lower(%s)",
               (user.name,))
    tb.assert_error(change(server, user, "still wrong", "another passphrase", source=SOURCES[0]),
                    403, "wrong_password")
    tb.assert_error(change(server, user, user.password, "another passphrase", source=SOURCES[0]),
                    429, "too_many_attempts")
    tb.assert_error(tb.request(server, "POST", "/sessions", {"name": user.name, "password": user.password},
                               source=SOURCES[0]), 429, "too_many_attempts")
    tb.assert_status(me(server, user.token), 200)


@pytest.mark.parametrize("body,field", [
    ({"password": {"current": "x", "new": "short"}}, "password.new"),         # under 8, as sign-up
    ({"password": {"current": "x", "new": "n" * 101}}, "password.new"),       # over 100
    ({"password": {"current": "x", "new": "new\x01pass"}}, "password.new"),   # a control character
    ({"password": {"current": "x"}}, "password.new"),
    ({"password": {"new": "long enough"}}, "password.current"),
    ({"password": {"current": "", "new": "long enough"}}, "password.current"),
    ({"password": {"current": "x", "new": "long enough", "old": "x"}}, "password.old"),
    ({"password": "long enough"}, "password"),
    ({"password": None}, "password"),
    ({"name": "other"}, "name"),
    ({}, "body"),
])
def test_password_change_bad_bodies_422(server, body, field):
    user = tb.new_user(server, "pwb")
    resp = tb.request(server, "PATCH", "/users/me", body, token=user.token)
    tb.assert_error(resp, 422, "invalid", field=field)
    tb.login(server, user.name, user.password)


@pytest.mark.parametrize("body,field", [
    ({}, "password"), ({"password": 12345678}, "password"), ({"password": ""}, "password"),
    ({"password": "x", "really": True}, "really"),
])
def test_delete_account_bad_bodies_422(server, body, field):
    user = tb.new_user(server, "ddb")
    tb.assert_error(tb.request(server, "DELETE", "/users/me", body, token=user.token), 422, "invalid", field=field)
    tb.assert_status(me(server, user.token), 200)


def test_account_writes_check_the_origin(server):
    user = tb.new_user(server, "dor")
    evil = "http://evil.example"
    for method, body in (("PATCH", {"password": {"current": user.password, "new": "long enough"}}),
                         ("DELETE", {"password": user.password})):
        resp = tb.request(server, method, "/users/me", body, cookie=user.token, origin=evil)
        tb.assert_error(resp, 403, "bad_origin")
    resp = tb.request(server, "POST", "/password-resets/" + "ef" * 32, {"password": "long enough"}, origin=evil)
    tb.assert_error(resp, 403, "bad_origin")
    tb.login(server, user.name, user.password)


def test_users_me_without_session_401(server):
    for method, body in (("PATCH", {"password": {"current": "x", "new": "long enough"}}),
                         ("DELETE", {"password": "x"})):
        tb.assert_error(tb.request(server, method, "/users/me", body), 401, "unauthorized")


# ---- DELETE /users/me ------------------------------------------------------------------------------

def test_delete_last_admin_409_deletes_nothing(server):
    user = tb.new_user(server, "dla")
    member = tb.new_user(server, "dlm")
    team = tb.create_team(server, user)
    tb.add_member(server, user, team["id"], member, "editor")
    board = tb.create_board(server, user)
    resp = tb.request(server, "DELETE", "/users/me", {"password": user.password}, token=user.token)
    tb.assert_error(resp, 409, "last_admin")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE id = %s", (user.id,)) == [(1,)]
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE id = %s", (board["id"],)) == [(1,)]
    assert server.sql("SELECT count(*) FROM teamboard.team_members WHERE team_id = %s", (team["id"],)) == [(2,)]
    tb.assert_status(me(server, user.token), 200)


def test_delete_account(server, streams, clean_throttle):
    user = tb.new_user(server, "del")
    admin_user = tb.new_user(server, "dad")
    team = tb.create_team(server, admin_user)
    tb.add_member(server, admin_user, team["id"], user, "editor")
    team_board = tb.create_board(server, user, team_id=team["id"])
    note = tb.create_item(server, user, team_board["id"], text="stays")
    personal = tb.create_board(server, user)
    alone = tb.create_team(server, user)  # the only member: goes with the account
    alone_board = tb.create_board(server, user, team_id=alone["id"])
    other = second_session(server, user)
    on_personal = streams.open(personal["id"], token=other)
    on_team = streams.open(team_board["id"], token=user.token)
    watcher = streams.open(team_board["id"], admin_user)

    resp = tb.request(server, "DELETE", "/users/me", {"password": "wrong password"}, token=user.token,
                      source=SOURCES[1])
    tb.assert_error(resp, 403, "wrong_password")
    t0 = time.monotonic()
    resp = tb.request(server, "DELETE", "/users/me", {"password": user.password}, token=user.token)
    assert resp.status == 204, resp
    assert any(c.startswith("tb_session=;") for c in resp.header_all("Set-Cookie"))
    assert_revoked_promptly(on_personal, t0, "board_deleted")
    assert_revoked_promptly(on_team, t0, "access_removed")
    for token in (user.token, other):
        tb.assert_error(me(server, token), 401, "unauthorized")
    assert server.sql("SELECT count(*) FROM teamboard.users WHERE id = %s", (user.id,)) == [(0,)]
    assert server.sql("SELECT count(*) FROM teamboard.boards WHERE id IN (%s, %s)",
                      (personal["id"], alone_board["id"])) == [(0,)]
    assert server.sql("SELECT count(*) FROM teamboard.teams WHERE id = %s", (alone["id"],)) == [(0,)]
    # The team's board and the note stay; the author is a deleted user (author_id null).
    board = tb.assert_status(tb.request(server, "GET", "/boards/%d" % team_board["id"],
                                        token=admin_user.token), 200)
    assert board["owner_id"] is None
    [kept] = [i for i in board["items"] if i["id"] == note["id"]]
    assert kept["text"] == "stays" and kept["author_id"] is None
    removed = watcher.wait_for(lambda e: e.type == "member.removed", timeout=PROMPTLY)
    assert removed.json["member"]["user_id"] == user.id and removed.json["member"]["name"] == user.name
    assert not watcher.typed("revoked"), watcher.describe()
    tb.assert_error(tb.request(server, "POST", "/sessions", {"name": user.name, "password": user.password}),
                    401, "invalid_credentials")


# ---- teamboard-admin and POST /password-resets/:token ----------------------------------------------

def test_admin_reset_password_from_stdin(server, streams):
    user = tb.new_user(server, "ars")
    board = tb.create_board(server, user)
    stream = streams.open(board["id"], user)
    r = admin(server, "reset-password", user.name, stdin="short\n")
    assert r.returncode == 1 and "password" in r.stdout, r.stdout
    t0 = time.monotonic()
    r = admin(server, "reset-password", user.name.upper(), stdin="set by the admin\n")
    assert r.returncode == 0, r.stdout
    assert_revoked_promptly(stream, t0)
    tb.assert_error(me(server, user.token), 401, "unauthorized")
    tb.login(server, user.name, "set by the admin")
    r = admin(server, "reset-password", "no-such-user-" + tb.unique(), stdin="long enough\n")
    assert r.returncode == 1 and "no user named" in r.stdout, r.stdout


def test_admin_create_user_from_stdin(server):
    """teamboard-admin create-user NAME: sign-up's rules for the name and the password (from the
    first line of stdin), a taken name refused in any case; the account then signs in."""
    name = "acu" + tb.unique()
    r = admin(server, "create-user", name, stdin="short\n")
    assert r.returncode == 1 and "password" in r.stdout, r.stdout
    r = admin(server, "create-user", "bad name!", stdin="long enough\n")
    assert r.returncode == 1 and "name" in r.stdout, r.stdout
    r = admin(server, "create-user", name, stdin="made by the admin\n")
    assert r.returncode == 0, r.stdout
    tb.login(server, name, "made by the admin")
    r = admin(server, "create-user", name.upper(), stdin="another password\n")
    assert r.returncode == 1 and "taken" in r.stdout, r.stdout
    tb.login(server, name, "made by the admin")


def reset_link(server, user):
    r = admin(server, "reset-password", user.name, stdin="")
    assert r.returncode == 0, r.stdout
    m = TOKEN_RE.search(r.stdout)
    assert m, r.stdout
    return m.group(1)


def reset(server, token, password="chosen via link", source=None):
    return tb.request(server, "POST", "/password-resets/" + token, {"password": password}, source=source)


def test_reset_link_once_then_410(server, clean_throttle):
    user = tb.new_user(server, "arl")
    token = reset_link(server, user)
    stored = server.sql("SELECT count(*) FROM teamboard.password_resets"
                        " WHERE token_hash = sha256(decode(%s, 'hex')) AND expires_at <= now() + interval '1 hour'"
                        " AND expires_at > now() + interval '59 minutes'", (token,))
    assert stored == [(1,)]
    tb.assert_error(reset(server, token, "short"), 422, "invalid", field="password")
    resp = reset(server, token)
    assert resp.status == 204, resp
    tb.assert_error(me(server, user.token), 401, "unauthorized")
    tb.login(server, user.name, "chosen via link")
    tb.assert_error(reset(server, token, "chosen again", source=SOURCES[2]), 410, "gone")
    # expired: backdated
    token = reset_link(server, user)
    server.sql("UPDATE teamboard.password_resets SET expires_at = now() - interval '1 second'"
               " WHERE token_hash = sha256(decode(%s, 'hex'))", (token,))
    tb.assert_error(reset(server, token, source=SOURCES[2]), 410, "gone")
    # unknown (well-formed) is 410 too; malformed is no such path
    tb.assert_error(reset(server, "ab" * 32, source=SOURCES[2]), 410, "gone")
    tb.assert_error(reset(server, "AB" * 32), 404, "not_found")
    tb.assert_error(reset(server, "ab" * 31), 404, "not_found")
    tb.login(server, user.name, "chosen via link")


def test_reset_link_guesses_are_throttled(server, clean_throttle):
    # One failure short of the address's limit: the next unknown token blocks the address.
    server.sql("INSERT INTO teamboard.login_throttle (kind, key, failures) VALUES ('address', %s, 9)"
               " ON CONFLICT (kind, key) DO UPDATE SET failures = 9, blocked_until = NULL", (SOURCES[2],))
    tb.assert_error(reset(server, "cd" * 32, source=SOURCES[2]), 410, "gone")
    user = tb.new_user(server, "art")
    token = reset_link(server, user)
    tb.assert_error(reset(server, token, source=SOURCES[2]), 429, "too_many_attempts")
    assert reset(server, token).status == 204


def test_admin_list_disable_enable(server, streams, clean_throttle):
    user = tb.new_user(server, "adl")
    board = tb.create_board(server, user)
    stream = streams.open(board["id"], user)
    r = admin(server, "list-users")
    assert r.returncode == 0, r.stdout
    lines = r.stdout.splitlines()
    assert lines[0] == "name\tcreated\tdisabled\tsessions"
    [row] = [line.split("\t") for line in lines[1:] if line.split("\t")[0] == user.name]
    assert row[2] == "-" and row[3] == "1", row

    t0 = time.monotonic()
    r = admin(server, "disable-user", user.name)
    assert r.returncode == 0, r.stdout
    assert_revoked_promptly(stream, t0)
    tb.assert_error(me(server, user.token), 401, "unauthorized")
    tb.assert_error(tb.request(server, "POST", "/sessions", {"name": user.name, "password": user.password}),
                    403, "account_disabled")
    tb.assert_error(tb.request(server, "POST", "/sessions", {"name": user.name, "password": "wrong password"},
                               source=SOURCES[0]), 401, "invalid_credentials")
    [row] = [line.split("\t") for line in admin(server, "list-users").stdout.splitlines()
             if line.split("\t")[0] == user.name]
    assert row[2] != "-" and row[3] == "0", row

    assert admin(server, "enable-user", user.name).returncode == 0
    tb.login(server, user.name, user.password)
    r = admin(server, "disable-user", "no-such-user-" + tb.unique())
    assert r.returncode == 1 and "no user named" in r.stdout, r.stdout
    assert admin(server, "disable-user").returncode == 2
