"""benchenv: the benchmark's own Teamboard stack on this machine (PostgreSQL 15, two prefork pools of
teamboard.fcgi, teamboard-supervisor and lighttpd), sized for thousands of event streams.

It is started the way tests/harness/tbenv.py starts the test stack (a throw-away state dir, the
servers as the unprivileged user "teamboard" when run as root, loopback only, every wait bounded,
the database's owner role running migrate and everything else connecting as the runtime role),
but with what the test stack does not need:
  * PostgreSQL max_connections for every stream worker plus the REST pool (one backend per stream),
    durable commits by default (fsync and synchronous_commit on: the settings a deployment runs
    with; --no-durable turns them off, as the tests do);
  * a REST pool (run/api.sock) and a stream pool (run/stream.sock) of their own sizes, and
    lighttpd's max-fds/max-connections to match (bench/lighttpd.conf.in); with
    TB_STREAM_MODE=host, TB_STREAM_HOSTS (default 2) teamboard-streamhost processes on
    run/stream.sock instead of the stream pool (the socket made here and passed with --fd, as
    tbenv and systemd do);
  * RLIMIT_NOFILE raised for the processes it starts (they inherit it from this process; the
    system-wide settings are not touched).
Everything it starts runs in its own process group and is stopped by stop(), also after a failure.
"""

import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
PG_BIN = "/usr/lib/postgresql/15/bin"
SERVICE_USER = "teamboard"
DB = "teamboard"
# The database's two roles, as tests/harness/tbenv.py and docs/deploy.md have them: the owner runs
# migrate; the workers, the stream pool and the supervisor connect as the runtime role.
DB_OWNER = "teamboard"
DB_USER = "teamboard_app"
HOST_NAME = "bench"
PG_MALLOC = "glibc.malloc.trim_threshold=1048576:glibc.malloc.mmap_threshold=1048576"


class EnvError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return "(no %s)" % path


