"""Privilege separation (issue 12, item 7): the owner role owns the schema and runs
`teamboard-admin migrate`; the runtime role, which every worker, stream pool and supervisor of the
harness connects as (tbenv.DB_USER), owns nothing and has only the rows and functions it needs
(sql/013_runtime_role.sql, grant_runtime). That the application works under it is proven by the
rest of the suite; here: what it cannot do, what it has, how migrate gives it its privileges (also
for tables of later migrations), what migrate refuses, and the upgrade of a one-role installation.

The migrate tests run teamboard-admin on scratch databases of the session's cluster, with
teamboard.conf files of their own; every role and database made here is dropped again.
"""

import os
import shutil
import uuid

import psycopg2
import psycopg2.errorcodes
import pytest

import tbclient as tb
import tbenv

RUNTIME, OWNER = tbenv.DB_USER, tbenv.DB_OWNER


@pytest.fixture
def rt(server):
    """A connection (autocommit) as the runtime role, search_path as the workers fix it."""
    c = server.connect(user=RUNTIME)
    with c.cursor() as cur:
        cur.execute("SET search_path = teamboard")
    yield c
    c.close()


def denied(conn, sql):
    """Runs sql, which must fail for lack of privilege (SQLSTATE 42501); returns the message."""
    with pytest.raises(psycopg2.Error) as e:
        with conn.cursor() as cur:
            cur.execute(sql)
    assert e.value.pgcode == psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE, (sql, e.value.pgerror)
    return e.value.pgerror


def rows(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


# ---- the running application ---------------------------------------------------------------------

def test_every_backend_of_the_application_is_the_runtime_role(server):
    user = tb.new_user(server, "priv")
    board = tb.create_board(server, user)
    tb.create_item(server, user, board["id"], text="as the runtime role")
    assert tb.assert_status(tb.request(server, "GET", "/boards/%d" % board["id"], token=user.token), 200)
    with open(server.config_file) as f:
        assert "user=%s" % RUNTIME in f.read()
    users = server.sql("SELECT DISTINCT usename FROM pg_stat_activity"
                       " WHERE datname = 'teamboard' AND application_name LIKE 'teamboard%%'")
    assert users == [(RUNTIME,)]


def test_the_owner_owns_the_schema_and_the_runtime_role_nothing(server):
    assert server.sql("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'teamboard'") == [(OWNER,)]
    assert server.sql("SELECT DISTINCT relowner::regrole::text FROM pg_class"
                      " WHERE relnamespace = 'teamboard'::regnamespace") == [(OWNER,)]
    assert server.sql("SELECT DISTINCT proowner::regrole::text FROM pg_proc"
                      " WHERE pronamespace = 'teamboard'::regnamespace") == [(OWNER,)]
    assert server.sql("SELECT datdba::regrole::text FROM pg_database WHERE datname = 'teamboard'") == [(OWNER,)]
    owned = server.sql("SELECT count(*) FROM pg_shdepend WHERE deptype = 'o' AND refobjid = %s::regrole",
                       (RUNTIME,))
    assert owned == [(0,)]
    attrs = server.sql("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication"
                       " FROM pg_roles WHERE rolname = %s", (RUNTIME,))
    assert attrs == [(False,) * 5]
    assert server.sql("SELECT pg_has_role(%s, %s, 'MEMBER'), pg_has_role(%s, 'pg_signal_backend', 'MEMBER')",
                      (RUNTIME, OWNER, RUNTIME)) == [(False, False)]


# ---- what the runtime role cannot do -------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "CREATE TABLE teamboard.intruder (a int)",
    "CREATE TABLE public.intruder (a int)",
    "CREATE TEMP TABLE intruder (a int)",
    "CREATE SCHEMA intruder",
    "CREATE VIEW teamboard.intruder AS SELECT 1",
    "CREATE FUNCTION teamboard.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE OR REPLACE FUNCTION teamboard.board_role(p_user bigint, p_board bigint) RETURNS text"
    " LANGUAGE sql AS $$SELECT 'owner'$$",
    "CREATE INDEX intruder ON teamboard.items (text)",
    "CREATE TRIGGER intruder BEFORE INSERT ON teamboard.items FOR EACH ROW EXECUTE FUNCTION teamboard.items_json()",
    "DROP TABLE teamboard.items",
    "DROP FUNCTION teamboard.board_role(bigint, bigint)",
    "DROP SCHEMA teamboard CASCADE",
    "ALTER TABLE teamboard.users ADD COLUMN intruder int",
    "ALTER TABLE teamboard.items DISABLE TRIGGER items_event",
    "ALTER FUNCTION teamboard.record_event(bigint, text, jsonb) SECURITY DEFINER",
    "ALTER TABLE teamboard.board_events OWNER TO %s" % RUNTIME,
    "TRUNCATE teamboard.board_events",
    "TRUNCATE teamboard.sessions",
    "GRANT SELECT ON teamboard.users TO PUBLIC",
    "COMMENT ON TABLE teamboard.users IS 'intruder'",
    "CREATE ROLE intruder",
    "CREATE DATABASE intruder",
], ids=lambda s: " ".join(s.split()[:3]))
def test_the_runtime_role_cannot_change_the_schema(rt, sql):
    if sql.startswith("GRANT"):
        # A GRANT without the right is a warning, not an error: check that nothing was granted.
        with rt.cursor() as cur:
            cur.execute(sql)
        assert not rows(rt, "SELECT has_table_privilege('public', 'teamboard.users', 'SELECT')")[0][0]
        return
    denied(rt, sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM teamboard.schema_migrations",
    "INSERT INTO teamboard.schema_migrations (version) VALUES ('999_intruder.sql')",
    "UPDATE teamboard.schema_migrations SET applied_at = now()",
    "DELETE FROM teamboard.schema_migrations",
    "UPDATE teamboard.board_events SET payload = '{}' WHERE false",
    "SELECT 1 FROM teamboard.board_events FOR UPDATE",
    "SELECT teamboard.grant_runtime('%s')" % RUNTIME,
    "SELECT setval(pg_get_serial_sequence('teamboard.users', 'id'), 1)",
], ids=lambda s: " ".join(s.split()[:4]))
def test_the_runtime_role_cannot_touch_what_is_not_its_own(rt, sql):
    denied(rt, sql)


