#!/usr/bin/python3
"""tbcgi: the set-up TB_SETUP=cgi, in which no web server runs: the integration tests talk to a
small HTTP front on 127.0.0.1 that runs the worker as a plain CGI program once per request, as
cgit's tests run its binary (issue 16 item 6). The API, authorization and bad-input tests then
exercise the program alone, while the web-server set-ups of tools/tbenv/ keep the
transport, stream and overload tests. Alone is not faster than a warm FastCGI worker: every
request starts the program (28 shared libraries: about 8 ms here) and a new PostgreSQL backend
(about 14 ms), against under 1 ms behind apache-fcgid; it is faster than apache-cgi, which pays
the same plus Apache.

The CGI entry is the one the apache-cgi set-up reaches through teamboard-bin/teamboard.fcgi:
<state>/bin/teamboard.fcgi started with a CGI environment (RFC 3875 meta-variables,
GATEWAY_INTERFACE among them) and its stdin not a FastCGI socket, so FCGX_IsCGI() is true and it
answers one request (tb_server_cgi_once in lib/tb_server.c). Per request the front
  - passes what Apache passes: REQUEST_METHOD, REQUEST_URI (as sent), QUERY_STRING, CONTENT_TYPE,
    CONTENT_LENGTH, REMOTE_ADDR, SERVER_* and one HTTP_* per header (repeated headers joined
    with ", "; header names with "_" dropped, and Proxy, as Apache 2.4 does); HTTP_AUTHORIZATION
    too, which conf/shared-hosting/htaccess hands on with SetEnvIf;
  - streams the body to the program's stdin while it runs (mod_cgid does the same), so a request
    whose Content-Length is over max_body gets the program's 413 before any body is sent;
    a chunked body is de-chunked on the way and has no CONTENT_LENGTH;
  - relays the answer as it comes (a "Status:" line becomes the status line; the answer ends
    when the program ends, an event stream too) and closes the connection after it; a client
    that leaves gets the program's stdout closed, so that it ends at its next write, as under
    Apache;
  - sends the program's stderr, and its own, to <state>/log/cgi.log (env.web_error_log).
What it does not do, a web server's work: static files, TLS, keep-alive, the web server's own
limits and refusals (lighttpd's 411, Apache's 413 from the rewrite rules). Tests of those carry
the mark needs_web_server("why"), which skips them under TB_SETUP=cgi.

Used two ways: tbenv.Env.from_environ() returns a CgiEnv for TB_SETUP=cgi (the fixture `server`),
and CgiEnv.start_web() runs this file as the front (`tbcgi.py --port N --program BIN`), as the
service account, from a copy in <state>/bin (the checkout may be unreadable to that account;
there tbenv is not importable, and the front needs none of it).
"""

import argparse
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

SETUP = "cgi"
MAX_CHUNK_LINE = 4096          # a longer chunk-size line ends the body (the program sees less)
BODY_WAIT = 10.0               # after the answer: how long the rest of a body may still come
# After the answer: how long the program may take to end. A stream whose client left ends at its
# next write, a heartbeat at the latest (heartbeat_interval, 15 s).
EXIT_WAIT = 30.0


def needs_web_server(why):
    """A pytest mark for a test of what a web server does (a transport behaviour, a long-lived
    worker): skipped under TB_SETUP=cgi, with why as the reason."""
    import pytest
    return pytest.mark.skipif(os.environ.get("TB_SETUP") == SETUP,
                              reason="TB_SETUP=cgi runs no web server: " + why)


# ---- the environment (tbenv.Env with the front instead of a web server) -------------------------

try:
    import tbenv
except ImportError:  # the front, run from <state>/bin, needs none of this
    tbenv = None

if tbenv is not None:
    class CgiEnv(tbenv.Env):
        """tbenv.Env whose web host is this file's front: no pools, no web server; every request
        runs <state>/bin/teamboard.fcgi as CGI. No supervisor unless TB_SUPERVISOR=1."""

        @property
        def web_server(self):
            return "cgi"

        @property
        def logs(self):
            logs = dict(super().logs)
            logs["cgi.log"] = os.path.join(self.log_dir, "cgi.log")
            return logs

        @property
        def web_error_log(self):
            return self.logs["cgi.log"]

        def start_web(self):
            if not tbenv.port_is_free(self.port):
                raise tbenv.TbEnvError("port %d on 127.0.0.1 is in use" % self.port)
            front = self.path("bin", "tbcgi.py")
            shutil.copyfile(os.path.abspath(__file__), front)
            os.chmod(front, 0o755)
            p = self._spawn("cgi", ["/usr/bin/python3", front, "--port", str(self.port),
                                    "--program", self.path("bin", "teamboard.fcgi")])
            self._web_started = True
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if p.poll() is not None:
                    raise tbenv.TbEnvError("tbcgi.py exited with %s:\n%s" % (
                        p.returncode, tbenv.tail(self.logs["cgi.log"])))
                try:
                    with socket.create_connection((self.host, self.port), timeout=1):
                        return
                except OSError:
                    time.sleep(0.05)
            raise tbenv.TbEnvError("tbcgi.py did not listen on %s:%d within 15 s"
                                   % (self.host, self.port))

        def stop_app(self):
            self._stop_proc("cgi")

        def stop(self):
            if not self._stopped:
                try:
                    self._stop_proc("cgi")
                except Exception as e:  # stop() goes on and reports the rest
                    tbenv.log("stopping the CGI front: %s" % e)
            return super().stop()


