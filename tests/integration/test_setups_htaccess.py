"""The shared-hosting set-up itself (TB_SETUP=apache-htaccess): the web space laid out by
conf/shared-hosting/install-webspace.sh (.htaccess + cgi-bin/) on a host that grants
AllowOverride FileInfo Options=ExecCGI and runs mod_fcgid (tests/harness/apache/
shared-host.conf.in). Nothing but the static files and the API can be fetched; streams run in
their own mod_fcgid class; supervisor = auto runs exactly one supervisor inside the workers."""

import os
import re
import time

import pytest

import tbclient as tb
import tbenv
import tbsse


@pytest.fixture(autouse=True)
def only_htaccess(server):
    if server.setup != "apache-htaccess":
        pytest.skip("the session's web host is %s, not apache-htaccess" % server.setup)


def test_nothing_but_static_files_and_the_api_can_be_fetched(server):
    assert tbenv.http_get(server.base + "/")[0] == 200
    assert tbenv.http_get(server.base + "/api/v1/health")[0] == 200
    for path in ("/.htaccess", "/cgi-bin/.htaccess", "/cgi-bin/teamboard.fcgi",
                 "/cgi-bin/teamboard-stream.fcgi", "/cgi-bin/too_large.json", "/cgi-bin/"):
        status, _, body = tbenv.http_get(server.base + path)
        assert status == 403, (path, status, body[:200])
    # the program and its configuration are outside the web root
    for f in (server.config_file, os.path.join(server.state_dir, "bin", "teamboard.fcgi")):
        assert not os.path.realpath(f).startswith(os.path.realpath(server.web_space) + os.sep)


def test_the_htaccess_carries_max_body_and_the_scripts_the_paths(server):
    with open(os.path.join(server.web_space, ".htaccess")) as f:
        assert "-gt%d " % int(server.config["max_body"]) in f.read()
    with open(os.path.join(server.web_space, "cgi-bin", "teamboard-stream.fcgi")) as f:
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
            assert re.search(r"mod_fcgid: server \S+/cgi-bin/teamboard-stream\.fcgi\(%d\) started"
                             % pid, log), "no spawn of the stream class with pid %d" % pid
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
