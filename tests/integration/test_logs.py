"""log_file: Teamboard's own lines in a file of the admin's choosing, behind the real servers.

Each test module's environment is started here (not the session's `server`), with
`log_file = <state>/log/teamboard.log` and `log_level = debug` (every request logs a line):

* lighttpd + the two prefork pools: the pools' parents, their workers and teamboard-supervisor
  all append to the one file, every line in the documented format (docs/operations.md, "Logs"),
  none of them on the pools' standard error; the file is 0640; renamed away (logrotate), it is
  made again and written within TB_LOG_REOPEN_SECONDS; a log_file that cannot be opened, or is
  not a regular file (a symlink planted at the name, a FIFO: its reader would hold every worker),
  is said once on standard error, where the lines then go, and the site answers.
* Apache + mod_fcgid (conf/apache/teamboard.conf): the workers Apache spawns write to the file, not
  to the virtual host's error log or Apache's; the virtual host's log gets mod_fcgid's
  `ap_pass_brigade failed` warning for an ended stream, as documented, and the block the file
  ships commented out drops it."""

import os
import re
import shutil
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import tbenv  # noqa: E402
import tbsse  # noqa: E402
import tbclient as tb  # noqa: E402

REPO = tbenv.REPO
BUILD = os.environ.get("TB_BUILD_DIR") or "build"
REOPEN_SECONDS = 5  # TB_LOG_REOPEN_SECONDS, lib/tb_log.h

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) "
                  r"(teamboard\.fcgi|teamboard-supervisor)\[(\d+)\] req=\d+ [a-z_]+\.c:\d+: (.*)$")
BRIGADE = "mod_fcgid: ap_pass_brigade failed in handle_request_ipc function"


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            assert v, "timed out after %.0f s waiting for %s" % (timeout, what)
            return v
        time.sleep(0.2)


def start_env(setup, src_dir=REPO):
    env = tbenv.Env(setup=setup, build_dir=os.path.join(REPO, BUILD), src_dir=src_dir, workers=2,
                    stream_workers=4)
    env.base_config["log_file"] = os.path.join(env.log_dir, "teamboard.log")
    env.base_config["log_level"] = "debug"
    env.config = dict(env.base_config)
    env.start()
    return env


def stop_env(env):
    problems = env.stop()
    assert not problems, problems


def log_path(env):
    return env.config["log_file"]


def one_stream(env):
    """Opens a stream, reads its hello, closes it and waits until its worker has let go."""
    user = tb.new_user(env)
    b = tb.create_board(env, user)["id"]
    with tbsse.Stream(env, b, user.token) as s:
        s.wait_event("hello", tb.seconds(15))
    tbsse.release(env, [b], timeout=tb.seconds(40))


@pytest.fixture(scope="module")
def lighttpd():
    env = start_env("lighttpd")
    yield env
    stop_env(env)


def test_lighttpd_pools_and_supervisor_write_the_file(lighttpd):
    env = lighttpd
    env.start_supervisor()
    try:
        tb.request(env, "GET", "/health")
        text = wait_for("the supervisor's first line", lambda: (
            t := read(log_path(env))) and "teamboard-supervisor[" in t and t, tb.seconds(15))
    finally:
        env.stop_supervisor()
    lines = text.splitlines()
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, bad[:5]
    programs = {LINE.match(line).group(2) for line in lines}
    assert programs == {"teamboard.fcgi", "teamboard-supervisor"}
    messages = [LINE.match(line).group(4) for line in lines]
    assert any(m.startswith("pool of 2 workers listening on ") for m in messages)
    assert any(m.startswith("pool of 4 workers listening on ") for m in messages)
    assert "GET /api/v1/health -> 200" in messages
    assert any(m.startswith("supervisor: started (host ") for m in messages)
    # nothing of that on the processes' standard error
    for name in ("workers.log", "streams.log", "supervisor.log"):
        stderr = read(env.logs[name])
        assert "pool of" not in stderr and "-> 200" not in stderr and "supervisor: started" not in stderr, (
            name, stderr[-2000:])
    assert os.stat(log_path(env)).st_mode & 0o777 == 0o640


def test_lighttpd_file_renamed_away_is_made_again(lighttpd):
    env = lighttpd
    path = log_path(env)
    tb.request(env, "GET", "/health")
    os.rename(path, path + ".1")
    time.sleep(REOPEN_SECONDS + 1)
    # every worker that answers one of these checks the name and opens it again
    wait_for("a line in the new file", lambda: (
        tb.request(env, "GET", "/health") and "GET /api/v1/health -> 200" in read(path)), tb.seconds(15))
    assert "-> 200" in read(path + ".1")
    assert all(LINE.match(line) for line in read(path).splitlines())


