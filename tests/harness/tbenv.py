#!/usr/bin/python3
"""tbenv: a complete Teamboard environment on one machine, for tests and for development.

It owns one state directory and everything that runs from it:
  <state>/bin/        copies of teamboard.fcgi, teamboard-admin, teamboard-supervisor
  <state>/sql/ web/   copies of the source tree's sql/ and web/
  <state>/etc/        the generated teamboard.conf and the web server's config
  <state>/pg/         a PostgreSQL 15 cluster (Unix socket in <state>/run, TCP on 127.0.0.1)
  <state>/run/        sockets and pid files
  <state>/log/        postgresql.log, workers.log, streams.log, admin.log, lighttpd-*.log or
                      apache-*.log, sanitizer/ (ASan/UBSan reports), valgrind/ (valgrind logs)
The copies exist because the checkout may live where the service user cannot read (/root).

The web side is one of five set-ups (TB_SETUP), each run from the project's own conf/ files:
  lighttpd         conf/lighttpd/dev.conf.in: static files, and two external prefork pools of
                   teamboard.fcgi: the REST pool (run/api.sock, TB_WORKERS) and the stream pool
                   (run/stream.sock, TB_STREAM_WORKERS) for ^/api/v1/boards/N/events
  apache-fcgid     Apache 2.4 + mod_fcgid with conf/apache/teamboard.conf, the production
                   virtual host (two copies of the binary in <state>/fcgi-bin/ = two classes)
  apache-htaccess  a shared host on a stock Debian Apache (tests/harness/apache/
                   shared-host.conf.in: AllowOverride FileInfo Options=ExecCGI, mod_fcgid, and
                   mod_cgid with Debian's serve-cgi-bin.conf, so /cgi-bin/ is ScriptAliased to
                   /usr/lib/cgi-bin/) serving a web space <state>/www laid out by
                   conf/shared-hosting/install-webspace.sh (.htaccess, teamboard-bin/,
                   teamboard-errors/); supervisor = auto
  apache-htaccess-cpanel
                   the same web space on a cPanel-like host (tests/harness/apache/
                   cpanel-host.conf.in): a per-user ScriptAlias /cgi-bin/ <state>/www/cgi-bin/,
                   Apache running as www-data and the customer's FastCGI programs as the
                   customer (the service user) through a suEXEC-like FcgidWrapper
                   (<state>/etc/host/suexec); teamboard.conf is mode 0600, unreadable to Apache.
                   Needs root
  apache-cgi       the same web space as apache-htaccess on a host without mod_fcgid: plain CGI
                   via mod_cgid, one process per request and per stream; teamboard-supervisor
                   runs beside it
In every set-up max_streams is set below the stream pool's (or class's) size, so a stream over
the limit is refused with 503 at once instead of waiting for a busy pool.

Database roles, as docs/deploy.md makes them: DB_OWNER ("teamboard") owns the database and its
schema and runs `teamboard-admin --database <owner> migrate`; DB_USER ("teamboard_app") is the
runtime role that teamboard.conf's database names, so every worker, stream pool and supervisor of
every set-up runs as it, with what sql/013 grants it. sql() and connect() are the superuser's.

PostgreSQL refuses to run as root, so when run as root every server runs as the system user
"teamboard" (created when missing); otherwise as the current user. Nothing listens beyond
127.0.0.1. Every wait is bounded.

Used two ways:
  * as a module: tests/integration/conftest.py builds its session fixture `server` on Env;
    Env.add_host() puts a second web host (another set-up, another host_name) in front of the
    same database (tests/integration/test_two_hosts.py);
  * as a command (dev.sh): tbenv.py up|down|status|psql --state-dir DIR ...; "up" leaves the
    servers running in the background and "down" stops them from their pid files.

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

import argparse
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_BIN = "/usr/lib/postgresql/15/bin"
SERVICE_USER = "teamboard"
DB_NAME = "teamboard"
# Two roles, as docs/deploy.md sets them up: the owner owns the database and its schema and runs
# `teamboard-admin migrate`; the runtime role is what every worker, stream pool and supervisor
# connects as (teamboard.conf's database), with only the privileges sql/013 grants it.
DB_OWNER = "teamboard"
DB_USER = "teamboard_app"
DB_SUPERUSER = "postgres"
APACHE = "/usr/sbin/apache2"

SETUPS = ("lighttpd", "apache-fcgid", "apache-htaccess", "apache-htaccess-cpanel", "apache-cgi")
# Tests only (TB_SETUP=cgi): no web server, the worker run as plain CGI (tests/harness/tbcgi.py).
TEST_SETUPS = SETUPS + ("cgi",)
# The shared-hosting set-ups: a web space laid out by conf/shared-hosting/install-webspace.sh.
WEB_SPACE_SETUPS = ("apache-htaccess", "apache-htaccess-cpanel", "apache-cgi")
# Debian 12's default Apache modules (what the apache2 package enables; plus headers, which
# conf/apache/teamboard.conf asks for), each loaded with its Debian .load and .conf from
# /etc/apache2/mods-available, then what each set-up adds.
APACHE_DEFAULT_MODULES = ("mpm_event", "access_compat", "alias", "auth_basic", "authn_core",
                          "authn_file", "authz_core", "authz_host", "authz_user", "autoindex",
                          "deflate", "dir", "env", "filter", "mime", "negotiation", "reqtimeout",
                          "setenvif", "status", "headers")
# The shared hosts load mod_cgid too, as a stock Debian does once CGI is enabled (a2enmod cgi):
# with it Debian's serve-cgi-bin.conf maps /cgi-bin/ on every virtual host.
APACHE_SETUP_MODULES = {"apache-fcgid": ("fcgid", "rewrite"),
                        "apache-htaccess": ("fcgid", "cgid", "rewrite"),
                        "apache-htaccess-cpanel": ("fcgid", "cgid", "rewrite"),
                        "apache-cgi": ("cgid", "rewrite")}
# The cPanel-like host's web server user (the customer's programs run as the service user).
HOST_WEB_USER = "www-data"
# What a set-up changes in the application's defaults. Shared hosting: the workers run the
# supervisor (no daemons there), and streams end before mod_fcgid's default FcgidBusyTimeout
# (300 s), which a customer cannot raise (conf/shared-hosting/teamboard.conf.sample).
SETUP_CONFIG = {"apache-htaccess": {"supervisor": "auto", "stream_max_seconds": 240},
                "apache-htaccess-cpanel": {"supervisor": "auto", "stream_max_seconds": 240}}

# The application's configuration keys and their defaults (conf/teamboard.conf.sample).
# "database" and "allowed_origins" are filled in per environment.
APP_DEFAULTS = {
    "max_body": 65536,
    "session_ttl": 1209600,
    "cookie_secure": False,
    "registration": "open",
    "log_level": "info",
    "heartbeat_interval": 15,
    "stream_max_seconds": 600,
    "max_streams": 200,
    "max_streams_per_user": 20,
    "event_retention_days": 0,
    "event_retention_per_board": 0,
    "trash_days": 30,
    # Not the product's 5: yescrypt at cost 1 takes 4 ms instead of 60, and the suite makes
    # thousands of accounts and sign-ins (docs/operations.md, password_cost).
    "password_cost": 1,
    "replay_limit": 5000,
    "supervisor": "off",
    "metrics_allow": "127.0.0.1 ::1",
}

# ASan/UBSan/LSan report lines, for when a sanitizer could not write to its log_path.
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


class TbEnvError(Exception):
    """The environment could not be brought up or torn down."""


def log(msg):
    print("tbenv: " + msg, file=sys.stderr, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no %s)" % path
    return "\n".join(text.splitlines()[-lines:])


def http_get(url, timeout=5.0, headers=None):
    """(status, content-type, body bytes), or raises OSError when nothing answers. No proxies."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


# ---- processes ---------------------------------------------------------------------------------

