"""tbclient: the one HTTP client of the Python tests and benchmarks (standard library only).

Paths: a path that starts with "/api/" is sent as it is; any other path is relative to the API base
/api/v1 ("/boards/3" -> "/api/v1/boards/3", "/health" -> "/api/v1/health").

request() uses http.client so every header and the raw body are under the test's control
(a Content-Length that lies, no Content-Type, a foreign Origin ...); raw_exchange() speaks HTTP over a
plain socket for the cases http.client cannot express (headers sent, body never sent). Api keeps one
connection alive for the benchmarks' many requests, Load drives the tbload process (bench/tbload.c).
Every socket has a timeout: no test can hang on a stuck worker.
The rest are the integration tests' helpers: assertions on replies, users, teams, boards and items
made over the API, and the shapes of the API's objects.
"""

import email.parser
import http.client
import json
import os
import select
import socket
import subprocess
import time
import uuid

API = "/api/v1"
# Workers under a wrapper (valgrind) are many times slower: every time limit stretches with them.
SLOW = 10.0 if os.environ.get("TB_WORKER_WRAPPER") else 1.0
TIMEOUT = 15.0 * SLOW  # seconds, for every connection


def seconds(n):
    """A time limit of n seconds on a normal build, stretched for slow (wrapped) workers."""
    return n * SLOW

# origin= default: send the server's own origin on unsafe methods, like a browser on the same page.
SAME_ORIGIN = object()
UNSAFE = {"POST", "PATCH", "PUT", "DELETE"}


def api_path(path):
    if path.startswith("/api/") or path == "/api":
        return path
    if not path.startswith("/"):
        path = "/" + path
    return API + path


def unique(prefix="u"):
    """A name unique within the test session, valid as a user name (letters, digits, _ . -)."""
    return "%s_%s" % (prefix, uuid.uuid4().hex[:12])


class Response:
    def __init__(self, status, reason, headers, body, elapsed=0.0):
        self.status = status
        self.reason = reason
        self.headers = headers  # email.message.Message: case-insensitive .get() / .get_all()
        self.body = body
        self.elapsed = elapsed

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        text = self.body[:600].decode("utf-8", "replace")
        return "<Response %d %s: %s>" % (self.status, self.reason, text)


def request(server, method, path, body=None, raw=None, headers=None, token=None, cookie=None,
            origin=SAME_ORIGIN, timeout=TIMEOUT, source=None, api=True):
    """Sends one request on a fresh connection and returns a Response.

    body: a JSON-able value (sent as JSON, Content-Type application/json).
    raw: bytes sent as they are (Content-Type application/json unless headers say otherwise).
    headers: extra headers; a value of None removes a default header (e.g. {"Content-Type": None}).
        A "Content-Length" given here is sent instead of the real length (a lying header).
        A "Host" given here replaces the default Host.
    token: sent as Authorization: Bearer <token>.
    cookie: the session token, sent as Cookie: tb_session=<cookie>.
    origin: SAME_ORIGIN (default) sends Origin: server.base on POST/PATCH/PUT/DELETE;
        None sends no Origin; a string is sent as the Origin on any method.
    source: the client's own address (another loopback address such as "127.0.0.7", so the
        server sees a different client address; default: the kernel's choice, 127.0.0.1).
    api: False sends path as it is (a page or file of the web client, "/", "/js/app.js").
    """
    method = method.upper()
    if origin is SAME_ORIGIN:
        origin = server.base if method in UNSAFE else None
    data, hdrs = _prepare(method, body, raw, headers, token, cookie, origin)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        return _exchange(conn, method, api_path(path) if api else path, hdrs, data)
    finally:
        conn.close()


def _prepare(method, body, raw, headers, token, cookie, origin):
    """The body bytes and the headers of a request (see request(); origin: the Origin header to
    send, or None)."""
    hdrs = {}
    data = None
    if body is not None and raw is not None:
        raise ValueError("body and raw are exclusive")
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    elif raw is not None:
        data = raw
    if data is not None:
        hdrs["Content-Type"] = "application/json"
        hdrs["Content-Length"] = str(len(data))
    elif method in UNSAFE:
        hdrs["Content-Length"] = "0"
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if cookie is not None:
        hdrs["Cookie"] = "tb_session=" + cookie
    if origin is not None:
        hdrs["Origin"] = origin
    hdrs["Accept"] = "application/json"
    for name, value in (headers or {}).items():
        for have in [h for h in hdrs if h.lower() == name.lower()]:
            del hdrs[have]
        if value is not None:
            hdrs[name] = value
    return data, hdrs


