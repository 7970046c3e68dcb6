"""tbenv.stack: PostgreSQL and the pools, the part of an environment that is not the web server.

Class Stack owns one state directory and what runs from it (see the package's docstring for the
layout): the service account, the PostgreSQL cluster (initdb, start, stop, the database and its
two roles, migrate), teamboard.conf, the FastCGI pools or stream host processes, the supervisor,
and the sanitizer and valgrind reports. It leaves the web server to tbenv.web.Env, its one
subclass (start_web, stop_web, web_server, web_error_log and the set-up's own preparations).

What the tests and `./dev.sh run` use is the default; the benchmarks (bench/) pass their own sizes:
the pools' and PostgreSQL's (pg_settings, pg_env, durable), the application's defaults
(app_defaults), RLIMIT_NOFILE (nofile), and streams_fit_pool=False for a stream pool smaller than
max_streams (a stream host holds the rest).
"""

import json
import os
import pwd
import re
import resource
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


def children(pid):
    """Direct children of pid (from /proc/PID/task/*/children)."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def smaps_rollup(pid):
    """{field: kB} from /proc/PID/smaps_rollup, {} when the process is gone."""
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return {}
    return out


def proc_ticks(pid, reaped=False):
    """utime + stime of pid (with reaped: + the times of the children it waited for), in ticks."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return 0
    fields = data[data.rfind(")") + 2:].split()
    t = int(fields[11]) + int(fields[12])
    if reaped:
        t += int(fields[13]) + int(fields[14])
    return t