def _proc_stat(pid):
    """(state, pgrp) of a process, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(")") + 2:].split()
    return fields[0], int(fields[2])


def group_members(pgid):
    """Live (non-zombie) processes in process group pgid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st and st[1] == pgid and st[0] != "Z":
            out.append(int(name))
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def stop_group(pgid, popen=None, timeout=15.0, sig=signal.SIGTERM):
    """Sends sig to process group pgid, waits up to timeout for all of it to exit, then SIGKILLs
    what is left (and waits up to 5 s more). Returns True when the group exited by itself."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    clean = True
    while True:
        if popen is not None:
            popen.poll()
        if not group_members(pgid):
            break
        if time.monotonic() > deadline:
            if sig == signal.SIGKILL:
                raise TbEnvError("process group %d did not die" % pgid)
            clean = False
            log("process group %d still running after %.0f s: SIGKILL" % (pgid, timeout))
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            sig, deadline = signal.SIGKILL, time.monotonic() + 5.0
        time.sleep(0.05)
    if popen is not None:
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    return clean


class Account:
    """The OS account the servers run as."""

    def __init__(self, pw):
        self.name, self.uid, self.gid = pw.pw_name, pw.pw_uid, pw.pw_gid

    @classmethod
    def for_servers(cls):
        if os.geteuid() != 0:
            return cls(pwd.getpwuid(os.geteuid()))
        try:
            return cls(pwd.getpwnam(SERVICE_USER))
        except KeyError:
            pass
        r = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", "Teamboard development and test servers", SERVICE_USER],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        try:  # another process may have created it meanwhile (useradd exit 9)
            return cls(pwd.getpwnam(SERVICE_USER))
        except KeyError:
            raise TbEnvError("cannot create user %s: %s" % (SERVICE_USER, r.stdout.strip()))

    @property
    def is_other(self):
        return self.uid != os.geteuid()

    def popen_args(self):
        if not self.is_other:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown_tree(self, path):
        if not self.is_other:
            return
        for dirpath, dirnames, filenames in os.walk(path):
            os.lchown(dirpath, self.uid, self.gid)
            for n in dirnames + filenames:
                os.lchown(os.path.join(dirpath, n), self.uid, self.gid)


# ---- the environment ---------------------------------------------------------------------------

class Env:
    """One environment: PostgreSQL + a web host (web server + teamboard.fcgi, see SETUPS), all
    under state_dir.

    For tests (persistent=False) the state dir is a new /tmp/tb-test.XXXXXX, removed by stop();
    for development (persistent=True) the database survives between runs.

    With db_env=<another Env> it is only a web host: it uses that environment's database (started
    and migrated already) and starts and stops nothing else; see add_host()."""

    def __init__(self, state_dir=None, persistent=False, build_dir=None, port=None, db_port=None,
                 workers=4, wrapper=None, config=None, src_dir=REPO, keep_state=False,
                 asan_detect_leaks=True, app=True, supervisor=None, setup="lighttpd",
                 stream_workers=8, db_env=None, lighttpd_conf="dev", host=None, stream_mode="worker",
                 stream_hosts=2):
        if setup not in TEST_SETUPS:
            raise TbEnvError("unknown set-up %r (one of %s)" % (setup, ", ".join(SETUPS)))
        if stream_mode not in ("worker", "host") or (
                stream_mode == "host" and setup not in ("lighttpd", "apache-fcgid")):
            raise TbEnvError("TB_STREAM_MODE %r: worker, or host with the lighttpd or apache-fcgid "
                             "set-up" % stream_mode)
        self.setup = setup
        self.stream_mode = stream_mode
        self.stream_hosts = max(1, int(stream_hosts))
        # A shared host's own settings (the web space set-ups), to model hosts that lack
        # something (tests of conf/shared-hosting/check-webspace.sh): "allow_override" (default
        # "FileInfo Options=ExecCGI"), "without_modules" (e.g. ("rewrite",)), "output_buffer"
        # (FcgidOutputBufferSize; default 0), "wait" (False: start() does not wait for a healthy
        # API, which such a host never gives).
        self.host_settings = dict(host or {})
        if setup == "apache-htaccess-cpanel" and os.geteuid() != 0:
            raise TbEnvError("apache-htaccess-cpanel runs Apache and the programs as two users: "
                             "run as root")
        # lighttpd set-up: "dev" runs conf/lighttpd/dev.conf.in; "production" runs the production
        # site config conf/lighttpd/teamboard.conf inside Debian's main config
        # (tests/harness/lighttpd/debian.conf.in)
        self.lighttpd_conf = lighttpd_conf
        self.src_dir = os.path.abspath(src_dir)
        self.build_dir = os.path.abspath(os.path.join(self.src_dir, build_dir or "build"))
        self.persistent = persistent
        self.keep_state = keep_state
        self.workers = int(workers)
        self.wrapper = shlex.split(wrapper) if isinstance(wrapper, str) else list(wrapper or [])
        if self.wrapper and setup != "lighttpd":
            raise TbEnvError("TB_WORKER_WRAPPER works with the lighttpd set-up only (Apache "
                             "starts the workers itself)")
        self.asan_detect_leaks = asan_detect_leaks
        self.with_app = app
        # plain CGI runs no worker that could host a supervisor: run the daemon beside it
        self.with_supervisor = (setup == "apache-cgi") if supervisor is None else bool(supervisor)
        self.db_env = db_env
        self.account = Account.for_servers()
        if state_dir is None:
            if persistent:
                raise TbEnvError("a persistent environment needs a state_dir")
            parent = os.environ.get("TB_STATE_PARENT") or "/tmp"
            state_dir = tempfile.mkdtemp(prefix="tb-test.", dir=parent)
            self._made_state_dir = True
        else:
            self._made_state_dir = False
        self.state_dir = os.path.abspath(state_dir)
        self.host = "127.0.0.1"
        self.port = int(port) if port else free_port()
        self.db_port = int(db_port) if db_port else None
        if db_env is not None:
            self.db_port = db_env.db_port
        self.base = "http://%s:%d" % (self.host, self.port)
        self.base_config = dict(APP_DEFAULTS)
        self.base_config.update(SETUP_CONFIG.get(setup, {}))
        self.base_config["allowed_origins"] = "http://127.0.0.1:%d http://localhost:%d" % (
            self.port, self.port)
        self.base_config.update(config or {})
        # The stream pool must be bigger than max_streams: a stream over max_streams is then
        # refused with 503 by a free worker, instead of waiting for one (lighttpd: forever).
        self.stream_workers = int(stream_workers)
        if "max_streams" not in (config or {}):
            self.base_config["max_streams"] = max(1, self.stream_workers - 2)
        ms = int(self.base_config["max_streams"])
        if self.stream_workers < ms + 2:
            log("max_streams = %d: %d stream workers instead of %d" % (
                ms, ms + 2, self.stream_workers))
            self.stream_workers = ms + 2
        self.config = dict(self.base_config)
        self.db_running = db_env is not None
        self._procs = {}       # name -> Popen (workers, streams, lighttpd, apache, supervisor)
        self._conn = None
        self._stopped = False
        self._started = False
        self._hosts = []       # web hosts added with add_host()

    @classmethod
    def from_environ(cls, **kw):
        env = os.environ
        kw.setdefault("setup", env.get("TB_SETUP") or "lighttpd")
        kw.setdefault("build_dir", env.get("TB_BUILD_DIR") or "build")
        kw.setdefault("wrapper", env.get("TB_WORKER_WRAPPER") or None)
        kw.setdefault("workers", int(env.get("TB_WORKERS") or 4))
        kw.setdefault("stream_workers", int(env.get("TB_STREAM_WORKERS") or 8))
        kw.setdefault("stream_mode", env.get("TB_STREAM_MODE") or "worker")
        kw.setdefault("stream_hosts", int(env.get("TB_STREAM_HOSTS") or 2))
        kw.setdefault("keep_state", env.get("TB_KEEP_STATE", "") not in ("", "0"))
        kw.setdefault("asan_detect_leaks", env.get("TB_ASAN_DETECT_LEAKS", "1") != "0")
        sv = env.get("TB_SUPERVISOR", "")
        kw.setdefault("supervisor", None if sv == "" else sv != "0")
        if kw["setup"] == "cgi" and cls is Env:
            import tbcgi
            cls = tbcgi.CgiEnv
        return cls(**kw)

    def add_host(self, setup, host_name, config=None, **kw):
        """Starts a second web host of the given set-up in front of this environment's database,
        with its own state dir, port, teamboard.conf (host_name = host_name) and processes.
        Returns it (an Env); this environment's stop() stops it too, or call its stop()."""
        cfg = {"host_name": host_name}
        cfg.update(config or {})
        kw.setdefault("build_dir", self.build_dir)
        kw.setdefault("keep_state", self.keep_state)
        kw.setdefault("asan_detect_leaks", self.asan_detect_leaks)
        kw.setdefault("workers", self.workers)
        kw.setdefault("stream_workers", self.stream_workers)
        if setup == "lighttpd":
            kw.setdefault("stream_mode", self.stream_mode)
            kw.setdefault("stream_hosts", self.stream_hosts)
        kw.setdefault("supervisor", False)
        other = Env(setup=setup, config=cfg, db_env=self, src_dir=self.src_dir, **kw)
        self._hosts.append(other)
        try:
            other.start()
        except BaseException:
            self._hosts.remove(other)
            raise
        return other

    @property
    def web_server(self):
        return "lighttpd" if self.setup == "lighttpd" else "apache"

    # -- paths
    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    @property
    def run_dir(self):
        return self.path("run")

    @property
    def log_dir(self):
        return self.path("log")

    @property
    def pg_data(self):
        return self.path("pg")

    @property
    def api_socket(self):
        """The REST pool's socket (lighttpd set-up)."""
        return self.path("run", "api.sock")

    @property
    def stream_socket(self):
        """The stream pool's socket (lighttpd set-up)."""
        return self.path("run", "stream.sock")

    @property
    def db_socket_dir(self):
        """Where PostgreSQL's Unix socket is (the database's environment's run dir)."""
        return self.db_env.run_dir if self.db_env is not None else self.run_dir

    @property
    def config_file(self):
        return self.path("etc", "teamboard.conf")

    @property
    def stream_config_file(self):
        """The stream pool's teamboard.conf (lighttpd set-up): the same but for supervisor,
        always off, so that supervisor = auto candidates live in the REST pool only."""
        return self.path("etc", "teamboard-stream.conf")

    @property
    def web_space(self):
        """The shared-hosting web root (WEB_SPACE_SETUPS)."""
        return self.path("www")

    @property
    def logs(self):
        names = ["postgresql.log", "workers.log", "streams.log", "supervisor.log", "admin.log",
                 "lighttpd-error.log", "lighttpd-access.log", "lighttpd-stderr.log",
                 "apache-error.log", "apache-access.log", "apache-stderr.log",
                 "teamboard-error.log", "teamboard-access.log"]
        return {n: os.path.join(self.log_dir, n) for n in names}

    @property
    def web_error_log(self):
        """The web server's error log, where the program's own messages go under Apache (the
        production virtual host has its own: teamboard-error.log)."""
        if self.setup == "apache-fcgid":
            return self.logs["teamboard-error.log"]
        return self.logs["%s-error.log" % self.web_server]

    @property
    def _slow(self):
        return bool(self.wrapper)

    # -- lifecycle
    def start(self):
        """Prepares the state dir, then starts PostgreSQL, migrates, starts the pools and the
        web server and waits until GET /api/v1/health answers 200. On failure stops what it
        started. With db_env, only the web host is started."""
        self._started = True
        try:
            self._prepare()
            if self.db_env is None:
                self.start_db()
                self._create_database()
            if self.with_app:
                self._write_config()
                if self.db_env is None:
                    self.migrate()
                self.start_app(wait=False)
            self.start_web()
            if self.with_app and self.host_settings.get("wait", True):
                self.wait_health()
                if self.with_supervisor:
                    self.start_supervisor()
            self._save_state()
        except BaseException:
            try:
                self.stop()
            except Exception as e:  # the original error matters more
                log("while cleaning up after a failed start: %s" % e)
            raise
        return self

    def stop(self):
        """Stops everything this environment started (hosts added with add_host() first), then
        checks the sanitizer and valgrind reports. Returns a list of problems (empty when all is
        well); never leaves processes."""
        if self._stopped:
            return []
        self._stopped = True
        problems = []
        for other in self._hosts:
            problems += ["%s: %s" % (other.config.get("host_name"), p) for p in other.stop()]
        self._close_conn()
        for name in ("supervisor", "lighttpd", "apache") + self.stream_proc_names() + ("workers",):
            try:
                self._stop_proc(name)
            except Exception as e:
                problems.append("stopping %s: %s" % (name, e))
        if self.db_env is None:
            try:
                self.stop_db()
            except Exception as e:
                problems.append("stopping postgresql: %s" % e)
        problems += self.report_problems()
        if os.path.isdir(self.state_dir):
            if problems or self.keep_state or self.persistent or not self._made_state_dir:
                if not self.persistent:
                    log("state kept in %s" % self.state_dir)
            else:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        return problems

    # -- state dir
    def _prepare(self):
        os.makedirs(self.state_dir, exist_ok=True)
        os.chmod(self.state_dir, 0o750)
        for d in ("bin", "etc", "run", "log", "log/sanitizer", "log/valgrind", "tmp"):
            os.makedirs(self.path(d), exist_ok=True)
        for d in ("run", "tmp"):
            os.chmod(self.path(d), 0o700)
        for name in ("sql", "web"):
            shutil.rmtree(self.path(name), ignore_errors=True)
            src = os.path.join(self.src_dir, name)
            if os.path.isdir(src):
                shutil.copytree(src, self.path(name))
            else:
                os.makedirs(self.path(name))
        if self.with_app:
            progs = ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor")
            if self.stream_mode == "host":
                progs += ("teamboard-streamhost",)
            for prog in progs:
                src = os.path.join(self.build_dir, "fcgi", prog)
                if prog == "teamboard-supervisor" and not os.path.isfile(src):
                    if self.with_supervisor:
                        raise TbEnvError("%s not found" % src)
                    continue
                if not os.path.isfile(src):
                    raise TbEnvError("%s not found: build first (mkdir -p build && cd build && "
                                     "../configure && make)" % src)
                dst = self.path("bin", prog)
                if os.path.exists(dst):
                    os.unlink(dst)
                shutil.copy2(src, dst)
                os.chmod(dst, 0o755)
        if self.setup == "apache-fcgid" and self.with_app:
            # conf/apache/teamboard.conf's layout: two COPIES of the program, two classes
            d = self.path("fcgi-bin")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            for name in ("teamboard.fcgi", "teamboard-stream.fcgi"):
                shutil.copy2(self.path("bin", "teamboard.fcgi"), os.path.join(d, name))
            os.makedirs(self.path("errors"), exist_ok=True)
            shutil.copy2(os.path.join(self.src_dir, "conf", "errors", "too_large.json"),
                         self.path("errors", "too_large.json"))
        if self.setup.startswith("apache-"):
            shutil.rmtree(self.path("run", "apache"), ignore_errors=True)
            for d in ("etc/apache", "run/apache", "run/apache/fcgid", "run/apache/socks"):
                os.makedirs(self.path(d), exist_ok=True)
        for stale in ("api.sock", "stream.sock"):
            try:
                os.unlink(self.path("run", stale))
            except FileNotFoundError:
                pass
        self.account.chown_tree(self.state_dir)
        if self.setup == "apache-htaccess-cpanel":
            self._prepare_cpanel_host()

    def _prepare_cpanel_host(self):
        """The cPanel-like host: Apache runs as HOST_WEB_USER, a member of the customer's group
        (as hosts let the web server into the customer's home: group access), owning its own run
        directory and writing into log/; the suEXEC-like wrapper is the host's (root's)."""
        web = pwd.getpwnam(HOST_WEB_USER)
        os.chmod(self.run_dir, 0o750)
        os.chmod(self.log_dir, 0o770)
        for dirpath, dirnames, filenames in os.walk(self.path("run", "apache")):
            os.lchown(dirpath, web.pw_uid, web.pw_gid)
        host = self.path("etc", "host")
        shutil.rmtree(host, ignore_errors=True)
        os.makedirs(host, mode=0o755)
        os.chmod(host, 0o755)
        with open(os.path.join(self.src_dir, "tests", "harness", "apache", "suexec.in")) as f:
            text = f.read().replace("@UID@", str(self.account.uid)).replace(
                "@GID@", str(self.account.gid))
        with open(os.path.join(host, "suexec"), "w") as f:
            f.write(text)
        os.chmod(os.path.join(host, "suexec"), 0o755)

    def _cpanel_wrappers(self):
        """The host's FcgidWrapper lines: one per FastCGI program (*.fcgi) in the web space, as a
        hosting panel registers them, each run through etc/host/suexec."""
        lines = []
        for dirpath, dirnames, filenames in sorted(os.walk(self.web_space)):
            for n in sorted(filenames):
                if n.endswith(".fcgi"):
                    lines += ['    <Directory "%s">' % dirpath,
                              '        <Files "%s">' % n,
                              '            FcgidWrapper "%s %s"' % (
                                  self.path("etc", "host", "suexec"), os.path.join(dirpath, n)),
                              '        </Files>',
                              '    </Directory>']
        return "\n".join(lines)

    def _install_web_space(self):
        """The customer's side of shared hosting, as docs/shared-hosting.md has it done: the program and
        teamboard.conf outside the web root (<state>/bin, <state>/etc), and the web root laid
        out by conf/shared-hosting/install-webspace.sh, run as the customer (service user)."""
        shutil.rmtree(self.web_space, ignore_errors=True)
        os.makedirs(self.web_space, mode=0o755)
        if self.account.is_other:
            os.chown(self.web_space, self.account.uid, self.account.gid)
        # a copy the service user can read, with the files it installs beside it
        kit = self.path("etc", "shared-hosting-kit")
        shutil.rmtree(kit, ignore_errors=True)
        os.makedirs(os.path.join(kit, "conf"))
        for d in ("shared-hosting", "errors"):
            shutil.copytree(os.path.join(self.src_dir, "conf", d), os.path.join(kit, "conf", d))
        os.symlink(self.path("web"), os.path.join(kit, "web"))
        self.account.chown_tree(kit)
        script = os.path.join(kit, "conf", "shared-hosting", "install-webspace.sh")
        self._run(["/bin/sh", script, self.web_space, self.path("bin", "teamboard.fcgi"),
                   self.config_file], timeout=60, log_name="admin.log")

    def _save_state(self):
        st = {"setup": self.setup, "port": self.port, "db_port": self.db_port, "base": self.base,
              "build_dir": self.build_dir, "workers": self.workers,
              "stream_workers": self.stream_workers, "wrapper": self.wrapper,
              "config": self.config, "src_dir": self.src_dir, "stream_mode": self.stream_mode,
              "stream_hosts": self.stream_hosts}
        with open(self.path("tbenv.json"), "w") as f:
            json.dump(st, f, indent=2)
            f.write("\n")

    # -- running things as the service account
    def _env(self):
        san = self.path("log", "sanitizer")
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.state_dir,
            "USER": self.account.name,
            "LOGNAME": self.account.name,
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "TMPDIR": self.path("tmp"),
            "TEAMBOARD_CONF": self.config_file,
            "TEAMBOARD_SQL_DIR": self.path("sql"),
            "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=%d:detect_stack_use_after_return=1:"
                            "abort_on_error=0" % (
                                san, 1 if self.asan_detect_leaks else 0),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path=%s/ubsan" % san,
        }
        supp = os.path.join(self.src_dir, "tests", "harness", "lsan.supp")
        if os.path.isfile(supp):
            shutil.copy2(supp, self.path("etc", "lsan.supp"))
            e["LSAN_OPTIONS"] = "suppressions=%s" % self.path("etc", "lsan.supp")
        return e

    def _run(self, cmd, timeout, input=None, check=True, log_name=None):
        """Runs cmd as the service account and waits (bounded). Output is returned and, with
        log_name, appended to that log."""
        try:
            r = subprocess.run(cmd, cwd=self.state_dir, env=self._env(), input=input,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=timeout, **self.account.popen_args())
        except subprocess.TimeoutExpired as e:
            raise TbEnvError("%s: no result after %d s" % (" ".join(cmd), timeout)) from e
        if log_name:
            with open(self.path("log", log_name), "a") as f:
                f.write("$ %s\n%s" % (" ".join(cmd), r.stdout))
        if check and r.returncode != 0:
            raise TbEnvError("%s exited with %d:\n%s" % (" ".join(cmd), r.returncode,
                                                         r.stdout[-4000:]))
        return r

    def _spawn(self, name, cmd, pass_fds=()):
        """Starts a long-running server in its own session (process group), output appended to
        log/<name>.log (web servers: <name>-stderr.log), pid in run/<name>.pid."""
        web = name in ("lighttpd", "apache")
        logname = "%s-stderr.log" % name if web else "%s.log" % name.split("-")[0]
        logf = open(self.path("log", logname), "a")
        logf.write("==== %s start: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), " ".join(cmd)))
        logf.flush()
        env = self._env()
        as_account = self.account.popen_args()
        if name == "apache":
            # The site config must tell the programs where teamboard.conf is, not we.
            env.pop("TEAMBOARD_CONF", None)
            env.pop("TEAMBOARD_SQL_DIR", None)
            if self.setup == "apache-htaccess-cpanel":
                # Apache as the host's web server user, in the customer's group, with the two
                # capabilities the suEXEC-like wrapper needs to become the customer (suexec is
                # setuid root) and the one mod_fcgid needs to stop the customer's processes.
                web = pwd.getpwnam(HOST_WEB_USER)
                caps = "+setuid,+setgid,+kill"
                cmd = ["/usr/bin/setpriv", "--reuid=%d" % web.pw_uid, "--regid=%d" % web.pw_gid,
                       "--groups=%d" % self.account.gid, "--inh-caps=" + caps,
                       "--ambient-caps=" + caps, "--"] + list(cmd)
                env["HOME"] = "/nonexistent"
                env["USER"] = env["LOGNAME"] = HOST_WEB_USER
                as_account = {}
        try:
            p = subprocess.Popen(cmd, cwd=self.state_dir, env=env, pass_fds=pass_fds,
                                 stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                 start_new_session=True, **as_account)
        finally:
            logf.close()
        self._procs[name] = p
        with open(self.path("run", "%s.pid" % name), "w") as f:
            f.write("%d\n" % p.pid)
        return p

    def _stop_proc(self, name, timeout=None):
        p = self._procs.pop(name, None)
        pidfile = self.path("run", "%s.pid" % name)
        pid = p.pid if p else _read_pid(pidfile, self.state_dir)
        if pid:
            if timeout is None:
                timeout = 60.0 if (self._slow and name.startswith(("workers", "streams"))) else 15.0
            stop_group(pid, p, timeout=timeout)
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass

    # -- PostgreSQL
    def _pg(self, *args, timeout=90):
        return self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.pg_data] + list(args),
                         timeout=timeout)

    def _write_pg_conf(self):
        durable = self.persistent
        lines = [
            "# written by tests/harness/tbenv.py at every start",
            "listen_addresses = '127.0.0.1'",
            "port = %d" % self.db_port,
            "unix_socket_directories = '%s'" % self.run_dir,
            "unix_socket_permissions = 0700",
            "max_connections = 300",
            "shared_buffers = 64MB",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "log_min_messages = warning",
            "fsync = %s" % ("on" if durable else "off"),
            "synchronous_commit = %s" % ("on" if durable else "off"),
            "full_page_writes = %s" % ("on" if durable else "off"),
        ]
        conf = os.path.join(self.pg_data, "teamboard-harness.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        if self.account.is_other:
            os.chown(conf, self.account.uid, self.account.gid)

    def _init_db(self):
        if os.path.isfile(os.path.join(self.pg_data, "PG_VERSION")):
            return
        # Local connections (the socket directory is 0700) are trusted; TCP needs a password,
        # and no role has one, so nothing can log in over 127.0.0.1 by accident.
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.pg_data, "-U", DB_SUPERUSER,
                   "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                   "--auth-host=scram-sha-256", "--no-instructions"],
                  timeout=180, log_name="initdb.log")
        with open(os.path.join(self.pg_data, "postgresql.conf"), "a") as f:
            f.write("\ninclude_if_exists = 'teamboard-harness.conf'\n")

    def start_db(self):
        """Starts PostgreSQL (creating the cluster the first time) and waits until it accepts
        connections; if the worker pool runs, also waits until /api/v1/health answers 200."""
        if self.db_env is not None:
            return self.db_env.start_db()
        self._init_db()
        old_port = self.db_port
        if not self._postmaster_alive():
            if self.db_port is None or not port_is_free(self.db_port):
                self.db_port = free_port()
            self._write_pg_conf()
            self._pg("-l", self.path("log", "postgresql.log"), "-w", "-t", "60", "start",
                     timeout=90)
        self.db_running = True
        for env in self._hosts:
            env.db_running = True
        for env in [self] + self._hosts:
            if not env.app_running():
                continue
            if self.db_port != old_port:  # the old port was taken meanwhile
                env.restart_app(**{k: v for k, v in env.config.items()
                                   if env.base_config.get(k) != v})
            else:
                env.wait_health()

    def stop_db(self, mode="fast"):
        """Stops PostgreSQL (pg_ctl stop -m fast; immediate, then SIGKILL, if that fails)."""
        if self.db_env is not None:
            return self.db_env.stop_db(mode)
        for env in self._hosts:
            env._close_conn()
            env.db_running = False
        self._close_conn()
        self.db_running = False
        if not self._postmaster_alive():
            return
        try:
            self._pg("-m", mode, "-w", "-t", "30", "stop", timeout=60)
        except TbEnvError as e:
            log("pg_ctl stop -m %s failed (%s); trying immediate" % (mode, e))
            try:
                self._pg("-m", "immediate", "-w", "-t", "15", "stop", timeout=30)
            except TbEnvError:
                pid = self._postmaster_pid()
                if pid:
                    stop_group(_proc_stat(pid)[1] if _proc_stat(pid) else pid,
                               sig=signal.SIGKILL, timeout=5)

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.pg_data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def _postmaster_alive(self):
        pid = self._postmaster_pid()
        if not pid:
            return False
        st = _proc_stat(pid)
        return bool(st and st[0] != "Z" and "postgres" in cmdline(pid))

    def _dsn(self, user=DB_SUPERUSER, dbname=DB_NAME):
        if self.db_env is not None:
            self.db_port = self.db_env.db_port
        return "host=%s port=%d dbname=%s user=%s" % (self.db_socket_dir, self.db_port, dbname,
                                                      user)

    def connect(self, user=DB_SUPERUSER, dbname=DB_NAME):
        """A new psycopg2 connection (autocommit) over the Unix socket. Caller closes it."""
        import psycopg2
        conn = psycopg2.connect(self._dsn(user, dbname), connect_timeout=10)
        conn.autocommit = True
        return conn

    def _close_conn(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def sql(self, query, params=()):
        """Runs one statement as the database superuser (autocommit) in the teamboard database;
        returns its rows as a list of tuples ([] for a statement without rows)."""
        import psycopg2
        for attempt in (1, 2):
            if self._conn is None or self._conn.closed:
                self._conn = self.connect()
            try:
                with self._conn.cursor() as cur:
                    cur.execute(query, params if params else None)
                    return cur.fetchall() if cur.description is not None else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                # A connection broken by stop_db()/start_db() is reopened once; a statement
                # that failed on a live connection is not run again.
                if attempt == 2 or not self._conn.closed:
                    raise
                self._conn = None
        return []

    def _create_database(self):
        conn = self.connect(dbname="postgres")
        try:
            with conn.cursor() as cur:
                for role in (DB_OWNER, DB_USER):
                    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                    if not cur.fetchone():
                        cur.execute("CREATE ROLE %s LOGIN" % role)
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
                if not cur.fetchone():
                    cur.execute("CREATE DATABASE %s OWNER %s" % (DB_NAME, DB_OWNER))
        finally:
            conn.close()

    # -- the application
    def admin(self, *args, input=None, timeout=120, check=False):
        """Runs bin/teamboard-admin --config <conf> ARGS as the service account.
        Returns the CompletedProcess (stdout and stderr together, as text)."""
        return self._run([self.path("bin", "teamboard-admin"), "--config", self.config_file]
                         + list(args), input=input, timeout=timeout, check=check,
                         log_name="admin.log")

    def migrate(self):
        """teamboard-admin migrate as the owner role (--database); it grants the runtime role, the
        user of teamboard.conf's database, its privileges."""
        timeout = 300 if self._slow else 120
        owner = self._dsn(user=DB_OWNER)
        with open(self.path("bin", "teamboard-admin"), "rb") as f:
            two_roles = b"--runtime-role" in f.read()
        if two_roles:
            return self.admin("--database", owner, "migrate", "--sql-dir", self.path("sql"),
                              check=True, timeout=timeout)
        # A teamboard-admin built before it had --database (a build dir not yet rebuilt): migrate
        # with a config of the owner's, then grant as the owner. (Transitional, for issue 12.)
        log("%s/fcgi/teamboard-admin predates the two database roles: rebuild it" % self.build_dir)
        conf = self.path("etc", "teamboard-owner.conf")
        self._write_file(conf, "database = %s\n" % owner, mode=0o600)
        r = self._run([self.path("bin", "teamboard-admin"), "--config", conf, "migrate", "--sql-dir",
                       self.path("sql")], timeout=timeout, check=True, log_name="admin.log")
        conn = self.connect(user=DB_OWNER)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT teamboard.grant_runtime(%s)", (DB_USER,))
        finally:
            conn.close()
        return r

    def _config_text(self, cfg):
        lines = ["# teamboard.conf written by tests/harness/tbenv.py (set-up %s)" % self.setup]
        for k, v in cfg.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple)):
                v = " ".join(str(x) for x in v)
            lines.append("%s = %s" % (k, v))
        return "\n".join(lines) + "\n"

    def _write_file(self, path, text, mode=0o644):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        if self.account.is_other:
            os.chown(tmp, self.account.uid, self.account.gid)
        os.replace(tmp, path)

    def _write_config(self):
        cfg = {"database": self._dsn(user=DB_USER)}
        cfg.update(self.config)
        # cPanel-like: mode 0600, as the guide says; only the customer's programs can read it
        self._write_file(self.config_file, self._config_text(cfg),
                         mode=0o600 if self.setup == "apache-htaccess-cpanel" else 0o644)
        if self.setup == "lighttpd" or self.stream_mode == "host":
            cfg["supervisor"] = "off"
            self._write_file(self.stream_config_file, self._config_text(cfg))
        if self.setup in WEB_SPACE_SETUPS:
            self._install_web_space()  # again: the .htaccess carries max_body

    @property
    def stream_pool_size(self):
        """The stream pool's (Apache: the stream class's) size: stream_workers, and always 2 more
        than the current max_streams."""
        try:
            ms = int(self.config.get("max_streams") or 0)
        except ValueError:
            ms = 0
        return max(self.stream_workers, ms + 2)

    def _worker_cmd(self, pool="workers", fd=None):
        if pool == "streams" and self.stream_mode == "host":
            cmd = [self.path("bin", "teamboard-streamhost"), "--config", self.stream_config_file,
                   "--fd", str(fd)]
        elif pool == "streams":
            cmd = [self.path("bin", "teamboard.fcgi"), "--config", self.stream_config_file,
                   "--listen", self.stream_socket, "--workers", str(self.stream_pool_size)]
        else:
            cmd = [self.path("bin", "teamboard.fcgi"), "--config", self.config_file,
                   "--listen", self.api_socket, "--workers", str(self.workers)]
        wrapper = list(self.wrapper)
        if wrapper and os.path.basename(wrapper[0]) == "valgrind":
            if not any(a.startswith("--log-file") for a in wrapper):
                wrapper.insert(1, "--log-file=%s" % self.path("log", "valgrind", "vg.%p.log"))
        return wrapper + cmd

    def app_running(self):
        return any(n in self._procs for n in ("workers", "streams", "apache"))

    def stream_proc_names(self):
        """The names (pid files run/<name>.pid) of the stream pool's processes: "streams" (the
        prefork pool, or the first stream host), "streams-1", ... (the other stream hosts),
        those started and those whose pid files are left (tbenv.py down)."""
        names = {n for n in self._procs if re.fullmatch(r"streams(-[0-9]+)?", n)}
        try:
            for f in os.listdir(self.run_dir):
                m = re.fullmatch(r"(streams(-[0-9]+)?)\.pid", f)
                if m:
                    names.add(m.group(1))
        except FileNotFoundError:
            pass
        names.add("streams")
        return tuple(sorted(names))

    def stream_host_pids(self):
        """Host mode: the pids of the running teamboard-streamhost processes, in start order."""
        procs = [self._procs.get("streams")] + [self._procs.get("streams-%d" % i)
                                                for i in range(1, self.stream_hosts)]
        return [p.pid for p in procs if p is not None and p.poll() is None]

    def _listen_stream_socket(self):
        """Host mode: the stream socket, made here as systemd makes it for
        teamboard-streamhost.socket (a blocking listening socket, the web server's user may
        connect) and handed to every host process; returns its descriptor (caller closes)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(self.stream_socket)
            os.chmod(self.stream_socket, 0o660)
            if self.account.is_other:
                os.chown(self.stream_socket, self.account.uid, self.account.gid)
            s.listen(4096)
        except BaseException:
            s.close()
            raise
        return s.detach()

    def _start_stream_hosts(self):
        fd = self._listen_stream_socket()
        try:
            for i in range(self.stream_hosts):
                name = "streams" if i == 0 else "streams-%d" % i
                self._spawn(name, self._worker_cmd("streams", fd=fd), pass_fds=(fd,))
        finally:
            os.close(fd)

    def start_app(self, wait=True):
        """lighttpd set-up: starts the REST pool on run/api.sock and the stream pool on
        run/stream.sock (config from self.config). Apache set-ups: Apache spawns the workers, so
        this (re)starts Apache once it was started. Host mode: the stream hosts on
        run/stream.sock instead of the stream pool (apache-fcgid: beside Apache)."""
        if self.setup == "lighttpd":
            for sock in (self.api_socket, self.stream_socket):
                try:
                    os.unlink(sock)
                except FileNotFoundError:
                    pass
            self._spawn("workers", self._worker_cmd("workers"))
            if self.stream_mode == "host":
                self._start_stream_hosts()
            else:
                self._spawn("streams", self._worker_cmd("streams"))
        else:
            if self.stream_mode == "host":
                try:
                    os.unlink(self.stream_socket)
                except FileNotFoundError:
                    pass
                self._start_stream_hosts()
            if getattr(self, "_web_started", False):
                self.start_web()
        if wait:
            self.wait_health()

    def stop_app(self):
        if self.setup == "lighttpd":
            for name in self.stream_proc_names():
                self._stop_proc(name)
            self._stop_proc("workers")
        else:
            self._stop_proc("apache")
            if self.stream_mode == "host":
                for name in self.stream_proc_names():
                    self._stop_proc(name)

    def restart_app(self, **overrides):
        """Rewrites teamboard.conf as the defaults plus these overrides (so restart_app() with no
        arguments restores the defaults; a value of None leaves the key out), restarts the worker
        pools (Apache set-ups: Apache, which spawns them) and waits until /api/v1/health answers
        (200, or 503 db_unavailable while the database is stopped)."""
        self.config = dict(self.base_config)
        self.config.update(overrides)
        self.stop_app()
        self._write_config()
        self.start_app(wait=True)

    # -- the supervisor (heartbeats, recycling, retention; see DESIGN "Supervisor")
    def start_supervisor(self):
        """Starts bin/teamboard-supervisor --config <conf> in the background (log/supervisor.log).
        The workers must not also run one (supervisor = off in the config, the default)."""
        if "supervisor" in self._procs:
            return
        self._spawn("supervisor", [self.path("bin", "teamboard-supervisor"),
                                   "--config", self.config_file])
        time.sleep(0.2)
        p = self._procs["supervisor"]
        if p.poll() is not None:
            del self._procs["supervisor"]
            raise TbEnvError("teamboard-supervisor exited with %s:\n%s" % (
                p.returncode, tail(self.logs["supervisor.log"])))

    def stop_supervisor(self):
        self._stop_proc("supervisor")

    def supervisor_once(self, timeout=60):
        """Runs one supervisor cycle (teamboard-supervisor --once); returns the CompletedProcess
        (returncode 0: done as leader, 3: another supervisor leads)."""
        return self._run([self.path("bin", "teamboard-supervisor"), "--config", self.config_file,
                          "--once"], timeout=timeout, check=False, log_name="supervisor.log")

    def wait_health(self, timeout=None):
        """Waits until the app answers GET /api/v1/health through the web server: 200 when the
        database runs, 503 with a JSON error when it does not. Raises TbEnvError with the log
        tails if a pool or the web server dies or the time runs out."""
        if timeout is None:
            timeout = 240.0 if self._slow else 30.0
        deadline = time.monotonic() + timeout
        last = "no answer"
        # Each worker has its own connection and reconnects at most once a second, so one 200
        # proves little: wait for enough 200s in a row that every worker has most likely served
        # one (the kernel hands the accepted connections round the pool).
        need, streak = 2 * self.workers + 2, 0
        while time.monotonic() < deadline:
            procs = [("workers", "workers.log"), ("apache", os.path.basename(self.web_error_log))]
            procs += [(n, "streams.log") for n in self.stream_proc_names()]
            for name, logname in procs:
                p = self._procs.get(name)
                if p is not None and p.poll() is not None:
                    raise TbEnvError("%s exited with %s:\n%s" % (
                        name, p.returncode, tail(self.logs[logname])))
            try:
                status, ctype, body = http_get(self.base + "/api/v1/health", timeout=5)
                last = "%d %s" % (status, body[:200].decode("utf-8", "replace"))
                if status == 200 and self.db_running:
                    streak += 1
                    if streak >= need:
                        return
                    continue
                if status == 503 and not self.db_running and "json" in ctype:
                    return
            except OSError as e:
                last = str(e)
            streak = 0
            time.sleep(0.1)
        raise TbEnvError("GET %s/api/v1/health: %s after %.0f s\n--- workers.log\n%s\n"
                         "--- %s\n%s" % (
                             self.base, last, timeout, tail(self.logs["workers.log"]),
                             os.path.basename(self.web_error_log), tail(self.web_error_log)))

    def _fill(self, template, subst, out_name):
        """Reads a template, replaces its @NAME@ placeholders, writes it to etc/out_name."""
        with open(template) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            raise TbEnvError("%s: unknown placeholders %s" % (template, left))
        out = self.path("etc", out_name)
        self._write_file(out, text)
        return out

    def start_web(self):
        """Starts the set-up's web server and waits until it listens."""
        if not port_is_free(self.port):
            raise TbEnvError("port %d on 127.0.0.1 is in use (choose another with PORT=...)"
                             % self.port)
        if self.setup == "lighttpd":
            prog = shutil.which("lighttpd", path="/usr/sbin:/usr/bin:/sbin") or "lighttpd"
            conf = self._write_lighttpd_conf()
            self._run([prog, "-tt", "-f", conf], timeout=30)
            cmd = [prog, "-D", "-f", conf]
        else:
            conf = self._write_apache_conf()
            self._run([APACHE, "-t", "-f", conf], timeout=30)
            cmd = [APACHE, "-f", conf, "-DFOREGROUND"]
        name = self.web_server
        p = self._spawn(name, cmd)
        self._web_started = True
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise TbEnvError("%s exited with %s:\n%s\n%s" % (
                    name, p.returncode, tail(self.logs["%s-stderr.log" % name]),
                    tail(self.web_error_log)))
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TbEnvError("%s did not listen on %s:%d within 15 s" % (name, self.host, self.port))

    def stop_web(self):
        self._stop_proc(self.web_server)

    def stop_host(self):
        """The web host goes down: its web server and every worker (with any supervisor = auto
        candidates they run) stop. The database and other hosts keep running."""
        self.stop_web()
        self.stop_app()

    def start_host(self):
        """The web host comes back after stop_host(); waits until it answers."""
        if self.setup == "lighttpd":
            self.start_app(wait=False)
        self.start_web()
        self.wait_health()

    # -- lighttpd
    def _write_lighttpd_conf(self):
        if self.lighttpd_conf == "production":
            return self._write_lighttpd_production_conf()
        return self._fill(os.path.join(self.src_dir, "conf", "lighttpd", "dev.conf.in"), {
            "PORT": str(self.port), "WEB_DIR": self.path("web"), "TMP_DIR": self.path("tmp"),
            "LOG_DIR": self.log_dir, "API_SOCKET": self.api_socket,
            "STREAM_SOCKET": self.stream_socket, "STATE_DIR": self.state_dir}, "lighttpd.conf")

    def _write_lighttpd_production_conf(self):
        enabled = self.path("etc", "lighttpd-conf-enabled")
        shutil.rmtree(enabled, ignore_errors=True)
        os.makedirs(enabled)
        shutil.copyfile("/etc/lighttpd/conf-available/10-fastcgi.conf",
                        os.path.join(enabled, "10-fastcgi.conf"))
        with open(os.path.join(self.src_dir, "conf", "lighttpd", "teamboard.conf")) as f:
            site = f.read()
        # the "settings: edit these" lines, as an admin would edit them
        for var, value in (("teamboard_home", self.state_dir),
                           ("teamboard_rest_socket", self.api_socket),
                           ("teamboard_stream_socket", self.stream_socket)):
            site, n = re.subn(r'(?m)^var\.%s\s*=.*$' % var,
                              'var.%s = "%s"' % (var, value), site)
            if n != 1:
                raise TbEnvError("conf/lighttpd/teamboard.conf: no line var.%s = ..." % var)
        self._write_file(os.path.join(enabled, "50-teamboard.conf"), site)
        if self.stream_mode == "host":
            # the stream host's limits (conf/lighttpd/teamboard-streamhost.conf), as shipped
            shutil.copyfile(os.path.join(self.src_dir, "conf", "lighttpd",
                                         "teamboard-streamhost.conf"),
                            os.path.join(enabled, "51-teamboard-streamhost.conf"))
        self.account.chown_tree(enabled)
        return self._fill(os.path.join(self.src_dir, "tests", "harness", "lighttpd",
                                       "debian.conf.in"), {
            "PORT": str(self.port), "TMP_DIR": self.path("tmp"), "LOG_DIR": self.log_dir,
            "RUN_DIR": self.run_dir, "CONF_ENABLED": enabled}, "lighttpd.conf")

    # -- Apache
    def _write_apache_conf(self):
        load = []
        # as Debian's apache2.conf does: every module's .load first, then every .conf (some
        # .conf files test <IfModule> for a module loaded after theirs: deflate for filter)
        for ext in ("load", "conf"):
            without = self.host_settings.get("without_modules", ())
            extra = ("proxy", "proxy_fcgi") if self.stream_mode == "host" else ()
            for mod in APACHE_DEFAULT_MODULES + APACHE_SETUP_MODULES[self.setup] + extra:
                if mod in without:
                    continue
                f = "/etc/apache2/mods-available/%s.%s" % (mod, ext)
                if os.path.isfile(f):
                    load.append("Include %s" % f)
                elif ext == "load":
                    raise TbEnvError("%s missing (apt-get install apache2 libapache2-mod-fcgid)"
                                     % f)
        harness = os.path.join(self.src_dir, "tests", "harness", "apache")
        if self.setup == "apache-fcgid":
            # the production virtual host itself, its "edit these" settings Defined here
            site_src = os.path.join(self.src_dir, "conf", "apache", "teamboard.conf")
            site = self.path("etc", "apache", "teamboard.conf")
            shutil.copyfile(site_src, site)
            defines = {"TB_HOME": self.state_dir, "TB_CONF": self.config_file,
                       "TB_SERVER_NAME": "127.0.0.1", "TB_VHOST": "127.0.0.1:%d" % self.port,
                       "TB_STREAM_PROCS": str(self.stream_pool_size),
                       "TB_REST_PROCS": str(self.workers),
                       "TB_MAX_BODY": str(self.config.get("max_body") or 65536),
                       "TB_MAX_IMPORT": str(self.config.get("max_import") or 16777216)}
            if self.stream_mode == "host":
                defines["TB_STREAM_HOST_SOCKET"] = self.stream_socket
            site_text = "\n".join("Define %s %s" % kv for kv in defines.items())
            site_text += "\nInclude %s\n" % site
        elif self.setup == "apache-htaccess-cpanel":
            site = self._fill(os.path.join(harness, "cpanel-host.conf.in"), {
                "PORT": str(self.port), "WEB_SPACE": self.web_space,
                "SUEXEC": self.path("etc", "host", "suexec"),
                "WRAPPERS": self._cpanel_wrappers()}, "apache/cpanel-host.conf")
            site_text = "Include %s\n" % site
        else:
            site = self._fill(os.path.join(harness, "shared-host.conf.in"), {
                "PORT": str(self.port), "WEB_SPACE": self.web_space,
                "ALLOW_OVERRIDE": self.host_settings.get("allow_override",
                                                         "FileInfo Options=ExecCGI")},
                "apache/shared-host.conf")
            site_text = "Include %s\n" % site
            if "output_buffer" in self.host_settings:
                site_text += "<IfModule mod_fcgid.c>\n    FcgidOutputBufferSize %d\n" \
                             "</IfModule>\n" % int(self.host_settings["output_buffer"])
        return self._fill(os.path.join(harness, "httpd.conf.in"), {
            "STATE_DIR": self.state_dir, "RUN_DIR": self.run_dir, "LOG_DIR": self.log_dir,
            "PORT": str(self.port), "LOAD_MODULES": "\n".join(load), "SITE": site_text},
            "apache/httpd.conf")

    # -- reports
    def report_problems(self):
        """Sanitizer reports (any non-empty file in log/sanitizer), valgrind logs with errors, and
        sanitizer lines in the worker and admin logs. Returns a list of texts."""
        problems = []
        san = self.path("log", "sanitizer")
        for name in sorted(os.listdir(san)) if os.path.isdir(san) else []:
            p = os.path.join(san, name)
            if os.path.isfile(p) and os.path.getsize(p) > 0:
                problems.append("sanitizer report %s:\n%s" % (p, tail(p, 60)))
        vg = self.path("log", "valgrind")
        unfinished = 0
        for name in sorted(os.listdir(vg)) if os.path.isdir(vg) else []:
            p = os.path.join(vg, name)
            with open(p, errors="replace") as f:
                text = f.read()
            m = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
            if m:
                if int(m[-1]) > 0:
                    problems.append("valgrind report %s:\n%s" % (p, text[-6000:]))
            elif "a memory error detector" in text:
                unfinished += 1  # a full log cut short: the process was killed
            elif text.strip():
                # with -q valgrind writes nothing but errors
                problems.append("valgrind report %s:\n%s" % (p, text[-6000:]))
        if unfinished:
            log("%d valgrind log(s) without an ERROR SUMMARY (process killed?) in %s"
                % (unfinished, vg))
        for logname in ("workers.log", "streams.log", "supervisor.log", "admin.log"):
            p = self.logs[logname]
            if os.path.isfile(p):
                with open(p, errors="replace") as f:
                    hits = [ln for ln in f if SANITIZER_RE.search(ln)]
                if hits:
                    problems.append("sanitizer output in %s:\n%s" % (p, "".join(hits[:20])))
        return problems


