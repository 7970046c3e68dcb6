"""Integration tests: real PostgreSQL 15 + the teamboard.fcgi pool + lighttpd, driven over HTTP.

The session fixture `server` (tests/harness/tbfixture.py, built on tools/tbenv/) starts
the whole stack once per session from the binaries in $TB_BUILD_DIR (default build/):

    server.base                      "http://127.0.0.1:PORT"
    server.host, server.port
    server.sql(query, params=())     -> list of row tuples (superuser, autocommit)
    server.stop_db(), server.start_db()
    server.restart_app(**config_overrides)   e.g. restart_app(registration="closed");
                                     restart_app() restores the defaults
    server.config                    dict of current teamboard.conf values
    server.state_dir

Run with Debian's Python (it has psycopg2):  /usr/bin/python3 -m pytest tests/integration -q
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "tools"))

from tbfixture import (server, host_mode_server, worker_mode_server, stream_mode,  # noqa: E402,F401
                       pytest_configure, pytest_generate_tests,  # (shared with tests/harness)
                       pytest_collection_modifyitems)