def _exchange(conn, method, target, hdrs, data):
    """One request (target: the request path as sent) and its whole response on conn
    (http.client.HTTPConnection)."""
    started = time.monotonic()
    skip_host = any(h.lower() == "host" for h in hdrs)
    conn.putrequest(method, target, skip_host=skip_host, skip_accept_encoding=True)
    for name, value in hdrs.items():
        conn.putheader(name, value)
    conn.endheaders()
    if data:
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before reading it all
    resp = conn.getresponse()
    payload = resp.read()
    return Response(resp.status, resp.reason, resp.msg, payload, time.monotonic() - started)


def raw_exchange(server, data, timeout=None, shutdown_write=False):
    """Sends bytes over a plain socket and parses the first HTTP response.

    Reads until the response is complete (Content-Length), the server closes, or timeout seconds
    pass (socket.timeout is raised then: a hung request is a failure, never a wait forever).
    """
    timeout = seconds(5.0) if timeout is None else timeout
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    started = time.monotonic()
    try:
        sock.sendall(data)
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        buf = b""
        deadline = started + timeout
        head_end = -1
        need = None
        chunked = False
        while True:
            if time.monotonic() > deadline:
                raise socket.timeout("no complete response within %.1f s" % timeout)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            if head_end < 0:
                head_end = buf.find(b"\r\n\r\n")
                if head_end >= 0:
                    msg = parse_head(buf[:head_end])[2]
                    chunked = "chunked" in (msg.get("Transfer-Encoding") or "").lower()
                    if not chunked and msg.get("Content-Length") is not None:
                        need = head_end + 4 + int(msg.get("Content-Length"))
            if need is not None and len(buf) >= need:
                break
            if chunked and _dechunk(buf[head_end + 4:]) is not None:
                break
        if head_end < 0:
            raise AssertionError("no HTTP response head, got %r" % buf[:200])
        status, reason, msg = parse_head(buf[:head_end])
        body = buf[head_end + 4:need] if need is not None else buf[head_end + 4:]
        if chunked:
            body = _dechunk(body)
            if body is None:
                raise AssertionError("truncated chunked body: %r" % buf[head_end + 4:][:200])
        return Response(status, reason, msg, body, time.monotonic() - started)
    finally:
        sock.close()


def parse_head(head):
    """A response head (the bytes before the blank line) as (status, reason, headers), headers an
    email.message.Message (case-insensitive .get() / .get_all())."""
    status_line, _, fields = head.partition(b"\r\n")
    parts = status_line.decode("latin-1").split(" ", 2)
    msg = email.parser.BytesHeaderParser().parsebytes(fields + b"\r\n\r\n")
    return int(parts[1]), parts[2] if len(parts) > 2 else "", msg


def _dechunk(data):
    """The payload of a complete chunked body (RFC 9112 section 7.1), None while incomplete."""
    out = b""
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(data[pos:eol].split(b";")[0].strip() or b"0", 16)
        if size == 0:  # the last chunk, then optional trailer fields, then an empty line
            rest = data[eol + 2:]
            return out if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest else None
        start = eol + 2
        if len(data) < start + size + 2:
            return None
        out += data[start:start + size]
        pos = start + size + 2


# --- the benchmarks' keep-alive client and the tbload driver -----------------------------------

class ApiError(Exception):
    pass


class Api:
    """One keep-alive HTTP/1.1 connection to the site (reopened once when the server closed it);
    Bearer tokens, so no Origin header is needed."""

    def __init__(self, host, port, timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None, expect=None, raw=False):
        """Returns (status, the JSON body or None); raw=True: (status, body bytes). expect: a
        status or a tuple of them; any other raises ApiError."""
        method = method.upper()
        data, hdrs = _prepare(method, body, None, None, token, None, None)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                r = _exchange(self.conn, method, api_path(path), hdrs, data)
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if expect is not None and r.status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise ApiError("%s %s -> %d %s" % (method, path, r.status, r.body[:300]))
        if raw:
            return r.status, r.body
        return r.status, (json.loads(r.body) if r.body else None)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Load:
    """The tbload process (bench/tbload.c, the C load client): one command per line on its stdin,
    one JSON line back per command. cmd() sends one command and returns its answer (bounded wait)."""

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


