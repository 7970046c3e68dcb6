"""sql/schema.sql is the schema `teamboard-admin migrate` makes today (sql/README.md): a new database
migrated with the tree's sql/, dumped as tests/harness/tbschema.py dumps it, must be that file."""

import difflib

import tbschema


def test_schema_sql_is_current(server):
    text = tbschema.fresh_schema(server, server.path("bin", "teamboard-admin"), server.path("sql"))
    with open(tbschema.SCHEMA_FILE) as f:
        checked_in = f.read()
    if text != checked_in:
        diff = "".join(list(difflib.unified_diff(checked_in.splitlines(True), text.splitlines(True),
                                                 "sql/schema.sql", "after migrate"))[:80])
        raise AssertionError("sql/schema.sql is stale: regenerate it with "
                             "python3 tests/harness/tbschema.py --write\n" + diff)