def test_the_runtime_role_has_the_rows_and_functions_it_needs(server):
    exceptions = {"schema_migrations": set(), "board_events": {"SELECT", "INSERT", "DELETE"}}
    tables = [r[0] for r in server.sql("SELECT relname FROM pg_class WHERE relnamespace = 'teamboard'::regnamespace"
                                       " AND relkind IN ('r', 'p', 'v') ORDER BY 1")]
    assert {"users", "sessions", "boards", "items", "board_events", "streams", "supervisor_status"} <= set(tables)
    for t in tables:
        have = {p for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
                if server.sql("SELECT has_table_privilege(%s, %s, %s)", (RUNTIME, "teamboard." + t, p))[0][0]}
        assert have == exceptions.get(t, {"SELECT", "INSERT", "UPDATE", "DELETE"}), t
        assert not server.sql("SELECT has_table_privilege('public', %s, 'SELECT')", ("teamboard." + t,))[0][0], t
    for name, fn in server.sql("SELECT proname, oid::regprocedure::text FROM pg_proc"
                               " WHERE pronamespace = 'teamboard'::regnamespace"):
        can = server.sql("SELECT has_function_privilege(%s, %s, 'EXECUTE'),"
                         "       has_function_privilege('public', %s, 'EXECUTE')", (RUNTIME, fn, fn))[0]
        assert can == (name != "grant_runtime", False), fn
    for (seq,) in server.sql("SELECT oid::regclass::text FROM pg_class WHERE relkind = 'S'"
                             " AND relnamespace = 'teamboard'::regnamespace"):
        assert server.sql("SELECT has_sequence_privilege(%s, %s, 'USAGE'),"
                          "       has_sequence_privilege(%s, %s, 'UPDATE')", (RUNTIME, seq, RUNTIME, seq)) == [(True, False)]
    assert server.sql("SELECT has_schema_privilege(%s, 'teamboard', 'USAGE'),"
                      "       has_schema_privilege(%s, 'teamboard', 'CREATE'),"
                      "       has_schema_privilege('public', 'teamboard', 'USAGE'),"
                      "       has_database_privilege(%s, 'teamboard', 'CONNECT'),"
                      "       has_database_privilege(%s, 'teamboard', 'TEMPORARY')",
                      (RUNTIME, RUNTIME, RUNTIME, RUNTIME)) == [(True, False, False, True, False)]


