"""Tests of tests/harness/tbcgi.py's front (the set-up TB_SETUP=cgi) with a stand-in program: the
CGI variables it passes, the body it streams, the answer it relays, and that a client who leaves
ends the program as a web server does. No database, no Teamboard: about a second."""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import tbenv

FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tbcgi.py")

# The stand-in: answers with its CGI variables and the body it read, or (PATH_INFO /stream) writes
# a line every 50 ms until a write fails, and says so in ENDED before it ends.
PROGRAM = r'''#!/usr/bin/python3
import json, os, sys, time
env = os.environ
if env["PATH_INFO"] == "/stream":
    sys.stdout.write("Status: 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    try:
        for i in range(400):
            sys.stdout.write("data: %d\n\n" % i)
            sys.stdout.flush()
            time.sleep(0.05)
    except BrokenPipeError:
        open(env["ENDED"], "w").write("write failed")
    sys.exit(0)
if env["PATH_INFO"] == "/refuse":  # answers at once, without reading the body
    sys.stdout.write("Status: 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\n\r\n{}")
    sys.exit(0)
body = sys.stdin.buffer.read().decode()
keys = [k for k in env if k.startswith("HTTP_")] + [
    "GATEWAY_INTERFACE", "REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING",
    "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR", "SERVER_PORT"]
doc = json.dumps({"env": {k: env[k] for k in keys if k in env}, "body": body})
sys.stdout.write("Status: 404 Not Found\r\nContent-Type: application/json\r\nX-Mine: 1\r\n"
                 "Content-Length: %d\r\n\r\n%s" % (len(doc), doc))
'''


@pytest.fixture(scope="module")
def front():
    tmp = tempfile.mkdtemp(prefix="tb-cgi-")
    prog = os.path.join(tmp, "program")
    with open(prog, "w") as f:
        f.write(PROGRAM)
    os.chmod(prog, 0o755)
    port = tbenv.free_port()
    env = dict(os.environ, ENDED=os.path.join(tmp, "ended"))
    p = subprocess.Popen([sys.executable, FRONT, "--port", str(port), "--program", prog], env=env)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline and p.poll() is None, "the front did not start"
            time.sleep(0.05)
    yield {"port": port, "ended": env["ENDED"]}
    p.terminate()
    p.wait(10)
    subprocess.run(["rm", "-rf", tmp], check=False)


def ask(front, method, path, body=None, headers=()):
    conn = http.client.HTTPConnection("127.0.0.1", front["port"], timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None and not any(n.lower() == "transfer-encoding" for n, _ in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def test_cgi_variables_as_apache_passes_them(front):
    resp, body = ask(front, "GET", "/api/v1/a%20b?x=1&y=%2F", headers=[
        ("X-Two", "a"), ("X-Two", "b"), ("X_Under", "dropped"), ("Proxy", "dropped"),
        ("Authorization", "Bearer t0k")])
    assert (resp.status, resp.reason, resp.getheader("X-Mine")) == (404, "Not Found", "1")
    env = json.loads(body)["env"]
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["REQUEST_URI"] == "/api/v1/a%20b?x=1&y=%2F"   # as sent, not decoded
    assert env["QUERY_STRING"] == "x=1&y=%2F"
    assert env["HTTP_X_TWO"] == "a, b"
    assert env["HTTP_AUTHORIZATION"] == "Bearer t0k"
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["SERVER_PORT"] == str(front["port"])
    assert "HTTP_X_UNDER" not in env and "HTTP_PROXY" not in env and "CONTENT_LENGTH" not in env


def test_body_reaches_stdin_with_its_length_and_type(front):
    resp, body = ask(front, "POST", "/x", body=b'{"a":1}', headers=[("Content-Type", "application/json")])
    doc = json.loads(body)
    assert doc["body"] == '{"a":1}'
    assert doc["env"]["CONTENT_LENGTH"] == "7" and doc["env"]["CONTENT_TYPE"] == "application/json"


def test_chunked_body_is_dechunked_without_a_length(front):
    resp, body = ask(front, "POST", "/x", body=b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
                     headers=[("Transfer-Encoding", "chunked")])
    doc = json.loads(body)
    assert doc["body"] == "abcde" and "CONTENT_LENGTH" not in doc["env"]


def test_the_program_answers_before_the_body_comes(front):
    # Only the head of a 10 MB upload: the program runs at once and its answer comes promptly.
    with socket.create_connection(("127.0.0.1", front["port"]), timeout=5) as s:
        t0 = time.monotonic()
        s.sendall(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
        got = b""
        while not got.endswith(b"{}"):
            chunk = s.recv(4096)
            assert chunk, got
            got += chunk
        assert got.startswith(b"HTTP/1.1 413 Payload Too Large\r\n"), got
        assert time.monotonic() - t0 < 2.0


def test_a_client_that_leaves_ends_the_program_by_a_failed_write(front):
    with socket.create_connection(("127.0.0.1", front["port"]), timeout=5) as s:
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b"data: 1\n" not in got:
            got += s.recv(4096)
        assert b"Content-Type: text/event-stream" in got
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    deadline = time.monotonic() + 5
    while not os.path.exists(front["ended"]):
        assert time.monotonic() < deadline, "the program did not end after the client left"
        time.sleep(0.05)
