"""Small helpers of the benchmark: a keep-alive JSON client for Teamboard's API and a driver for the
tbload process (one command per line on its stdin, one JSON line back per command)."""

import http.client
import json
import os
import select
import subprocess
import time


class ApiError(Exception):
    pass


class Api:
    """One keep-alive HTTP/1.1 connection to the site; Bearer tokens, so no CSRF header is needed."""

    def __init__(self, host, port, timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None, expect=None, raw=False):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if expect is not None and r.status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise ApiError("%s %s -> %d %s" % (method, path, r.status, payload[:300]))
        if raw:
            return r.status, payload
        return r.status, (json.loads(payload) if payload else None)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Load:
    """The tbload process. cmd() sends one command and returns its JSON answer (bounded wait)."""

    def __init__(self, binary, host, port, log_path=None):
        self.p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(log_path, "a") if log_path else None, text=True,
                                  bufsize=1, start_new_session=True)
        self.cmd("target %s %d" % (host, port), 10)

    def cmd(self, line, timeout):
        if self.p.poll() is not None:
            raise RuntimeError("tbload exited with %s" % self.p.returncode)
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("tbload: no answer to %r within %.0f s" % (line, timeout))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                out = self.p.stdout.readline()
                if not out:
                    raise RuntimeError("tbload exited during %r" % line)
                res = json.loads(out)
                if "error" in res:
                    raise RuntimeError("tbload %r: %s" % (line, res["error"]))
                return res

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, 9)
            except ProcessLookupError:
                pass
            self.p.wait(timeout=10)