# --- assertions -------------------------------------------------------------------------------

def assert_json(resp):
    """A JSON reply as the contract describes it: media type, charset, no-store. Returns the body."""
    ctype = (resp.header("Content-Type") or "").replace(" ", "").lower()
    assert ctype == "application/json;charset=utf-8", "Content-Type %r in %r" % (ctype, resp)
    assert "no-store" in (resp.header("Cache-Control") or "").lower(), resp
    return resp.json()


def assert_status(resp, status):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if resp.body:
        return assert_json(resp)
    return None


def assert_error(resp, status, code, field=None):
    """The error envelope {"error":{"code","message"}} with this status and code; when field is
    given the message must begin with the field's name."""
    assert resp.status == status, "expected %d %s, got %r" % (status, code, resp)
    doc = assert_json(resp)
    assert isinstance(doc, dict) and isinstance(doc.get("error"), dict), resp
    err = doc["error"]
    assert err.get("code") == code, "expected code %s, got %r" % (code, resp)
    assert isinstance(err.get("message"), str) and err["message"], resp
    if field is not None:
        assert err["message"].startswith(field), \
            "message should begin with %r: %r" % (field, err["message"])
    return doc


def etag_of(version):
    return '"%d"' % version


# --- objects -----------------------------------------------------------------------------------

class User:
    """A registered, logged-in user: id, name, password, token (bearer) and cookie (the same
    token, for Cookie: tb_session=...)."""

    def __init__(self, uid, name, password, token):
        self.id = uid
        self.name = name
        self.password = password
        self.token = token
        self.cookie = token

    def __repr__(self):
        return "<User %d %s>" % (self.id, self.name)


def register(server, name=None, password=None):
    """POST /users; asserts 201 and returns (user object, name, password)."""
    name = name or unique()
    password = password or "pw-" + uuid.uuid4().hex
    resp = request(server, "POST", "/users", {"name": name, "password": password})
    doc = assert_status(resp, 201)
    return doc, name, password


def login(server, name, password):
    """POST /sessions; asserts 201 and returns the response document (token, user, expires_at)
    together with the response."""
    resp = request(server, "POST", "/sessions", {"name": name, "password": password})
    doc = assert_status(resp, 201)
    return doc, resp


def new_user(server, prefix="u"):
    """Registers and logs in a fresh user; returns a User."""
    user, name, password = register(server, unique(prefix))
    doc, _ = login(server, name, password)
    return User(user["id"], name, password, doc["token"])


def create_team(server, user, name=None):
    resp = request(server, "POST", "/teams", {"name": name or unique("team")}, token=user.token)
    return assert_status(resp, 201)


def add_member(server, admin, team_id, member, role):
    """Adds member (a User or a name) to the team with role; asserts 201."""
    name = member if isinstance(member, str) else member.name
    resp = request(server, "POST", "/teams/%d/members" % team_id, {"name": name, "role": role},
                   token=admin.token)
    return assert_status(resp, 201)


def create_board(server, user, title=None, team_id=None):
    body = {"title": title or unique("board")}
    if team_id is not None:
        body["team_id"] = team_id
    resp = request(server, "POST", "/boards", body, token=user.token)
    return assert_status(resp, 201)


def create_item(server, user, board_id, **fields):
    resp = request(server, "POST", "/boards/%d/items" % board_id, fields, token=user.token)
    return assert_status(resp, 201)


