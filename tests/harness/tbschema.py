"""tbschema: the schema `teamboard-admin migrate` makes, as text (sql/schema.sql), and the scratch
databases the migrate tests compare.

    python3 tests/harness/tbschema.py [--build-dir DIR] --write   regenerate sql/schema.sql
    python3 tests/harness/tbschema.py [--build-dir DIR] --check   exit 1 when it is stale

Both start a PostgreSQL of their own (tbenv, no web server), migrate a new database with DIR's
teamboard-admin and the tree's sql/, and dump its schema with `pg_dump --schema-only --no-owner
--no-privileges --schema=teamboard`, normalised so that the text is the same on every run and
machine: pg_dump's version lines and its per-run \\restrict key are left out. DIR defaults to
$TB_BUILD_DIR, else build. tests/integration/test_migrate_schema.py runs the same comparison.
"""

import argparse
import os
import shutil
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                                "tools"))

import tbenv  # noqa: E402

SCHEMA_FILE = os.path.join(tbenv.REPO, "sql", "schema.sql")
HEADER = ("-- sql/schema.sql: the schema after `teamboard-admin migrate`, GENERATED: do not edit.\n"
          "-- Regenerate after changing sql/: python3 tests/harness/tbschema.py --write (sql/README.md);\n"
          "-- tests/integration/test_migrate_schema.py fails while it is stale.\n")
# Lines of pg_dump's output that differ between runs or versions of pg_dump, not between schemas.
_UNSTABLE = ("-- Dumped from database version", "-- Dumped by pg_dump version", "\\restrict ",
             "\\unrestrict ")


def normalise(text):
    """pg_dump's output without the lines that change from run to run, trailing spaces and runs
    of blank lines; with HEADER on top."""
    out = []
    for line in text.splitlines():
        line = line.rstrip()
        if line.startswith(_UNSTABLE):
            continue
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return HEADER + "\n".join(out) + "\n"


def dump(env, dbname, privileges=False):
    """The normalised schema of dbname; privileges=True keeps owners and grants (to compare two
    databases of one cluster)."""
    cmd = [os.path.join(tbenv.PG_BIN, "pg_dump"), "--schema-only", "--schema=teamboard",
           "--host", env.db_socket_dir, "--port", str(env.db_port), "--username", tbenv.DB_SUPERUSER]
    if not privileges:
        cmd += ["--no-owner", "--no-privileges"]
    r = subprocess.run(cmd + [dbname], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise tbenv.TbEnvError("pg_dump %s: %s" % (dbname, r.stderr))
    return normalise(r.stdout)


def create_database(env):
    """A new empty database owned by the owner role; returns its name."""
    name = "schema_" + uuid.uuid4().hex[:10]
    env.sql("CREATE DATABASE %s OWNER %s" % (name, tbenv.DB_OWNER))
    return name


def drop_database(env, name):
    env.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    env.sql("DROP DATABASE IF EXISTS %s" % name)


def migrate(env, admin, dbname, sql_dir, *args, runtime_role=tbenv.DB_USER):
    """admin (a teamboard-admin) migrate --sql-dir sql_dir as the owner role on dbname, granting
    to runtime_role (None: one role); returns the CompletedProcess (output as text)."""
    conf = env.path("etc", "%s.conf" % dbname)
    user = runtime_role or tbenv.DB_OWNER
    env._write_file(conf, "database = %s\n" % env._dsn(user=user, dbname=dbname))
    more = ["--database", env._dsn(user=tbenv.DB_OWNER, dbname=dbname)] if runtime_role else []
    return env._run([admin, "--config", conf] + more + ["migrate", "--sql-dir", sql_dir] + list(args),
                    timeout=300, check=False, log_name="admin.log")


def fresh_schema(env, admin, sql_dir):
    """The normalised schema of a new database migrated with admin and sql_dir."""
    db = create_database(env)
    try:
        r = migrate(env, admin, db, sql_dir)
        if r.returncode != 0:
            raise tbenv.TbEnvError("migrate failed:\n" + r.stdout)
        return dump(env, db)
    finally:
        drop_database(env, db)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or "build")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate sql/schema.sql")
    mode.add_argument("--check", action="store_true", help="exit 1 when sql/schema.sql is stale")
    args = p.parse_args()
    build = os.path.abspath(os.path.join(tbenv.REPO, args.build_dir))
    admin = os.path.join(build, "fcgi", "teamboard-admin")
    if not os.path.isfile(admin):
        sys.exit("%s not found: build first" % admin)
    env = tbenv.Env(build_dir=build, app=False)
    try:
        env.start()
        # copies the service account can read (the checkout may be where it cannot: /root)
        copy = env.path("bin", "teamboard-admin")
        shutil.copy2(admin, copy)
        env.account.chown_tree(env.path("bin"))
        text = fresh_schema(env, copy, env.path("sql"))
    finally:
        env.stop()
    if args.write:
        with open(SCHEMA_FILE, "w") as f:
            f.write(text)
        print("wrote %s" % SCHEMA_FILE)
        return 0
    with open(SCHEMA_FILE) as f:
        if f.read() != text:
            print("%s is stale: python3 tests/harness/tbschema.py --write" % SCHEMA_FILE)
            return 1
    print("%s is current" % SCHEMA_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
