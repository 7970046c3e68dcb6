"""The shared-hosting set-ups themselves: the web space laid out by
conf/shared-hosting/install-webspace.sh (.htaccess, teamboard-bin/, teamboard-errors/) on a host
that grants AllowOverride FileInfo Options=ExecCGI and runs mod_fcgid, in two kinds
(tools/tbenv/):
  TB_SETUP=apache-htaccess         a stock Debian Apache: mod_cgid loaded, so Debian's
                                   serve-cgi-bin.conf maps /cgi-bin/ to /usr/lib/cgi-bin/
  TB_SETUP=apache-htaccess-cpanel  a cPanel-like host: a per-user ScriptAlias /cgi-bin/ to the
                                   web space's cgi-bin/, and the programs run as the customer
                                   (suEXEC-like), Apache as www-data
On both, nothing but the static files and the API can be fetched; the 413 is the API's JSON (a
static file, never run); streams run in their own mod_fcgid class; supervisor = auto runs
exactly one supervisor inside the workers. On a host that runs no programs (neither mod_fcgid
nor mod_cgid), teamboard-bin/ serves nothing (403, never the scripts as files), and
check-webspace.sh names what each kind of lacking host lacks."""

import json
import os
import pwd
import re
import subprocess
import time

import pytest

import tbclient as tb
import tbenv
import tbsse


SETUPS = ("apache-htaccess", "apache-htaccess-cpanel")
CHECK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "conf", "shared-hosting", "check-webspace.sh")


@pytest.fixture(autouse=True)
def only_htaccess(server):
    if server.setup not in SETUPS:
        pytest.skip("the session's web host is %s, not %s" % (server.setup, " or ".join(SETUPS)))


def test_nothing_but_static_files_and_the_api_can_be_fetched(server):
    assert tbenv.http_get(server.base + "/")[0] == 200
    assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
    for path in ("/.htaccess", "/.htteamboard-files", "/teamboard-bin/.htaccess",
                 "/teamboard-bin/teamboard.fcgi", "/teamboard-bin/teamboard-stream.fcgi",
                 "/teamboard-bin/", "/teamboard-errors/.htaccess",
                 "/teamboard-errors/too_large.json", "/teamboard-errors/no_rewrite.json",
                 "/teamboard-errors/no_cgi.json", "/teamboard-errors/"):
        status, _, body = tbenv.http_get(server.base + path)
        assert status == 403, (path, status, body[:200])
    # the program and its configuration are outside the web root
    for f in (server.config_file, os.path.join(server.state_dir, "bin", "teamboard.fcgi")):
        assert not os.path.realpath(f).startswith(os.path.realpath(server.web_space) + os.sep)


def test_the_htaccess_carries_max_body_and_the_scripts_the_paths(server):
    with open(os.path.join(server.web_space, ".htaccess")) as f:
        assert "-gt%d " % int(server.config["max_body"]) in f.read()
    with open(os.path.join(server.web_space, "teamboard-bin", "teamboard-stream.fcgi")) as f:
        text = f.read()
    assert "TEAMBOARD_CONF='%s'" % server.config_file in text
    assert "'%s'" % os.path.join(server.state_dir, "bin", "teamboard.fcgi") in text
    assert "@" not in re.sub(r"(?m)^#.*$", "", text)


def test_streams_run_in_their_own_class(server):
    user = tb.new_user(server)
    b = tb.create_board(server, user)["id"]
    try:
        with tbsse.Stream(server, b, user.token) as s:
            s.wait_event("hello", tb.seconds(15))
            pid = tbsse.registry(server, [b])[0][2]
            with open(server.logs["apache-error.log"]) as f:
                log = f.read()
            if server.setup == "apache-htaccess-cpanel":  # the wrapper's line, as suexec's log
                started = r"suexec: pid %d runs \S+/teamboard-bin/teamboard-stream\.fcgi as uid"
            else:
                started = r"mod_fcgid: server \S+/teamboard-bin/teamboard-stream\.fcgi\(%d\) started"
            assert re.search(started % pid, log), "no spawn of the stream class with pid %d" % pid
    finally:
        tbsse.release(server, [b], timeout=tb.seconds(20))