def test_the_runtime_role_prunes_and_reads_the_event_log(rt):
    assert rows(rt, "DELETE FROM board_events WHERE false") == []
    assert rows(rt, "SELECT count(*) FROM board_events WHERE false") == [(0,)]


def test_the_runtime_role_ends_its_own_backends_but_not_the_owners(server, rt):
    """The supervisor recycles a stuck stream with pg_terminate_backend: a role may signal the
    backends of its own role (no pg_signal_backend needed), and no other's."""
    victim = server.connect(user=RUNTIME)
    owner = server.connect(user=OWNER)
    try:
        pid = rows(victim, "SELECT pg_backend_pid()")[0][0]
        assert rows(rt, "SELECT a.backend_start IS NOT NULL FROM pg_stat_activity a WHERE a.pid = %s", (pid,)) == [(True,)]
        assert rows(rt, "SELECT pg_terminate_backend(%s, 5000)", (pid,)) == [(True,)]
        opid = rows(owner, "SELECT pg_backend_pid()")[0][0]
        denied(rt, "SELECT pg_terminate_backend(%d)" % opid)
        assert rows(owner, "SELECT 1") == [(1,)]
    finally:
        victim.close()
        owner.close()


def test_functions_run_with_the_callers_rights_or_a_fixed_search_path(server):
    bad = server.sql("SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'teamboard'::regnamespace"
                     " AND prosecdef AND NOT coalesce(proconfig::text ~ 'search_path=[^,}]*pg_temp', false)")
    assert bad == []


# ---- teamboard-admin migrate ---------------------------------------------------------------------

class Scratch:
    """A scratch database owned by the owner role, teamboard.conf files for it, and roles made for a
    test; drop() removes them all."""

    def __init__(self, server):
        self.server = server
        self.db = "priv_" + uuid.uuid4().hex[:10]
        self.roles = []
        self.dirs = []
        server.sql("CREATE DATABASE %s OWNER %s" % (self.db, OWNER))

    def role(self, attrs="LOGIN"):
        name = "priv_" + uuid.uuid4().hex[:10]
        self.server.sql("CREATE ROLE %s %s" % (name, attrs))
        self.roles.append(name)
        return name

    def dsn(self, user):
        return self.server._dsn(user=user, dbname=self.db)

    def admin(self, *args, conf_user=RUNTIME):
        """teamboard-admin --config <a conf whose database is conf_user's> ARGS, as the service account."""
        conf = self.server.path("etc", "%s-%s.conf" % (self.db, conf_user))
        self.server._write_file(conf, "database = %s\n" % self.dsn(conf_user))
        return self.server._run([self.server.path("bin", "teamboard-admin"), "--config", conf] + list(args),
                                timeout=180, check=False, log_name="admin.log")

    def migrate(self, *args, conf_user=RUNTIME, owner=OWNER):
        more = ["--database", self.dsn(owner)] if owner else []
        return self.admin(*more, "migrate", *args, conf_user=conf_user)

    def sql_dir(self, extra):
        """A copy of the migrations plus extra {file name: SQL}."""
        d = self.server.path("tmp", "sql-" + uuid.uuid4().hex[:8])
        shutil.copytree(self.server.path("sql"), d)
        for name, text in extra.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        self.server.account.chown_tree(d)
        self.dirs.append(d)
        return d

    def connect(self, user):
        c = self.server.connect(user=user, dbname=self.db)
        with c.cursor() as cur:
            cur.execute("SET search_path = teamboard")
        return c

    def q(self, sql, params=None):
        c = self.server.connect(dbname=self.db)
        try:
            return rows(c, sql, params)
        finally:
            c.close()

    def drop(self):
        self.server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.db,))
        self.server.sql("DROP DATABASE IF EXISTS %s" % self.db)
        for r in self.roles:
            self.server.sql("DROP ROLE IF EXISTS %s" % r)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def scratch(server):
    s = Scratch(server)
    yield s
    s.drop()


