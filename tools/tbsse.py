"""tbsse: the one Server-Sent Events client of the Python tests and benchmarks (standard library only).

    client = tbsse.SSEClient(server, board_id, token=user.token, last_event_id=12)
    client.connect()                      # sends the request, reads the response head
    client.status, client.header("Content-Type")
    ev = client.wait_for(lambda e: e.type == "item.created", timeout=10)
    client.close()                        # abrupt: the socket just goes, like a vanished tab

    s = tbsse.Stream(env, board_id, token)  # the set-up tests' view: opened at once, the reader
    s.wait_event("hello", timeout)          # thread reads the head too (status None until then)

The request goes over a plain socket (HTTP/1.1, like a browser's EventSource: Accept:
text/event-stream, Cache-Control: no-cache, optional Last-Event-ID), so the test sees exactly what
the server sends. A 200 response body is read by a daemon thread (chunked or not) and parsed by the
WHATWG rules (html.spec.whatwg.org, "Server-sent events", interpreting an event stream):
  * lines end in CRLF, LF or CR; a leading BOM is dropped; the stream is UTF-8;
  * "field: value" (one space after the colon is removed; a line without a colon is a field with an
    empty value); fields id, event, data, retry; others ignored;
  * data lines are joined with "\\n"; a blank line dispatches the event (none when there was no
    data); an id containing NUL is ignored; retry must be all ASCII digits;
  * a line that starts with ":" is a comment: recorded separately (heartbeats), never an event;
  * an event left incomplete at the end of the stream is discarded.
Each Event records whether its own block had an "id:" line (explicit_id), since by the spec the
last event id carries over to later events that have none.

A non-200 response (401, 404, 503 ...) is read whole (status, headers, body) and no events are parsed.
Every socket operation has a timeout; the reader thread is a daemon thread and close() stops it.
The module also holds the stream registry helpers (registry rows, the heartbeat poke that frees a
worker whose client is gone) and, under pytest, the `streams` fixture.
"""

import codecs
import collections
import json
import socket
import threading
import time

import tbclient

STREAM_PATH = "/api/v1/boards/%d/events"


class StreamError(AssertionError):
    """The stream did not do what a test waited for (timeout, early end)."""


class Event:
    """One dispatched event: type ("message" when no event: field), data (lines joined with \\n),
    id (the last event id at dispatch, per the spec), explicit_id (True when this event's own block
    carried an id: line), t (time.monotonic() at dispatch), index (position among events)."""

    __slots__ = ("type", "data", "id", "explicit_id", "t", "index", "_json")

    def __init__(self, type_, data, id_, explicit_id, t, index):
        self.type = type_
        self.data = data
        self.id = id_
        self.explicit_id = explicit_id
        self.t = t
        self.index = index
        self._json = None

    @property
    def json(self):
        """data parsed as JSON (cached)."""
        if self._json is None:
            self._json = json.loads(self.data)
        return self._json

    @property
    def seq(self):
        """The id as an int when this event carried its own id: line, else None."""
        if not self.explicit_id:
            return None
        try:
            return int(self.id)
        except (TypeError, ValueError):
            return None

    def __repr__(self):
        data = self.data if len(self.data) <= 200 else self.data[:200] + "...(%d chars)" % len(self.data)
        return "<Event %s id=%s%s %s>" % (self.type, self.id, "" if self.explicit_id else "(inherited)", data)


class Comment(collections.namedtuple("Comment", "t text")):
    """One comment line (": text"): text without the colon and one leading space; t its arrival
    (time.monotonic()). A tuple, so c[1] is the text too."""

    __slots__ = ()

    def __repr__(self):
        return "<Comment %r>" % self.text


