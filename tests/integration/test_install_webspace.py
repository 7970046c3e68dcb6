"""conf/shared-hosting/install-webspace.sh on its own (no server): it lays out a web space
(.htaccess, teamboard-bin/, teamboard-errors/, web/'s files), keeps the customer's own lines in
the three .htaccess files (it owns only the block "# BEGIN Teamboard" ... "# END Teamboard"),
upgrades in place while a program runs (every file renamed over, never written into), replaces
the web client (files gone from web/ go, no web/web), moves an older layout's cgi-bin/ to
teamboard-bin/; it refuses a program or a teamboard.conf inside the web root also when a symbolic
link hides that (a web root that is a link, a config reached through one), takes the others'
permissions away from a config every local user could read (it holds the database password),
refuses to write through symbolic links planted in the web space (and never removes an old file
through one), and is ShellCheck-clean. Also check-webspace.sh's checks that need no web space:
it refuses to send a password (--user) over plain http:// except to the machine itself, and
removes its temporary files however it ends. The web space it makes is served by the apache-htaccess,
apache-htaccess-cpanel and apache-cgi set-ups (test_setups_htaccess.py, test_setups_cgi.py)."""

import os
import shutil
import stat
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SCRIPT = os.path.join(REPO, "conf", "shared-hosting", "install-webspace.sh")


@pytest.fixture
def space(tmp_path):
    """A home directory: public_html (a link to www, the real web root), teamboard/ beside it."""
    (tmp_path / "www").mkdir()
    os.symlink(str(tmp_path / "www"), str(tmp_path / "public_html"))
    (tmp_path / "teamboard" / "bin").mkdir(parents=True)
    (tmp_path / "teamboard" / "bin" / "teamboard.fcgi").write_text("#!/bin/sh\n")
    return tmp_path


