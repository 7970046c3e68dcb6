"""teamboard.fcgi --check-config FILE and its command line: the settings in effect are printed
(defaults included, the password in `database` masked) and the exit status says whether the file
is valid; every problem is reported as `file:line: message`. --workers takes a whole number from
1 to 10000 and nothing else ("12abc" was once taken as 12). No server is needed: the program
checks a file and exits, as an admin runs it before a reload."""

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, os.environ.get("TB_BUILD_DIR") or "build")
FCGI = os.path.join(BUILD, "fcgi", "teamboard.fcgi")
SAMPLE = os.path.join(REPO, "conf", "teamboard.conf.sample")


def run(*args, env=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    e.update(env or {})
    return subprocess.run([FCGI] + list(args), capture_output=True, text=True, timeout=30, env=e)


def settings(out):
    """The `key = value` lines of --check-config's output as a dict; `# key = (not set)` as None."""
    got = {}
    for line in out.splitlines():
        if line.startswith("# ") and line.endswith(" = (not set)"):
            got[line[2:-len(" = (not set)")]] = None
        elif not line.startswith("#"):
            k, _, v = line.partition(" = ")
            got[k] = v
    return got


@pytest.fixture
def conf(tmp_path):
    def write(text):
        p = tmp_path / "teamboard.conf"
        p.write_text(text)
        return str(p)
    return write


def test_sample_is_valid_and_prints_every_setting():
    r = run("--check-config", SAMPLE)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines()[0] == "# %s: valid; the settings in effect (defaults included)" % SAMPLE
    got = settings(r.stdout)
    # every key of the sample, in the sample's own spelling
    for line in open(SAMPLE):
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            assert k.strip() in got, k
    assert got["max_body"] == "65536"
    assert got["max_large_replies_per_address"] == "2"
    assert got["max_large_replies"] == "8"
    assert got["reply_linger"] == "25"
    assert got["log_file"] is None
    assert got["allowed_origins"] is None
    assert got["database"] == "user=teamboard_app dbname=teamboard host=/var/run/postgresql"
    assert len(got) == 31  # trash_days (issue 14) made it 27, password_cost 28, max_import 29, max_guest_streams 30,
    # reply_linger 31


def test_comments_after_values_and_masked_password(conf):
    path = conf("host_name = web1  # per host\n"
                "database = dbname=tb user=app password=a#b  # the runtime role\n"
                "log_file = /var/log/teamboard/teamboard.log\n"
                "max_streams = 62 # below the pool\n")
    r = run("--check-config", path)
    assert r.returncode == 0, r.stderr
    got = settings(r.stdout)
    assert got["host_name"] == "web1"
    assert got["max_streams"] == "62"
    assert got["log_file"] == "/var/log/teamboard/teamboard.log"
    assert got["database"] == "user=app password=******** dbname=tb"
    assert "a#b" not in r.stdout


def test_uri_password_masked(conf):
    r = run("--check-config", conf("database = postgresql://app:s3cret@db.example.org/tb\n"))
    assert r.returncode == 0, r.stderr
    assert "s3cret" not in r.stdout
    assert settings(r.stdout)["database"] == "user=app password=******** dbname=tb host=db.example.org"


@pytest.mark.parametrize("text, where, message", [
    ("max_body = 100\nnope = 1\n", 2, "unknown key 'nope'"),
    ("max_body = 100\nmax_body = 200\n", 2, "max_body: set twice"),
    ("max_body = 12abc\n", 1, "max_body: must be a whole number in range"),
    ("\n\nmax_streams = -1\n", 3, "max_streams: must be a whole number in range"),
    ("cookie_secure = maybe\n", 1, "cookie_secure: must be true or false"),
    ("host_name = # nothing\n", 1, "host_name: empty value"),
    ("database = dbname\n", 1, "database: not a libpq connection string"),
    ("log_file = teamboard.log\n", 1, "log_file: must be an absolute path"),
    ("max_body 100\n", 1, "expected key = value"),
])
def test_problems_name_file_and_line(conf, text, where, message):
    path = conf(text)
    r = run("--check-config", path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith("teamboard.fcgi: %s:%d: " % (path, where)), r.stderr
    assert message in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_missing_file():
    r = run("--check-config", "/nonexistent/teamboard.conf")
    assert r.returncode == 1
    assert r.stderr == "teamboard.fcgi: /nonexistent/teamboard.conf: cannot open: No such file or directory\n"


def test_check_config_needs_a_file_and_takes_nothing_else():
    assert run("--check-config").returncode == 2
    r = run("--check-config", SAMPLE, "extra")
    assert r.returncode == 2 and "usage:" in r.stderr


@pytest.mark.parametrize("value", ["12abc", "0", "-1", "10001", "", " 4", "4 ", "0x10", "1e3",
                                   "99999999999999999999"])
def test_workers_must_be_a_whole_number(value):
    r = run("--workers", value, "--listen", "/nonexistent/fcgi.sock", env={"TEAMBOARD_CONF": SAMPLE})
    assert r.returncode == 2, (value, r.stderr)
    assert r.stderr == "teamboard.fcgi: --workers must be a whole number from 1 to 10000\n"


def test_workers_accepts_its_range(tmp_path):
    """A valid --workers passes the option check and gets as far as the socket (which here cannot
    be made: its directory is missing), so the pool fails there (libfcgi exits with errno), not
    with the usage status 2."""
    for value in ("1", "10000"):
        r = run("--workers", value, "--listen", str(tmp_path / "no" / "fcgi.sock"),
                env={"TEAMBOARD_CONF": SAMPLE})
        assert r.returncode not in (0, 2), (value, r.stderr)
        assert "--workers" not in r.stderr and "bind/listen" in r.stderr


def test_config_error_after_log_file_goes_to_it_too(conf, tmp_path):
    """A start that fails on a bad line says so on stderr; when an earlier line named log_file,
    the error is also in that file (the admin looks there)."""
    log = tmp_path / "teamboard.log"
    path = conf("log_file = %s\nmax_body = 12abc\n" % log)
    r = run("--config", path)
    assert r.returncode == 1
    assert r.stderr == "teamboard.fcgi: %s:2: max_body: must be a whole number in range\n" % path
    text = log.read_text()
    assert len(text.splitlines()) == 1
    assert " error teamboard.fcgi[" in text and text.endswith(
        ": %s:2: max_body: must be a whole number in range\n" % path)
    assert oct(os.stat(log).st_mode & 0o777) == oct(0o640 & ~current_umask())


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
