"""The guides' steps stay executable: docs/deploy.md (common steps, lighttpd, Apache + mod_fcgid),
docs/upgrade.md and docs/shared-hosting.md.

The convention, stated at the top of deploy.md and upgrade.md: commands to run are in fenced
```sh blocks (as root, from the top of the source tree); other fenced blocks are not run, and
these sections have no indented code blocks. From each such block this test checks that

* every file of the source tree a command names exists (or is a program the build makes, such as
  fcgi/teamboard.fcgi), every make target exists, and every program run is on this (Debian 12)
  machine, a shell builtin, or built by the tree (teamboard.fcgi, teamboard-admin,
  teamboard-supervisor);
* no step copies with `cp` over a program or into an installed web/ (the "Text file busy" and
  web/web mistakes); `install`, `make install-web` are the ways;

and it runs the build, install and upgrade steps (autoreconf, ./configure, make, make install,
make install-web, install, teamboard.fcgi --check-config) of deploy.md and of upgrade.md's Apache
section in a copy of the tree, with every absolute path moved into a throw-away root (DESTDIR).
It also loads two copies of conf/apache/teamboard.conf, edited as deploy.md says for a second
site, into a real Apache (`apache2 -t -D DUMP_VHOSTS`): each keeps its own settings."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import tbenv  # noqa: E402

REPO = tbenv.REPO
# The blocks checked: file -> the "## " sections whose sh blocks count (None: the whole file).
DOCS = {
    "docs/deploy.md": ("Common steps (your own server)", "lighttpd", "Apache + mod_fcgid"),
    "docs/upgrade.md": None,
    "docs/shared-hosting.md": None,
}
BUILT = {"teamboard.fcgi", "teamboard-admin", "teamboard-supervisor"}
BUILTINS = {"cd", "echo", "export", "test", "[", "set", "true", "false", ":", "umask", "exit",
            "printf", "read", "unset"}
# Commands whose arguments are files (of the tree, when relative).
FILE_COMMANDS = {"cp", "install", "mv", "sh", "bash", "cat", "ln", "chmod", "chown", "diff", "rsync",
                 "tar", "rm", "mkdir"}
AUTOMAKE_TARGETS = {"all", "install", "check", "dist", "distcheck", "clean", "uninstall",
                    "installcheck", "install-strip"}
SEPARATORS = {"&&", "||", "|", ";", "(", ")", "&"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1", ">&"}


# ---- reading the docs ----

def blocks(rel, sections, indented=False):
    """[(line number, text)] of the ```sh blocks of rel within sections (every block with
    indented=True: 4-space indented ones too, the old convention, for showing what the checks
    would have found)."""
    path = os.path.join(REPO, rel)
    if not os.path.exists(path):
        return []
    lines = open(path).read().split("\n")
    out, section, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        wanted = sections is None or section in sections
        if line.startswith("```"):
            kind = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if wanted and kind == "sh":
                out.append((i + 1, "\n".join(lines[i + 1:j])))
            i = j + 1
            continue
        if indented and wanted and line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            out.append((i + 1, "\n".join(x[4:] for x in lines[i:j])))
            i = j
            continue
        i += 1
    return out


def indented_blocks(rel, sections):
    """Line numbers of indented code blocks (after a blank line) in the sections."""
    path = os.path.join(REPO, rel)
    if not os.path.exists(path):
        return []
    lines, section, fenced, found = open(path).read().split("\n"), None, False, []
    for n, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("## ") and not fenced:
            section = line[3:].strip()
        elif (not fenced and line.startswith("    ") and n and not lines[n - 1].strip()
              and (sections is None or section in sections) and not re.match(r"\s*[-*|]|\s+\d+\.", line)):
            found.append(n + 1)
    return found


