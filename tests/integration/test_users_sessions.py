"""Users and sessions: POST /users, POST /sessions, DELETE /sessions/current, GET /me; the session
cookie, token storage, expiry and logout."""

import datetime
import hashlib
import re
import secrets

import pytest

import tbclient as tb


def cookie_attrs(set_cookie):
    """Splits a Set-Cookie value into (name, value, {attribute-lower: value-or-True})."""
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def session_cookie(resp, name="tb_session"):
    cookies = [c for c in resp.header_all("Set-Cookie") if c.strip().startswith(name + "=")]
    assert len(cookies) == 1, resp.header_all("Set-Cookie")
    return cookie_attrs(cookies[0])


# --- POST /users --------------------------------------------------------------------------------

def test_register_201_user(server):
    name = tb.unique("Reg")
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "correct horse"})
    doc = tb.assert_status(resp, 201)
    tb.check_user(doc)
    assert doc["name"] == name
    rows = server.sql("SELECT id, name FROM teamboard.users WHERE id = %s", (doc["id"],))
    assert rows == [(doc["id"], name)]


def test_register_stores_yescrypt_hash_not_password(server):
    password = "pw-" + secrets.token_hex(8)
    user, _, _ = tb.register(server, password=password)
    (stored,), = server.sql("SELECT password_hash FROM teamboard.users WHERE id = %s", (user["id"],))
    assert stored.startswith("$y$"), "not a yescrypt hash: %r" % stored[:8]
    assert password not in stored


def test_register_duplicate_name_409(server):
    user, name, _ = tb.register(server)
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "another pw"})
    tb.assert_error(resp, 409, "name_taken")


def test_register_duplicate_name_other_case_409(server):
    user, name, _ = tb.register(server, name=tb.unique("Case"))
    for variant in (name.upper(), name.lower()):
        resp = tb.request(server, "POST", "/users", {"name": variant, "password": "another pw"})
        tb.assert_error(resp, 409, "name_taken")
    rows = server.sql("SELECT count(*) FROM teamboard.users WHERE lower(name) = lower(%s)", (name,))
    assert rows == [(1,)]


def test_register_closed_403(server):
    name = tb.unique("closed")
    existing, ex_name, ex_pw = tb.register(server)
    with tb.restarted(server, registration="closed"):
        resp = tb.request(server, "POST", "/users", {"name": name, "password": "password1"})
        tb.assert_error(resp, 403, "registration_closed")
        assert server.sql("SELECT count(*) FROM teamboard.users WHERE lower(name) = lower(%s)",
                          (name,)) == [(0,)]
        # Existing users still log in.
        tb.login(server, ex_name, ex_pw)
    # Open again after the restart with the default config.
    tb.register(server, name=name)


@pytest.mark.parametrize("make", [
    lambda h: "A" + h + "b" * (64 - 1 - len(h)),  # 64 characters, the maximum
    lambda h: "x.y_z-" + h,
    lambda h: "9lives" + h,
    lambda h: "MiXeD" + h,
])
def test_register_valid_names(server, make):
    name = make(secrets.token_hex(6))
    assert len(name) <= 64
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "password1"})
    assert tb.assert_status(resp, 201)["name"] == name


@pytest.mark.parametrize("name", [
    "",
    "a" * 65,
    ".dot",
    "_under",
    "-dash",
    "has space",
    "caf\u00e9",
    "semi;colon",
    "tab\there",
    "nl\nhere",
], ids=tb.short_id)
def test_register_invalid_name_422(server, name):
    resp = tb.request(server, "POST", "/users", {"name": name, "password": "password1"})
    tb.assert_error(resp, 422, "invalid", field="name")


@pytest.mark.parametrize("length,status", [(7, 422), (8, 201), (100, 201), (101, 422)])
def test_register_password_length(server, length, status):
    resp = tb.request(server, "POST", "/users", {"name": tb.unique(), "password": "p" * length})
    if status == 201:
        tb.assert_status(resp, 201)
    else:
        tb.assert_error(resp, 422, "invalid", field="password")


@pytest.mark.parametrize("password,status", [("\u00e4" * 7, 422), ("\u00e4" * 8, 201),
                                             ("\U0001F600" * 100, 201)],
                         ids=["7-two-byte", "8-two-byte", "100-four-byte"])
def test_register_password_length_counts_characters(server, password, status):
    resp = tb.request(server, "POST", "/users", {"name": tb.unique(), "password": password})
    if status == 201:
        tb.assert_status(resp, 201)
    else:
        tb.assert_error(resp, 422, "invalid", field="password")