def _read_pid(pidfile, must_contain):
    """The pid in pidfile if that process still runs a command line naming must_contain."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    if must_contain in cmdline(pid):
        return pid
    # The leader may be gone while its children (same process group) still run.
    if any(must_contain in cmdline(m) for m in group_members(pid)):
        return pid
    return None


# ---- command line (dev.sh) ---------------------------------------------------------------------

def _load_state(state_dir):
    try:
        with open(os.path.join(state_dir, "tbenv.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _attach(args, **kw):
    """An Env on an existing state dir (to stop or inspect what an earlier "up" started)."""
    st = _load_state(args.state_dir)
    return Env(state_dir=args.state_dir, persistent=True, port=st.get("port") or 1,
               db_port=st.get("db_port"), build_dir=st.get("build_dir"),
               setup=st.get("setup") or "lighttpd", src_dir=st.get("src_dir") or REPO, **kw)


def cmd_up(args):
    if os.path.isdir(args.state_dir):
        cmd_down(args, quiet=True)
    overrides = {}
    for kv in args.set or []:
        k, sep, v = kv.partition("=")
        if not sep:
            raise TbEnvError("--set wants KEY=VALUE, not %r" % kv)
        overrides[k.strip()] = v.strip()
    st = _load_state(args.state_dir)
    env = Env(state_dir=args.state_dir, persistent=True, build_dir=args.build_dir,
              port=args.port, db_port=st.get("db_port"), workers=args.workers,
              stream_workers=args.stream_workers, setup=args.setup,
              stream_mode=os.environ.get("TB_STREAM_MODE") or "worker",
              stream_hosts=int(os.environ.get("TB_STREAM_HOSTS") or 2),
              wrapper=os.environ.get("TB_WORKER_WRAPPER") or None, config=overrides,
              app=not args.no_app, supervisor=not args.no_app and not args.no_supervisor and
              SETUP_CONFIG.get(args.setup, {}).get("supervisor") != "auto" and  # workers run it
              os.path.isfile(os.path.join(REPO, args.build_dir, "fcgi", "teamboard-supervisor")))
    env.start()
    print(env.base + "/")
    return 0


def cmd_down(args, quiet=False):
    if not os.path.isdir(args.state_dir):
        if not quiet:
            print("nothing to stop: %s does not exist" % args.state_dir)
        return 0
    env = _attach(args)
    problems = env.stop()
    for p in problems:
        log(p)
    if not quiet:
        print("stopped (state kept in %s)" % args.state_dir)
    return 1 if problems else 0


def cmd_status(args):
    st = _load_state(args.state_dir)
    if not st:
        print("not set up: %s" % args.state_dir)
        return 3
    env = _attach(args)
    ok = True
    names = (("workers",) + env.stream_proc_names() if env.setup == "lighttpd" else ()) + (
        "supervisor", env.web_server)
    print("%-10s %s" % ("set-up", env.setup))
    for name in names:
        pidfile = env.path("run", "%s.pid" % name)
        if name == "supervisor" and not os.path.exists(pidfile):
            print("%-10s not started" % name)
            continue
        pid = _read_pid(pidfile, env.state_dir)
        ok &= bool(pid)
        print("%-10s %s" % (name, "running, pid %d" % pid if pid else "stopped"))
    pg = env._postmaster_alive()
    ok &= pg
    print("%-10s %s" % ("postgresql", "running, port %s, socket dir %s" % (env.db_port, env.run_dir)
                        if pg else "stopped"))
    try:
        status, _, body = http_get(env.base + "/api/v1/health", timeout=3)
        print("%-10s %s/api/v1/health -> %d %s" % ("health", env.base, status,
                                                    body[:200].decode("utf-8", "replace")))
        ok &= status == 200
    except OSError as e:
        print("%-10s %s/api/v1/health -> %s" % ("health", env.base, e))
        ok = False
    print("%-10s %s" % ("logs", env.log_dir))
    return 0 if ok else 1


def cmd_leftovers(args):
    """Processes whose command line names a path under args.under (e.g. the parent of the test
    state dirs); with --kill their process groups are stopped. Exit 1 when any were found."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        st = _proc_stat(int(name))
        if st and st[0] != "Z" and args.under in cmdline(int(name)):
            found.setdefault(st[1], []).append(int(name))
    for pgid, pids in sorted(found.items()):
        for pid in pids:
            print("leftover process %d (group %d): %s" % (pid, pgid, cmdline(pid)[:200]))
        if args.kill:
            stop_group(pgid, timeout=5)
    return 1 if found else 0