def group_alive(pgid):
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_group(pgid, timeout=20.0):
    """SIGTERM to the process group, SIGKILL after timeout; waits (bounded) until it is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_alive(pgid):
                return
            time.sleep(0.05)
    log("process group %d did not stop" % pgid)


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


class BenchEnv:
    def __init__(self, build_dir, rest_workers=16, stream_workers=4200, max_streams=None,
                 heartbeat=5, durable=True, state_dir=None, keep=False, port=None, log_level="warn",
                 src_dir=REPO, extra_connections=0, stream_mode=None):
        self.build_dir = os.path.abspath(build_dir)
        self.src_dir = os.path.abspath(src_dir)  # where sql/ and web/ come from
        self.rest_workers = rest_workers
        self.stream_workers = stream_workers
        self.stream_mode = stream_mode or os.environ.get("TB_STREAM_MODE") or "worker"
        if self.stream_mode not in ("worker", "host"):
            raise EnvError("TB_STREAM_MODE %r: worker or host" % self.stream_mode)
        self.stream_hosts = max(1, int(os.environ.get("TB_STREAM_HOSTS") or 2))
        self.extra_connections = extra_connections  # the benchmark's own (pgprobe fanout)
        self.max_streams = max_streams if max_streams is not None else max(1, stream_workers - 20)
        self.heartbeat = heartbeat
        self.durable = durable
        self.keep = keep
        self.log_level = log_level
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                SERVICE_USER], check=False, timeout=60)
                pw = pwd.getpwnam(SERVICE_USER)
        else:
            pw = pwd.getpwuid(os.geteuid())
        self.uid, self.gid, self.user = pw.pw_uid, pw.pw_gid, pw.pw_name
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="tb-bench.", dir="/tmp")
        os.makedirs(self.state_dir, exist_ok=True)
        self.port = port or free_port()
        self.db_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.procs = {}
        self.pg_started = False
        self._conn = None
        # Environment of the postmaster, and so of every backend. glibc's malloc gives memory
        # freed at the end of a query back to the kernel (and each query faults it in again)
        # unless told to keep up to 1 MiB; on this VM a page fault is dear, and PostgreSQL spent
        # half its time per GET /boards/:id in them (docs/performance.md). TB_BENCH_PG_ENV_<NAME>
        # sets or (empty) removes a variable, e.g. TB_BENCH_PG_ENV_GLIBC_TUNABLES= for glibc's
        # defaults.
        self.pg_env = {"GLIBC_TUNABLES": PG_MALLOC}
        self.pg_env.update({k[len("TB_BENCH_PG_ENV_"):]: v for k, v in os.environ.items()
                            if k.startswith("TB_BENCH_PG_ENV_")})
        self.pg_env = {k: v for k, v in self.pg_env.items() if v}

    # -- paths
    def path(self, *p):
        return os.path.join(self.state_dir, *p)

    @property
    def run_dir(self):
        return self.path("run")

    def dsn(self, user="postgres"):
        return "host=%s port=%d dbname=%s user=%s" % (self.run_dir, self.db_port, DB, user)

    # -- running as the service user
    def _popen_args(self):
        if self.uid == os.geteuid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def _env(self):
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.state_dir, "LANG": "C.UTF-8",
                "TZ": "UTC", "USER": self.user, "TMPDIR": self.path("tmp"),
                "TEAMBOARD_CONF": self.path("etc", "teamboard.conf")}

    def _run(self, cmd, timeout, log_name=None, extra_env=None):
        env = self._env()
        env.update(extra_env or {})
        env = {k: v for k, v in env.items() if v}
        r = subprocess.run(cmd, cwd=self.state_dir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           **self._popen_args())
        if log_name:
            with open(self.path("log", log_name), "a") as f:
                f.write("$ %s\n%s" % (" ".join(cmd), r.stdout))
        if r.returncode != 0:
            raise EnvError("%s exited with %d:\n%s" % (" ".join(cmd), r.returncode, r.stdout[-3000:]))
        return r.stdout

    def _spawn(self, name, cmd, pass_fds=()):
        with open(self.path("log", name.split("-host")[0] + ".log"), "a") as logf:
            p = subprocess.Popen(cmd, cwd=self.state_dir, env=self._env(), stdin=subprocess.DEVNULL,
                                 pass_fds=pass_fds,
                                 stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                 **self._popen_args())
        self.procs[name] = p
        return p

    # -- lifecycle
    def start(self):
        try:
            self._raise_limits()
            self._prepare()
            self._start_pg()
            self._write_app_conf()
            self._run([self.path("bin", "teamboard-admin"), "--database", self.dsn(user=DB_OWNER), "migrate",
                       "--sql-dir", self.path("sql")], timeout=120, log_name="admin.log")
            self._spawn("rest-pool", [self.path("bin", "teamboard.fcgi"), "--listen",
                                      self.path("run", "api.sock"), "--workers", str(self.rest_workers)])
            if self.stream_mode == "host":
                self._start_stream_hosts()
            else:
                self._spawn("stream-pool", [self.path("bin", "teamboard.fcgi"), "--listen",
                                            self.path("run", "stream.sock"), "--workers",
                                            str(self.stream_workers)])
            self._spawn("supervisor", [self.path("bin", "teamboard-supervisor")])
            self._start_lighttpd()
            self._wait_health()
            if self.stream_mode != "host":
                self._wait_pool("stream-pool", self.stream_workers)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        self._close_conn()
        for name in ("lighttpd", "supervisor") + self.stream_proc_names() + ("rest-pool",):
            p = self.procs.pop(name, None)
            if p is not None:
                stop_group(p.pid)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        if self.pg_started or os.path.exists(self.path("pg", "postmaster.pid")):
            try:
                self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.path("pg"), "-m", "fast", "-w",
                           "-t", "60", "stop"], timeout=90)
            except Exception as e:
                log("pg_ctl stop failed (%s); immediate" % e)
                try:
                    self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.path("pg"), "-m",
                               "immediate", "-w", "-t", "30", "stop"], timeout=60)
                except Exception as e2:
                    log("pg_ctl stop -m immediate failed: %s" % e2)
            self.pg_started = False
        if not self.keep:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        else:
            log("state kept in %s" % self.state_dir)

    def stream_proc_names(self):
        """"stream-pool" (the pool, or the first stream host) and "stream-pool-host-N"."""
        return ("stream-pool",) + tuple("stream-pool-host-%d" % i for i in range(1, self.stream_hosts))

    def _start_stream_hosts(self):
        path = self.path("run", "stream.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(path)
            os.chmod(path, 0o660)
            if self.uid != os.geteuid():
                os.chown(path, self.uid, self.gid)
            s.listen(4096)
            for i in range(self.stream_hosts):
                self._spawn(self.stream_proc_names()[i], [
                    self.path("bin", "teamboard-streamhost"), "--fd", str(s.fileno())],
                    pass_fds=(s.fileno(),))
        finally:
            s.close()

    def _raise_limits(self):
        want = 65536
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < want:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
            except (ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def _prepare(self):
        os.chmod(self.state_dir, 0o755)
        for d in ("bin", "etc", "run", "log", "tmp", "web"):
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.path("run"), 0o700)
        progs = ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor")
        for prog in progs + (("teamboard-streamhost",) if self.stream_mode == "host" else ()):
            src = os.path.join(self.build_dir, "fcgi", prog)
            if not os.path.isfile(src):
                raise EnvError("%s not found: build first" % src)
            shutil.copy2(src, self.path("bin", prog))
        shutil.rmtree(self.path("sql"), ignore_errors=True)
        shutil.copytree(os.path.join(self.src_dir, "sql"), self.path("sql"))
        shutil.copy2(os.path.join(self.src_dir, "web", "index.html"), self.path("web", "index.html"))
        if self.uid != os.geteuid():
            for dirpath, dirnames, filenames in os.walk(self.state_dir):
                os.lchown(dirpath, self.uid, self.gid)
                for n in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, n), self.uid, self.gid)

    # -- PostgreSQL
    @property
    def max_connections(self):
        return self.stream_workers + self.rest_workers + self.extra_connections + 40

    def _start_pg(self):
        pg = self.path("pg")
        self._run([os.path.join(PG_BIN, "initdb"), "-D", pg, "-U", "postgres", "-E", "UTF8",
                   "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                   "--no-instructions"], timeout=180, log_name="initdb.log")
        on = "on" if self.durable else "off"
        conf = [
            "listen_addresses = ''",
            "port = %d" % self.db_port,
            "unix_socket_directories = '%s'" % self.run_dir,
            "unix_socket_permissions = 0700",
            "max_connections = %d" % self.max_connections,
            "shared_buffers = 256MB",
            "max_wal_size = 2GB",
            "checkpoint_timeout = 30min",
            "fsync = %s" % on,
            "synchronous_commit = %s" % on,
            "full_page_writes = %s" % on,
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "log_line_prefix = '%m [%p] '",
            "log_min_messages = warning",
        ]
        with open(os.path.join(pg, "postgresql.conf"), "a") as f:
            f.write("\n# tb-bench\n" + "\n".join(conf) + "\n")
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", pg, "-l", self.path("log", "postgresql.log"),
                   "-w", "-t", "120", "start"], timeout=150, extra_env=self.pg_env)
        self.pg_started = True
        self.sql("CREATE ROLE %s LOGIN" % DB_OWNER, db="postgres")
        self.sql("CREATE ROLE %s LOGIN" % DB_USER, db="postgres")
        self.sql("CREATE DATABASE %s OWNER %s" % (DB, DB_OWNER), db="postgres")

    def connect(self, db=DB):
        import psycopg2
        c = psycopg2.connect("host=%s port=%d dbname=%s user=postgres" % (self.run_dir, self.db_port, db),
                             connect_timeout=10)
        c.autocommit = True
        if db == DB:
            with c.cursor() as cur:
                cur.execute("SET search_path = teamboard, public")
        return c

    def _close_conn(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def sql(self, query, params=None, db=DB):
        if db != DB:
            c = self.connect(db)
            try:
                with c.cursor() as cur:
                    cur.execute(query, params)
                    return cur.fetchall() if cur.description else []
            finally:
                c.close()
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        with self._conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []

    def pg_setting(self, name):
        return self.sql("SELECT current_setting(%s)", (name,))[0][0]

    # -- the application
    def _write_app_conf(self):
        conf = {
            "database": self.dsn(user=DB_USER),
            "log_level": self.log_level,
            "heartbeat_interval": self.heartbeat,
            "stream_max_seconds": 0,
            "max_streams": self.max_streams,
            "max_streams_per_user": 20,
            "registration": "open",
            "host_name": HOST_NAME,
            "allowed_origins": "http://127.0.0.1:%d" % self.port,
        }
        self.app_conf = conf
        p = self.path("etc", "teamboard.conf")
        with open(p, "w") as f:
            f.write("# written by bench/benchenv.py\n")
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
        if self.uid != os.geteuid():
            os.chown(p, self.uid, self.gid)

    def _start_lighttpd(self):
        with open(os.path.join(BENCH_DIR, "lighttpd.conf.in")) as f:
            text = f.read()
        max_conns = self.stream_workers + 1024
        subst = {"PORT": str(self.port), "WEB_DIR": self.path("web"), "TMP_DIR": self.path("tmp"),
                 "LOG_DIR": self.path("log"), "API_SOCKET": self.path("run", "api.sock"),
                 "STREAM_SOCKET": self.path("run", "stream.sock"),
                 "MAX_CONNS": str(max_conns), "MAX_FDS": str(min(self.nofile, 4 * max_conns + 64))}
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            raise EnvError("lighttpd.conf.in: unknown placeholders %s" % left)
        conf = self.path("etc", "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(text)
        lighttpd = shutil.which("lighttpd", path="/usr/sbin:/usr/bin") or "lighttpd"
        self._run([lighttpd, "-tt", "-f", conf], timeout=30)
        p = self._spawn("lighttpd", [lighttpd, "-D", "-f", conf])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise EnvError("lighttpd exited:\n%s\n%s" % (tail(self.path("log", "lighttpd.log")),
                                                            tail(self.path("log", "lighttpd-error.log"))))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise EnvError("lighttpd does not listen on %d" % self.port)

    def _wait_health(self, timeout=60):
        deadline = time.monotonic() + timeout
        streak, need, last = 0, 2 * self.rest_workers + 2, ""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            for name in ("rest-pool", "stream-pool", "supervisor"):
                if self.procs[name].poll() is not None:
                    raise EnvError("%s exited:\n%s" % (name, tail(self.path("log", name + ".log"))))
            try:
                with opener.open(self.base + "/api/v1/health", timeout=5) as r:
                    last = str(r.status)
                    if r.status == 200:
                        streak += 1
                        if streak >= need:
                            return
                        continue
            except OSError as e:
                last = str(e)
            streak = 0
            time.sleep(0.1)
        raise EnvError("health: %s\n%s" % (last, tail(self.path("log", "rest-pool.log"))))

    def pool_workers(self, name):
        return children(self.procs[name].pid)

    def cpu_ticks(self):
        """CPU time (clock ticks, user + system) used so far by each part of the stack: PostgreSQL
        (the postmaster and its live children), the worker pools (likewise), lighttpd and the
        supervisor. Processes that exit in between are not counted (the scenarios keep theirs)."""
        out = {}
        pm = None
        try:
            with open(self.path("pg", "postmaster.pid")) as f:
                pm = int(f.readline())
        except (OSError, ValueError):
            pass
        groups = {"postgres": pm, "rest_workers": self.procs.get("rest-pool"),
                  "stream_workers": self.procs.get("stream-pool"), "lighttpd": self.procs.get("lighttpd"),
                  "supervisor": self.procs.get("supervisor")}
        for name, p in groups.items():
            pid = p if isinstance(p, int) or p is None else p.pid
            out[name] = 0 if pid is None else proc_ticks(pid) + sum(
                proc_ticks(c) for c in children(pid))
        for name in self.stream_proc_names()[1:]:  # the other stream hosts
            p = self.procs.get(name)
            out["stream_workers"] += proc_ticks(p.pid) if p is not None else 0
        return out

    def _wait_pool(self, name, n, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.pool_workers(name)) >= n:
                return
            time.sleep(0.2)
        raise EnvError("%s: only %d of %d workers after %d s" % (name, len(self.pool_workers(name)), n,
                                                                  timeout))

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
        return {
            "rest_workers": self.rest_workers, "stream_workers": self.stream_workers,
            "stream_mode": self.stream_mode,
            "stream_hosts": self.stream_hosts if self.stream_mode == "host" else 0,
            "max_streams": self.max_streams, "heartbeat_interval": self.heartbeat,
            "pg": {k: self.pg_setting(k) for k in ("max_connections", "shared_buffers", "fsync",
                                                   "synchronous_commit", "full_page_writes")},
            "nofile": self.nofile, "pg_environment": self.pg_env, "app_conf": {k: v for k, v in self.app_conf.items() if k != "database"},
        }

    def save(self):
        with open(self.path("benchenv.json"), "w") as f:
            json.dump({"port": self.port, "db_port": self.db_port, "state_dir": self.state_dir}, f)