def syscall_of(pid):
    """The number of the system call pid is blocked in (/proc/PID/syscall), None if running/gone."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


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

class Stack:
    """PostgreSQL, the pools and the supervisor of one environment, all under state_dir; the web
    server is tbenv.web.Env's (this class is not used alone).

    For tests (persistent=False) the state dir is a new /tmp/<state_prefix>XXXXXX, removed by
    stop(); for development (persistent=True) the database survives between runs.

    With db_env=<another Env> it is only a web host: it uses that environment's database (started
    and migrated already) and starts and stops nothing else; see Env.add_host().

    The benchmarks' sizes: pg_settings (postgresql.conf lines, name -> value, over the defaults),
    pg_env (the postmaster's environment), durable (fsync and synchronous_commit; default: only
    when persistent), app_defaults (teamboard.conf's defaults instead of APP_DEFAULTS), nofile
    (RLIMIT_NOFILE raised for the processes started), streams_fit_pool (False: the stream pool
    keeps its size even below max_streams + 2), sql_search_path (sql()'s search_path), wait_pools
    (start() also waits until every worker of the lighttpd set-up's stream pool runs)."""

    def __init__(self, state_dir=None, persistent=False, build_dir=None, port=None, db_port=None,
                 workers=4, wrapper=None, config=None, src_dir=REPO, keep_state=False,
                 asan_detect_leaks=True, app=True, supervisor=False, setup="lighttpd",
                 stream_workers=8, db_env=None, stream_mode="worker", stream_hosts=2,
                 setup_config=None, state_prefix="tb-test.", pg_settings=None, pg_env=None,
                 durable=None, app_defaults=None, nofile=None, streams_fit_pool=True,
                 sql_search_path=None, wait_pools=False):
        self.setup = setup
        self.stream_mode = stream_mode
        self.stream_hosts = max(1, int(stream_hosts))
        self.src_dir = os.path.abspath(src_dir)
        self.build_dir = os.path.abspath(os.path.join(self.src_dir, build_dir or "build"))
        self.persistent = persistent
        self.keep_state = keep_state
        self.workers = int(workers)
        self.wrapper = shlex.split(wrapper) if isinstance(wrapper, str) else list(wrapper or [])
        self.asan_detect_leaks = asan_detect_leaks
        self.with_app = app
        self.with_supervisor = bool(supervisor)
        self.db_env = db_env
        self.pg_settings = dict(pg_settings or {})
        self.pg_env = dict(pg_env or {})
        self.durable = persistent if durable is None else bool(durable)
        self.nofile = nofile
        self.sql_search_path = sql_search_path
        self.wait_pools = wait_pools
        self.account = Account.for_servers()
        if state_dir is None:
            if persistent:
                raise TbEnvError("a persistent environment needs a state_dir")
            parent = os.environ.get("TB_STATE_PARENT") or "/tmp"
            state_dir = tempfile.mkdtemp(prefix=state_prefix, dir=parent)
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
        self.base_config = dict(APP_DEFAULTS if app_defaults is None else app_defaults)
        self.base_config.update(setup_config or {})
        self.base_config["allowed_origins"] = "http://127.0.0.1:%d http://localhost:%d" % (
            self.port, self.port)
        self.base_config.update(config or {})
        # The stream pool must be bigger than max_streams: a stream over max_streams is then
        # refused with 503 by a free worker, instead of waiting for one (lighttpd: forever).
        self.stream_workers = int(stream_workers)
        self.streams_fit_pool = streams_fit_pool
        if "max_streams" not in self.base_config or (
                app_defaults is None and "max_streams" not in (config or {})):
            self.base_config["max_streams"] = max(1, self.stream_workers - 2)
        ms = int(self.base_config["max_streams"])
        if streams_fit_pool and self.stream_workers < ms + 2:
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
        self._config_mode = 0o644  # teamboard.conf's mode
        self.wait_on_start = True  # start() waits for a healthy API (and then starts a supervisor)

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
    def logs(self):
        names = ["postgresql.log", "workers.log", "streams.log", "supervisor.log", "admin.log",
                 "lighttpd-error.log", "lighttpd-access.log", "lighttpd-stderr.log",
                 "apache-error.log", "apache-access.log", "apache-stderr.log",
                 "teamboard-error.log", "teamboard-access.log"]
        return {n: os.path.join(self.log_dir, n) for n in names}

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
            self._raise_nofile()
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
            if self.with_app and self.wait_on_start:
                self.wait_health()
                if self.wait_pools and self.setup == "lighttpd" and self.stream_mode == "worker":
                    self.wait_pool("streams", self.stream_pool_size)
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
        """The state dir: its directories, copies of sql/, web/ and the programs; owned by the
        service account (the web set-ups add theirs: Env._prepare)."""
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
            self._copy_programs()
        for stale in ("api.sock", "stream.sock"):
            try:
                os.unlink(self.path("run", stale))
            except FileNotFoundError:
                pass
        self.account.chown_tree(self.state_dir)

    def _copy_programs(self):
        # teamboard-supervisor and teamboard-streamhost are copied when built, and needed only
        # when the supervisor runs or the streams are hosted (use_stream_mode may switch later)
        for prog in ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor",
                     "teamboard-streamhost"):
            src = os.path.join(self.build_dir, "fcgi", prog)
            needed = {"teamboard-supervisor": self.with_supervisor,
                      "teamboard-streamhost": self.stream_mode == "host"}.get(prog, True)
            if not os.path.isfile(src):
                if not needed:
                    continue
                if prog in ("teamboard-supervisor", "teamboard-streamhost"):
                    raise TbEnvError("%s not found" % src)
                raise TbEnvError("%s not found: build first (mkdir -p build && cd build && "
                                 "../configure && make)" % src)
            dst = self.path("bin", prog)
            if os.path.exists(dst):
                os.unlink(dst)
            shutil.copy2(src, dst)
            os.chmod(dst, 0o755)

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

    def _run(self, cmd, timeout, input=None, check=True, log_name=None, extra_env=None):
        """Runs cmd as the service account and waits (bounded). Output is returned and, with
        log_name, appended to that log. extra_env: variables set (empty: removed) for cmd."""
        env = self._env()
        for k, v in (extra_env or {}).items():
            if v:
                env[k] = v
            else:
                env.pop(k, None)
        try:
            r = subprocess.run(cmd, cwd=self.state_dir, env=env, input=input,
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
        cmd, as_account = self._spawn_as(name, cmd, env, as_account)
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

    def _spawn_as(self, name, cmd, env, as_account):
        """The command and account a server named name is started with; env may be changed in
        place (the web set-ups start the web server their way: Env._spawn_as)."""
        return cmd, as_account

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
    def _pg(self, *args, timeout=90, extra_env=None):
        return self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.pg_data] + list(args),
                         timeout=timeout, extra_env=extra_env)

    def _write_pg_conf(self):
        on = "on" if self.durable else "off"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": "%d" % self.db_port,
            "unix_socket_directories": "'%s'" % self.run_dir,
            "unix_socket_permissions": "0700",
            "max_connections": "300",
            "shared_buffers": "64MB",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "log_min_messages": "warning",
            "fsync": on,
            "synchronous_commit": on,
            "full_page_writes": on,
        }
        settings.update(self.pg_settings)
        lines = ["# written by tools/tbenv at every start"]
        lines += ["%s = %s" % kv for kv in settings.items()]
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
            self._pg("-l", self.path("log", "postgresql.log"), "-w", "-t", "120", "start",
                     timeout=150, extra_env=self.pg_env)
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
                if self.sql_search_path:
                    with self._conn.cursor() as cur:
                        cur.execute("SELECT set_config('search_path', %s, false)",
                                    (self.sql_search_path,))
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
        lines = ["# teamboard.conf written by tools/tbenv (set-up %s)" % self.setup]
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
        self._write_file(self.config_file, self._config_text(cfg), mode=self._config_mode)
        if self.setup == "lighttpd" or self.stream_mode == "host":
            cfg["supervisor"] = "off"
            self._write_file(self.stream_config_file, self._config_text(cfg))
        self._config_written()

    def _config_written(self):
        """Called after every write of teamboard.conf (the web space set-ups install again)."""

    @property
    def stream_pool_size(self):
        """The stream pool's (Apache: the stream class's) size: stream_workers, and always 2 more
        than the current max_streams."""
        if not self.streams_fit_pool:
            return self.stream_workers
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
        those started and those whose pid files are left (tbenv down)."""
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

    # -- measurements and switches of the benchmarks (bench/)
    @property
    def procs(self):
        """name -> Popen of what runs: "workers" (the REST pool), "streams" (the stream pool or
        the first stream host), "streams-N" (the other hosts), the web server, "supervisor"."""
        return self._procs

    @property
    def heartbeat(self):
        return int(self.config["heartbeat_interval"])

    def dsn(self, user=DB_SUPERUSER, dbname=DB_NAME):
        """The libpq connection string of the database as user (over the Unix socket)."""
        return self._dsn(user, dbname)

    def _raise_nofile(self):
        """RLIMIT_NOFILE up to nofile for this process and so for every process it starts
        (nothing system-wide); self.nofile becomes the limit reached."""
        if not self.nofile:
            return
        want = int(self.nofile)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < want:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
            except (ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def pool_workers(self, name):
        """The worker processes of the prefork pool name ("workers", "streams")."""
        return children(self._procs[name].pid)

    def wait_pool(self, name, n, timeout=120):
        """Waits (bounded) until the pool name runs n workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.pool_workers(name)) >= n:
                return
            time.sleep(0.2)
        raise TbEnvError("%s: only %d of %d workers after %d s" % (
            name, len(self.pool_workers(name)), n, timeout))

    def use_stream_mode(self, mode, timeout=60):
        """lighttpd set-up: run/stream.sock gets a new holder, the stream pool (mode "worker",
        waited for until all its workers run) or the stream hosts ("host"); the rest keeps
        running. Waits (bounded) until the socket is there."""
        if mode not in ("worker", "host"):
            raise TbEnvError("stream mode %r: worker or host" % mode)
        for name in self.stream_proc_names():
            self._stop_proc(name)
        if mode == "host" and not os.path.isfile(self.path("bin", "teamboard-streamhost")):
            raise TbEnvError("%s/fcgi/teamboard-streamhost not found: build first"
                             % self.build_dir)
        self.stream_mode = mode
        try:
            os.unlink(self.stream_socket)
        except FileNotFoundError:
            pass
        if mode == "host":
            self._start_stream_hosts()
        else:
            self._spawn("streams", self._worker_cmd("streams"))
            self.wait_pool("streams", self.stream_pool_size, timeout=timeout)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.stream_socket):
            if self._procs["streams"].poll() is not None or time.monotonic() > deadline:
                raise TbEnvError("%s holder did not start:\n%s" % (
                    mode, tail(self.logs["streams.log"])))
            time.sleep(0.05)

    def cpu_ticks(self):
        """CPU time (clock ticks, user + system) used so far by each part of the stack: PostgreSQL
        (the postmaster and its live children), the worker pools (likewise), the web server and
        the supervisor. Processes that exit in between are not counted."""
        groups = {"postgres": self._postmaster_pid(), "rest_workers": self._procs.get("workers"),
                  "stream_workers": self._procs.get("streams"),
                  "lighttpd": self._procs.get("lighttpd"),
                  "supervisor": self._procs.get("supervisor")}
        out = {}
        for name, p in groups.items():
            pid = p if isinstance(p, int) or p is None else p.pid
            out[name] = 0 if pid is None else proc_ticks(pid) + sum(
                proc_ticks(c) for c in children(pid))
        for name in self.stream_proc_names()[1:]:  # the other stream hosts
            p = self._procs.get(name)
            out["stream_workers"] += proc_ticks(p.pid) if p is not None else 0
        return out

    def pg_setting(self, name):
        return self.sql("SELECT current_setting(%s)", (name,))[0][0]

    def versions(self):
        out = {}
        try:
            out["lighttpd"] = subprocess.run(["lighttpd", "-v"], stdout=subprocess.PIPE, text=True,
                                             timeout=10).stdout.split()[0]
        except Exception:
            pass
        try:
            out["postgresql"] = self.sql("SHOW server_version")[0][0]
        except Exception:
            pass
        return out

    def describe(self):
        """The sizes and settings a benchmark result records."""
        return {
            "rest_workers": self.workers, "stream_workers": self.stream_workers,
            "stream_mode": self.stream_mode,
            "stream_hosts": self.stream_hosts if self.stream_mode == "host" else 0,
            "max_streams": int(self.config["max_streams"]),
            "heartbeat_interval": self.heartbeat,
            "pg": {k: self.pg_setting(k) for k in ("max_connections", "shared_buffers", "fsync",
                                                   "synchronous_commit", "full_page_writes")},
            "nofile": self.nofile, "pg_environment": self.pg_env,
            "app_conf": {k: v for k, v in self.config.items() if k != "database"},
        }

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