class SSEParser:
    """The WHATWG event stream interpretation, fed with bytes. Calls on_event(type, data, id,
    explicit_id), on_comment(text) and on_retry(ms)."""

    def __init__(self, on_event, on_comment, on_retry):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._first = True
        self._data = []
        self._type = ""
        self._has_id = False
        self._id_buffer = ""   # the spec's "last event ID buffer": set by an id: line
        self.last_id = ""      # the spec's "last event ID string": set when a block is dispatched
        self._on_event = on_event
        self._on_comment = on_comment
        self._on_retry = on_retry

    def feed(self, data, final=False):
        text = self._decoder.decode(data, final)
        if self._first and text:
            if text.startswith("\ufeff"):
                text = text[1:]
            self._first = False
        self._buf += text
        self._lines(final)

    def _lines(self, final):
        buf = self._buf
        pos = 0
        n = len(buf)
        while pos < n:
            cr = buf.find("\r", pos)
            lf = buf.find("\n", pos)
            if cr < 0 and lf < 0:
                break
            if cr >= 0 and (lf < 0 or cr < lf):
                if cr + 1 == n and not final:
                    break  # a CR at the end: it may be the first half of CRLF
                line = buf[pos:cr]
                pos = cr + 2 if cr + 1 < n and buf[cr + 1] == "\n" else cr + 1
            else:
                line = buf[pos:lf]
                pos = lf + 1
            self._line(line)
        self._buf = buf[pos:]
        if final:
            # The end of the stream: an unterminated line or event is discarded (spec).
            self._buf = ""
            self._data = []
            self._type = ""
            self._has_id = False
            self._id_buffer = self.last_id

    def _line(self, line):
        if line == "":
            self._dispatch()
            return
        if line.startswith(":"):
            text = line[1:]
            if text.startswith(" "):
                text = text[1:]
            self._on_comment(text)
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._type = value
        elif field == "id":
            if "\0" not in value:
                self._id_buffer = value
                self._has_id = True
        elif field == "retry":
            if value and all("0" <= c <= "9" for c in value):
                self._on_retry(int(value))
        # other fields are ignored

    def _dispatch(self):
        # The id counts only once its block is complete (a browser that loses the connection in
        # the middle of an event resumes from the previous one).
        self.last_id = self._id_buffer
        has_id = self._has_id
        self._has_id = False
        if not self._data:
            self._type = ""
            return
        data = "\n".join(self._data)
        type_ = self._type or "message"
        self._data = []
        self._type = ""
        self._on_event(type_, data, self.last_id, has_id)


class _Dechunker:
    """HTTP/1.1 chunked transfer coding, incrementally. feed() returns the payload bytes; .done
    becomes True after the last chunk."""

    def __init__(self):
        self._buf = b""
        self._left = 0        # payload bytes left in the current chunk
        self._state = "size"  # size | data | crlf
        self.done = False

    def feed(self, data):
        self._buf += data
        out = []
        while not self.done:
            if self._state == "size":
                i = self._buf.find(b"\r\n")
                if i < 0:
                    break
                size_text = self._buf[:i].split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise StreamError("bad chunk size line %r" % self._buf[:i])
                self._buf = self._buf[i + 2:]
                if size == 0:
                    self.done = True
                    break
                self._left, self._state = size, "data"
            elif self._state == "data":
                if not self._buf:
                    break
                take = self._buf[:self._left]
                out.append(take)
                self._buf = self._buf[len(take):]
                self._left -= len(take)
                if self._left == 0:
                    self._state = "crlf"
            else:
                if len(self._buf) < 2:
                    break
                if self._buf[:2] != b"\r\n":
                    raise StreamError("no CRLF after a chunk: %r" % self._buf[:20])
                self._buf = self._buf[2:]
                self._state = "size"
        return b"".join(out)


