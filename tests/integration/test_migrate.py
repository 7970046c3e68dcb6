"""teamboard-admin migrate and the layout of sql/ (sql/README.md): numbered migrations applied once
and recorded with the sha256 of their file, the functions of sql/functions/ run again on every run,
all of a run in one transaction.

An installation migrated with the layout before sql/functions/ (the files as of OLD_LAYOUT, applied
as the teamboard-admin of then did: each file in its own transaction, then grant_runtime) must
upgrade to exactly the schema a new installation gets, owners and grants included. The tests run
teamboard-admin on scratch databases of the session's cluster. The upgrade tests read the old
files with git: outside a git checkout with that commit they are skipped (and say so).
"""

import hashlib
import os
import shutil
import subprocess
import uuid

import psycopg2
import pytest

import tbenv
import tbschema

OWNER, RUNTIME = tbenv.DB_OWNER, tbenv.DB_USER
# The last commit of sql/ before sql/functions/: 001-013 with the functions in them.
OLD_LAYOUT = "f9c166f94003ad9c1718dbc5c7b44b074c597e4d"
OLD_FILES = ["001_core.sql", "002_events.sql", "003_presence.sql", "004_perf.sql", "005_item_json.sql",
             "006_board_lock.sql", "007_item_json_stored.sql", "008_fk_at_commit.sql", "009_notify_header.sql",
             "010_owner_in_team.sql", "011_authz_in_statement.sql", "012_login_throttle.sql",
             "013_runtime_role.sql"]