# ---- the front ----------------------------------------------------------------------------------

HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


class Front(http.server.ThreadingHTTPServer):
    daemon_threads = True
    program = None


class CgiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tbcgi"
    timeout = 60  # every read and write of the client's socket

    def log_message(self, fmt, *args):
        pass  # no access log: thousands of lines nobody reads

    def handle_one_request(self):
        # Any method reaches the program (it answers 405 itself); one request per connection.
        self.close_connection = True
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.raw_requestline or not self.parse_request():
            return
        try:
            self.run_cgi()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the client left

    def cgi_env(self, chunked):
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        env = dict(os.environ)
        env.update({
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": self.server_version,
            "SERVER_PROTOCOL": self.request_version, "SERVER_NAME": host,
            "SERVER_ADDR": host, "SERVER_PORT": str(port), "REQUEST_METHOD": self.command,
            "REQUEST_URI": self.path, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0], "REMOTE_PORT": str(self.client_address[1]),
        })
        seen = set()
        for name, value in self.headers.items():
            if not HEADER_NAME.match(name) or name.lower() == "proxy":
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if key == "CONTENT_LENGTH" and chunked:
                    continue
                env[key] = value
                continue
            key = "HTTP_" + key
            env[key] = env[key] + ", " + value if key in seen else value
            seen.add(key)
        return env

    def body_length(self):
        """(Content-Length or None, chunked?), or None after answering 400/501 for a framing
        the front cannot pass on, as a web server would."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                self.send_error(501, "Transfer-Encoding %s" % te)
                return None
            return None, True
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return None, False
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            self.send_error(400, "bad Content-Length")
            return None
        return int(cl[0]), False

    def feed(self, proc, length, chunked):
        """Copies the request body from the client to the program's stdin, then closes it. Stops
        at the client's EOF or error and when the program no longer reads (it refused the body)."""
        try:
            if chunked:
                self.feed_chunked(proc.stdin)
            else:
                left = length or 0
                while left > 0:
                    data = self.rfile.read1(min(left, 65536))
                    if not data:
                        break
                    proc.stdin.write(data)
                    proc.stdin.flush()
                    left -= len(data)
        except (OSError, ValueError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def feed_chunked(self, out):
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE)
            size = int(line.split(b";", 1)[0].strip(), 16)  # ValueError ends the body
            if size == 0:
                return
            while size > 0:
                data = self.rfile.read1(min(size, 65536))
                if not data:
                    return
                out.write(data)
                out.flush()
                size -= len(data)
            self.rfile.readline(MAX_CHUNK_LINE)

    def run_cgi(self):
        framing = self.body_length()
        if framing is None:
            return
        length, chunked = framing
        proc = subprocess.Popen([self.server.program], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=self.cgi_env(chunked))
        feeder = threading.Thread(target=self.feed, args=(proc, length, chunked), daemon=True)
        feeder.start()
        try:
            self.relay(proc)
        finally:
            # The answer is complete: the client sees the end of it, and closes, while what it
            # still sends of a body is read and dropped (a lingering close: a socket closed with
            # unread bytes would reset the connection under the answer).
            for how in (socket.SHUT_WR, socket.SHUT_RDWR):
                try:
                    self.connection.shutdown(how)  # SHUT_RDWR: ends a feeder still reading
                except OSError:
                    pass
                feeder.join(BODY_WAIT)
            try:
                proc.wait(EXIT_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if not proc.stdout.closed:
                proc.stdout.close()

    def relay(self, proc):
        """Reads the program's answer and sends it on as it comes: the CGI head as the HTTP head
        (Content-Length too, which the program sends but for a stream), then the body until the
        program ends. A client that left ends the program as a web server does: its
        stdout is closed, so its next write fails and it ends by itself (a stream takes its
        registry row with it)."""
        fd = proc.stdout.fileno()
        buf = b""
        while True:
            m = re.search(rb"\r?\n\r?\n", buf)
            if m:
                break
            data = os.read(fd, 65536)
            if not data:
                sys.stderr.write("tbcgi: %s %s: the program ended without a complete head "
                                 "(exit %s)\n" % (self.command, self.path, proc.wait()))
                self.send_error(500, "the program ended without a complete head")
                return
            buf += data
        head, body = buf[:m.start()], buf[m.end():]
        status, reason, headers = 200, "OK", []
        for line in re.split(rb"\r?\n", head):
            name, _, value = line.decode("latin-1").partition(":")
            value = value.strip()
            if name.lower() == "status":
                code, _, reason = value.partition(" ")
                status = int(code)
            else:
                headers.append((name, value))
        if status == 200 and any(n.lower() == "location" for n, _ in headers):
            status, reason = 302, "Found"
        try:
            self.send_response(status, reason or None)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                if body and self.command != "HEAD":
                    self.wfile.write(body)
                body = os.read(fd, 65536)
                if not body:
                    return
        except OSError:
            proc.stdout.close()
            raise


def serve(port, program):
    server = Front(("127.0.0.1", port), CgiHandler)
    server.program = program
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="runs PROGRAM as plain CGI for each HTTP request "
                                 "on 127.0.0.1:PORT")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--program", required=True)
    args = ap.parse_args(argv)
    serve(args.port, args.program)
    return 0


if __name__ == "__main__":
    sys.exit(main())