class SSEClient:
    """One EventSource-like connection. It does not reconnect by itself: a test calls
    reconnect(), which opens a new connection with Last-Event-ID = last_id, as a browser would.

    token: sent as Authorization: Bearer; cookie: sent as Cookie: tb_session=...;
    last_event_id: sent as the Last-Event-ID header; query: appended to the path ("a=1&b=2");
    accept: the Accept header; headers: extra headers ({name: value}, None removes one).
    timeout: for connecting and for the response head; each later read waits at most
    read_interval seconds at a time, so the thread notices close() quickly.
    source: the client's own address (another loopback address, e.g. "127.0.0.7": the server then
    sees another client address); default: the kernel's choice (127.0.0.1).
    read_rate: bytes per second at most, read 4 KiB at a time through a 16 KiB receive buffer (a
    slow but steady client: the server's writes back up as they would behind a slow network);
    default: as fast as they come.
    """

    def __init__(self, server, board_id, token=None, cookie=None, last_event_id=None, query=None,
                 accept="text/event-stream", headers=None, timeout=15.0, read_interval=0.25,
                 name=None, body=None, source=None, read_rate=None):
        self.server = server
        self.board_id = board_id
        self.token = token
        self.cookie = cookie
        self.last_event_id_sent = None if last_event_id is None else str(last_event_id)
        self.query = query
        self.accept = accept
        self.extra_headers = headers or {}
        self.request_body = body  # bytes sent with the GET (a bad input), with its Content-Length
        self.timeout = timeout
        self.source = source
        self.read_interval = read_interval
        self.read_rate = read_rate
        self.name = name or "sse-%d" % board_id
        self.status = None
        self.reason = None
        self.headers = None
        self.body = b""          # the body of a non-200 response
        self.raw = bytearray()   # every body byte of a 200 response (for failure messages)
        self.events = []         # Event, in order
        self.comments = []       # Comment, in order
        self.retry = None        # the last retry: value (ms)
        self.records = []        # ("retry"|"comment"|"event", value): everything in arrival order
        self.opened_at = None    # time.monotonic() when the connection was opened
        self.connected_at = None  # ... and when the response head had arrived
        self.ended = False       # the server ended the stream (EOF, last chunk, or reset)
        self.ended_at = None
        self.end_reason = None   # "eof" | "last-chunk" | "error: ..." | "not-a-stream"
        self.closed = False      # close() was called
        self._sock = None
        self._thread = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._parser = SSEParser(self._on_event, self._on_comment, self._on_retry)

    # ---- connecting

    @property
    def path(self):
        p = STREAM_PATH % self.board_id
        if self.query:
            p += "?" + self.query
        return p

    def _request_bytes(self):
        hdrs = {
            "Host": "%s:%d" % (self.server.host, self.server.port),
            "Accept": self.accept,
            "Cache-Control": "no-cache",
            "User-Agent": "teamboard-tests-sse/1",
        }
        if self.token is not None:
            hdrs["Authorization"] = "Bearer " + self.token
        if self.cookie is not None:
            hdrs["Cookie"] = "tb_session=" + self.cookie
        if self.last_event_id_sent is not None:
            hdrs["Last-Event-ID"] = self.last_event_id_sent
        for name, value in self.extra_headers.items():
            for have in [h for h in hdrs if h.lower() == name.lower()]:
                del hdrs[have]
            if value is not None:
                hdrs[name] = value
        if self.request_body is not None:
            hdrs["Content-Length"] = str(len(self.request_body))
        lines = ["GET %s HTTP/1.1" % self.path]
        lines += ["%s: %s" % kv for kv in hdrs.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (self.request_body or b"")

    def _open(self):
        if self._sock is not None or self.opened_at is not None:
            raise RuntimeError("connect() twice")
        self.opened_at = time.monotonic()
        if self.read_rate is None:
            self._sock = socket.create_connection((self.server.host, self.server.port), timeout=self.timeout,
                                                  source_address=(self.source, 0) if self.source else None)
        else:  # the receive buffer is set before connecting, so the window the server sees is small
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
                if self.source:
                    sock.bind((self.source, 0))
                sock.settimeout(self.timeout)
                sock.connect((self.server.host, self.server.port))
            except BaseException:
                sock.close()
                raise
            self._sock = sock
        try:
            self._sock.sendall(self._request_bytes())
        except BaseException:
            self._abort_socket()
            raise

    def connect(self):
        """Sends the request and reads the response head (bounded by timeout). For a 200 starts
        the reader thread; otherwise reads the whole body. Returns self."""
        deadline = time.monotonic() + self.timeout
        self._open()
        try:
            self._after_head(self._read_head(deadline), deadline)
            if not self.ended:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            return self
        except BaseException:
            self._abort_socket()
            raise

    def start(self):
        """Sends the request and returns at once: the reader thread reads the response head too
        (status stays None until it arrives), so a test can open many streams at the same moment
        and see how soon each is answered. Returns self."""
        self._open()
        self._thread = threading.Thread(target=self._run, args=(True,), name=self.name, daemon=True)
        self._thread.start()
        return self

    def _read_head(self, deadline):
        """Reads the response head and takes it in (status, reason, headers, connected_at); returns
        the bytes after it, or None when close() stopped the wait (deadline None: no time limit)."""
        sock = self._sock
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if self._stop.is_set():
                return None
            wait = self.read_interval if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                raise StreamError("%s: no response head within %.1f s (got %r)"
                                  % (self.name, self.timeout, buf[:300]))
            sock.settimeout(wait)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise StreamError("%s: connection closed before a response head (got %r)"
                                  % (self.name, buf[:300]))
            buf += chunk
        status, reason, headers = tbclient.parse_head(buf[:end])
        with self._cond:
            self.status, self.reason, self.headers = status, reason, headers
            self.connected_at = time.monotonic()
            te = (headers.get("Transfer-Encoding") or "").lower()
            self._dechunk = _Dechunker() if "chunked" in te else None
            clen = headers.get("Content-Length")
            self._remaining = int(clen) if clen is not None and self._dechunk is None else None
            self._cond.notify_all()
        return buf[end + 4:]

    def _after_head(self, rest, deadline):
        """A non-200 answer: reads its whole body and closes the socket. A 200: parses the bytes
        that came with the head."""
        if rest is None:
            return
        if self.status == 200:
            self._feed(rest)
            return
        self._read_whole_body(rest, deadline)
        with self._cond:
            self.ended = True
            self.ended_at = time.monotonic()
            self.end_reason = "not-a-stream"
            self._cond.notify_all()
        self._sock.close()

    def _read_whole_body(self, rest, deadline):
        body = bytearray()
        dechunk = self._dechunk
        body += dechunk.feed(rest) if dechunk else rest
        while True:
            if dechunk is not None and dechunk.done:
                break
            if self._remaining is not None and len(body) >= self._remaining:
                del body[self._remaining:]
                break
            if deadline is None:
                if self._stop.is_set():
                    break
                wait = self.read_interval
            else:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise StreamError("%s: %d response body not complete within %.1f s (got %r)"
                                      % (self.name, self.status, self.timeout, bytes(body[:300])))
            self._sock.settimeout(wait)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            body += dechunk.feed(chunk) if dechunk else chunk
        self.body = bytes(body)

    # ---- the reader thread

    def _run(self, head=False):
        """Reads the stream until it ends or close() is called; with head=True (start()) reads the
        response head first."""
        try:
            if head:
                self._after_head(self._read_head(None), None)
            sock = self._sock
            while not self._stop.is_set() and not self.ended:
                try:
                    sock.settimeout(self.read_interval)
                    chunk = sock.recv(65536 if self.read_rate is None else 4096)
                except socket.timeout:
                    continue
                except OSError as exc:
                    if self._stop.is_set():
                        break
                    self._end("error: %s" % exc)
                    break
                if not chunk:
                    self._end("eof")
                    break
                self._feed(chunk)
                if self.read_rate is not None:
                    time.sleep(len(chunk) / self.read_rate)
        except BaseException as exc:  # never let the thread die silently
            self._end("error: %r" % (exc,))
        finally:
            with self._cond:
                self._cond.notify_all()

    def _feed(self, data):
        if not data:
            return
        if self._dechunk is not None:
            payload = self._dechunk.feed(data)
        else:
            payload = data
            if self._remaining is not None:
                payload = payload[:self._remaining]
                self._remaining -= len(payload)
        if payload:
            with self._cond:
                self.raw += payload
            self._parser.feed(payload)
        if self._dechunk is not None and self._dechunk.done:
            self._end("last-chunk")
        elif self._remaining is not None and self._remaining <= 0:
            self._end("eof")

    def _end(self, why):
        with self._cond:
            if not self.ended and not self.closed:
                self._parser.feed(b"", final=True)
                self.ended = True
                self.ended_at = time.monotonic()
                self.end_reason = why
            self._cond.notify_all()

    def _on_event(self, type_, data, id_, explicit):
        with self._cond:
            ev = Event(type_, data, id_, explicit, time.monotonic(), len(self.events))
            self.events.append(ev)
            self.records.append(("event", ev))
            self._cond.notify_all()

    def _on_comment(self, text):
        with self._cond:
            c = Comment(time.monotonic(), text)
            self.comments.append(c)
            self.records.append(("comment", c))
            self._cond.notify_all()

    def _on_retry(self, ms):
        with self._cond:
            self.retry = ms
            self.records.append(("retry", ms))
            self._cond.notify_all()

    # ---- closing

    def _abort_socket(self):
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            # RST instead of FIN: the client is simply gone, nothing is said to the server.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def close(self, abrupt=True):
        """Drops the connection at once (abrupt=True: a TCP reset, like a killed browser; False: a
        plain close, FIN first) and stops the reader thread. Safe to call more than once."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=max(2.0, 4 * self.read_interval))
            if t.is_alive():
                raise StreamError("%s: reader thread did not stop" % self.name)
        sock, self._sock = self._sock, None
        if sock is not None:
            if abrupt:
                self._sock = sock
                self._abort_socket()
            else:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    sock.close()
                except OSError:
                    pass

    def reconnect(self, connect=True, **changes):
        """A new client like this one, resuming from last_id (Last-Event-ID header), connected
        unless connect=False. This one is closed first. changes override constructor arguments."""
        self.close()
        kw = dict(token=self.token, cookie=self.cookie, last_event_id=self.last_id, query=self.query,
                  accept=self.accept, headers=self.extra_headers, timeout=self.timeout,
                  read_interval=self.read_interval, name=self.name + "+", source=self.source,
                  read_rate=self.read_rate)
        kw.update(changes)
        c = SSEClient(self.server, self.board_id, **kw)
        if connect:
            c.connect()
        return c

    def __enter__(self):
        if self._sock is None and self.status is None:
            self.connect()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- looking at what arrived

    def header(self, name, default=None):
        return self.headers.get(name, default) if self.headers is not None else default

    def json_body(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def last_id(self):
        """The last event id seen (the spec's last event ID: what a browser sends on reconnect),
        or None before any id: line."""
        return self._parser.last_id if self._parser.last_id != "" else None

    def snapshot(self):
        with self._cond:
            return list(self.events)

    def typed(self, type_):
        return [e for e in self.snapshot() if e.type == type_]

    def seqs(self, include_hello=False):
        """The ids of the events that carried their own id: line, in order (hello excluded unless
        include_hello)."""
        return [e.seq for e in self.snapshot()
                if e.explicit_id and (include_hello or e.type != "hello")]

    def describe(self, last=12):
        with self._cond:
            evs = self.events[-last:]
            return ("%s: status=%s ended=%s (%s) closed=%s events=%d comments=%d last=%r\n  %s"
                    % (self.name, self.status, self.ended, self.end_reason, self.closed,
                       len(self.events), len(self.comments), self.last_id,
                       "\n  ".join(repr(e) for e in evs)))

    def foreign(self):
        """Events whose JSON names another board (board_id): must never happen."""
        out = []
        for e in self.snapshot():
            try:
                d = e.json
            except ValueError:
                continue
            if isinstance(d, dict) and "board_id" in d and d["board_id"] != self.board_id:
                out.append(e)
        return out

    def wait_until(self, condition, timeout, what="condition"):
        """Waits until condition() (called under the client's lock) is true; returns its value.
        Raises StreamError after timeout seconds, or as soon as the stream has ended (or was
        closed) without the condition holding."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = condition()
                if value:
                    return value
                if self.ended or self.closed:
                    raise StreamError("%s: stream ended before %s\n%s"
                                      % (self.name, what, self.describe()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StreamError("%s: no %s within %.1f s\n%s"
                                      % (self.name, what, timeout, self.describe()))
                self._cond.wait(min(left, 0.5))

    def wait_for(self, predicate, timeout=10.0, start=0, what=None):
        """The first event (from index start on) for which predicate(event) is true, waiting up to
        timeout seconds for it."""
        def find():
            for ev in self.events[start:]:
                if predicate(ev):
                    return ev
            return None
        return self.wait_until(find, timeout, what or "matching event")

    def wait_type(self, type_, timeout=10.0, start=0):
        return self.wait_for(lambda e: e.type == type_, timeout, start, "event %r" % type_)

    def wait_seq(self, seq, timeout=10.0):
        """Waits until an event with its own id >= seq arrived; returns it."""
        return self.wait_for(lambda e: e.seq is not None and e.type != "hello" and e.seq >= seq,
                             timeout, 0, "event with id >= %d" % seq)

    def wait_count(self, n, timeout=10.0, predicate=None):
        """Waits until at least n events (matching predicate, if given) arrived; returns them."""
        def enough():
            got = [e for e in self.events if predicate is None or predicate(e)]
            return got if len(got) >= n else None
        return self.wait_until(enough, timeout, "%d events" % n)

    def wait_comment(self, predicate=None, timeout=10.0, start=0):
        def find():
            for c in self.comments[start:]:
                if predicate is None or predicate(c):
                    return c
            return None
        return self.wait_until(find, timeout, "comment")

    def wait_ended(self, timeout=10.0):
        """Waits until the server ended the stream; returns end_reason. Raises StreamError when it
        is still open after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.ended:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise StreamError("%s: stream still open after %.1f s\n%s"
                                      % (self.name, timeout, self.describe()))
                self._cond.wait(min(left, 0.5))
            return self.end_reason

    def collect(self, seconds):
        """Just lets seconds pass (the thread keeps reading); returns the events so far."""
        time.sleep(seconds)
        return self.snapshot()


class PublicStream(SSEClient):
    """An SSEClient on a public link's guest stream, GET /api/v1/public/boards/<token>/events
    (board_id is for names and checks)."""

    def __init__(self, server, board_id, link_token, **kw):
        super().__init__(server, board_id, **kw)
        self.link_token = link_token

    @property
    def path(self):
        p = "/api/v1/public/boards/%s/events" % self.link_token
        return p + ("?" + self.query if self.query else "")


class Stream(SSEClient):
    """The stream of the set-up tests (test_setups_*.py, test_overload.py, test_two_hosts.py,
    test_logs.py) and bench/setups.py: opened at once with start() (t_open, then t_head when the
    head arrived), read every 0.2 s, closed with a FIN unless abort=True; wait() takes a predicate
    over the stream, wait_event() an event type; closed_by_server tells that the server ended it."""

    def __init__(self, env, board_id, token=None, headers=None):
        super().__init__(env, board_id, token=token, headers=headers, timeout=10.0, read_interval=0.2)
        self.start()

    @property
    def closed_by_server(self):
        return self.ended

    @property
    def t_open(self):
        return self.opened_at

    @property
    def t_head(self):
        return self.connected_at

    def wait(self, predicate, timeout, what="the condition"):
        return self.wait_until(lambda: predicate(self), timeout, what)

    def wait_event(self, type_, timeout, after=0):
        """The first event of type_ at index >= after (waits for it, bounded)."""
        return self.wait_type(type_, timeout, start=after)

    def close(self, abort=False):
        super().close(abrupt=abort)


def open_stream(server, board_id, user=None, token=None, cookie=None, last_event_id=None,
                query=None, expect=200, hello_timeout=15.0, expect_hello=True, **kw):
    """Connects a stream as user (bearer token unless cookie/token are given). With expect=200
    waits for the first event and (expect_hello) asserts it is hello; returns the client
    (connected)."""
    if user is not None and token is None and cookie is None:
        token = user.token
    c = SSEClient(server, board_id, token=token, cookie=cookie, last_event_id=last_event_id,
                  query=query, **kw)
    try:
        c.connect()
        if expect is not None:
            assert c.status == expect, "stream: expected %s, got %s %r\n%s" % (
                expect, c.status, c.body[:500], c.describe())
        if c.status == 200 and expect == 200:
            c.wait_count(1, timeout=hello_timeout)
            first = c.events[0]
            if expect_hello:
                assert first.type == "hello", "the first event is not hello: %r" % first
    except BaseException:
        c.close()
        raise
    return c


# ---- freeing workers held by dead streams ------------------------------------------------------

def _registry(server, columns, board_ids, host=None):
    q = "SELECT %s FROM teamboard.streams WHERE true" % columns
    args = []
    if board_ids is not None:
        q += " AND board_id = ANY(%s)"
        args.append(list(board_ids))
    if host is not None:
        q += " AND host = %s"
        args.append(host)
    return server.sql(q + " ORDER BY id", tuple(args))


def registry_rows(server, board_ids=None):
    """Rows of teamboard.streams (id, board_id, user_id, backend_pid, pid), all or for boards."""
    return _registry(server, "id, board_id, user_id, backend_pid, pid", board_ids)


def registry(env, board_ids=None, host=None):
    """Rows (id, host, pid, board_id) of the stream registry, all or for some boards / one host."""
    return _registry(env, "id, host, pid, board_id", board_ids, host)


def poke(server, board_id):
    """A heartbeat NOTIFY on the board's channel, the one the supervisor sends: every holder of a
    stream on it writes a heartbeat, and a holder whose client is gone finds out."""
    server.sql("SELECT pg_notify(%s, %s)", ("board_%d" % board_id, json.dumps({"type": "hb"})))


def release(server, board_ids, timeout=30.0, keep=0):
    """After the clients of streams on these boards were closed: pokes the boards until the
    registry holds at most `keep` rows for them (their workers are free again). Bounded; returns
    the rows left (a test decides whether that is a failure; fixtures only log it)."""
    board_ids = [b for b in board_ids if b is not None]
    if not board_ids:
        return []
    deadline = time.monotonic() + timeout
    rows = registry_rows(server, board_ids)
    while len(rows) > keep and time.monotonic() < deadline:
        for b in {r[1] for r in rows}:
            try:
                poke(server, b)
            except Exception:
                pass
        time.sleep(0.2)
        rows = registry_rows(server, board_ids)
    return rows


class Streams:
    """Tracks the clients and boards of one test, so a fixture closes every stream and frees
    every worker afterwards, whatever happened in the test."""

    def __init__(self, server):
        self.server = server
        self.clients = []
        self.boards = set()

    def open(self, board_id, user=None, **kw):
        self.boards.add(board_id)
        kw.setdefault("name", "sse-%d-%d" % (board_id, len(self.clients) + 1))
        c = open_stream(self.server, board_id, user, **kw)
        self.clients.append(c)
        return c

    def client(self, board_id, **kw):
        """An unconnected, tracked SSEClient."""
        self.boards.add(board_id)
        kw.setdefault("name", "sse-%d-%d" % (board_id, len(self.clients) + 1))
        c = SSEClient(self.server, board_id, **kw)
        self.clients.append(c)
        return c

    def close_all(self, release_timeout=30.0):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        try:
            return release(self.server, self.boards, timeout=release_timeout)
        except Exception as exc:  # e.g. the database is stopped
            return ["release failed: %r" % (exc,)]


def log_seqs(server, board_id):
    """The board's event log: seqs in order (teamboard.board_events)."""
    return [r[0] for r in server.sql(
        "SELECT seq FROM teamboard.board_events WHERE board_id = %s ORDER BY seq", (board_id,))]


def log_types(server, board_id):
    """{seq: type} of the board's event log."""
    return dict(server.sql(
        "SELECT seq, type FROM teamboard.board_events WHERE board_id = %s", (board_id,)))


def error_response(client):
    """A non-200 stream answer as a tbclient.Response (for tbclient.assert_error)."""
    return tbclient.Response(client.status, client.reason, client.headers, client.body)


try:
    import pytest

    @pytest.fixture
    def streams(server):
        """A Streams tracker: every stream a test opens through it is closed afterwards and the
        workers that held them are freed (bounded), even when the test fails."""
        if int(getattr(server, "workers", 4)) < 4:
            pytest.skip("the stream tests hold up to 3 streams at once and need >= 4 workers "
                        "(TB_WORKERS)")
        tracker = Streams(server)
        try:
            yield tracker
        finally:
            left = tracker.close_all()
            if left:
                import warnings
                warnings.warn("stream registry rows left after the test: %r" % (left,))
        # A safety net for every stream test: no stream ever carried another board's event.
        wrong = [(c.name, c.board_id, e) for c in tracker.clients for e in c.foreign()]
        if wrong:
            pytest.fail("events of another board on a stream: %r" % (wrong[:5],), pytrace=False)
except ImportError:  # used outside pytest
    pass