def cmd_psql(args):
    env = _attach(args)
    if not env._postmaster_alive():
        raise TbEnvError("PostgreSQL is not running (./dev.sh run)")
    os.execv(os.path.join(PG_BIN, "psql"), ["psql", env._dsn(user=args.user)] + args.rest)


def main(argv=None):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `tbenv.py status | head` ends quietly
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start (or restart) a persistent environment, then return")
    down = sub.add_parser("down", help="stop what 'up' started")
    status = sub.add_parser("status", help="show what runs")
    psql = sub.add_parser("psql", help="psql into the environment's database "
                          "(further arguments go to psql)")
    left = sub.add_parser("leftovers", help="list (--kill: stop) processes running from a dir")
    left.add_argument("--under", required=True)
    left.add_argument("--kill", action="store_true")
    for p in (up, down, status, psql):
        p.add_argument("--state-dir", required=True)
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or "build")
    up.add_argument("--workers", type=int, default=int(os.environ.get("TB_WORKERS") or 4),
                    help="processes in the REST pool (default 4)")
    up.add_argument("--stream-workers", type=int,
                    default=int(os.environ.get("TB_STREAM_WORKERS") or 8),
                    help="processes in the stream pool (default 8; max_streams defaults to 2 "
                    "fewer, and the pool grows to max_streams + 2 when --set asks for more)")
    up.add_argument("--setup", choices=SETUPS, default=os.environ.get("TB_SETUP") or "lighttpd",
                    help="the web server set-up (default lighttpd)")
    up.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="teamboard.conf setting (repeatable)")
    up.add_argument("--no-app", action="store_true",
                    help="PostgreSQL and the web server only (no worker pool)")
    up.add_argument("--no-supervisor", action="store_true",
                    help="do not start teamboard-supervisor (started when it was built)")
    psql.add_argument("--user", default=DB_OWNER,
                      help="database role (default %s, the owner; the workers' is %s)"
                      % (DB_OWNER, DB_USER))
    args, rest = ap.parse_known_args(argv)
    if rest and args.cmd != "psql":
        ap.error("unrecognized arguments: %s" % " ".join(rest))
    args.rest = [a for a in rest if a != "--"] if args.cmd == "psql" else []
    if args.cmd == "leftovers":
        args.under = os.path.abspath(args.under)
        return cmd_leftovers(args)
    args.state_dir = os.path.abspath(args.state_dir)
    try:
        return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "psql": cmd_psql}[
            args.cmd](args)
    except TbEnvError as e:
        log("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
