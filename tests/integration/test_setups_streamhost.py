"""The stream host's shipped set-ups (issue 13; docs/deploy.md, "Which stream mode"), in the lighttpd
suite only:

  * lighttpd's production site config with conf/lighttpd/teamboard-streamhost.conf, run as Debian
    would (tests/harness/lighttpd/debian.conf.in), in front of two teamboard-streamhost
    processes on one socket: a live stream gets a change;
  * Apache's production virtual host, conf/apache/teamboard.conf, with TB_STREAM_HOST_SOCKET
    Defined: the stream through mod_proxy_fcgi (flushpackets=on), the REST call that makes the
    change through mod_fcgid;
  * the systemd units teamboard-streamhost.socket and teamboard-streamhost@.service: they verify,
    pass the socket as descriptor 3, and listen where the lighttpd config sends streams.
"""

import os
import re
import subprocess

import pytest

import tbclient as tb
import tbsse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEMD = os.path.join(REPO, "conf", "systemd")

pytestmark = pytest.mark.skipif((os.environ.get("TB_SETUP") or "lighttpd") != "lighttpd",
                                reason="the lighttpd suite starts these set-ups itself")


def live_stream(env):
    """A stream on env gets a change made through env's REST path, from a stream host process."""
    user = tb.new_user(env)
    board = tb.create_board(env, user)["id"]
    s = tbsse.Stream(env, board, user.token)
    try:
        s.wait_event("hello", tb.seconds(15))
        assert s.headers.get("content-type", "").startswith("text/event-stream"), s.headers
        rows = tbsse.registry(env, [board])
        assert len(rows) == 1 and rows[0][2] in env.stream_host_pids(), (rows, env.stream_host_pids())
        item = tb.create_item(env, user, board, text="to the stream host")
        ev = s.wait_event("item.created", tb.seconds(5))
        assert str(item["id"]) in ev.data
    finally:
        s.close()
        assert not tbsse.release(env, [board], timeout=tb.seconds(20))


def test_lighttpd_production_config_with_the_stream_host(server):
    h = server.add_host("lighttpd", "prod-streamhost", lighttpd_conf="production",
                        stream_mode="host")
    try:
        with open(h.path("etc", "lighttpd-conf-enabled", "51-teamboard-streamhost.conf")) as f:
            assert "server.max-fds" in f.read()
        live_stream(h)
    finally:
        problems = h.stop()
        assert not problems, problems


def test_apache_proxy_fcgi_to_the_stream_host(server):
    if not os.path.isfile("/etc/apache2/mods-available/proxy_fcgi.load"):
        pytest.skip("Apache's mod_proxy_fcgi is not installed")
    h = server.add_host("apache-fcgid", "apache-streamhost", stream_mode="host")
    try:
        live_stream(h)
    finally:
        problems = h.stop()
        assert not problems, problems


def read_unit(name):
    with open(os.path.join(SYSTEMD, name)) as f:
        return f.read()


def test_streamhost_units_pass_the_socket_the_site_config_uses():
    sock = read_unit("teamboard-streamhost.socket")
    svc = read_unit("teamboard-streamhost@.service")
    with open(os.path.join(REPO, "conf", "lighttpd", "teamboard.conf")) as f:
        site = f.read()
    path = re.search(r"(?m)^ListenStream=(/\S+)$", sock).group(1)
    assert re.search(r'(?m)^var\.teamboard_stream_socket\s*=\s*"%s"$' % re.escape(path), site)
    assert re.search(r"(?m)^Service=teamboard-streamhost@1\.service$", sock)
    assert re.search(r"(?m)^SocketUser=www-data$", sock) and re.search(r"(?m)^SocketMode=0660$", sock)
    # the socket is descriptor 3, the first systemd passes (sd_listen_fds)
    assert re.search(r"(?m)^Sockets=teamboard-streamhost\.socket$", svc)
    assert re.search(r"(?m)^ExecStart=/usr/local/bin/teamboard-streamhost --fd 3$", svc)
    assert re.search(r"(?m)^User=www-data$", svc)


def test_streamhost_units_verify(tmp_path):
    exe = "/usr/bin/systemd-analyze"
    if not os.path.exists(exe):
        pytest.skip("systemd-analyze not installed")
    units = ("teamboard-streamhost.socket", "teamboard-streamhost@.service")
    r = subprocess.run([exe, "verify", "--man=no"] + [os.path.join(SYSTEMD, u) for u in units],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    # The program is not installed here: that is the only complaint allowed.
    bad = [ln for ln in r.stdout.splitlines()
           if ln.strip() and "is not executable: No such file or directory" not in ln]
    assert not bad, r.stdout
