"""Tests of the test harness itself (tbenv + the `server` fixture): what the integration tests
rely on. They touch the application only through GET /api/v1/health and GET /."""

import json
import os
import time

import pytest

import tbenv


def get(server, path):
    return tbenv.http_get(server.base + path, timeout=10)


def test_static_page_is_served(server):
    status, ctype, body = get(server, "/")
    assert status == 200
    assert ctype.startswith("text/html")
    assert b"Teamboard" in body


def test_health_through_lighttpd(server):
    status, ctype, body = get(server, "/api/v1/health")
    assert status == 200, body
    assert ctype.startswith("application/json")
    assert json.loads(body)["status"] == "ok"


def test_attributes(server):
    assert server.host == "127.0.0.1"
    assert server.base == "http://127.0.0.1:%d" % server.port
    assert os.path.isdir(server.state_dir)
    assert server.config["registration"] == "open"
    assert server.config["max_body"] == 65536


def test_sql(server):
    assert server.sql("SELECT 1") == [(1,)]
    assert server.sql("SELECT %s::int + 1, %s", (41, "x")) == [(42, "x")]
    assert server.sql("CREATE TEMP TABLE harness_t (a int)") == []
    # migrations ran: the application's tables exist
    assert server.sql("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_name = 'users'")[0][0] >= 1


def test_db_down_then_up(server):
    server.stop_db()
    try:
        status, ctype, body = get(server, "/api/v1/health")
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "db_unavailable"
    finally:
        server.start_db()
    status, _, body = get(server, "/api/v1/health")
    assert status == 200, body
    assert server.sql("SELECT 2") == [(2,)]  # the fixture's own connection came back too


def worker_pids(server):
    with open(os.path.join(server.state_dir, "run", "workers.pid")) as f:
        return int(f.read())


def test_restart_app_with_overrides(server):
    before = worker_pids(server)
    server.restart_app(registration="closed", session_ttl=60)
    try:
        assert worker_pids(server) != before
        assert server.config["registration"] == "closed"
        with open(os.path.join(server.state_dir, "etc", "teamboard.conf")) as f:
            text = f.read()
        assert "registration = closed\n" in text
        assert "session_ttl = 60\n" in text
        assert get(server, "/api/v1/health")[0] == 200
    finally:
        server.restart_app()
    assert server.config["registration"] == "open"
    assert server.config["session_ttl"] == 1209600


def test_supervisor_start_stop_once(server):
    if not os.path.exists(os.path.join(server.state_dir, "bin", "teamboard-supervisor")):
        pytest.skip("teamboard-supervisor not built")
    r = server.supervisor_once()
    assert r.returncode == 0, r.stdout
    server.start_supervisor()
    try:
        with open(os.path.join(server.state_dir, "run", "supervisor.pid")) as f:
            pid = int(f.read())
        assert tbenv.cmdline(pid)
        # once the running one holds the leader lock, a --once run finds another leader
        deadline = time.monotonic() + 15
        while server.supervisor_once().returncode != 3:
            assert time.monotonic() < deadline, "the supervisor never became leader"
            time.sleep(0.2)
    finally:
        server.stop_supervisor()
    assert not os.path.exists(os.path.join(server.state_dir, "run", "supervisor.pid"))


def test_two_database_roles(server):
    """The owner role ran migrate; teamboard.conf (so every worker, pool and supervisor) names the
    runtime role, which owns nothing (tests/integration/test_privileges.py tests what it may do)."""
    with open(server.config_file) as f:
        database = [ln for ln in f if ln.startswith("database = ")]
    assert len(database) == 1 and "user=%s" % tbenv.DB_USER in database[0].split(), database
    assert tbenv.DB_OWNER != tbenv.DB_USER
    assert server.sql("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'teamboard'") == [
        (tbenv.DB_OWNER,)]
    assert server.sql("SELECT count(*) FROM pg_shdepend WHERE deptype = 'o' AND refobjid = %s::regrole",
                      (tbenv.DB_USER,)) == [(0,)]
    with open(server.logs["admin.log"]) as f:
        assert "runtime role %s: privileges granted" % tbenv.DB_USER in f.read()