def old_files():
    """[(name, text)] of the old layout's migrations, from git."""
    out = []
    for name in OLD_FILES:
        r = subprocess.run(["git", "-C", tbenv.REPO, "show", "%s:sql/%s" % (OLD_LAYOUT, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            pytest.skip("the old layout's files need a git checkout with commit %s: %s"
                        % (OLD_LAYOUT[:10], r.stderr.strip()))
        out.append((name, r.stdout))
    return out


def old_admin_migrate(server, db, files, runtime=RUNTIME):
    """What a teamboard-admin from before sql/functions/ does (lib/tb_admin.c as of OLD_LAYOUT):
    files in name order, each not yet recorded in its own transaction with grant_runtime once it
    exists, then grant_runtime once more. Raises psycopg2.Error from the file that fails."""
    c = server.connect(user=OWNER, dbname=db)
    try:
        cur = c.cursor()
        cur.execute("CREATE SCHEMA IF NOT EXISTS teamboard; CREATE TABLE IF NOT EXISTS teamboard.schema_migrations"
                    " (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")

        def grant():
            cur.execute("SELECT to_regprocedure('teamboard.grant_runtime(name)') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT teamboard.grant_runtime(%s)", (runtime,))

        for name, text in sorted(files):
            cur.execute("SELECT 1 FROM teamboard.schema_migrations WHERE version = %s", (name,))
            if cur.fetchone():
                continue
            cur.execute("BEGIN")
            try:
                cur.execute("SET LOCAL search_path = teamboard")
                cur.execute(text)
                cur.execute("INSERT INTO teamboard.schema_migrations (version) VALUES (%s)", (name,))
                grant()
                cur.execute("COMMIT")
            except psycopg2.Error:
                cur.execute("ROLLBACK")
                raise
        cur.execute("BEGIN; SET LOCAL search_path = teamboard")
        grant()
        cur.execute("COMMIT")
    finally:
        c.close()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Scratch:
    """Scratch databases and copies of sql/ for one test; drop() removes them."""

    def __init__(self, server):
        self.server = server
        self.dbs = []
        self.dirs = []
        self.admin = server.path("bin", "teamboard-admin")

    def db(self):
        name = tbschema.create_database(self.server)
        self.dbs.append(name)
        return name

    def sql_dir(self, extra=None, edit=None):
        """A copy of the tree's sql/ (as the environment has it), plus extra {path: text}; edit
        {path: text} appends text to a file."""
        d = self.server.path("tmp", "sql-" + uuid.uuid4().hex[:8])
        shutil.copytree(self.server.path("sql"), d)
        for name, text in (extra or {}).items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        for name, text in (edit or {}).items():
            with open(os.path.join(d, name), "a") as f:
                f.write(text)
        self.server.account.chown_tree(d)
        self.dirs.append(d)
        return d

    def migrate(self, db, *args, sql_dir=None):
        return tbschema.migrate(self.server, self.admin, db, sql_dir or self.server.path("sql"), *args)

    def q(self, db, sql, params=None):
        c = self.server.connect(dbname=db)
        try:
            with c.cursor() as cur:
                cur.execute("SET search_path = teamboard")
                cur.execute(sql, params)
                return cur.fetchall() if cur.description is not None else []
        finally:
            c.close()

    def recorded(self, db):
        return self.q(db, "SELECT version, checksum, applied_at FROM teamboard.schema_migrations ORDER BY version")

    def drop(self):
        for db in self.dbs:
            tbschema.drop_database(self.server, db)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def scratch(server):
    s = Scratch(server)
    yield s
    s.drop()


def fresh(scratch):
    db = scratch.db()
    r = scratch.migrate(db)
    assert r.returncode == 0, r.stdout
    return db


# ---- upgrades from the layout before sql/functions/ ----------------------------------------------

@pytest.mark.parametrize("applied", [13, 6, 4, 1])
def test_an_installation_of_the_old_layout_upgrades_to_the_schema_of_a_new_one(scratch, applied):
    """applied: how many of the old migrations the installation had (13: all of them)."""
    old = scratch.db()
    old_admin_migrate(scratch.server, old, old_files()[:applied])
    r = scratch.migrate(old)
    assert r.returncode == 0, r.stdout
    new = fresh(scratch)
    assert tbschema.dump(scratch.server, old, privileges=True) == tbschema.dump(scratch.server, new, privileges=True)
    assert [v for v, _, _ in scratch.recorded(old)] == [v for v, _, _ in scratch.recorded(new)]


def test_an_upgrade_records_the_checksums_of_the_migrations_applied_before(scratch):
    old = scratch.db()
    old_admin_migrate(scratch.server, old, old_files())
    r = scratch.migrate(old)
    assert r.returncode == 0, r.stdout
    sql = scratch.server.path("sql")
    for name in OLD_FILES:
        assert "recorded the checksum of %s (applied before migrate kept checksums)" % name in r.stdout
        assert "applied %s" % name not in r.stdout
    for version, checksum, _ in scratch.recorded(old):
        assert checksum == sha256(os.path.join(sql, version)), version
    # once: the next run records nothing
    r = scratch.migrate(old)
    assert r.returncode == 0 and "recorded the checksum" not in r.stdout, r.stdout


def test_the_old_layout_keeps_its_data_through_the_upgrade(scratch):
    old = scratch.db()
    old_admin_migrate(scratch.server, old, old_files())
    scratch.q(old, "SET search_path = teamboard;"
                   " INSERT INTO users (name, password_hash) VALUES ('ann', 'x');"
                   " INSERT INTO boards (owner_id, title) SELECT id, 'b' FROM users;"
                   " INSERT INTO items (board_id, text) SELECT id, 'hello' FROM boards")
    assert scratch.migrate(old).returncode == 0
    assert scratch.q(old, "SELECT i.text, teamboard.board_role(b.owner_id, b.id), b.last_seq"
                          " FROM teamboard.items i JOIN teamboard.boards b ON b.id = i.board_id") == [
        ("hello", "owner", 1)]
    # the functions and triggers of sql/functions/ are in place: a change is logged
    scratch.q(old, "UPDATE teamboard.items SET text = 'bye'")
    assert scratch.q(old, "SELECT type, payload->'changed' FROM teamboard.board_events ORDER BY seq") == [
        ("item.created", None), ("item.updated", ["text"])]


# ---- checksums --------------------------------------------------------------------------------

def test_a_second_run_changes_nothing_but_runs_the_functions_again(scratch):
    db = fresh(scratch)
    before, schema = scratch.recorded(db), tbschema.dump(scratch.server, db, privileges=True)
    r = scratch.migrate(db)
    assert r.returncode == 0, r.stdout
    assert "applied" not in r.stdout and "recorded the checksum" not in r.stdout, r.stdout
    n = len([f for f in os.listdir(scratch.server.path("sql", "functions")) if f.endswith(".sql")])
    assert "functions and triggers: the %d files of" % n in r.stdout
    assert scratch.recorded(db) == before
    assert tbschema.dump(scratch.server, db, privileges=True) == schema


def test_an_edited_migration_is_refused_by_name_and_nothing_runs(scratch):
    db = fresh(scratch)
    before = scratch.recorded(db)
    d = scratch.sql_dir(extra={"099_later.sql": "CREATE TABLE later (a int);"},
                        edit={"005_item_json.sql": "-- an edit\n"})
    r = scratch.migrate(db, sql_dir=d)
    assert r.returncode == 1, r.stdout
    assert "005_item_json.sql changed after it was applied" in r.stdout
    assert "--accept-edited NAME" in r.stdout and "rolled back: this run changed nothing" in r.stdout
    assert scratch.recorded(db) == before
    assert scratch.q(db, "SELECT to_regclass('teamboard.later')") == [(None,)]


def test_accept_edited_records_the_new_checksum_and_runs_nothing_again(scratch):
    db = fresh(scratch)
    d = scratch.sql_dir(edit={"005_item_json.sql": "-- an edit\n"})
    r = scratch.migrate(db, "--accept-edited", "005_item_json.sql", sql_dir=d)
    assert r.returncode == 0, r.stdout
    assert "accepted the edited 005_item_json.sql: its new checksum is recorded" in r.stdout
    assert "applied" not in r.stdout
    assert scratch.q(db, "SELECT checksum FROM teamboard.schema_migrations WHERE version = '005_item_json.sql'") == [
        (sha256(os.path.join(d, "005_item_json.sql")),)]
    r = scratch.migrate(db, sql_dir=d)
    assert r.returncode == 0, r.stdout
    # a name that is not an edited migration is a mistake, not a no-op
    r = scratch.migrate(db, "--accept-edited", "004_perf.sql", sql_dir=d)
    assert r.returncode == 1 and "--accept-edited 004_perf.sql: not an applied migration whose file has changed" \
        in r.stdout, r.stdout


def test_a_migration_the_sql_dir_lacks_is_refused(scratch):
    db = scratch.db()
    d = scratch.sql_dir(extra={"099_later.sql": "CREATE TABLE later (a int);"})
    assert scratch.migrate(db, sql_dir=d).returncode == 0
    r = scratch.migrate(db)
    assert r.returncode == 1, r.stdout
    assert "the database has applied 099_later.sql, which %s does not have" % scratch.server.path("sql") in r.stdout


# ---- functions ---------------------------------------------------------------------------------

def test_a_changed_function_reaches_the_database_without_a_migration(scratch):
    db = fresh(scratch)
    d = scratch.sql_dir()
    path = os.path.join(d, "functions", "json.sql")
    with open(path) as f:
        text = f.read()
    assert "jsonb_build_object('id', u.id, 'name', u.name, 'display_name', u.display_name," in text
    assert text.count("'created_at', u.created_at)") == 1
    with open(path, "w") as f:
        f.write(text.replace("'created_at', u.created_at)", "'created_at', u.created_at, 'new', true)"))
    before = scratch.recorded(db)
    r = scratch.migrate(db, sql_dir=d)
    assert r.returncode == 0, r.stdout
    assert scratch.q(db, "SELECT teamboard.user_json(u) ->> 'new' FROM (SELECT 1::bigint AS id, 'a'::text AS name,"
                         " 'x'::text AS password_hash, now() AS created_at, NULL::timestamptz AS disabled_at,"
                         " 'a'::text AS display_name) s,"
                         " LATERAL (SELECT (s.*)::teamboard.users AS u) t") == [("true",)]
    assert scratch.recorded(db) == before


@pytest.mark.parametrize("where", ["migration", "functions"])
def test_a_failing_run_is_rolled_back_whole(scratch, where):
    db = fresh(scratch)
    before = scratch.recorded(db)
    extra = {"098_ok.sql": "CREATE TABLE ok (a int);"}
    if where == "migration":
        extra["099_bad.sql"] = "CREATE TABLE bad (a nosuchtype);"
        culprit = "099_bad.sql"
    else:
        extra["functions/zz_bad.sql"] = "CREATE OR REPLACE FUNCTION bad() RETURNS int LANGUAGE sql AS 'SELECT nope';"
        culprit = "functions/zz_bad.sql"
    r = scratch.migrate(db, sql_dir=scratch.sql_dir(extra=extra))
    assert r.returncode == 1, r.stdout
    assert culprit in r.stdout and "rolled back: this run changed nothing (it was to apply 098_ok.sql" in r.stdout
    assert scratch.recorded(db) == before
    assert scratch.q(db, "SELECT to_regclass('teamboard.ok')") == [(None,)]


# ---- old and new teamboard-admin, old and new sql/ ---------------------------------------------------

@pytest.mark.parametrize("state", ["new database", "migrated database"])
def test_an_older_teamboard_admin_stops_at_the_fence_before_changing_anything(scratch, state):
    db = fresh(scratch) if state == "migrated database" else scratch.db()
    before = scratch.q(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " WHERE n.nspname = 'teamboard'")
    sql = scratch.server.path("sql")
    files = [(n, open(os.path.join(sql, n)).read()) for n in os.listdir(sql) if n[:3].isdigit()]
    with pytest.raises(psycopg2.Error) as e:
        old_admin_migrate(scratch.server, db, files)
    assert "this teamboard-admin is older than the sql/ directory it was given" in str(e.value)
    after = scratch.q(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                          " WHERE n.nspname = 'teamboard'")
    # a new database gets only the old teamboard-admin's own bookkeeping table (and its key)
    assert after == before if state == "migrated database" else after == [(2,)]
    assert scratch.q(db, "SELECT count(*) FROM teamboard.schema_migrations WHERE version = '000_fence.sql'") == [(0,)]


def test_a_sql_dir_without_functions_is_refused_before_anything(scratch):
    db = scratch.db()
    d = scratch.sql_dir()
    shutil.rmtree(os.path.join(d, "functions"))
    r = scratch.migrate(db, sql_dir=d)
    assert r.returncode == 1, r.stdout
    assert "%s/functions: cannot read the directory" % d in r.stdout
    assert scratch.q(db, "SELECT to_regnamespace('teamboard')") == [(None,)]


def test_make_install_ships_every_file_of_sql():
    """Makefile.am's dist_pkgsql_DATA and dist_pkgsqlfunctions_DATA name every file of sql/ and
    sql/functions/ (an installed teamboard-admin migrate reads only what make install copied: a
    migration missing there is refused as one the sql dir lacks, a missing functions file is a
    function that never reaches the database)."""
    import re
    with open(os.path.join(tbenv.REPO, "Makefile.am")) as f:
        text = f.read().replace("\\\n", " ")
    listed = set()
    for var in ("dist_pkgsql_DATA", "dist_pkgsqlfunctions_DATA"):
        m = re.search(r"^%s\s*=(.*)$" % var, text, re.M)
        assert m, "Makefile.am has no %s" % var
        listed |= set(m.group(1).split())
    on_disk = set()
    for sub in ("sql", "sql/functions"):
        for name in os.listdir(os.path.join(tbenv.REPO, sub)):
            if os.path.isfile(os.path.join(tbenv.REPO, sub, name)):
                on_disk.add("%s/%s" % (sub, name))
    assert on_disk - listed == set(), "in sql/ but not installed (Makefile.am)"
    assert listed - on_disk == set(), "in Makefile.am but not in sql/"
