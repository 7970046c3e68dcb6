"""tbenv.web: the web-server set-ups in front of tbenv.stack's PostgreSQL and pools.

Env (a tbenv.stack.Stack) adds the web host of one of five set-ups (TB_SETUP), each run from the
project's own conf/ files:
  lighttpd         conf/lighttpd/dev.conf.in: static files, and two external prefork pools of
                   teamboard.fcgi: the REST pool (run/api.sock, TB_WORKERS) and the stream pool
                   (run/stream.sock, TB_STREAM_WORKERS) for ^/api/v1/boards/N/events. With
                   lighttpd_conf="production", conf/lighttpd/teamboard.conf inside Debian's main
                   config (tests/harness/lighttpd/debian.conf.in); a benchmark may name its own
                   template (bench/lighttpd.conf.in, with @MAX_CONNS@ and @MAX_FDS@)
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
the limit is refused with 503 at once instead of waiting for a busy pool. The tests have a sixth,
cgi: no web server, the worker run as plain CGI by tests/harness/tbcgi.py (its CgiEnv).
"""

import os
import pwd
import re
import resource
import shutil
import socket
import time

from .stack import (REPO, Stack, TbEnvError, port_is_free, tail)

APACHE = "/usr/sbin/apache2"
# The benchmarks' host_name (the streams registry's host column) and their PostgreSQL's malloc:
# glibc gives memory freed at the end of a query back to the kernel (and each query faults it in
# again) unless told to keep up to 1 MiB; on the benchmark VM a page fault is dear, and PostgreSQL
# spent half its time per GET /boards/:id in them (docs/performance.md).
BENCH_HOST_NAME = "bench"
BENCH_PG_MALLOC = "glibc.malloc.trim_threshold=1048576:glibc.malloc.mmap_threshold=1048576"


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