def test_lighttpd_unusable_log_file_said_once_on_stderr(lighttpd):
    env = lighttpd
    missing = os.path.join(env.state_dir, "no-such-dir", "teamboard.log")
    before = read(env.logs["workers.log"])
    try:
        env.restart_app(log_file=missing)
        tb.request(env, "GET", "/health")
        after = wait_for("the request's line on stderr", lambda: (
            t := read(env.logs["workers.log"])[len(before):]) and "GET /api/v1/health -> 200" in t and t,
            tb.seconds(15))
    finally:
        env.restart_app()
    notice = "teamboard.fcgi: log_file %s: cannot open: No such file or directory; logging to standard error" % missing
    assert after.count(notice) == 1, after[-3000:]
    assert not os.path.exists(os.path.dirname(missing))


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_lighttpd_log_file_not_a_regular_file_is_refused(lighttpd, kind):
    """log_file names a symlink (to a file the lines must not reach) or a FIFO with a reader that
    never reads (64 KB of debug lines would then block every worker): refused at start, said once
    on standard error; the site answers and the lines go to standard error."""
    env = lighttpd
    path = os.path.join(env.state_dir, "planted-%s.log" % kind)
    target = os.path.join(env.state_dir, "elsewhere.log")
    reader = None
    if kind == "symlink":
        open(target, "w").close()
        os.symlink(target, path)
    else:
        os.mkfifo(path, 0o666)
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    before = read(env.logs["workers.log"])
    try:
        env.restart_app(log_file=path)  # waits (bounded) until /api/v1/health answers
        for _ in range(300):  # debug lines: more than a FIFO's 64 KB
            r = tb.request(env, "GET", "/health", timeout=tb.seconds(5))
            assert r.status == 200, r
        after = wait_for("the requests' lines on stderr", lambda: (
            t := read(env.logs["workers.log"])[len(before):]) and "GET /api/v1/health -> 200" in t and t,
            tb.seconds(15))
        if reader is not None:
            try:
                got = os.read(reader, 65536)
            except BlockingIOError:
                got = b""
            assert got == b"", got[:200]
        else:
            assert read(target) == ""
    finally:
        env.restart_app()
        if reader is not None:
            os.close(reader)
        os.unlink(path)
    what = "a symbolic link" if kind == "symlink" else "a FIFO"
    notice = "teamboard.fcgi: log_file %s: not a regular file (%s); logging to standard error" % (path, what)
    assert after.count(notice) == 1, after[-3000:]


@pytest.fixture(scope="module")
def apache():
    env = start_env("apache-fcgid")
    yield env
    stop_env(env)


def test_apache_workers_write_the_file_not_the_error_logs(apache):
    env = apache
    tb.request(env, "GET", "/health")
    one_stream(env)
    text = wait_for("the stream's close", lambda: (
        t := read(log_path(env))) and "GET /api/v1/boards/" in t and t, tb.seconds(15))
    lines = text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:5]
    assert "GET /api/v1/health -> 200" in text
    for name in ("teamboard-error.log", "apache-error.log"):
        other = read(env.logs[name])
        assert "teamboard.fcgi[" not in other and "tb_server.c" not in other, (name, other[-2000:])


def test_apache_ended_stream_leaves_the_documented_fcgid_warning(apache):
    """Expected noise (conf/apache/teamboard.conf, docs/deploy.md "Logs"): one warning in the
    virtual host's error log when a stream ends, in exactly this form."""
    env = apache
    one_stream(env)
    text = wait_for("mod_fcgid's warning", lambda: BRIGADE in read(env.logs["teamboard-error.log"])
                    and read(env.logs["teamboard-error.log"]), tb.seconds(15))
    for line in text.splitlines():
        if BRIGADE in line:
            assert "[fcgid:warn]" in line and "(32)Broken pipe" in line, line


def silenced_src_dir():
    """A source tree that is this one but for conf/apache/teamboard.conf, whose commented-out
    LocationMatch block (the documented way to drop the warning) is enabled."""
    top = tempfile.mkdtemp(prefix="tb-src.")
    os.chmod(top, 0o755)
    for name in os.listdir(REPO):
        if name != "conf":
            os.symlink(os.path.join(REPO, name), os.path.join(top, name))
    os.mkdir(os.path.join(top, "conf"))
    for name in os.listdir(os.path.join(REPO, "conf")):
        if name != "apache":
            os.symlink(os.path.join(REPO, "conf", name), os.path.join(top, "conf", name))
    os.mkdir(os.path.join(top, "conf", "apache"))
    text = read(os.path.join(REPO, "conf", "apache", "teamboard.conf"))
    block = ('    #<LocationMatch "^/api/v1/boards/[0-9]+/events$">\n'
             '    #    LogLevel fcgid:error\n'
             '    #</LocationMatch>\n')
    assert block in text, "the documented block is gone from conf/apache/teamboard.conf"
    text = text.replace(block, block.replace("    #", "    "))
    with open(os.path.join(top, "conf", "apache", "teamboard.conf"), "w") as f:
        f.write(text)
    return top


def test_apache_documented_block_drops_the_warning():
    src = silenced_src_dir()
    try:
        env = start_env("apache-fcgid", src_dir=src)
        try:
            one_stream(env)
            one_stream(env)
            wait_for("the streams' close in the log", lambda: read(log_path(env)).count(
                "stream on board") >= 2, tb.seconds(15))
            time.sleep(1)
            assert BRIGADE not in read(env.logs["teamboard-error.log"])
        finally:
            stop_env(env)
    finally:
        shutil.rmtree(src)