def test_supervisor_auto_runs_one_supervisor_in_the_workers(server):
    assert server.config.get("supervisor") == "auto"
    assert "supervisor" not in server._procs
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = server.sql("SELECT pid FROM pg_stat_activity"
                          " WHERE application_name = 'teamboard-supervisor'")
        if len(rows) == 1:
            break
        time.sleep(0.2)
    assert len(rows) == 1, rows
    # its process is a child of a worker of this web space (a FastCGI process)
    sup = server.sql("SELECT pid FROM teamboard.supervisor_status")
    if sup:
        with open("/proc/%d/stat" % sup[0][0]) as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        with open("/proc/%d/cmdline" % parent, "rb") as f:
            assert os.path.join(server.state_dir, "bin", "teamboard.fcgi").encode() in f.read()


def test_an_over_size_body_gets_the_apis_json_413(server):
    # The error document is a static file in teamboard-errors/: on the cPanel-like host a
    # /cgi-bin/too_large.json was run as a CGI program and the client got Apache's HTML 413.
    for length in (int(server.config["max_body"]) + 1, 99999999999):
        # Only the head: the body is never sent.
        resp = tb.raw_exchange(
            server, ("POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n" % length).encode(), timeout=10.0)
        assert resp.status == 413, (length, resp.status, resp.body[:300])
        ctype = (resp.header("Content-Type") or "").lower()
        assert ctype.startswith("application/json"), resp.headers.items()
        assert json.loads(resp.body)["error"]["code"] == "too_large"


def test_the_hosts_cgi_bin_is_not_the_web_spaces(server):
    # What the set-up models: /cgi-bin/ is taken by the host (stock Debian: ScriptAlias to
    # /usr/lib/cgi-bin/; cPanel-like: the web space's cgi-bin/, where everything is run as CGI),
    # so a file there is never served as it is. Teamboard uses teamboard-bin/ instead.
    d = os.path.join(server.web_space, "cgi-bin")
    made = not os.path.isdir(d)
    os.makedirs(d, exist_ok=True)
    probe = os.path.join(d, "probe.json")
    with open(probe, "w") as f:
        f.write('{"probe": true}\n')
    try:
        status, _, body = tbenv.http_get(server.base + "/cgi-bin/probe.json")
        assert status in ((404,) if server.setup == "apache-htaccess" else (403, 500)), status
        assert b"probe" not in body
    finally:
        os.unlink(probe)
        if made:
            os.rmdir(d)


def test_programs_run_as_the_customer_on_the_cpanel_like_host(server):
    if server.setup != "apache-htaccess-cpanel":
        pytest.skip("suEXEC is modelled by apache-htaccess-cpanel")
    web = pwd.getpwnam(tbenv.HOST_WEB_USER)
    # Apache cannot read teamboard.conf (0600, the customer's), and yet the API works.
    st = os.stat(server.config_file)
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, server.account.uid)
    assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
    apache = tbenv._read_pid(server.path("run", "apache", "httpd.pid"), server.state_dir)
    assert apache and os.stat("/proc/%d" % apache).st_uid == web.pw_uid
    pids = [r[0] for r in server.sql("SELECT pid FROM teamboard.supervisor_status")]
    user = tb.new_user(server)
    b = tb.create_board(server, user)["id"]
    try:
        with tbsse.Stream(server, b, user.token) as s:
            s.wait_event("hello", tb.seconds(15))
            pids.append(tbsse.registry(server, [b])[0][2])
            for pid in pids:
                assert os.stat("/proc/%d" % pid).st_uid == server.account.uid != web.pw_uid
    finally:
        tbsse.release(server, [b], timeout=tb.seconds(20))


def check(base, user=None, password=None):
    """Runs conf/shared-hosting/check-webspace.sh against base; returns (exit status, stdout)."""
    env = {"PATH": "/usr/bin:/bin"}
    args = ["/bin/sh", CHECK]
    if user:
        args += ["--user", user]
        env["TEAMBOARD_PASSWORD"] = password
    r = subprocess.run(args + [base], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120, env=env)
    return r.returncode, r.stdout


def test_check_webspace_passes_on_a_working_web_space(server):
    user = tb.new_user(server)
    live = "SELECT count(*) FROM teamboard.boards WHERE deleted_at IS NULL"  # a deleted one is in the trash
    boards = server.sql(live)[0][0]
    rc, out = check(server.base, user.name, user.password)
    assert rc == 0, out
    assert out.splitlines() == [
        "ok: the site's start page answers (200)",
        "ok: teamboard-bin/ is closed to direct requests (403)",
        "ok: the API answers and reaches its database",
        "ok: an over-size request gets the API's JSON 413",
        "ok: live events arrive at once (the web server does not hold them back)",
        "All checks passed: %s serves Teamboard." % server.base], out
    assert server.sql(live)[0][0] == boards  # removed again
    rc, out = check(server.base)
    assert rc == 0 and "not checked: live events (give --user NAME" in out, out


