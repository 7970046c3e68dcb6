"""The lighttpd set-ups themselves (run in the lighttpd suite):

  * the development config (conf/lighttpd/dev.conf.in, the session's web host when TB_SETUP is
    lighttpd) sends the event stream path to the stream pool (the per-stream workers, or the
    stream hosts with TB_STREAM_MODE=host) and everything else to the REST pool;
  * the production site config, conf/lighttpd/teamboard.conf, run as Debian would run it (inside
    Debian's lighttpd.conf with Debian's 10-fastcgi.conf; tests/harness/lighttpd/debian.conf.in)
    with its two external pools: static files, REST, streams on the stream pool, the 413 before
    the body, a full stream pool refused at once, and the browser policy headers;
  * the systemd units and the lighttpd config agree on the pools' sockets.
"""

import os
import re
import time

import pytest

import tbclient as tb
import tbenv
import tbsse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return int(data[data.rfind(")") + 2:].split()[1])


def pool_of(env, pid):
    """"streams" or "workers": which of the environment's pools the stream's pid belongs to (a
    stream host holds its streams itself: the pid is one of the host processes, TB_STREAM_MODE=host)."""
    if env.stream_mode == "host":
        hosts = env.stream_host_pids()
        return "streams" if pid in hosts else "pid %d is none of the stream hosts %s" % (pid, hosts)
    parent = ppid(pid)
    for name in ("streams", "workers"):
        p = env._procs.get(name)
        if p is not None and p.pid == parent:
            return name
    return "pid %d (parent %d) is in neither pool" % (pid, parent)


def check_pools(env):
    user = tb.new_user(env)
    board = tb.create_board(env, user)["id"]
    s = tbsse.Stream(env, board, user.token)
    try:
        s.wait_event("hello", tb.seconds(15))
        rows = tbsse.registry(env, [board])
        assert len(rows) == 1, rows
        assert pool_of(env, rows[0][2]) == "streams"
        t = time.monotonic()
        item = tb.create_item(env, user, board, text="through the REST pool")
        ev = s.wait_event("item.created", tb.seconds(5))
        assert ev.t - t < tb.seconds(1.0)
        assert str(item["id"]) in ev.data
        assert s.headers.get("content-type", "").startswith("text/event-stream")
        assert "content-encoding" not in s.headers
    finally:
        s.close()
        assert not tbsse.release(env, [board], timeout=tb.seconds(20))
    # (That REST calls stay fast while every stream worker is taken: test_overload.py.)
    assert env._procs["workers"].poll() is None and env._procs["streams"].poll() is None


def test_dev_config_stream_path_goes_to_the_stream_pool(server):
    if server.setup != "lighttpd" or server.lighttpd_conf != "dev":
        pytest.skip("the session's web host is %s" % server.setup)
    check_pools(server)


@pytest.fixture(scope="module")
def prod(server):
    h = server.add_host("lighttpd", "prod-lighttpd", lighttpd_conf="production")
    try:
        yield h
    finally:
        problems = h.stop()
        assert not problems, problems


def test_production_config_serves_static_files_and_the_api(prod):
    status, ctype, body = tbenv.http_get(prod.base + "/")
    assert status == 200 and ctype.startswith("text/html"), (status, ctype)
    status, ctype, body = tbenv.http_get(prod.base + "/api/v1/health")
    assert status == 200, body
    assert ctype.startswith("application/json"), ctype
    # the program's own 404 for unknown API paths, lighttpd's for unknown files
    assert tbenv.http_get(prod.base + "/api/v1/no-such")[0] == 404
    assert tbenv.http_get(prod.base + "/no-such-file.html")[0] == 404