def write_conf(path, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("database = host=db.example dbname=teamboard password=secret\nmax_body = 70000\n")
    os.chmod(str(path), mode)
    return path


def run(web_root, program, conf, *options):
    return subprocess.run(["/bin/sh", SCRIPT] + list(options) + [str(web_root), str(program),
                                                                 str(conf)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_installs_with_a_private_config(space):
    conf = write_conf(space / "teamboard" / "teamboard.conf", 0o600)
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi", conf)
    assert r.returncode == 0, r.stderr
    assert (space / "www" / ".htaccess").is_file()
    assert "-gt70000 " in (space / "www" / ".htaccess").read_text()
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == 0o600
    assert r.stderr == "", r.stderr


@pytest.mark.parametrize("where", ["real root", "through a link"])
def test_refuses_a_config_inside_a_linked_web_root(space, where):
    # public_html -> www: "www/teamboard.conf" does not start with ".../public_html/" as a string.
    if where == "real root":
        conf = write_conf(space / "www" / "private" / "teamboard.conf", 0o600)
    else:  # a directory outside that is a link into the web root
        (space / "www" / "hidden").mkdir()
        os.symlink(str(space / "www" / "hidden"), str(space / "secrets"))
        conf = write_conf(space / "secrets" / "teamboard.conf", 0o600)
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi", conf)
    assert r.returncode != 0
    assert "inside the web root" in r.stderr and "database password" in r.stderr, r.stderr
    assert not (space / "www" / ".htaccess").exists()
    assert not (space / "www" / "teamboard-bin").exists()


def test_refuses_a_program_inside_a_linked_web_root(space):
    conf = write_conf(space / "teamboard" / "teamboard.conf", 0o600)
    (space / "www" / "bin").mkdir()
    program = space / "www" / "bin" / "teamboard.fcgi"
    program.write_text("#!/bin/sh\n")
    r = run(space / "public_html", program, conf)
    assert r.returncode != 0
    assert "inside the web root" in r.stderr and "download" in r.stderr, r.stderr
    assert not (space / "www" / ".htaccess").exists()


def test_refuses_a_config_inside_when_the_web_root_is_given_through_a_link(space):
    # The other way round: the web root named by its real path, the config through the link.
    conf = write_conf(space / "www" / "teamboard.conf", 0o600)
    r = run(space / "www", space / "teamboard" / "bin" / "teamboard.fcgi",
            space / "public_html" / "teamboard.conf")
    assert r.returncode != 0 and "inside the web root" in r.stderr, r.stderr
    assert conf.is_file()


@pytest.mark.parametrize("mode,fixed", [(0o644, 0o640), (0o604, 0o600), (0o666, 0o660), (0o601, 0o600)])
def test_a_config_open_to_everyone_loses_the_others_permissions(space, mode, fixed):
    conf = write_conf(space / "teamboard" / "teamboard.conf", mode)
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi", conf)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == fixed
    assert "open to every local user" in r.stderr and "database" in r.stderr, r.stderr


def test_a_linked_config_open_to_everyone_is_fixed_at_its_target(space):
    target = write_conf(space / "teamboard" / "real.conf", 0o644)
    os.symlink(str(target), str(space / "teamboard" / "teamboard.conf"))
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi",
            space / "teamboard" / "teamboard.conf")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    assert os.path.islink(str(space / "teamboard" / "teamboard.conf"))


@pytest.mark.parametrize("name", ["install-webspace.sh", "check-webspace.sh"])
def test_shellcheck_clean(name):
    script = os.path.join(REPO, "conf", "shared-hosting", name)
    r = subprocess.run(["shellcheck", "--shell=sh", script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_others_may_read_conf_keeps_the_mode_with_a_warning(space):
    # A host that runs Teamboard as the web server's user, without chgrp: the file must stay 0644.
    conf = write_conf(space / "teamboard" / "teamboard.conf", 0o644)
    r = subprocess.run(["/bin/sh", SCRIPT, "--others-may-read-conf", str(space / "public_html"),
                        str(space / "teamboard" / "bin" / "teamboard.fcgi"), str(conf)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == 0o644
    assert "warning: every local user can read" in r.stderr, r.stderr
    # The option does not let a config into the web root.
    inside = write_conf(space / "www" / "teamboard.conf", 0o600)
    r = subprocess.run(["/bin/sh", SCRIPT, "--others-may-read-conf", str(space / "public_html"),
                        str(space / "teamboard" / "bin" / "teamboard.fcgi"), str(inside)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode != 0 and "inside the web root" in r.stderr, r.stderr


BEGIN, END = "# BEGIN Teamboard", "# END Teamboard"
WEB = os.path.join(REPO, "web")


def install(space, *options):
    conf = space / "teamboard" / "teamboard.conf"
    if not conf.exists():
        write_conf(conf, 0o600)
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi", conf, *options)
    assert r.returncode == 0, r.stderr
    return r


def block(text):
    return text[text.index(BEGIN):text.index(END) + len(END)]


def test_first_install_lays_out_the_web_space(space):
    r = install(space)
    www = space / "www"
    assert "installed into" in r.stdout
    for f in ("index.html", "js/app.js", "css/app.css"):
        assert (www / f).read_bytes() == open(os.path.join(WEB, f), "rb").read()
    assert not (www / "web").exists()
    for name in ("teamboard.fcgi", "teamboard-stream.fcgi"):
        text = (www / "teamboard-bin" / name).read_text()
        assert "TEAMBOARD_CONF='%s'" % (space / "teamboard" / "teamboard.conf") in text
        assert stat.S_IMODE(os.stat(str(www / "teamboard-bin" / name)).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(str(www / "teamboard-bin")).st_mode) == 0o755
    for f in (".htaccess", "teamboard-bin/.htaccess", "teamboard-errors/.htaccess"):
        text = (www / f).read_text()
        assert text.splitlines().count(BEGIN) == 1 and text.splitlines().count(END) == 1, f
    assert "ErrorDocument 413 /teamboard-errors/too_large.json" in (www / ".htaccess").read_text()
    assert "teamboard-bin/teamboard.fcgi [L]" in (www / ".htaccess").read_text()
    assert "SetHandler None" in (www / "teamboard-errors" / ".htaccess").read_text()
    assert '"too_large"' in (www / "teamboard-errors" / "too_large.json").read_text()
    assert '"host_setup"' in (www / "teamboard-errors" / "no_rewrite.json").read_text()
    assert '"host_setup"' in (www / "teamboard-errors" / "no_cgi.json").read_text()
    # nothing is left of the new files written before each rename
    assert not [p for p in www.rglob("*teamboard-new*")]


def test_a_second_run_keeps_the_customers_own_lines(space):
    install(space)
    www = space / "www"
    root = www / ".htaccess"
    first = root.read_text()
    root.write_text("# mine, above\nHeader set X-Mine above\n" + first.replace(
        "RewriteEngine On", "RewriteEngine On\n    # an edit inside the block") +
        "\n# mine, below\nFcgidOutputBufferSize-is-not-mine below\n")
    bin_ht = www / "teamboard-bin" / ".htaccess"
    bin_ht.write_text(bin_ht.read_text().replace('#<Files "teamboard-stream.fcgi">\n#    SetHandler '
                                                 'cgi-script\n#</Files>', '<Files "teamboard-stream.'
                                                 'fcgi">\n    SetHandler cgi-script\n</Files>'))
    assert "\n    SetHandler cgi-script" in bin_ht.read_text()
    (space / "teamboard" / "teamboard.conf").write_text(
        "database = dbname=teamboard\nmax_body = 80000  # bigger\n")
    install(space)
    text = root.read_text()
    assert text.startswith("# mine, above\nHeader set X-Mine above\n" + BEGIN)
    assert text.endswith("\n# mine, below\nFcgidOutputBufferSize-is-not-mine below\n")
    assert "# an edit inside the block" not in text
    assert block(text) == block(first).replace("-gt70000 ", "-gt80000 ")
    assert "\n    SetHandler cgi-script" in bin_ht.read_text()  # outside the block: kept
    # a third run changes nothing
    before = {p: p.read_bytes() for p in (root, bin_ht)}
    install(space)
    assert {p: p.read_bytes() for p in (root, bin_ht)} == before


def test_an_htaccess_without_the_block_gets_it_on_top(space):
    (space / "www" / ".htaccess").write_text("# the host's default\nDirectoryIndex index.html\n")
    install(space)
    text = (space / "www" / ".htaccess").read_text()
    assert text.startswith(BEGIN)
    assert text.endswith(END + "\n\n# the host's default\nDirectoryIndex index.html\n")


def test_a_broken_block_is_refused_and_left_alone(space):
    install(space)
    root = space / "www" / ".htaccess"
    broken = root.read_text().replace(END, "# the end, I think")
    root.write_text(broken)
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi",
            space / "teamboard" / "teamboard.conf")
    assert r.returncode != 0
    assert 'expected one "# BEGIN Teamboard" line and after it one "# END Teamboard" line' in r.stderr
    assert root.read_text() == broken


def test_upgrade_while_the_programs_run(space, tmp_path):
    # Version 1: real executables (a running one cannot be opened for writing: "Text file
    # busy"), installed with --programs.
    build1 = tmp_path / "build1"
    build1.mkdir()
    for name in ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor"):
        shutil.copy("/bin/cat", str(build1 / name))
    (space / "teamboard" / "bin" / "teamboard.fcgi").unlink()
    install(space, "--programs", str(build1))
    www = space / "www"
    program = space / "teamboard" / "bin" / "teamboard.fcgi"
    env = {"PATH": "/usr/bin:/bin"}  # no GATEWAY_INTERFACE: the FastCGI way, exec
    # the entry script as mod_fcgid runs it: it becomes the program (cat, waiting for input)
    running = subprocess.Popen([str(www / "teamboard-bin" / "teamboard-stream.fcgi")],
                               env=env, stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.readlink("/proc/%d/exe" % running.pid) != str(program):
            time.sleep(0.05)
        assert os.readlink("/proc/%d/exe" % running.pid) == str(program)
        with pytest.raises(OSError) as busy:
            open(str(program), "r+b")
        assert busy.value.errno == 26  # ETXTBSY: what cp over it would get
        old_inodes = {n: os.stat(str(www / "teamboard-bin" / n)).st_ino
                      for n in ("teamboard.fcgi", "teamboard-stream.fcgi")}
        build2 = tmp_path / "build2"
        build2.mkdir()
        for name in ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor"):
            shutil.copy("/bin/true", str(build2 / name))
        r = install(space, "--programs", str(build2))
        assert "busy" not in r.stderr.lower(), r.stderr
        for name in ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor"):
            assert (space / "teamboard" / "bin" / name).read_bytes() == open("/bin/true", "rb").read()
        for n, ino in old_inodes.items():
            assert os.stat(str(www / "teamboard-bin" / n)).st_ino != ino  # renamed over
        assert running.poll() is None  # the running one goes on, on its old file
        assert os.readlink("/proc/%d/exe" % running.pid).endswith("(deleted)")
        assert subprocess.run([str(www / "teamboard-bin" / "teamboard.fcgi")], env=env,
                              timeout=10).returncode == 0  # the new one: /bin/true
    finally:
        running.kill()
        running.wait(timeout=10)
        running.stdin.close()


def test_the_web_client_is_replaced_not_nested(space):
    install(space)
    www = space / "www"
    manifest = (www / ".htteamboard-files").read_text().split()
    assert "index.html" in manifest and "js/app.js" in manifest
    # an older version had a file the new web/ lacks, and the customer has files of their own
    (www / "js" / "old-module.js").write_text("old\n")
    (www / "gone").mkdir()
    (www / "gone" / "old.css").write_text("old\n")
    (www / ".htteamboard-files").write_text(
        "\n".join(manifest + ["js/old-module.js", "gone/old.css"]) + "\n")
    (www / "robots.txt").write_text("mine\n")
    (www / "js" / "mine.js").write_text("mine\n")
    install(space)
    assert not (www / "js" / "old-module.js").exists() and not (www / "gone").exists()
    assert (www / "robots.txt").read_text() == "mine\n"
    assert (www / "js" / "mine.js").read_text() == "mine\n"
    assert not (www / "web").exists()
    assert (www / ".htteamboard-files").read_text().split() == manifest


OLD_ROOT = """# Teamboard in a shared-hosting web space: the web root's .htaccess (docs/shared-hosting.md).
SetEnvIf Authorization "(.+)" HTTP_AUTHORIZATION=$1
RewriteEngine On
RewriteCond %{HTTP:Content-Length} -gt65536 [OR]
RewriteCond %{HTTP:Content-Length} "[0-9]{10}"
RewriteRule ^api/ - [R=413,L]
ErrorDocument 413 /cgi-bin/too_large.json
RewriteRule ^api/v1/boards/[0-9]+/events$ cgi-bin/teamboard-stream.fcgi [L]
# The rest of the API.
RewriteRule ^api/ cgi-bin/teamboard.fcgi [L]
"""
OLD_BIN = """# Teamboard's programs in a shared-hosting web space (docs/deploy.md, "Shared hosting"):
Options +ExecCGI
<Files "teamboard-stream.fcgi">
    SetHandler cgi-script
</Files>
"""


@pytest.mark.parametrize("other_files", [False, True])
def test_an_older_layout_moves_to_teamboard_bin(space, other_files):
    www = space / "www"
    (www / ".htaccess").write_text("# mine\nAddDefaultCharset utf-8\n" + OLD_ROOT +
                                   "# mine too\nHeader set X-Mine 1\n")
    old = www / "cgi-bin"
    old.mkdir()
    (old / ".htaccess").write_text(OLD_BIN)
    for name in ("teamboard.fcgi", "teamboard-stream.fcgi"):
        (old / name).write_text("#!/bin/sh\nTEAMBOARD_CONF='/x/teamboard.conf'\nexport "
                                "TEAMBOARD_CONF\nexec '/x/teamboard.fcgi'\n")
    (old / "too_large.json").write_text("{}\n")
    if other_files:
        (old / "guestbook.pl").write_text("#!/usr/bin/perl\n")
    r = install(space)
    text = (www / ".htaccess").read_text()
    assert text.startswith("# mine\nAddDefaultCharset utf-8\n" + BEGIN)
    assert text.endswith(END + "\n# mine too\nHeader set X-Mine 1\n")
    assert "cgi-bin" not in block(text).replace("not cgi-bin/", "").replace("/cgi-bin/", "")
    assert text.splitlines().count(BEGIN) == 1 and "teamboard-bin/teamboard.fcgi [L]" in text
    assert (www / ".htaccess.teamboard-old").read_text().endswith("Header set X-Mine 1\n")
    assert "older layout's .htaccess became the Teamboard block" in r.stderr
    # the customer's choice (streams as plain CGI) carried over, outside the block
    bin_ht = (www / "teamboard-bin" / ".htaccess").read_text()
    assert "\n    SetHandler cgi-script" in bin_ht[bin_ht.index(END):]
    assert "event streams run as plain CGI" in r.stderr
    assert (www / "teamboard-bin" / "teamboard.fcgi").is_file()
    if other_files:
        assert sorted(p.name for p in old.iterdir()) == ["guestbook.pl"]
        assert "cgi-bin/, which still holds other files" in r.stderr
    else:
        assert not old.exists()
        assert "cgi-bin/ removed, the programs are in teamboard-bin/" in r.stderr
    # and a second run is an ordinary upgrade
    r = install(space)
    assert "older layout" not in r.stderr and (www / ".htaccess").read_text() == text


# Symbolic links planted in the web space (by another program of the same account, a
# compromised PHP application say) must not make the script write, change the mode of, or
# delete anything outside it.
def victim(space):
    """A private file outside the web space that a planted link points at."""
    return write_conf(space / "teamboard" / "victim.conf", 0o600)


VICTIM_TEXT = "database = host=db.example dbname=teamboard password=secret\nmax_body = 70000\n"


@pytest.mark.parametrize("where", ["index.html", "js/app.js", ".htaccess", ".htteamboard-files",
                                   "teamboard-bin/.htaccess", "teamboard-bin/teamboard.fcgi",
                                   "teamboard-errors/too_large.json", "teamboard-bin", "js"])
def test_refuses_a_destination_that_is_a_symbolic_link(space, where):
    install(space)
    www = space / "www"
    target = victim(space)
    if where in ("teamboard-bin", "js"):  # a directory: a link to one of the customer's own
        shutil.rmtree(str(www / where))
        target = space / "elsewhere"
        target.mkdir()
        os.chmod(str(target), 0o700)
    else:
        (www / where).unlink()
    os.symlink(str(target), str(www / where))
    before = {p: p.read_bytes() for p in www.rglob("*") if p.is_file() and not p.is_symlink()}
    r = run(space / "public_html", space / "teamboard" / "bin" / "teamboard.fcgi",
            space / "teamboard" / "teamboard.conf")
    assert r.returncode != 0, r.stderr
    assert "%s is a symbolic link: refusing to write through it" % (
        space / "public_html" / where) in r.stderr, r.stderr
    assert os.path.islink(str(www / where))  # left as it is, and so is everything else
    if target.is_dir():
        assert list(target.iterdir()) == [] and stat.S_IMODE(os.stat(str(target)).st_mode) == 0o700
    else:
        assert target.read_text() == VICTIM_TEXT
        assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600
    assert {p: p.read_bytes() for p in www.rglob("*")
            if p.is_file() and not p.is_symlink()} == before
    assert not [p for p in www.rglob("*teamboard-new*")]


def test_a_planted_link_at_the_old_new_file_name_is_not_written_through(space):
    # The new files were "<name>.teamboard-new", and the web root's template
    # ".htaccess.template", names anyone could guess and plant a link at: cp, sed and chmod
    # followed it and wrote into (and opened up) the link's target.
    www = space / "www"
    target = victim(space)
    for name in ("index.html", ".htaccess", "teamboard-bin/teamboard.fcgi", ".htteamboard-files",
                 ".htaccess.template", ".htaccess.template.teamboard-new",
                 ".htaccess.teamboard-new.block"):
        (www / name).parent.mkdir(exist_ok=True)
        planted = name if "template" in name or "block" in name else name + ".teamboard-new"
        os.symlink(str(target), str(www / planted))
    install(space)
    assert target.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o600
    assert (www / "index.html").read_bytes() == open(os.path.join(WEB, "index.html"), "rb").read()
    assert os.path.islink(str(www / ".htaccess.template"))  # not used any more: left alone
    assert not [p for p in www.rglob("*.htteamboard-new*")]


def test_removing_old_files_never_goes_through_a_link(space):
    install(space)
    www = space / "www"
    manifest = (www / ".htteamboard-files").read_text().split()
    # the customer's directory of their own, and a file of theirs, outside the web space
    mine = space / "mine"
    mine.mkdir()
    (mine / "old.css").write_text("mine\n")
    (space / "notes.txt").write_text("mine\n")
    os.symlink(str(mine), str(www / "gone"))  # a listed directory that is now a link
    os.symlink(str(space / "notes.txt"), str(www / "js" / "old-module.js"))  # a listed link
    (www / ".htteamboard-files").write_text(
        "\n".join(manifest + ["gone/old.css", "js/old-module.js"]) + "\n")
    r = install(space)
    assert (mine / "old.css").read_text() == "mine\n"
    assert (space / "notes.txt").read_text() == "mine\n"
    assert os.path.islink(str(www / "gone")) and os.path.islink(str(www / "js" / "old-module.js"))
    for f in ("gone/old.css", "js/old-module.js"):
        assert "left %s alone: it is, or is inside, a symbolic link" % (
            space / "public_html" / f) in r.stderr, r.stderr
    assert (www / ".htteamboard-files").read_text().split() == manifest


def test_an_older_cgi_bin_that_is_a_link_is_left_alone(space):
    www = space / "www"
    elsewhere = space / "elsewhere-cgi"
    elsewhere.mkdir()
    (elsewhere / "teamboard.fcgi").write_text("#!/bin/sh\nTEAMBOARD_CONF='/x/teamboard.conf'\n")
    os.symlink(str(elsewhere), str(www / "cgi-bin"))
    r = install(space)
    assert (elsewhere / "teamboard.fcgi").is_file()
    assert "left %s alone: it is a symbolic link" % (space / "public_html" / "cgi-bin") in r.stderr


# check-webspace.sh's own refusals and clean-up, which need no web space.
CHECK = os.path.join(REPO, "conf", "shared-hosting", "check-webspace.sh")


def check_webspace(*args, env=None, timeout=60):
    e = {"PATH": "/usr/bin:/bin", "TEAMBOARD_PASSWORD": "secret"}
    e.update(env or {})
    return subprocess.run(["/bin/sh", CHECK] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, env=e)


@pytest.mark.parametrize("url", ["http://teamboard.example.org", "http://10.1.2.3:8080/",
                                 "http://alice@teamboard.example.org", "http://localhost.example.org",
                                 "http://127.0.0.1.example.org", "http://[::2]:8080"])
def test_check_webspace_refuses_a_password_over_plain_http(url):
    r = check_webspace("--user", "alice", url, timeout=20)
    assert r.returncode == 2, r.stdout
    assert r.stdout == (
        "check-webspace.sh: --user sends your password: give the site's https:// address"
        " (http:// only for localhost, 127.0.0.1 or ::1)\n"), r.stdout


@pytest.mark.parametrize("url,user", [("http://127.0.0.1:1", "alice"), ("http://localhost:1/", "alice"),
                                      ("http://LocalHost:1", "alice"), ("http://[::1]:1", "alice"),
                                      ("https://127.0.0.1:1", "alice"), ("http://127.0.0.1:1", None)])
def test_check_webspace_asks_local_or_https_sites_with_a_password(url, user):
    # Port 1: nothing listens, so the check stops at its first request (not at the refusal).
    r = check_webspace(*((["--user", user] if user else []) + [url]), timeout=30)
    assert r.returncode == 2, r.stdout
    assert "no answer from" in r.stdout and "https://" not in r.stdout.split("no answer")[0], r.stdout


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_check_webspace_removes_its_temporary_files_when_stopped(tmp_path, sig):
    # A site that takes the connection and never answers: the check waits in curl; stopped then
    # (as by Ctrl-C, a closed terminal or kill), it leaves nothing behind in TMPDIR.
    import signal
    import socket
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        e = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmpdir), "TEAMBOARD_PASSWORD": "secret"}
        p = subprocess.Popen(["/bin/sh", CHECK, "--user", "alice", "http://127.0.0.1:%d" % port],
                             env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            listener.settimeout(15)
            conn, _ = listener.accept()  # curl is waiting for the answer now
            with conn:
                assert list(tmpdir.iterdir())  # its temporary directory exists
                os.killpg(p.pid, getattr(signal, sig))
                p.wait(timeout=15)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
            p.stdout.close()
    assert p.returncode != 0
    assert list(tmpdir.iterdir()) == []