# Hosts that lack something, each a stock Debian shared host (apache-htaccess) but for one thing,
# and the problem check-webspace.sh names (its first line) and what it says to ask for.
BROKEN_HOSTS = {
    "no ExecCGI": ({"allow_override": "FileInfo"}, {},
                   "PROBLEM: Apache refuses teamboard-bin/.htaccess (500): the host does not let it "
                   "allow programs (Options +ExecCGI)",
                   'ask the host for "AllowOverride FileInfo Options=ExecCGI"'),
    "no overrides": ({"allow_override": "None"}, {},
                     "PROBLEM: the web server ignores the .htaccess files: the API is not found "
                     "(404)",
                     'ask the host for "AllowOverride FileInfo Options=ExecCGI" for your web space '
                     '(it looks like "AllowOverride None")'),
    "no mod_rewrite": ({"without_modules": ("rewrite",)}, {},
                       "PROBLEM: the web server has no mod_rewrite: nothing reaches Teamboard's "
                       "programs",
                       "ask the host to enable mod_rewrite for your site"),
    "no CGI": ({"without_modules": ("fcgid", "cgid")}, {},
               "PROBLEM: the host runs neither FastCGI nor CGI programs: the API is closed (403)",
               "ask the host for mod_fcgid (FastCGI), or at least mod_cgid/mod_cgi (plain CGI)"),
    "no database": ({}, {"database": "host=127.0.0.1 port=1 dbname=teamboard user=nobody "
                                     "connect_timeout=2"},
                    "PROBLEM: Teamboard runs, but cannot reach its database (503 db_unavailable)",
                    'check "database" in teamboard.conf'),
    "output buffer": ({"output_buffer": 65536}, {},
                      "PROBLEM: live events do not arrive: the web server holds the event stream "
                      "back (mod_fcgid's output buffer)",
                      'ask the host for "FcgidOutputBufferSize 0" for your site'),
}


@pytest.mark.parametrize("lack", sorted(BROKEN_HOSTS))
def test_check_webspace_names_what_the_host_lacks(server, lack):
    if server.setup != "apache-htaccess":
        pytest.skip("the hosts that lack something are modelled on the stock Debian host")
    host, config, first, ask = BROKEN_HOSTS[lack]
    host = dict(host, wait=False)
    other = server.add_host("apache-htaccess", "lacks-%s" % lack.replace(" ", "-"), config=config,
                            host=host)
    try:
        user = tb.new_user(server)  # the same database: the user can sign in there too
        if lack != "no database":
            deadline = time.monotonic() + 20  # a broken host never answers health: wait for it
            while time.monotonic() < deadline:
                try:
                    tbenv.http_get(other.base + "/")
                    break
                except OSError:
                    time.sleep(0.2)
        rc, out = check(other.base, user.name, user.password)
        assert rc == 1, out
        problems = [ln for ln in out.splitlines() if ln.startswith("PROBLEM:")]
        assert problems[0] == first, out
        lines = out.splitlines()
        assert lines[lines.index(first) + 1].startswith("  what to do: " + ask), out
        assert lines[-1].endswith('problem(s) found: docs/shared-hosting.md, "When the host '
                                  'lacks something", says more.'), out
        if lack == "no mod_rewrite":  # the programs stay closed to direct requests all the same
            assert "ok: teamboard-bin/ is closed to direct requests (403)" in lines, out
    finally:
        other.stop()