def test_production_config_sends_the_browser_policy(prod):
    # The same headers as the development config (tests/integration/test_security_headers.py).
    import test_security_headers as sh
    for path in ("/", "/js/app.js", "/api/v1/health", "/api/v1/no-such"):
        _, headers = sh.get(prod, path)
        assert headers.get_all("Content-Security-Policy") == [sh.CSP], (path, headers.items())
        assert headers.get_all("X-Frame-Options") == ["DENY"], (path, headers.items())
        assert headers.get_all("X-Content-Type-Options") == ["nosniff"], (path, headers.items())
        assert headers.get_all("Referrer-Policy") == ["same-origin"], (path, headers.items())

def test_production_config_stream_path_goes_to_the_stream_pool(prod):
    check_pools(prod)


def test_production_config_refuses_an_oversize_body_before_it_is_sent(prod):
    user = tb.new_user(prod)
    head = ("POST /api/v1/boards HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: 10485760\r\nAuthorization: Bearer %s\r\nOrigin: %s\r\n"
            "Connection: close\r\n\r\n" % (prod.host, prod.port, user.token, prod.base))
    resp = tb.raw_exchange(prod, head.encode(), timeout=tb.seconds(5))
    tb.assert_error(resp, 413, "too_large")


def test_production_config_full_stream_pool_answers_503_at_once(prod):
    limit = int(prod.config["max_streams"])
    user = tb.new_user(prod)
    board = tb.create_board(prod, user)["id"]
    held = []
    try:
        for _ in range(limit):
            held.append(tbsse.Stream(prod, board, user.token))
            held[-1].wait_event("hello", tb.seconds(15))
        s = tbsse.Stream(prod, board, user.token)
        held.append(s)
        s.wait(lambda s: s.status is not None, tb.seconds(5), "an answer")
        assert s.status == 503 and s.t_head - s.t_open < tb.seconds(2), (s.status, s.body)
        assert "retry-after" in s.headers
        r = tb.request(prod, "GET", "/boards/%d" % board, token=user.token)
        tb.assert_status(r, 200)
        assert r.elapsed < tb.seconds(1)
    finally:
        for s in held:
            s.close()
        assert not tbsse.release(prod, [board], timeout=tb.seconds(20))


def test_systemd_units_and_lighttpd_config_agree_on_the_sockets():
    with open(os.path.join(REPO, "conf", "systemd", "teamboard-pool@.service")) as f:
        unit = f.read()
    with open(os.path.join(REPO, "conf", "lighttpd", "teamboard.conf")) as f:
        conf = f.read()
    m = re.search(r"(?m)^ExecStart=(\S+) --listen (\S+) --workers \$\{WORKERS\}$", unit)
    assert m, "ExecStart of teamboard-pool@.service"
    assert m.group(1) == "/usr/local/bin/teamboard.fcgi"
    for instance in ("rest", "stream"):
        sock = m.group(2).replace("%i", instance)
        assert re.search(r'(?m)^var\.teamboard_%s_socket\s*=\s*"%s"$' % (instance, re.escape(sock)),
                         conf), (instance, sock)
    assert re.search(r"(?m)^RuntimeDirectory=teamboard-%i$", unit)
    assert re.search(r"(?m)^User=www-data$", unit)
    with open(os.path.join(REPO, "conf", "systemd", "teamboard-supervisor.service")) as f:
        sup = f.read()
    assert re.search(r"(?m)^ExecStart=/usr/local/bin/teamboard-supervisor$", sup)
    assert re.search(r"(?m)^User=www-data$", sup)


def test_systemd_units_verify():
    exe = "/usr/bin/systemd-analyze"
    if not os.path.exists(exe):
        pytest.skip("systemd-analyze not installed")
    import subprocess
    for unit in ("teamboard-pool@.service", "teamboard-supervisor.service"):
        path = os.path.join(REPO, "conf", "systemd", unit)
        r = subprocess.run([exe, "verify", "--man=no", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        # The programs are not installed here: that is the only complaint allowed.
        bad = [ln for ln in r.stdout.splitlines()
               if ln.strip() and "is not executable: No such file or directory" not in ln]
        assert not bad, r.stdout