def commands(text):
    """The simple commands of a shell block: [[word, ...]], heredoc bodies, comments and
    redirections' targets left out (the targets are returned as ("redirect", path) words)."""
    # join continuation lines, drop heredoc bodies
    joined, heredoc = [], None
    for line in text.split("\n"):
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r"<<-?\s*'?\"?(\w+)'?\"?", line)
        if m:
            heredoc = m.group(1)
            line = line[:m.start()]
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + line.strip()
        else:
            joined.append(line)
    out = []
    for line in joined:
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lex.whitespace_split = True
        lex.commenters = "#"
        cmd = []
        try:
            toks = list(lex)
        except ValueError as e:
            raise AssertionError("cannot parse %r: %s" % (line, e))
        it = iter(toks)
        for t in it:
            if t in SEPARATORS:
                if cmd:
                    out.append(cmd)
                cmd = []
            elif t in (">", ">>", "<"):
                target = next(it, None)
                if target is not None:
                    cmd.append(("redirect", target))
            else:
                cmd.append(t)
        if cmd:
            out.append(cmd)
    return out


def program(cmd):
    """(index of the program word, the program) after VAR=value assignments and env/sudo."""
    i = 0
    while i < len(cmd) and isinstance(cmd[i], str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", cmd[i]):
        i += 1
    while i < len(cmd) and cmd[i] in ("sudo", "env", "nice", "exec"):
        i += 1
    return i, (cmd[i] if i < len(cmd) else None)


def make_targets():
    text = open(os.path.join(REPO, "Makefile.am")).read()
    return AUTOMAKE_TARGETS | set(re.findall(r"^([A-Za-z0-9_.-]+):", text, re.M))


def built_paths():
    """Relative paths the build makes: bin_PROGRAMS of Makefile.am."""
    text = open(os.path.join(REPO, "Makefile.am")).read()
    m = re.search(r"^bin_PROGRAMS\s*=\s*(.*)$", text, re.M)
    return set(m.group(1).split()) if m else set()


def is_tree_path(word):
    if not isinstance(word, str) or not word or word[0] in "/~$-" or "://" in word or "=" in word:
        return False
    return "/" in word or re.search(r"\.(fcgi|conf|sample|json|sql|sh|md|service|html|js|css|in)$", word)


def problems_of(rel, line, text):
    """What is wrong with one block: [message]."""
    found, targets, built = [], make_targets(), built_paths()
    for cmd in commands(text):
        i, prog = program(cmd)
        if prog is None:
            continue
        where = "%s:%d: %s" % (rel, line, " ".join(w if isinstance(w, str) else "> " + w[1] for w in cmd))
        if not isinstance(prog, str):
            continue
        if prog in BUILT or prog in BUILTINS:
            pass
        elif prog[0] in "~$":  # an installed program: one the tree builds
            if os.path.basename(prog) not in BUILT:
                found.append("%s: %s is not a program the tree builds" % (where, prog))
        elif prog == "./configure":
            if not os.path.exists(os.path.join(REPO, "configure.ac")):
                found.append("%s: no configure.ac" % where)
        elif "/" in prog and not prog.startswith("/"):
            p = prog[2:] if prog.startswith("./") else prog
            if not (os.path.exists(os.path.join(REPO, p)) or p in built):
                found.append("%s: %s is not in the tree" % (where, prog))
        elif shutil.which(prog, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") is None:
            found.append("%s: %s is not on this machine" % (where, prog))
        args = cmd[i + 1:]
        if prog == "make":
            for a in args:
                if isinstance(a, str) and not a.startswith("-") and "=" not in a and a not in targets:
                    found.append("%s: no make target %s" % (where, a))
        if prog in FILE_COMMANDS or prog == "sh":
            for a in args:
                if is_tree_path(a):
                    p = a[2:] if a.startswith("./") else a
                    if not (os.path.exists(os.path.join(REPO, p)) or p in built):
                        found.append("%s: %s is not in the tree" % (where, a))
        if prog == "cp":
            files = [a for a in args if isinstance(a, str) and not a.startswith("-")]
            if any(a.endswith((".fcgi", "teamboard-admin", "teamboard-supervisor")) or "/bin/" in a
                   or a.rstrip("/").endswith("web") for a in files):
                found.append("%s: cp of a program or of web/: use install, make install-web" % where)
    return found


def all_blocks():
    return [(rel, line, text) for rel, sections in DOCS.items() for line, text in blocks(rel, sections)]


# ---- the checks ----

def test_the_guides_have_steps():
    got = {rel for rel, _, _ in all_blocks()}
    assert {"docs/deploy.md", "docs/upgrade.md"} <= got


@pytest.mark.parametrize("rel", sorted(DOCS))
def test_shell_steps_are_fenced_sh_blocks(rel):
    """The convention: no indented code blocks in the checked sections (they would escape the
    checks below)."""
    assert indented_blocks(rel, DOCS[rel]) == [], "%s: indented code blocks at lines %s: make them ```sh " \
        "(commands) or ``` (anything else)" % (rel, indented_blocks(rel, DOCS[rel]))


@pytest.mark.parametrize("rel", sorted(DOCS))
def test_paths_commands_and_targets_exist(rel):
    found = []
    for line, text in blocks(rel, DOCS[rel]):
        found += problems_of(rel, line, text)
    assert found == []


def test_the_checks_find_what_went_wrong_before():
    """The checks catch the mistakes of issue 18 (steps as the guides had them)."""
    old = ("mkdir -p ~/teamboard/bin\n"
           "cp teamboard.fcgi teamboard-admin teamboard-supervisor ~/teamboard/bin/\n"
           "cp -r web /srv/teamboard/web\n"
           "cp /usr/local/bin/teamboard.fcgi /srv/teamboard/fcgi-bin/teamboard.fcgi\n"
           "install -m 0644 conf/no-such-file.conf /etc/x\n"
           "make install-nothing\n"
           "teamboard-frobnicate --now\n")
    found = "\n".join(problems_of("old.md", 1, old))
    assert "teamboard.fcgi is not in the tree" in found
    assert "cp -r web /srv/teamboard/web: cp of a program or of web/" in found
    assert "teamboard-fcgi-bin" not in found and "/srv/teamboard/fcgi-bin/teamboard.fcgi: cp of a program" in found
    assert "conf/no-such-file.conf is not in the tree" in found
    assert "no make target install-nothing" in found
    assert "teamboard-frobnicate is not on this machine" in found


# ---- running the build, install and upgrade steps in a throw-away root ----

RUNNABLE = {"autoreconf", "./configure", "make", "install", "teamboard.fcgi"}


def runnable(rel, sections):
    """The commands of the runnable kinds, in the order of the guide."""
    out = []
    for line, text in blocks(rel, sections):
        for cmd in commands(text):
            i, prog = program(cmd)
            if prog in RUNNABLE and all(isinstance(w, str) for w in cmd):
                out.append((rel, line, cmd[i:]))
    return out


def in_root(root, word):
    for top in ("/etc/", "/srv/", "/usr/local/", "/var/"):
        if word.startswith(top):
            return root + word
    return word


def rewrite(root, cmd):
    """The command as it runs in the copy: paths under root, no owners (the copy is not root's
    to give away), DESTDIR for make's install targets, the installed teamboard.fcgi."""
    prog, args = cmd[0], list(cmd[1:])
    if prog == "make":
        out = ["make", "-j2"] + args
        if any(a.startswith("install") for a in args):
            out.append("DESTDIR=" + root)
        return out
    if prog == "install":
        out, it = ["install"], iter(args)
        for a in it:
            if a in ("-o", "-g"):
                next(it, None)
            else:
                out.append(in_root(root, a))
        return out
    if prog == "teamboard.fcgi":
        return [root + "/usr/local/bin/teamboard.fcgi"] + [in_root(root, a) for a in args]
    return [prog] + args


def run_steps(src, root, steps):
    for rel, line, cmd in steps:
        argv = rewrite(root, cmd)
        r = subprocess.run(argv, cwd=src, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, "%s:%d: %s failed (%d):\n%s\n%s" % (
            rel, line, " ".join(argv), r.returncode, r.stdout[-3000:], r.stderr[-3000:])
        if cmd[0] == "autoreconf":
            assert "m4" not in r.stderr, r.stderr  # no warning about a missing m4/


@pytest.fixture(scope="module")
def tree_copy():
    """A copy of the source tree as it is (tracked files, from the working tree) and an empty
    root with the directories a Debian 12 machine has."""
    top = tempfile.mkdtemp(prefix="tb-docs.")
    src, root = os.path.join(top, "src"), os.path.join(top, "root")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for f in files.decode().split("\0"):
        if f and os.path.isfile(os.path.join(REPO, f)):
            os.makedirs(os.path.join(src, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, f), os.path.join(src, f))
    for d in ("etc/systemd/system", "etc/apache2/sites-available", "etc/lighttpd/conf-available",
              "srv", "var/log", "usr/local"):
        os.makedirs(os.path.join(root, d))
    yield src, root
    shutil.rmtree(top, ignore_errors=True)


def test_deploy_and_upgrade_steps_run_in_a_throwaway_root(tree_copy):
    src, root = tree_copy
    deploy = runnable("docs/deploy.md", ("Common steps (your own server)", "Apache + mod_fcgid"))
    kinds = [c[2][0] for c in deploy]
    assert {"autoreconf", "./configure", "make", "install", "teamboard.fcgi"} <= set(kinds), kinds
    run_steps(src, root, deploy)
    bin_ = os.path.join(root, "usr/local/bin")
    for p in ("teamboard.fcgi", "teamboard-admin", "teamboard-supervisor"):
        assert os.access(os.path.join(bin_, p), os.X_OK), p
    assert os.listdir(os.path.join(root, "usr/local/share/teamboard/sql"))
    fcgi_bin = os.path.join(root, "srv/teamboard/fcgi-bin")
    assert sorted(os.listdir(fcgi_bin)) == ["teamboard-stream.fcgi", "teamboard.fcgi"]
    web = os.path.join(root, "srv/teamboard/web")
    assert os.path.isfile(os.path.join(web, "index.html")) and not os.path.exists(os.path.join(web, "web"))
    assert os.path.isfile(os.path.join(root, "etc/teamboard/teamboard.conf"))
    assert os.path.isfile(os.path.join(root, "etc/apache2/sites-available/teamboard.conf"))
    # the programs read /etc/teamboard/teamboard.conf by default, as the guide says
    r = subprocess.run([os.path.join(bin_, "teamboard.fcgi"), "--help"], capture_output=True, text=True)
    assert "/etc/teamboard/teamboard.conf" in r.stdout

    # upgrade.md, Apache: over the running installation (a process runs the old copy meanwhile)
    with open(os.path.join(web, "stale.js"), "w") as f:
        f.write("old client\n")
    old_inode = os.stat(os.path.join(fcgi_bin, "teamboard.fcgi")).st_ino
    running = subprocess.Popen([os.path.join(fcgi_bin, "teamboard.fcgi"), "--listen",
                                os.path.join(root, "fcgi.sock"), "--workers", "1"],
                               env={"TEAMBOARD_CONF": os.path.join(src, "conf/teamboard.conf.sample")},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        upgrade = runnable("docs/upgrade.md", ("Apache + mod_fcgid",))
        assert [c[2][0] for c in upgrade].count("install") >= 2
        run_steps(src, root, upgrade)
    finally:
        running.terminate()
        running.wait(timeout=20)
    assert os.stat(os.path.join(fcgi_bin, "teamboard.fcgi")).st_ino != old_inode  # a new file
    assert not os.path.exists(os.path.join(web, "stale.js")) and not os.path.exists(os.path.join(web, "web"))
    assert os.path.isfile(os.path.join(web, "index.html"))
    assert [n for n in os.listdir(os.path.join(root, "srv/teamboard")) if n.startswith("web.")] == []


# ---- make install-web by itself ----

def test_install_web_replaces_the_client_whole(tmp_path):
    build = os.path.join(REPO, os.environ.get("TB_BUILD_DIR") or "build")
    if not os.path.isfile(os.path.join(build, "Makefile")):
        pytest.skip("no configured build dir %s" % build)
    dest = str(tmp_path / "d")

    def install_web(*extra):
        return subprocess.run(["make", "-s", "-C", build, "install-web", "DESTDIR=" + dest] + list(extra),
                              capture_output=True, text=True, timeout=120)

    r = install_web("webdir=/srv/tb/web")
    assert r.returncode == 0, r.stderr
    web = os.path.join(dest, "srv/tb/web")
    same = subprocess.run(["diff", "-r", os.path.join(REPO, "web"), web], capture_output=True, text=True)
    assert same.returncode == 0, same.stdout[-2000:]
    open(os.path.join(web, "stale.js"), "w").close()
    os.chmod(web, 0o700)
    r = install_web("webdir=/srv/tb/web/")  # a trailing slash is the same directory
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(os.path.join(dest, "srv/tb"))) == ["web"]
    assert not os.path.exists(os.path.join(web, "stale.js"))
    assert not os.path.exists(os.path.join(web, "web"))
    assert os.stat(web).st_mode & 0o777 == 0o755
    assert subprocess.run(["diff", "-r", os.path.join(REPO, "web"), web]).returncode == 0
    # the default directory, and refusals
    r = install_web()
    assert r.returncode == 0 and os.path.isdir(os.path.join(dest, "srv/teamboard/web")), r.stderr
    open(os.path.join(dest, "afile"), "w").close()
    r = install_web("webdir=/afile")
    assert r.returncode != 0 and "exists and is not a directory" in r.stderr
    r = subprocess.run(["make", "-s", "-C", build, "install-web", "webdir=/"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "webdir must name a directory" in r.stderr


# ---- a second Apache site from a copy of the site file ----

def second_site_config(tmp, undefine=True):
    """httpd.conf for `apache2 -t` with two copies of conf/apache/teamboard.conf, the second
    edited as docs/deploy.md says (TB_SITE, TB_HOME, TB_CONF, TB_SERVER_NAME)."""
    site = open(os.path.join(REPO, "conf", "apache", "teamboard.conf")).read()
    if not undefine:
        site = re.sub(r"^UnDefine .*$", "", site, flags=re.M)

    def copy(name, values):
        text = site
        for key, value in values.items():
            text, n = re.subn(r"(<IfDefine !%s>\s*\n\s*Define %s )\S+" % (key, key), r"\g<1>" + value, text)
            assert n == 1, key
        home = values["TB_HOME"]
        os.makedirs(os.path.join(home, "fcgi-bin"))
        os.makedirs(os.path.join(home, "web"))
        for f in ("teamboard.fcgi", "teamboard-stream.fcgi"):
            with open(os.path.join(home, "fcgi-bin", f), "w") as fh:
                fh.write("#!/bin/sh\n")
            os.chmod(os.path.join(home, "fcgi-bin", f), 0o755)
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    one = copy("one.conf", {"TB_SITE": "one", "TB_HOME": os.path.join(tmp, "one"),
                            "TB_CONF": os.path.join(tmp, "one.conf.tb"), "TB_SERVER_NAME": "one.example.org",
                            "TB_VHOST": "127.0.0.1:8099"})
    two = copy("two.conf", {"TB_SITE": "two", "TB_HOME": os.path.join(tmp, "two"),
                            "TB_CONF": os.path.join(tmp, "two.conf.tb"), "TB_SERVER_NAME": "two.example.org",
                            "TB_VHOST": "127.0.0.1:8099"})
    load = []
    for ext in ("load", "conf"):
        for mod in tbenv.APACHE_DEFAULT_MODULES + tbenv.APACHE_SETUP_MODULES["apache-fcgid"]:
            f = "/etc/apache2/mods-available/%s.%s" % (mod, ext)
            if os.path.isfile(f):
                load.append("Include %s" % f)
    for d in ("run", "log"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    conf = os.path.join(tmp, "httpd.conf")
    with open(conf, "w") as f:
        f.write("ServerRoot %s\nDefaultRuntimeDir %s/run\nPidFile %s/run/httpd.pid\n"
                "Define APACHE_LOG_DIR %s/log\nErrorLog %s/log/error.log\nListen 127.0.0.1:8099\n"
                "ServerName localhost\n%s\nInclude %s\nInclude %s\n" % (
                    tmp, tmp, tmp, tmp, tmp, "\n".join(load), one, two))
    return conf


def vhost_names(conf):
    r = subprocess.run(["/usr/sbin/apache2", "-f", conf, "-t", "-D", "DUMP_VHOSTS"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return re.findall(r"namevhost (\S+)", r.stdout) + re.findall(r"127\.0\.0\.1:8099\s+(\S+) \(", r.stdout)


@pytest.mark.skipif(not os.path.exists("/usr/sbin/apache2"), reason="no Apache")
def test_second_apache_site_keeps_its_own_settings(tmp_path):
    names = vhost_names(second_site_config(str(tmp_path / "a")))
    assert sorted(set(names)) == ["one.example.org", "two.example.org"], names
    # without the UnDefine lines the copy would inherit the first site's settings
    names = vhost_names(second_site_config(str(tmp_path / "b"), undefine=False))
    assert "two.example.org" not in names, names
