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

Both stream modes (issue 13): a test module of live streams runs each of its tests in both modes
with

    from tbfixture import server_in_both_modes  # noqa: F401  (overrides `server` in this module)

Its tests then see `server` as the session's environment ([worker]) and as a second environment
whose streams teamboard-streamhost processes hold ([host]; fixture `host_mode_server`, started
at its first use, once per session, with TB_STREAM_HOSTS processes). Only in the lighttpd set-up
with the default TB_STREAM_MODE: elsewhere (Apache, or TB_STREAM_MODE=host for the whole run)
there is one mode, the session's; TB_BOTH_STREAM_MODES=0 keeps it to the session's mode too (the
sanitizer suite: its [host] runs would cost 100 s of CI's 45 minutes, and the host's C runs under
the sanitizers in test_streamhost.py, test_stream_failover.py and whole-run host mode). Two
markers, each with its reason (every live-stream test passes in both modes: none is marked as
failing in one):

  * @pytest.mark.needs_stream_worker("why"): the test is about the per-stream workers themselves
    (a worker reused stream after stream, its own backend, its shared-memory slot); it has one
    run, [worker], always against per-stream workers: in a whole run with TB_STREAM_MODE=host
    that is a second environment (fixture `worker_mode_server`, started at its first use).
  * @pytest.mark.same_in_both_modes("why"): the test says nothing about how streams are held
    (REST routes, or code both modes run unchanged); a [host] run would repeat its [worker] run
    (CI time is counted), so it is deselected, and in a whole run with TB_STREAM_MODE=host too
    (the default run has run it).
"""

import atexit
import os
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


def stream_modes():
    """The stream modes the live-stream tests run in (see the module's docstring)."""
    setup = os.environ.get("TB_SETUP") or "lighttpd"
    mode = os.environ.get("TB_STREAM_MODE") or "worker"
    if os.environ.get("TB_BOTH_STREAM_MODES", "1") == "0":
        return (mode,)
    return ("worker", "host") if (setup, mode) == ("lighttpd", "worker") else (mode,)


def _env_in_mode(mode):
    """A second complete environment like `server` (its own PostgreSQL) in stream mode `mode`,
    for the session; its problems at the end fail the run."""
    env = tbenv.Env.from_environ(stream_mode=mode)
    atexit.register(env.stop)
    env.start()
    yield env
    problems = env.stop()
    if problems:
        pytest.fail("%s mode: %s" % (mode, "\n\n".join(problems)), pytrace=False)


@pytest.fixture(scope="session")
def host_mode_server():
    """The streams held by teamboard-streamhost processes instead of the prefork stream pool."""
    yield from _env_in_mode("host")


@pytest.fixture(scope="session")
def worker_mode_server():
    """In a whole run with TB_STREAM_MODE=host: the per-stream workers, for the tests marked
    needs_stream_worker."""
    yield from _env_in_mode("worker")


@pytest.fixture(params=stream_modes())
def stream_mode(request):
    """The stream mode of a test of server_in_both_modes: its parameter, [worker] or [host]. (Not
    a parameter of `server` itself: pytest would then start the session's environment again for
    every test.)"""
    return request.param


@pytest.fixture(name="server")
def server_in_both_modes(request, server, stream_mode):
    """`server` in each stream mode: the session's environment, or host_mode_server."""
    if stream_mode == server.stream_mode:
        return server
    return request.getfixturevalue("host_mode_server" if stream_mode == "host" else "worker_mode_server")


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_stream_worker(reason): the test is about the per-stream "
                            "workers: one run, [worker], in every run (tbfixture.server_in_both_modes)")
    config.addinivalue_line("markers", "same_in_both_modes(reason): the test does not depend on the "
                            "stream mode: its [host] run is deselected (tbfixture.server_in_both_modes)")


@pytest.hookimpl(tryfirst=True)  # before pytest's own, which apply the mark added here
def pytest_generate_tests(metafunc):
    """A needs_stream_worker test of server_in_both_modes runs [worker] only, whatever the run's mode:
    a parametrize mark of its own, which the stream_mode fixture's params give way to."""
    if "stream_mode" in metafunc.fixturenames and metafunc.definition.get_closest_marker("needs_stream_worker"):
        metafunc.definition.add_marker(pytest.mark.parametrize("stream_mode", ["worker"], indirect=True))


def pytest_collection_modifyitems(config, items):
    """Deselects the [host] runs of @pytest.mark.same_in_both_modes tests."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("stream_mode") == "host" and item.get_closest_marker("same_in_both_modes") is not None:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