def test_migrate_grants_to_the_user_of_the_config_and_again_each_run(scratch):
    r = scratch.migrate()
    assert r.returncode == 0, r.stdout
    assert "applied 013_runtime_role.sql" in r.stdout
    assert "runtime role %s: privileges granted" % RUNTIME in r.stdout
    assert scratch.q("SELECT has_table_privilege(%s, 'teamboard.items', 'INSERT')", (RUNTIME,)) == [(True,)]
    # a privilege taken away by hand comes back with the next run, which applies nothing
    scratch.q("REVOKE ALL ON teamboard.items FROM %s" % RUNTIME)
    r = scratch.migrate()
    assert r.returncode == 0, r.stdout
    assert "applied" not in r.stdout and "privileges granted" in r.stdout
    assert scratch.q("SELECT has_table_privilege(%s, 'teamboard.items', 'INSERT')", (RUNTIME,)) == [(True,)]


def test_migrate_covers_the_tables_of_later_migrations(scratch):
    d = scratch.sql_dir({"099_later.sql": "CREATE TABLE later (id bigint GENERATED ALWAYS AS IDENTITY, v text);"
                                          " CREATE FUNCTION later_count() RETURNS bigint LANGUAGE sql"
                                          " AS 'SELECT count(*) FROM later';"})
    r = scratch.migrate("--sql-dir", d)
    assert r.returncode == 0, r.stdout
    c = scratch.connect(RUNTIME)
    try:
        rows(c, "INSERT INTO later (v) VALUES ('x')")
        assert rows(c, "SELECT later_count()") == [(1,)]
        assert rows(c, "UPDATE later SET v = 'y' RETURNING v") == [("y",)]
        assert rows(c, "DELETE FROM later RETURNING v") == [("y",)]
        denied(c, "TRUNCATE later")
        denied(c, "DROP TABLE later")
    finally:
        c.close()


def test_migrate_takes_the_runtime_role_from_a_uri_too(scratch):
    other = scratch.role()
    conf = scratch.server.path("etc", "%s-uri.conf" % scratch.db)
    scratch.server._write_file(conf, "database = postgresql:///%s?host=%s&port=%d&user=%s\n" % (
        scratch.db, scratch.server.db_socket_dir, scratch.server.db_port, other))
    r = scratch.server._run([scratch.server.path("bin", "teamboard-admin"), "--config", conf, "--database",
                             scratch.dsn(OWNER), "migrate"], timeout=120, check=False)
    assert r.returncode == 0, r.stdout
    assert "runtime role %s: privileges granted" % other in r.stdout


def test_migrate_with_an_explicit_runtime_role(scratch):
    other = scratch.role()
    r = scratch.migrate("--runtime-role", other)
    assert r.returncode == 0, r.stdout
    assert "runtime role %s: privileges granted" % other in r.stdout
    assert scratch.q("SELECT has_table_privilege(%s, 'teamboard.items', 'INSERT'),"
                     "       has_table_privilege(%s, 'teamboard.items', 'INSERT')", (other, RUNTIME)) == [(True, False)]


def test_one_role_for_everything_grants_nothing(scratch):
    """Shared hosting often gives one database user: it owns the schema and runs Teamboard."""
    r = scratch.migrate(conf_user=OWNER, owner=None)
    assert r.returncode == 0, r.stdout
    assert "one role, %s, owns the schema" % OWNER in r.stdout
    assert scratch.q("SELECT count(*) FROM teamboard.schema_migrations WHERE version = '013_runtime_role.sql'") == [(1,)]
    assert scratch.q("SELECT has_table_privilege(%s, 'teamboard.items', 'SELECT')", (RUNTIME,)) == [(False,)]


