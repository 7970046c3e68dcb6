"""No worker waits on a client without a deadline (issue 12, item 1): slow request bodies, clients
that stop reading, and the deadlines behind them (body_timeout, write_timeout).

Each test runs behind the session's set-up (TB_SETUP: lighttpd, apache-fcgid, apache-htaccess,
apache-cgi). What holds where:
  * a slow request body is buffered by the web server before a worker sees it (lighttpd
    stream-request-body = 0, mod_fcgid always), so it holds no worker; plain CGI (mod_cgid) hands
    the body on as it arrives, one process per request, and the app ends it at body_timeout (408);
  * the app's own body deadline is also tested on the prefork pool's socket directly, as a
    FastCGI client that sends its body slowly (lighttpd set-up: the web server never does that);
  * a REST reply is buffered whole by lighttpd (stream-response-body = 0 outside the event-stream
    path), so a client that does not read holds no worker; under Apache the worker is freed by
    write_timeout (mod_fcgid's process slot by Apache's Timeout), and at most
    max_large_replies_per_address replies over 256 KiB are written at once to one address (the
    others get 503 busy at once);
  * a stream or poll writer whose client does not read is freed within write_timeout.
"""

import socket
import struct
import threading
import time

import tbclient as tb
import tbsse as sse

TRICKLE_EVERY = 3.0   # seconds between two bytes of a slow body
NOTE_CHARS = 10000    # lib/api_items.c: text is at most 10000 characters
BIG_NOTES = 80        # 80 notes of 10000 four-byte characters: a 3.2 MB board, under max_reply
ATTACKERS = 6         # more than the REST pool's 4 workers
# conf/apache/teamboard.conf's Timeout: mod_fcgid counts a process busy until Apache has written
# the whole answer to the client, so there a client that stops reading holds a process slot this
# long, whatever the program does (the program itself is free after write_timeout).
APACHE_TIMEOUT = 20


def slot_held_for(server, write_timeout):
    """Seconds a client that stops reading holds a worker (or a process slot) in this set-up."""
    return APACHE_TIMEOUT if server.setup == "apache-fcgid" else write_timeout


def health_answers_within(server, limit, what="GET /health"):
    started = time.monotonic()
    r = tb.request(server, "GET", "/health", timeout=tb.seconds(limit + 10))
    took = time.monotonic() - started
    assert r.status == 200, r
    assert took <= tb.seconds(limit), "%s took %.1f s (limit %.1f s)" % (what, took, limit)


def rest_call_within(server, user, limit):
    started = time.monotonic()
    r = tb.request(server, "GET", "/boards", token=user.token, timeout=tb.seconds(limit + 10))
    took = time.monotonic() - started
    assert r.status == 200, r
    assert took <= tb.seconds(limit), "GET /boards of another user took %.1f s" % took


def open_socket(server, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # A small window: what the client does not read stays on the server's side.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(tb.seconds(10))
    s.connect((server.host, server.port))
    return s


def slow_post_head(server, path="/api/v1/sessions", length=1000):
    return ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, server.host, server.port, length)).encode()


class Trickler:
    """Sends one byte on each socket every `every` seconds until stopped."""

    def __init__(self, socks, every):
        self.socks, self.every = socks, every
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag.wait(self.every):
            for s in self.socks:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)


