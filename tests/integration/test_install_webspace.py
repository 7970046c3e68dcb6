"""conf/shared-hosting/install-webspace.sh on its own (no server): it refuses a program or a
teamboard.conf inside the web root also when a symbolic link hides that (a web root that is a
link, a config reached through one), takes the others' permissions away from a config every local
user could read (it holds the database password), and is ShellCheck-clean."""

import os
import stat
import subprocess

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


def run(web_root, program, conf):
    return subprocess.run(["/bin/sh", SCRIPT, str(web_root), str(program), str(conf)],
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
    assert not (space / "www" / "cgi-bin").exists()


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


def test_shellcheck_clean():
    r = subprocess.run(["shellcheck", "--shell=sh", SCRIPT], stdout=subprocess.PIPE,
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
