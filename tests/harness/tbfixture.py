"""tbfixture: the pytest side of tbenv. The session fixture `server` is one complete Teamboard
(PostgreSQL 15, the teamboard.fcgi pool, lighttpd) for the whole test session.

    server.base            "http://127.0.0.1:PORT" (lighttpd; the API is under /api/v1)
    server.host, .port     "127.0.0.1", PORT
    server.sql(q, params)  rows as a list of tuples; superuser, autocommit, database teamboard
    server.stop_db()       stop PostgreSQL (the API then answers 503 db_unavailable)
    server.start_db()      start it again; waits until /api/v1/health answers 200
    server.restart_app(**overrides)
                           teamboard.conf = defaults + overrides (restart_app() restores the
                           defaults; None drops a key), restarts the pool, waits for health
    server.config          dict of the current teamboard.conf values (without "database")
    server.state_dir       the environment's directory (logs in state_dir/log)
  and also: server.admin(*args, input=None) runs teamboard-admin (returns CompletedProcess),
  server.start_supervisor() / stop_supervisor() / supervisor_once() (teamboard-supervisor;
  not started unless TB_SUPERVISOR=1), server.logs (dict of log paths), server.api_socket,
  server.db_port, server.connect() (a new superuser connection; caller closes it).

At the end of the session everything is stopped, and the session fails if an ASan/UBSan report
or a valgrind error was written (see tbenv.Env.report_problems). Environment knobs: see tbenv.
"""

import atexit
import signal

import pytest

import tbenv


def _interrupt_on_signals():
    """SIGTERM/SIGHUP (e.g. from `timeout`) become KeyboardInterrupt, so pytest still runs the
    fixture teardown and no server is left behind."""
    def handler(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


@pytest.fixture(scope="session")
def server():
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.exit("the integration tests need Debian's python3-psycopg2: run them with "
                    "/usr/bin/python3 -m pytest", returncode=4)
    env = tbenv.Env.from_environ()
    atexit.register(env.stop)
    _interrupt_on_signals()
    env.start()
    yield env
    problems = env.stop()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