@pytest.mark.parametrize("attrs, message", [
    ("LOGIN SUPERUSER", "has SUPERUSER"),
    ("LOGIN CREATEROLE", "has CREATEROLE"),
    ("LOGIN CREATEDB", "has CREATEDB"),
    ("LOGIN IN ROLE %s" % OWNER, "is, or is a member of, the owner of schema teamboard"),
    (None, 'runtime role "priv_missing" does not exist'),
])
def test_migrate_refuses_a_runtime_role_with_too_many_rights(scratch, attrs, message):
    role = scratch.role(attrs) if attrs else "priv_missing"
    r = scratch.migrate("--runtime-role", role)
    assert r.returncode == 1, r.stdout
    assert "013_runtime_role.sql" in r.stdout and message in r.stdout
    # 013's transaction is rolled back with its grants: no half-granted state, migrate can be re-run
    assert scratch.q("SELECT count(*) FROM teamboard.schema_migrations WHERE version = '013_runtime_role.sql'") == [(0,)]
    assert scratch.q("SELECT to_regprocedure('teamboard.grant_runtime(name)') IS NULL") == [(True,)]


def test_migrate_refuses_a_runtime_role_that_owns_something(scratch):
    role = scratch.role()
    assert scratch.migrate("--runtime-role", role).returncode == 0
    scratch.q("ALTER TABLE teamboard.streams OWNER TO %s" % role)
    r = scratch.migrate("--runtime-role", role)
    assert r.returncode == 1, r.stdout
    # The table and its identity sequence, in name order (sequence ..., table ...).
    assert ('owns sequence teamboard.streams_id_seq, table teamboard.streams' in r.stdout
            and "REASSIGN OWNED BY" in r.stdout), r.stdout


def test_migrate_refuses_a_security_definer_function_without_a_fixed_search_path(scratch):
    d = scratch.sql_dir({"099_definer.sql": "CREATE FUNCTION definer() RETURNS int LANGUAGE sql SECURITY DEFINER"
                                            " AS 'SELECT 1';"})
    r = scratch.migrate("--sql-dir", d)
    assert r.returncode == 1, r.stdout
    assert "099_definer.sql" in r.stdout and "SECURITY DEFINER function without a fixed search_path: teamboard.definer()" in r.stdout
    d = scratch.sql_dir({"099_definer.sql": "CREATE FUNCTION definer() RETURNS int LANGUAGE sql SECURITY DEFINER"
                                            " SET search_path = teamboard, pg_temp AS 'SELECT 1';"})
    r = scratch.migrate("--sql-dir", d)
    assert r.returncode == 0, r.stdout


def test_migrate_needs_to_know_the_runtime_role(scratch):
    conf = scratch.server.path("etc", "%s-nouser.conf" % scratch.db)
    scratch.server._write_file(conf, "database = host=%s port=%d dbname=%s\n" % (
        scratch.server.db_socket_dir, scratch.server.db_port, scratch.db))
    r = scratch.server._run([scratch.server.path("bin", "teamboard-admin"), "--config", conf, "--database",
                             scratch.dsn(OWNER), "migrate"], timeout=60, check=False)
    assert r.returncode == 1
    assert "the config's database names no user: give --runtime-role ROLE" in r.stdout
    r = scratch.admin("create-user", "x", "--runtime-role", RUNTIME)
    assert r.returncode == 2 and "usage:" in r.stdout


def test_upgrade_of_a_one_role_installation(scratch):
    """docs/operations.md, "From one role to two": the old role stays the owner; a new runtime role
    is made, migrate --runtime-role run as the owner while teamboard.conf still names the owner,
    and only then the workers' config names the new role (and the next migrate finds it there)."""
    assert scratch.migrate(conf_user=OWNER, owner=None).returncode == 0
    c = scratch.connect(OWNER)
    rows(c, "INSERT INTO users (name, password_hash) VALUES ('old', 'x')")
    c.close()
    runtime = scratch.role("LOGIN")
    r = scratch.migrate("--runtime-role", runtime, conf_user=OWNER)
    assert r.returncode == 0, r.stdout
    assert "applied" not in r.stdout and "runtime role %s: privileges granted" % runtime in r.stdout
    r = scratch.migrate(conf_user=runtime)
    assert r.returncode == 0 and "runtime role %s: privileges granted" % runtime in r.stdout, r.stdout
    c = scratch.connect(runtime)
    try:
        assert rows(c, "SELECT name FROM users") == [("old",)]
        denied(c, "CREATE TABLE intruder (a int)")
    finally:
        c.close()
