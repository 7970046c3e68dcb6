"""tbenv: a complete Teamboard environment on one machine, for tests and for development.

It owns one state directory and everything that runs from it:
  <state>/bin/        copies of teamboard.fcgi, teamboard-admin, teamboard-supervisor,
                      teamboard-streamhost
  <state>/sql/ web/   copies of the source tree's sql/ and web/
  <state>/etc/        the generated teamboard.conf and the web server's config
  <state>/pg/         a PostgreSQL 15 cluster (Unix socket in <state>/run, TCP on 127.0.0.1)
  <state>/run/        sockets and pid files
  <state>/log/        postgresql.log, workers.log, streams.log, admin.log, lighttpd-*.log or
                      apache-*.log, sanitizer/ (ASan/UBSan reports), valgrind/ (valgrind logs)
The copies exist because the checkout may live where the service user cannot read (/root).

The package has three parts: tbenv.stack (PostgreSQL, the pools, the stream hosts, the
supervisor), tbenv.web (the web-server set-ups: lighttpd, apache-fcgid, apache-htaccess,
apache-htaccess-cpanel, apache-cgi; its Env is the class to use) and tbenv.cli (the command line).

Database roles, as docs/deploy.md makes them: DB_OWNER ("teamboard") owns the database and its
schema and runs `teamboard-admin --database <owner> migrate`; DB_USER ("teamboard_app") is the
runtime role that teamboard.conf's database names, so every worker, stream pool and supervisor of
every set-up runs as it, with what sql/013 grants it. sql() and connect() are the superuser's.

PostgreSQL refuses to run as root, so when run as root every server runs as the system user
"teamboard" (created when missing); otherwise as the current user. Nothing listens beyond
127.0.0.1. Every wait is bounded.

Used three ways:
  * as a module (`import tbenv` with tools/ on sys.path): tests/harness/tbfixture.py builds the
    session fixture `server` on Env; Env.add_host() puts a second web host (another set-up,
    another host_name) in front of the same database (tests/integration/test_two_hosts.py);
  * by the benchmarks (bench/), with their own sizes: see tbenv.stack.Stack;
  * as a command (dev.sh): python3 tools/tbenv up|down|status|psql --state-dir DIR ...; "up"
    leaves the servers running in the background and "down" stops them from their pid files.

Environment read by Env.from_environ() (and so by the test fixture):
  TB_SETUP            lighttpd (default), apache-fcgid, apache-htaccess,
                      apache-htaccess-cpanel or apache-cgi; for the tests also cgi (no web
                      server: the worker as plain CGI, tests/harness/tbcgi.py)
  TB_BUILD_DIR        build dir whose binaries are used (default <repo>/build; e.g. build-asan)
  TB_WORKER_WRAPPER   command prefixed to the worker, e.g. "valgrind --leak-check=full"
                      (lighttpd set-up only: the Apache set-ups spawn the workers themselves)
  TB_WORKERS          processes in the REST pool (default 4; Apache: the REST class's limit)
  TB_STREAM_WORKERS   processes in the stream pool (default 8; Apache: the stream class's
                      limit); max_streams defaults to 2 fewer
  TB_STREAM_MODE      worker (default) or host: who holds the streams in the lighttpd set-up,
                      the pool of teamboard.fcgi workers or teamboard-streamhost processes
                      (issue 13), on the same run/stream.sock; max_streams is the same. Also
                      apache-fcgid: conf/apache/teamboard.conf with TB_STREAM_HOST_SOCKET
                      Defined (streams through mod_proxy_fcgi, REST through mod_fcgid)
  TB_STREAM_HOSTS     host mode: how many teamboard-streamhost processes (default 2, one per
                      core). tbenv creates the listening socket itself and hands it to each
                      with --fd, as systemd's teamboard-streamhost.socket does
                      (conf/systemd); they accept on it with EPOLLEXCLUSIVE
  TB_KEEP_STATE=1     keep the temporary state dir after the run (its path is printed)
  TB_ASAN_DETECT_LEAKS  0 or 1 (default 1): LeakSanitizer in the workers and children
  TB_SUPERVISOR=1     also run teamboard-supervisor (else tests start it with start_supervisor())
  TB_STATE_PARENT     where temporary state dirs are made (default /tmp; must be traversable
                      by the service user)
Only the Python 3 standard library and Debian's python3-psycopg2 are used; run with /usr/bin/python3.
"""

from .stack import (APP_DEFAULTS, DB_NAME, DB_OWNER, DB_SUPERUSER, DB_USER, PG_BIN,  # noqa: F401
                    REPO, SERVICE_USER, Account, Stack, TbEnvError, _read_pid, children, cmdline,
                    free_port, group_members, http_get, log, port_is_free, proc_ticks,
                    smaps_rollup, stop_group, syscall_of, tail)
from .web import (APACHE, APACHE_DEFAULT_MODULES, APACHE_SETUP_MODULES,  # noqa: F401
                  BENCH_HOST_NAME, BENCH_PG_MALLOC, HOST_WEB_USER, SETUP_CONFIG, SETUPS, TEST_SETUPS, WEB_SPACE_SETUPS, Env)
from .cli import _attach, main  # noqa: F401