class Env(Stack):
    """One environment: PostgreSQL and the pools (Stack) behind the web host of one set-up
    (SETUPS), all under state_dir.

    host: a shared host's own settings (the web space set-ups), to model hosts that lack
    something (tests of conf/shared-hosting/check-webspace.sh): "allow_override" (default
    "FileInfo Options=ExecCGI"), "without_modules" (e.g. ("rewrite",)), "output_buffer"
    (FcgidOutputBufferSize; default 0), "wait" (False: start() does not wait for a healthy API,
    which such a host never gives). lighttpd_conf: "dev", "production" or a template's path (see
    the module). max_conns: a template's @MAX_CONNS@ (default: the stream pool + 1024)."""

    def __init__(self, setup="lighttpd", supervisor=None, lighttpd_conf="dev", host=None,
                 stream_mode="worker", wrapper=None, max_conns=None, **kw):
        if setup not in TEST_SETUPS:
            raise TbEnvError("unknown set-up %r (one of %s)" % (setup, ", ".join(SETUPS)))
        if stream_mode not in ("worker", "host") or (
                stream_mode == "host" and setup not in ("lighttpd", "apache-fcgid")):
            raise TbEnvError("TB_STREAM_MODE %r: worker, or host with the lighttpd or apache-fcgid "
                             "set-up" % stream_mode)
        if setup == "apache-htaccess-cpanel" and os.geteuid() != 0:
            raise TbEnvError("apache-htaccess-cpanel runs Apache and the programs as two users: "
                             "run as root")
        if wrapper and setup != "lighttpd":
            raise TbEnvError("TB_WORKER_WRAPPER works with the lighttpd set-up only (Apache "
                             "starts the workers itself)")
        self.host_settings = dict(host or {})
        self.lighttpd_conf = lighttpd_conf
        self.max_conns = max_conns
        # plain CGI runs no worker that could host a supervisor: run the daemon beside it
        if supervisor is None:
            supervisor = setup == "apache-cgi"
        super().__init__(setup=setup, supervisor=supervisor, stream_mode=stream_mode,
                         wrapper=wrapper, setup_config=SETUP_CONFIG.get(setup), **kw)
        self.wait_on_start = self.host_settings.get("wait", True)
        # cPanel-like: mode 0600, as the guide says; only the customer's programs can read it
        if setup == "apache-htaccess-cpanel":
            self._config_mode = 0o600

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

    @classmethod
    def for_benchmark(cls, build_dir, rest_workers=16, stream_workers=4200, max_streams=None,
                      heartbeat=5, durable=True, keep=False, extra_connections=0, max_conns=None,
                      config=None, stream_mode=None, stream_hosts=None):
        """The benchmarks' stack (bench/), sized for thousands of event streams: the lighttpd
        set-up from bench/lighttpd.conf.in (max-connections max_conns, default the stream pool
        + 1024; max-fds to match), RLIMIT_NOFILE 65536, a REST pool of rest_workers and a stream
        pool of stream_workers (its size even above max_streams, default stream_workers - 20;
        start() waits until all its workers run), the supervisor; PostgreSQL with a connection
        per worker (+ extra_connections, the benchmark's own), durable commits by default, its
        malloc tuned (BENCH_PG_MALLOC; TB_BENCH_PG_ENV_<NAME> sets or, empty, removes a variable
        of its environment); teamboard.conf only the product's defaults and these: log_level
        warn, heartbeat_interval heartbeat, stream_max_seconds 0, max_streams,
        max_streams_per_user 20, host_name BENCH_HOST_NAME (config adds more). sql() runs with
        search_path teamboard, public. stream_mode and stream_hosts default to TB_STREAM_MODE
        (worker) and TB_STREAM_HOSTS (2)."""
        if max_streams is None:
            max_streams = max(1, stream_workers - 20)
        pg_env = {"GLIBC_TUNABLES": BENCH_PG_MALLOC}
        pg_env.update({k[len("TB_BENCH_PG_ENV_"):]: v for k, v in os.environ.items()
                       if k.startswith("TB_BENCH_PG_ENV_")})
        pg_settings = {"listen_addresses": "''",
                       "max_connections": str(stream_workers + rest_workers + extra_connections + 40),
                       "shared_buffers": "256MB", "max_wal_size": "2GB",
                       "checkpoint_timeout": "30min"}
        defaults = {"log_level": "warn", "heartbeat_interval": heartbeat, "stream_max_seconds": 0,
                    "max_streams": max_streams, "max_streams_per_user": 20,
                    "registration": "open", "host_name": BENCH_HOST_NAME}
        return cls(setup="lighttpd", build_dir=os.path.abspath(build_dir), workers=rest_workers,
                   stream_workers=stream_workers,
                   stream_mode=stream_mode or os.environ.get("TB_STREAM_MODE") or "worker",
                   stream_hosts=stream_hosts or int(os.environ.get("TB_STREAM_HOSTS") or 2),
                   supervisor=True, keep_state=keep, state_prefix="tb-bench.", durable=durable,
                   pg_settings=pg_settings, pg_env={k: v for k, v in pg_env.items() if v},
                   app_defaults=defaults, config=config, nofile=65536, streams_fit_pool=False,
                   wait_pools=True, sql_search_path="teamboard, public",
                   lighttpd_conf=os.path.join(REPO, "bench", "lighttpd.conf.in"),
                   max_conns=max_conns)

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

    @property
    def web_space(self):
        """The shared-hosting web root (WEB_SPACE_SETUPS)."""
        return self.path("www")

    @property
    def web_error_log(self):
        """The web server's error log, where the program's own messages go under Apache (the
        production virtual host has its own: teamboard-error.log)."""
        if self.setup == "apache-fcgid":
            return self.logs["teamboard-error.log"]
        return self.logs["%s-error.log" % self.web_server]

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

    def _prepare(self):
        super()._prepare()
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
            for d in ("fcgi-bin", "errors"):
                self.account.chown_tree(self.path(d))
        if self.setup.startswith("apache-"):
            shutil.rmtree(self.path("run", "apache"), ignore_errors=True)
            for d in ("etc/apache", "run/apache", "run/apache/fcgid", "run/apache/socks"):
                os.makedirs(self.path(d), exist_ok=True)
            for d in ("etc/apache", "run/apache"):
                self.account.chown_tree(self.path(d))
        if self.setup == "apache-htaccess-cpanel":
            self._prepare_cpanel_host()

    def _config_written(self):
        if self.setup in WEB_SPACE_SETUPS:
            self._install_web_space()  # again: the .htaccess carries max_body

    def _spawn_as(self, name, cmd, env, as_account):
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
        return cmd, as_account

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
        template = os.path.join(self.src_dir, "conf", "lighttpd", "dev.conf.in")
        if self.lighttpd_conf != "dev":
            template = self.lighttpd_conf
        subst = {"PORT": str(self.port), "WEB_DIR": self.path("web"), "TMP_DIR": self.path("tmp"),
                 "LOG_DIR": self.log_dir, "API_SOCKET": self.api_socket,
                 "STREAM_SOCKET": self.stream_socket, "STATE_DIR": self.state_dir}
        # a benchmark's template sizes lighttpd for its streams: each client costs one socket,
        # and a stream one more to its backend
        max_conns = self.max_conns or self.stream_pool_size + 1024
        nofile = self.nofile or resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        subst.update({"MAX_CONNS": str(max_conns), "MAX_FDS": str(min(nofile, 4 * max_conns + 64))})
        return self._fill(template, subst, "lighttpd.conf")

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