def test_register_password_may_hold_any_non_nul_character(server):
    password = "p\u00e4ss w\u00f6rd \U0001f600 \t!"
    user, name, _ = tb.register(server, password=password)
    tb.login(server, name, password)


def test_register_missing_password_422(server):
    resp = tb.request(server, "POST", "/users", {"name": tb.unique()})
    tb.assert_error(resp, 422, "invalid", field="password")


def test_register_missing_name_422(server):
    resp = tb.request(server, "POST", "/users", {"password": "password1"})
    tb.assert_error(resp, 422, "invalid", field="name")


# --- POST /sessions -----------------------------------------------------------------------------

def test_login_201_token_user_expiry(server):
    user, name, password = tb.register(server)
    resp = tb.request(server, "POST", "/sessions", {"name": name, "password": password})
    doc = tb.assert_status(resp, 201)
    assert set(doc) == {"token", "user", "expires_at"}, doc
    assert re.fullmatch(r"[0-9a-f]{64}", doc["token"]), doc["token"]
    assert tb.check_user(doc["user"]) == user
    expires = tb.parse_time(doc["expires_at"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert expires > now + datetime.timedelta(seconds=30), expires
    ttl = server.config.get("session_ttl")
    if ttl is not None:
        assert expires <= now + datetime.timedelta(seconds=int(ttl) + 60), expires


def test_login_sets_session_cookie(server):
    user, name, password = tb.register(server)
    doc, resp = tb.login(server, name, password)
    cname, value, attrs = session_cookie(resp)
    assert value == doc["token"]
    assert attrs.get("path") == "/", attrs
    assert attrs.get("httponly") is True, attrs
    assert str(attrs.get("samesite", "")).lower() == "lax", attrs
    assert re.fullmatch(r"[1-9][0-9]*", str(attrs.get("max-age", ""))), attrs
    ttl = server.config.get("session_ttl")
    if ttl is not None:
        assert int(attrs["max-age"]) == int(ttl), attrs
    assert "secure" not in attrs, "Secure without cookie_secure: %r" % attrs


def test_login_cookie_secure_when_configured(server):
    # cookie_secure: the cookie is __Host-tb_session (Secure, Path=/, no Domain: RFC 6265bis
    # 4.1.3.2), which no sibling host and no plain-http page can set; tb_session is not ours then.
    user, name, password = tb.register(server)
    with tb.restarted(server, cookie_secure="true"):
        doc, resp = tb.login(server, name, password)
        _, value, attrs = session_cookie(resp, "__Host-tb_session")
        assert value == doc["token"]
        assert attrs.get("secure") is True, attrs
        assert attrs.get("httponly") is True and attrs.get("path") == "/", attrs
        assert "domain" not in attrs, attrs
        # A tb_session left from before is cleared.
        _, old, old_attrs = session_cookie(resp, "tb_session")
        assert old == "" and old_attrs.get("max-age") == "0" and old_attrs.get("path") == "/", old_attrs
        host = {"Cookie": "__Host-tb_session=" + doc["token"]}
        assert tb.assert_status(tb.request(server, "GET", "/me", headers=host), 200)["name"] == name
        tb.assert_error(tb.request(server, "GET", "/me", cookie=doc["token"]), 401, "unauthorized")
        # Both names at once: no cookie picks the session.
        both = {"Cookie": "tb_session=%s; __Host-tb_session=%s" % (doc["token"], doc["token"])}
        tb.assert_error(tb.request(server, "GET", "/me", headers=both), 401, "unauthorized")
        # Logout clears __Host-tb_session (with Secure, or the browser ignores it).
        resp = tb.request(server, "DELETE", "/sessions/current", headers=host)
        assert resp.status == 204, resp
        _, value, attrs = session_cookie(resp, "__Host-tb_session")
        assert value == "" and attrs.get("max-age") == "0" and attrs.get("secure") is True, attrs
        assert attrs.get("path") == "/" and "domain" not in attrs, attrs
        tb.assert_error(tb.request(server, "GET", "/me", headers=host), 401, "unauthorized")


def test_host_prefixed_cookie_is_not_ours_without_cookie_secure(server):
    user = tb.new_user(server)
    resp = tb.request(server, "GET", "/me", headers={"Cookie": "__Host-tb_session=" + user.token})
    tb.assert_error(resp, 401, "unauthorized")


@pytest.mark.parametrize("pattern", ["tb_session={good}; tb_session={bad}",
                                     "tb_session={bad}; tb_session={good}",
                                     "tb_session={good}; tb_session={good}",
                                     "a=1; tb_session={good};tb_session={bad}; b=2",
                                     "tb_session={good}; __Host-tb_session={bad}"])
def test_a_repeated_session_cookie_authenticates_nobody(server, pattern):
    # An attacker who can toss a cookie in (a sibling subdomain, a plain-http page) must neither
    # shadow the session nor choose it: a request that carries the session cookie more than once
    # is not signed in by cookie at all, whichever copy comes first.
    user, attacker = tb.new_user(server), tb.new_user(server, "mallory")
    for bad in (attacker.token, "0" * 64, "junk"):
        header = {"Cookie": pattern.format(good=user.token, bad=bad)}
        tb.assert_error(tb.request(server, "GET", "/me", headers=header), 401, "unauthorized")
        tb.assert_error(tb.request(server, "POST", "/boards", {"title": "x"}, headers=header),
                        401, "unauthorized")
        tb.assert_error(tb.request(server, "DELETE", "/sessions/current", headers=header),
                        401, "unauthorized")
        # A bearer token still counts, whatever the cookies say.
        resp = tb.request(server, "GET", "/me", headers=header, token=user.token)
        assert tb.assert_status(resp, 200)["id"] == user.id
    # Both sessions are still there: nothing was signed out.
    for u in (user, attacker):
        tb.assert_status(tb.request(server, "GET", "/me", token=u.token), 200)


def test_login_token_and_cookie_both_authenticate(server):
    user = tb.new_user(server)
    for kw in ({"token": user.token}, {"cookie": user.cookie}):
        resp = tb.request(server, "GET", "/me", **kw)
        doc = tb.assert_status(resp, 200)
        tb.check_user(doc)
        assert doc["id"] == user.id and doc["name"] == user.name


def test_bearer_scheme_is_case_insensitive(server):
    # RFC 7235: the auth scheme is case-insensitive.
    user = tb.new_user(server)
    resp = tb.request(server, "GET", "/me", headers={"Authorization": "bearer " + user.token})
    assert tb.assert_status(resp, 200)["id"] == user.id


def test_login_failure_same_for_unknown_name_and_wrong_password(server):
    user, name, password = tb.register(server)
    wrong = tb.request(server, "POST", "/sessions", {"name": name, "password": password + "x"})
    unknown = tb.request(server, "POST", "/sessions",
                         {"name": tb.unique("ghost"), "password": password})
    d1 = tb.assert_error(wrong, 401, "invalid_credentials")
    d2 = tb.assert_error(unknown, 401, "invalid_credentials")
    assert d1 == d2, (d1, d2)
    assert not [c for c in wrong.header_all("Set-Cookie") if "tb_session=" in c and "Max-Age=0" not in c]


def test_login_wrong_types_422(server):
    resp = tb.request(server, "POST", "/sessions", {"name": 5, "password": "password1"})
    tb.assert_error(resp, 422, "invalid", field="name")


def test_token_stored_only_as_hash(server):
    user = tb.new_user(server)
    token = user.token
    # The token text appears in no row of any table, in any form (text, or its bytes in bytea).
    tables = [r[0] for r in server.sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'teamboard' AND table_type = 'BASE TABLE'")]
    assert "sessions" in tables
    for table in tables:
        rows = server.sql('SELECT count(*) FROM teamboard."%s" t WHERE t::text ILIKE %%s' % table,
                          ("%" + token + "%",))
        assert rows == [(0,)], "token text found in table %s" % table
    # What is stored is a SHA-256 of the token (of its text or of its 32 bytes).
    hashes = {hashlib.sha256(token.encode()).digest(), hashlib.sha256(bytes.fromhex(token)).digest()}
    stored = [bytes(r[0]) for r in server.sql(
        "SELECT token_hash FROM teamboard.sessions WHERE user_id = %s", (user.id,))]
    assert len(stored) == 1
    assert stored[0] in hashes


def test_each_login_is_a_new_session(server):
    user = tb.new_user(server)
    doc, _ = tb.login(server, user.name, user.password)
    assert doc["token"] != user.token
    assert server.sql("SELECT count(*) FROM teamboard.sessions WHERE user_id = %s",
                      (user.id,)) == [(2,)]


# --- GET /me and 401 ----------------------------------------------------------------------------

def test_me_200(server):
    user = tb.new_user(server)
    doc = tb.assert_status(tb.request(server, "GET", "/me", token=user.token), 200)
    assert tb.check_user(doc)["id"] == user.id


def test_me_without_session_401(server):
    tb.assert_error(tb.request(server, "GET", "/me"), 401, "unauthorized")


def test_me_with_forged_token_401(server):
    tb.assert_error(tb.request(server, "GET", "/me", token=secrets.token_hex(32)), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/me", cookie=secrets.token_hex(32)), 401, "unauthorized")


@pytest.mark.parametrize("header", [
    "Bearer",
    "Bearer ",
    "Bearer abc",
    "Bearer " + "g" * 64,
    "Bearer " + "a" * 63,
    "Bearer " + "a" * 65,
    "Basic dXNlcjpwYXNz",
    "Token " + "a" * 64,
], ids=tb.short_id)
def test_me_with_malformed_authorization_401(server, header):
    tb.assert_error(tb.request(server, "GET", "/me", headers={"Authorization": header}),
                    401, "unauthorized")


@pytest.mark.parametrize("cookie", ["tb_session=", "tb_session=xyz", "other=1",
                                    "tb_session=" + "z" * 64], ids=tb.short_id)
def test_me_with_malformed_cookie_401(server, cookie):
    tb.assert_error(tb.request(server, "GET", "/me", headers={"Cookie": cookie}), 401, "unauthorized")


def test_session_cookie_among_other_cookies(server):
    user = tb.new_user(server)
    resp = tb.request(server, "GET", "/me",
                      headers={"Cookie": "theme=dark; tb_session=%s; lang=en" % user.token})
    assert tb.assert_status(resp, 200)["id"] == user.id


def test_authorization_header_wins_over_cookie(server):
    # "If Authorization is present it is used (no cookie fallback)."
    user = tb.new_user(server)
    resp = tb.request(server, "GET", "/me", token=secrets.token_hex(32), cookie=user.cookie)
    tb.assert_error(resp, 401, "unauthorized")


def test_expired_session_401(server):
    user = tb.new_user(server)
    tb.assert_status(tb.request(server, "GET", "/me", token=user.token), 200)
    server.sql("UPDATE teamboard.sessions SET expires_at = now() - interval '1 second' "
               "WHERE user_id = %s", (user.id,))
    tb.assert_error(tb.request(server, "GET", "/me", token=user.token), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/me", cookie=user.cookie), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/boards", token=user.token), 401, "unauthorized")


# --- DELETE /sessions/current -------------------------------------------------------------------

def test_logout_204_clears_cookie_and_invalidates_token(server):
    user = tb.new_user(server)
    other, _ = tb.login(server, user.name, user.password)
    resp = tb.request(server, "DELETE", "/sessions/current", token=user.token)
    assert resp.status == 204, resp
    assert resp.body == b"", resp
    cname, value, attrs = session_cookie(resp)
    assert value == "" and attrs.get("max-age") == "0", (value, attrs)
    assert attrs.get("path") == "/", attrs
    assert "secure" not in attrs, attrs
    tb.assert_error(tb.request(server, "GET", "/me", token=user.token), 401, "unauthorized")
    tb.assert_error(tb.request(server, "GET", "/me", cookie=user.cookie), 401, "unauthorized")
    # Only that session ends: the user's other session still works.
    assert tb.assert_status(tb.request(server, "GET", "/me", token=other["token"]), 200)["id"] == user.id
    assert server.sql("SELECT count(*) FROM teamboard.sessions WHERE user_id = %s",
                      (user.id,)) == [(1,)]


def test_logout_by_cookie_with_same_origin(server):
    user = tb.new_user(server)
    resp = tb.request(server, "DELETE", "/sessions/current", cookie=user.cookie)
    assert resp.status == 204, resp
    tb.assert_error(tb.request(server, "GET", "/me", cookie=user.cookie), 401, "unauthorized")


def test_logout_twice_401(server):
    user = tb.new_user(server)
    assert tb.request(server, "DELETE", "/sessions/current", token=user.token).status == 204
    tb.assert_error(tb.request(server, "DELETE", "/sessions/current", token=user.token),
                    401, "unauthorized")


def test_logout_without_session_401(server):
    tb.assert_error(tb.request(server, "DELETE", "/sessions/current"), 401, "unauthorized")