def read_response(sock, timeout):
    """Reads one HTTP response head (and what follows of it) from sock; (status, bytes) or
    (None, bytes) when the server closed without one, or raises socket.timeout."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf or len(buf) < buf.find(b"\r\n\r\n") + 6:
        if time.monotonic() > deadline:
            raise socket.timeout("no response in %.1f s: %r" % (timeout, buf[:200]))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
    if not buf.startswith(b"HTTP/"):
        return None, buf
    return int(buf.split(b" ", 2)[1]), buf


# ---- (a) slow request bodies hold no REST worker ---------------------------------------------

def test_slow_bodies_hold_no_rest_worker(server):
    user = tb.new_user(server, "slowbody")
    socks = []
    try:
        for _ in range(ATTACKERS):
            s = open_socket(server)
            s.sendall(slow_post_head(server) + b'{"name":')  # 8 of 1000 bytes
            socks.append(s)
        trickle = Trickler(socks, TRICKLE_EVERY)
        try:
            time.sleep(1.0)
            for _ in range(3):
                health_answers_within(server, 2.0)
                rest_call_within(server, user, 2.0)
                time.sleep(TRICKLE_EVERY)
        finally:
            trickle.stop()
    finally:
        for s in socks:
            s.close()


# ---- (b) a body slower than body_timeout gets 408 ---------------------------------------------

FCGI_BEGIN, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_END = 1, 4, 5, 6, 3


def fcgi_record(rtype, content, req_id=1):
    return struct.pack("!BBHHBx", 1, rtype, req_id, len(content), 0) + content


def fcgi_params(pairs):
    out = b""
    for k, v in pairs.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += k + v
    return out


def fcgi_read_stdout(sock, timeout):
    """The FCGI_STDOUT bytes of request 1 up to FCGI_END_REQUEST (or the socket's end)."""
    sock.settimeout(timeout)
    buf, out = b"", b""
    while True:
        while len(buf) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
            if len(buf) < 8 + clen + plen:
                break
            if rtype == FCGI_STDOUT:
                out += buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if rtype == FCGI_END:
                return out
        chunk = sock.recv(65536)
        if not chunk:
            return out
        buf += chunk


def slow_fcgi_body(server, socket_path, body_timeout):
    """Talks FastCGI to the pool on socket_path: a POST /sessions with Content-Length 1000 whose
    body comes a byte every half second. Returns (seconds to the answer, stdout bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(socket_path)
    try:
        params = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/api/v1/sessions",
                  "SCRIPT_NAME": "/api", "CONTENT_TYPE": "application/json",
                  "CONTENT_LENGTH": "1000", "REMOTE_ADDR": "127.0.0.1",
                  "HTTP_HOST": "%s:%d" % (server.host, server.port), "SERVER_PROTOCOL": "HTTP/1.1"}
        s.sendall(fcgi_record(FCGI_BEGIN, struct.pack("!HB5x", 1, 0)) +
                  fcgi_record(FCGI_PARAMS, fcgi_params(params)) + fcgi_record(FCGI_PARAMS, b"") +
                  fcgi_record(FCGI_STDIN, b'{"name":'))
        started = time.monotonic()
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.5):
                try:
                    s.send(fcgi_record(FCGI_STDIN, b" "))
                except OSError:
                    return

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            out = fcgi_read_stdout(s, tb.seconds(body_timeout + 15))
        finally:
            stop.set()
            t.join(5)
        return time.monotonic() - started, out
    finally:
        s.close()


def test_body_slower_than_body_timeout_gets_408(server):
    server.restart_app(body_timeout=2)
    try:
        if server.setup == "lighttpd":
            # lighttpd never hands a worker a body before it has all of it; the pool's own
            # deadline is what protects it from any other front end (or a config that streams).
            took, out = slow_fcgi_body(server, server.api_socket, 2)
            head, _, body = out.partition(b"\r\n\r\n")
            assert head.startswith(b"Status: 408"), out[:300]
            assert b'"code":"timeout"' in body.replace(b" ", b""), out[:300]
            assert took <= tb.seconds(2 + 1.5), "408 after %.1f s" % took
            health_answers_within(server, 2.0)
            return
        s = open_socket(server)
        try:
            s.sendall(slow_post_head(server) + b'{"name":')
            trickle = Trickler([s], 0.5)
            started = time.monotonic()
            try:
                status, buf = read_response(s, tb.seconds(60))
            finally:
                trickle.stop()
            took = time.monotonic() - started
        finally:
            s.close()
        # Apache reads the whole body before it reads a word of the program's answer (mod_fcgid
        # before it even starts the request; mod_cgid passes the body on, and the program answers
        # 408 and ends after body_timeout, but Apache only reads that answer after the body).
        # So Apache's own mod_reqtimeout ends a slow body: RequestReadTimeout body=20 in
        # conf/apache/teamboard.conf, Debian's body=10 on the shared host. mod_cgid answers 408
        # itself; mod_fcgid turns the failed body read into a 500.
        bound = 20 if server.setup == "apache-fcgid" else 10
        assert status in ((408,) if server.setup == "apache-cgi" else (408, 500)), buf[:300]
        assert took <= tb.seconds(bound + 5), "answer after %.1f s" % took
        health_answers_within(server, 2.0)
    finally:
        server.restart_app()


# ---- a big board, for clients that do not read -----------------------------------------------

_big = {}


def big_board(server):
    """A board of BIG_NOTES notes of NOTE_CHARS four-byte characters (made once per session)."""
    if "board" not in _big:
        owner = tb.new_user(server, "bigboard")
        bid = tb.create_board(server, owner)["id"]
        text = "\U0001F600" * NOTE_CHARS
        for i in range(BIG_NOTES):
            tb.create_item(server, owner, bid, text=text)
        _big.update(owner=owner, board=bid)
    return _big["owner"], _big["board"]


def non_reading_get(server, path, token, accept="application/json"):
    s = open_socket(server, rcvbuf=4096)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nAccept: %s\r\n\r\n" % (
        path, server.host, server.port, token, accept)).encode())
    return s


# ---- (c) clients that do not read a REST reply hold no REST worker ----------------------------

def test_non_reading_rest_clients_hold_no_worker(server):
    owner, bid = big_board(server)
    other = tb.new_user(server, "other")
    # lighttpd buffers REST replies whole. Apache passes a reply on as the worker writes it
    # (FcgidOutputBufferSize 0, which streams need and which cannot be set per class), and
    # mod_fcgid counts the process busy until Apache's Timeout; but the app writes at most
    # max_large_replies_per_address (2) replies over 256 KiB at once to one address and answers
    # the other four 503 busy at once, so 2 of the REST class's 4 processes stay free
    # (apache-fcgid; on the shared host the class has mod_fcgid's default 100 processes, and
    # under CGI every request has its own).
    limit = 2.0
    # reply_linger = 1: the replies given up on stop counting soon after the test (by default 25 s
    # more, and test_hostile's first large reply, right after this module, would be refused).
    server.restart_app(write_timeout=3, reply_linger=1)
    socks = []
    try:
        for _ in range(ATTACKERS):
            socks.append(non_reading_get(server, "/api/v1/boards/%d" % bid, owner.token))
        time.sleep(1.0)
        # every request answered (bounded: building a 3.2 MB reply is slow on a busy machine)
        tb.wait_for(lambda: all(s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) for s in socks),
                    timeout=tb.seconds(10))
        for _ in range(3):
            health_answers_within(server, limit)
            rest_call_within(server, other, limit)
            time.sleep(1.0)
    finally:
        for s in socks:
            s.close()
        server.restart_app()


# ---- (d) a stream or poll writer blocked by a non-reading client is freed -----------------------

def test_non_reading_polls_free_their_workers_within_write_timeout(server):
    owner, bid = big_board(server)
    other = tb.new_user(server, "viewer")
    bid2 = tb.create_board(server, other)["id"]
    write_timeout = 2
    server.restart_app(write_timeout=write_timeout)
    socks = []
    try:
        path = "/api/v1/boards/%d/events?after=0&limit=1000" % bid
        for _ in range(server.stream_pool_size):
            socks.append(non_reading_get(server, path, owner.token))
        # Every poll worker is now writing its page to a client that does not read; after
        # write_timeout each gives up, and the pool takes other users' streams again.
        time.sleep(slot_held_for(server, write_timeout) + 3.0)
        started = time.monotonic()
        c = sse.SSEClient(server, bid2, token=other.token, timeout=tb.seconds(2.0))
        try:
            c.connect()
            assert c.status == 200, c.describe()
            c.wait_type("hello", tb.seconds(2.0))
        finally:
            c.close()
        took = time.monotonic() - started
        assert took <= tb.seconds(2.5), "the new stream's hello after %.1f s" % took
        health_answers_within(server, 2.0)
    finally:
        for s in socks:
            s.close()
        server.restart_app()


# ---- the prefork parent never misses SIGTERM --------------------------------------------------

def test_pool_stops_on_sigterm_right_after_start(server, tmp_path):
    """SIGTERM while the pool parent starts its workers: the old parent could take it between its
    flag test and waitpid() and then wait for a child that never ends. Delays spread over the
    start-up (measured first), 200 times; each pool must be gone within 5 s."""
    import os
    import random
    import signal
    import subprocess
    conf = tmp_path / "teamboard.conf"
    conf.write_text("database = dbname=none host=/nonexistent\nlog_level = error\n")
    sock = str(tmp_path / "pool.sock")
    cmd = [server.path("bin", "teamboard.fcgi"), "--config", str(conf), "--listen", sock,
           "--workers", "4"]

    def children(pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return f.read().split()
        except OSError:
            return []

    def start():
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    p = start()
    t0 = time.monotonic()
    while len(children(p.pid)) < 4 and time.monotonic() - t0 < 10:
        time.sleep(0.0005)
    ready = time.monotonic() - t0
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    stuck = []
    for i in range(200):
        p = start()
        delay = random.uniform(0.3 * ready, 1.3 * ready)
        time.sleep(delay)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(tb.seconds(5))
        except subprocess.TimeoutExpired:
            stuck.append(round(delay * 1000, 2))
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    assert not stuck, "pools still running 5 s after SIGTERM (delays in ms: %r; start-up %.1f ms)" % (
        stuck, ready * 1000)