def wait_for(predicate, timeout=30.0, interval=0.25):
    """Calls predicate() until it returns a true value or timeout seconds pass; returns the last
    value (falsy on timeout). Exceptions from predicate count as false."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except (OSError, http.client.HTTPException) as exc:
            last = None
            _ = exc
        if last:
            return last
        if time.monotonic() >= deadline:
            return last
        time.sleep(interval)


def restarted(server, **overrides):
    """Context manager: the app runs with overrides inside the block and with the default test
    config again afterwards, whatever happens inside."""
    import contextlib

    @contextlib.contextmanager
    def cm():
        server.restart_app(**overrides)
        try:
            yield server
        finally:
            server.restart_app()

    return cm()


def parse_time(value):
    """An ISO 8601 timestamp from the API as an aware datetime; asserts it is in UTC."""
    import datetime

    assert isinstance(value, str), value
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    stamp = datetime.datetime.fromisoformat(text)
    assert stamp.utcoffset() == datetime.timedelta(0), "not UTC: %r" % value
    return stamp


# --- shapes of the API's objects (fields and types, from docs/api-contract.txt OBJECTS) ---------

def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_user(obj):
    assert isinstance(obj, dict), obj
    assert set(obj) == {"id", "name", "display_name", "created_at"}, obj
    assert is_int(obj["id"]) and obj["id"] >= 1, obj
    assert isinstance(obj["name"], str), obj
    assert isinstance(obj["display_name"], str) and obj["display_name"], obj
    parse_time(obj["created_at"])
    return obj


def check_member(obj):
    assert isinstance(obj, dict), obj
    assert set(obj) == {"user_id", "name", "display_name", "role"}, obj
    assert is_int(obj["user_id"]) and obj["user_id"] >= 1, obj
    assert isinstance(obj["name"], str), obj
    assert isinstance(obj["display_name"], str) and obj["display_name"], obj
    assert obj["role"] in ("viewer", "editor", "admin"), obj
    return obj


def check_team(obj, members=True):
    assert isinstance(obj, dict), obj
    keys = {"id", "name", "role", "created_at"} | ({"members"} if members else set())
    assert set(obj) == keys, obj
    assert is_int(obj["id"]) and obj["id"] >= 1, obj
    assert isinstance(obj["name"], str), obj
    assert obj["role"] in ("viewer", "editor", "admin"), obj
    parse_time(obj["created_at"])
    if members:
        assert isinstance(obj["members"], list), obj
        for m in obj["members"]:
            check_member(m)
    return obj


def check_item(obj):
    assert isinstance(obj, dict), obj
    assert set(obj) == {"id", "board_id", "text", "color", "x", "y", "width", "height", "z",
                        "author_id", "version", "created_at", "updated_at"}, obj
    for key in ("id", "board_id", "x", "y", "width", "height", "z", "version"):
        assert is_int(obj[key]), (key, obj)
    assert obj["author_id"] is None or is_int(obj["author_id"]), obj
    assert isinstance(obj["text"], str), obj
    assert isinstance(obj["color"], str) and len(obj["color"]) == 7, obj
    assert obj["color"] == obj["color"].lower() and obj["color"].startswith("#"), obj
    parse_time(obj["created_at"])
    parse_time(obj["updated_at"])
    return obj


def check_board(obj, items=True):
    assert isinstance(obj, dict), obj
    keys = {"id", "title", "team_id", "owner_id", "role", "version", "last_event_id",
            "created_at", "updated_at"} | ({"items", "authors"} if items else set())
    assert set(obj) == keys, obj
    for key in ("id", "owner_id", "version", "last_event_id"):
        assert is_int(obj[key]), (key, obj)
    assert obj["team_id"] is None or is_int(obj["team_id"]), obj
    assert isinstance(obj["title"], str), obj
    assert obj["role"] in ("owner", "admin", "editor", "viewer"), obj
    parse_time(obj["created_at"])
    parse_time(obj["updated_at"])
    if items:
        assert isinstance(obj["items"], list), obj
        for it in obj["items"]:
            check_item(it)
        assert isinstance(obj["authors"], list), obj
        for a in obj["authors"]:
            assert set(a) == {"id", "name", "display_name"} and is_int(a["id"]), obj
    return obj


def assert_etag(resp, obj):
    """A single board or item reply carries ETag: "<version>" matching its body."""
    assert resp.header("ETag") == etag_of(obj["version"]), \
        "ETag %r for version %r" % (resp.header("ETag"), obj["version"])


def short_id(value):
    """A short pytest id for a parameter (long strings are abbreviated with their length)."""
    text = repr(value)
    if len(text) <= 24:
        return text
    return "%s..len%d" % (text[:14], len(value) if hasattr(value, "__len__") else len(text))