def wait_for_host(other):
    """A broken host never answers health: waits (bounded) until it answers at all."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            tbenv.http_get(other.base + "/")
            return
        except OSError:
            time.sleep(0.2)


@pytest.mark.parametrize("rewrite", ["with mod_rewrite", "without mod_rewrite"])
def test_without_a_cgi_module_the_programs_are_never_sent_as_files(server, rewrite):
    # Neither mod_fcgid nor mod_cgid (nor mod_cgi): Apache has nothing to run teamboard-bin/'s
    # scripts with and would send them as files (the program's and teamboard.conf's paths), through
    # the API's rewrite rules too. teamboard-bin/.htaccess closes the directory then: 403, and for
    # the API a JSON 403 that names the cause. Streams as plain CGI (the customer's lines below the
    # block, un-commented) change nothing.
    if server.setup != "apache-htaccess":
        pytest.skip("the hosts that lack something are modelled on the stock Debian host")
    without = ("fcgid", "cgid") + (("rewrite",) if rewrite == "without mod_rewrite" else ())
    other = server.add_host("apache-htaccess", "lacks-cgi", host={"without_modules": without,
                                                                  "wait": False})
    try:
        wait_for_host(other)
        bin_ht = os.path.join(other.web_space, "teamboard-bin", ".htaccess")
        with open(bin_ht) as f:
            text = f.read()
        for customer_lines in (False, True):
            if customer_lines:
                with open(bin_ht, "w") as f:
                    f.write(text.replace('#<Files "teamboard-stream.fcgi">\n#    SetHandler '
                                         'cgi-script\n#</Files>', '<Files "teamboard-stream.fcgi">'
                                         '\n    SetHandler cgi-script\n</Files>'))
            for path in ("/teamboard-bin/teamboard.fcgi", "/teamboard-bin/teamboard-stream.fcgi",
                         "/teamboard-bin/", "/api/v1/health", "/api/v1/boards/1/events"):
                status, _, body = tbenv.http_get(other.base + path)
                assert b"TEAMBOARD_CONF" not in body and not body.startswith(b"#!"), body[:300]
                if not path.startswith("/api/"):
                    assert status == 403, (customer_lines, path, status, body[:300])
                    continue
                # the API: without mod_rewrite it never reaches teamboard-bin/ (its JSON 500)
                want = (403, "CGI") if rewrite == "with mod_rewrite" else (500, "mod_rewrite")
                err = json.loads(body)["error"]
                assert (status, err["code"]) == (want[0], "host_setup"), (path, status, body)
                assert want[1] in err["message"], err
        assert tbenv.http_get(other.base + "/")[0] == 200  # the static files are served
    finally:
        other.stop()


def test_an_upgrade_in_place_is_served_at_once_without_a_reload(server):
    # What docs/shared-hosting.md, "Upgrading", tells a customer who cannot reload Apache: run
    # install-webspace.sh again. Its entry scripts are new files (renamed over the old ones), so
    # mod_fcgid, which keys its process classes on the file, starts new processes from them for
    # the next requests; the old ones serve nothing more and end after FcgidIdleTimeout.
    if server.setup != "apache-htaccess":
        pytest.skip("the cPanel-like host's wrapper keys the class on itself, not the script")
    assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
    spawn = re.compile(r"mod_fcgid: server \S+/teamboard-bin/teamboard\.fcgi\((\d+)\) started")

    def spawned():
        with open(server.logs["apache-error.log"]) as f:
            return spawn.findall(f.read())

    before = spawned()
    assert before
    old_ino = os.stat(os.path.join(server.web_space, "teamboard-bin", "teamboard.fcgi")).st_ino
    kit = server.path("etc", "shared-hosting-kit")
    server._run(["/bin/sh", os.path.join(kit, "conf", "shared-hosting", "install-webspace.sh"),
                 server.web_space, server.path("bin", "teamboard.fcgi"), server.config_file],
                timeout=60, log_name="admin.log")
    assert os.stat(os.path.join(server.web_space, "teamboard-bin", "teamboard.fcgi")).st_ino != old_ino
    assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
    after = spawned()
    new = [p for p in after if p not in before]
    assert new, "no new process after the upgrade"
    assert os.path.exists("/proc/%s" % new[0])


def test_teamboards_log_lands_in_the_customers_own_file(server):
    # log_file, as conf/shared-hosting/teamboard.conf.sample has it: Teamboard's lines in a file of
    # the customer's beside the site, not in the host's error log (which the customer cannot read).
    home = server.path("home")
    os.makedirs(home, exist_ok=True)
    server.account.chown_tree(home)
    logf = os.path.join(home, "teamboard.log")
    try:
        server.restart_app(log_file=logf)
        assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline and "supervisor: started" not in text:
            time.sleep(0.2)
            if os.path.exists(logf):
                with open(logf) as f:
                    text = f.read()
        assert "supervisor: started" in text, text[-2000:]
        assert os.stat(logf).st_uid == server.account.uid  # written by the customer's program
    finally:
        server.restart_app()
