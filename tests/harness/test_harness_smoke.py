"""Smoke test: the shortest path through the application (health, register, log in, /me).

dev.sh test runs it with the workers under valgrind (TB_WORKER_WRAPPER), where yescrypt hashing
is slow, so it hashes a password only twice."""

import json
import secrets

import tbclient
import tbenv


def call(server, method, path, body=None, token=None):
    resp = tbclient.request(server, method, path, body, token=token, timeout=120)
    return resp.status, json.loads(resp.body or b"null")


def test_health(server):
    status, _, body = tbenv.http_get(server.base + "/api/v1/health", timeout=60)
    assert status == 200, body


def test_unknown_path_is_json_404(server):
    status, body = call(server, "GET", "/api/v1/no-such-thing")
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_register_login_me(server):
    name = "smoke" + secrets.token_hex(4)
    password = "correct horse battery"
    status, user = call(server, "POST", "/api/v1/users", {"name": name, "password": password})
    assert status == 201, user
    status, sess = call(server, "POST", "/api/v1/sessions", {"name": name, "password": password})
    assert status == 201, sess
    status, me = call(server, "GET", "/api/v1/me", token=sess["token"])
    assert status == 200, me
    assert me["name"] == name and me["id"] == user["id"]
