"""tbsse: a small event-stream client for the set-up tests (test_setups_*.py, test_overload.py,
test_two_hosts.py) and bench/setups.py.

    s = tbsse.Stream(env, board_id, token)          # GET /api/v1/boards/N/events over a socket
    s.status, s.headers                             # once the head has arrived (or None)
    s.events                                        # [Event(t, id, type, data)], t = arrival
    s.comments                                      # [(t, text)] (": hb", ": keep-alive")
    s.wait(lambda s: ..., timeout)                  # bounded; raises AssertionError on timeout
    s.close()                                       # the client vanishes (RST if abort=True)

A reader thread parses the response (chunked or not) and stamps each event with
time.monotonic() when its last line arrived. Only the standard library; loopback only.
"""

import collections
import socket
import threading
import time

Event = collections.namedtuple("Event", "t id type data")


class Stream:
    def __init__(self, env, board_id, token=None, last_event_id=None, timeout=10.0, path=None,
                 accept="text/event-stream", head_timeout=None, headers=None):
        self.env = env
        self.board_id = board_id
        self.status = None
        self.reason = None
        self.headers = {}
        self.body = b""            # the raw (dechunked) body, for non-200 answers
        self.events = []
        self.comments = []
        self.closed_by_server = False
        self.error = None
        self.t_open = time.monotonic()
        self.t_head = None
        self._lock = threading.Lock()
        self._stop = False
        path = path or "/api/v1/boards/%d/events" % board_id
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (env.host, env.port),
                 "Accept: %s" % accept, "Cache-Control: no-cache"]
        if token:
            lines.append("Authorization: Bearer %s" % token)
        if last_event_id is not None:
            lines.append("Last-Event-ID: %s" % last_event_id)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock = socket.create_connection((env.host, env.port), timeout=timeout)
        self.sock.settimeout(0.2)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if head_timeout is not None:
            self.wait(lambda s: s.status is not None or s.closed_by_server, head_timeout,
                      "the response head")

    # -- reading
    def _recv(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                self.error = e
                return b""
            return data
        return b""

    def _run(self):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                data = self._recv()
                if not data:
                    self.closed_by_server = not self._stop
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            hdrs = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            with self._lock:
                self.headers = hdrs
                self.reason = parts[2] if len(parts) > 2 else ""
                self.status = int(parts[1])
                self.t_head = time.monotonic()
            chunked = "chunked" in hdrs.get("transfer-encoding", "").lower()
            length = int(hdrs["content-length"]) if "content-length" in hdrs else None
            text = b""
            got = 0
            while True:
                if chunked:
                    while True:
                        nl = buf.find(b"\r\n")
                        if nl < 0:
                            break
                        size = int(buf[:nl].split(b";")[0] or b"0", 16)
                        if size == 0:
                            self.closed_by_server = True
                            self._feed(text, final=True)
                            return
                        if len(buf) < nl + 2 + size + 2:
                            break
                        text += buf[nl + 2:nl + 2 + size]
                        buf = buf[nl + 2 + size + 2:]
                else:
                    text += buf
                    got += len(buf)
                    buf = b""
                text = self._feed(text)
                if length is not None and got >= length:
                    self.closed_by_server = True
                    self._feed(text, final=True)
                    return
                data = self._recv()
                if not data:
                    self.closed_by_server = not self._stop
                    self._feed(text, final=True)
                    return
                buf += data
        except Exception as e:  # a reader must never raise into nowhere
            self.error = e

    def _feed(self, text, final=False):
        with self._lock:
            self.body += text
        if self.status != 200:
            return b""
        now = time.monotonic()
        text = text.replace(b"\r\n", b"\n")
        while b"\n\n" in text:
            block, _, text = text.partition(b"\n\n")
            ev = {"id": None, "event": None, "data": []}
            for ln in block.decode("utf-8", "replace").split("\n"):
                if ln.startswith(":"):
                    with self._lock:
                        self.comments.append((now, ln[1:].strip()))
                    continue
                k, _, v = ln.partition(":")
                v = v[1:] if v.startswith(" ") else v
                if k == "data":
                    ev["data"].append(v)
                elif k in ("id", "event"):
                    ev[k] = v
            if ev["event"] or ev["data"]:
                with self._lock:
                    self.events.append(Event(now, ev["id"], ev["event"] or "message",
                                             "\n".join(ev["data"])))
        return text

    # -- for tests
    def wait(self, predicate, timeout, what="the condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            if self.closed_by_server and not predicate(self):
                # nothing more will come
                time.sleep(0.05)
                if predicate(self):
                    return
                raise AssertionError("stream ended before %s: status %r, %d events %r, body %r"
                                     % (what, self.status, len(self.events),
                                        [e.type for e in self.events[-5:]], self.body[-300:]))
            time.sleep(0.01)
        raise AssertionError("no %s within %.1f s: status %r, events %r" % (
            what, timeout, self.status, [e.type for e in self.events[-5:]]))

    def wait_event(self, type_, timeout, after=0):
        """The first event of type_ at index >= after (waits for it, bounded)."""
        self.wait(lambda s: any(e.type == type_ for e in s.events[after:]), timeout,
                  "event %r" % type_)
        return next(e for e in self.events[after:] if e.type == type_)

    def close(self, abort=False):
        """The client goes away. abort=True: with a TCP RST (SO_LINGER 0), as a killed browser."""
        self._stop = True
        try:
            if abort:
                import struct
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def registry(env, board_ids=None, host=None):
    """Rows (id, host, pid, board_id) of the stream registry, all or for some boards / one host."""
    q = "SELECT id, host, pid, board_id FROM teamboard.streams WHERE true"
    args = []
    if board_ids is not None:
        q += " AND board_id = ANY(%s)"
        args.append(list(board_ids))
    if host is not None:
        q += " AND host = %s"
        args.append(host)
    return env.sql(q + " ORDER BY id", tuple(args))


def release(env, board_ids, timeout=20.0):
    """After the clients of streams on these boards went away: sends the supervisor's heartbeat
    NOTIFY to the boards until their registry rows are gone (each holder writes, finds its client
    gone and frees its worker). Bounded; returns the rows left."""
    import json
    deadline = time.monotonic() + timeout
    rows = registry(env, board_ids)
    while rows and time.monotonic() < deadline:
        for b in {r[3] for r in rows}:
            env.sql("SELECT pg_notify(%s, %s)", ("board_%d" % b, json.dumps({"type": "hb"})))
        time.sleep(0.2)
        rows = registry(env, board_ids)
    return rows
