"""The supervisor (fcgi/teamboard-supervisor, lib/tb_supervisor.c) against the session's real
PostgreSQL: leader election and takeover, heartbeat NOTIFYs, recycling of holders that stopped
answering, removal of dead registry rows, presence after a cleanup, event-log retention, the pruning
of invite and reset links that no longer work, the supervisor_status row, and GET /api/v1/metrics.

The supervisors are started here (not by the harness) from $TB_BUILD_DIR/fcgi/teamboard-supervisor,
as the service account, with their own teamboard.conf pointing at the session's database and a
heartbeat_interval of 1 s. Registry rows are made by hand: their "holder" is a real idle psycopg2
connection that LISTENs, exactly what a worker's stream connection looks like to PostgreSQL.
Every wait is bounded; every process started here is killed in the fixture's teardown.

Note: a supervisor prunes the event log of every board in the database. Only the --once runs of
test_prunes_* use a small per-board cap; the long-running supervisors keep the defaults.
"""

import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid

import psycopg2
import pytest

import tbclient as tb
import tbenv

INTERVAL = 1                        # heartbeat_interval of the supervisors started here
LOCK_KEY = 0x5442535550455256       # TB_SUPERVISOR_LOCK_KEY
TEST_HOST = "tbsup-test-host"       # host_name of the supervisors started here
NO_BACKEND = 2147483000             # a backend pid that cannot exist (above any pid_max)
PRUNE_BATCH = 50000                 # events a cycle prunes by each rule at most (lib/tb_supervisor.c)
LINKS_SOURCE = "127.0.0.71"         # the client address of the 410s of test_prunes_invite_and_reset_links_*

LOCK_HOLDERS_SQL = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = %s AND objid = %s AND objsubid = 1")


def wait_for(what, cond, timeout, step=0.05):
    """Polls cond() until it returns something truthy (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(step)


def database_conninfo(server):
    """The conninfo the harness gave the workers (teamboard.conf's database line)."""
    with open(server.config_file) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "database":
                return value.strip()
    raise AssertionError("no database line in %s" % server.config_file)


class Supervisors:
    """teamboard-supervisor processes started for one test, all with the same config."""

    def __init__(self, server, **config):
        self.server = server
        self.procs = []
        src = os.path.join(server.build_dir, "fcgi", "teamboard-supervisor")
        if not os.path.isfile(src):
            pytest.fail("%s not found: build first" % src)
        self.binary = os.path.join(server.state_dir, "bin", "teamboard-supervisor")
        shutil.copy2(src, self.binary)
        os.chmod(self.binary, 0o755)
        name = "supervisor-%s" % uuid.uuid4().hex[:8]
        self.config_file = os.path.join(server.state_dir, "etc", name + ".conf")
        self.log_file = os.path.join(server.state_dir, "log", name + ".log")
        cfg = {"database": database_conninfo(server), "heartbeat_interval": INTERVAL,
               "host_name": TEST_HOST, "log_level": "debug"}
        cfg.update(config)
        with open(self.config_file, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in cfg.items()))
        for path in (self.binary, self.config_file):
            if server.account.is_other:
                os.chown(path, server.account.uid, server.account.gid)

    def _env(self):
        # The harness's environment for its servers (sanitizer report paths included), without
        # TEAMBOARD_CONF: --config names ours.
        env = dict(self.server._env()) if hasattr(self.server, "_env") else {
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}
        env.pop("TEAMBOARD_CONF", None)
        return env

    def start(self, n=1):
        for _ in range(n):
            with open(self.log_file, "a") as log:
                p = subprocess.Popen([self.binary, "--config", self.config_file], cwd=self.server.state_dir,
                                     env=self._env(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     **self.server.account.popen_args())
            self.procs.append(p)
        return self.procs[-n:]

    def once(self):
        """Runs --once until it ran as leader (exit 0); a lock still held by a supervisor that
        just died (its backend ends a moment later) gives exit 3 and is retried."""
        deadline = time.monotonic() + 10
        while True:
            with open(self.log_file, "a") as log:
                r = subprocess.run([self.binary, "--config", self.config_file, "--once"],
                                   cwd=self.server.state_dir, env=self._env(), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, timeout=60,
                                   **self.server.account.popen_args())
            if r.returncode != 3 or time.monotonic() > deadline:
                assert r.returncode == 0, "--once exited with %d:\n%s" % (r.returncode, self.log())
                return
            time.sleep(0.2)

    def pids(self):
        return [p.pid for p in self.procs if p.poll() is None]

    def leader(self):
        """The OS pid of the supervisor (one of ours) that reported within two intervals."""
        rows = self.server.sql("SELECT pid FROM teamboard.supervisor_status"
                               " WHERE last_run > now() - make_interval(secs => %s)", (2 * INTERVAL,))
        return rows[0][0] if rows and rows[0][0] in self.pids() else None

    def log(self):
        return tbenv.tail(self.log_file, 60)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                tbenv.stop_group(p.pid, p, timeout=5)
        self.procs = []


@pytest.fixture
def supervisors(server):
    started = []

    def make(**config):
        s = Supervisors(server, **config)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


@pytest.fixture
def conns(server):
    """Opens psycopg2 connections (autocommit) as the application's role; closes them all."""
    opened = []

    def connect(dbname=tbenv.DB_NAME):
        c = server.connect(user=tbenv.DB_USER, dbname=dbname)
        opened.append(c)
        return c
    yield connect
    for c in opened:
        try:
            c.close()
        except Exception:
            pass


def make_board(server, items=0):
    """A new user and board (with items, which log item.created events); returns (user, board).
    Written as the application's role with its search_path, as the triggers expect."""
    conn = server.connect(user=tbenv.DB_USER)
    try:
        with conn.cursor() as cur:
            cur.execute("SET search_path = teamboard")
            cur.execute("INSERT INTO users (name, password_hash) VALUES (%s, 'x') RETURNING id",
                        ("sup-" + uuid.uuid4().hex[:12],))
            user = cur.fetchone()[0]
            cur.execute("INSERT INTO boards (owner_id, title) VALUES (%s, 'supervised') RETURNING id", (user,))
            board = cur.fetchone()[0]
            if items:
                cur.execute("INSERT INTO items (board_id, text, author_id)"
                            " SELECT %s, 'note ' || g, %s FROM generate_series(1, %s) g", (board, user, items))
    finally:
        conn.close()
    return user, board


def backend_pid(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def listen(conn, board):
    with conn.cursor() as cur:
        cur.execute('LISTEN "board_%d"' % board)


def add_stream(server, board, user, backend, host="elsewhere", pid=1, age="0"):
    """A registry row; age is how long ago it was last seen (seconds)."""
    return server.sql("INSERT INTO teamboard.streams (host, pid, backend_pid, board_id, user_id, last_seen)"
                      " VALUES (%s, %s, %s, %s, %s, now() - make_interval(secs => %s)) RETURNING id",
                      (host, pid, backend, board, user, float(age)))[0][0]


def stream_ids(server, ids):
    return {r[0] for r in server.sql("SELECT id FROM teamboard.streams WHERE id = ANY(%s)", (list(ids),))}


def backend_alive(server, pid):
    return bool(server.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)))


def notifications(conn, timeout):
    """The (channel, payload) NOTIFYs that conn receives within timeout seconds."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        if select.select([conn], [], [], left)[0]:
            conn.poll()
            while conn.notifies:
                n = conn.notifies.pop(0)
                out.append((n.channel, n.payload))


def wait_notify(conn, match, timeout, keep_alive=None):
    """The first payload (parsed JSON) on conn for which match(channel, payload) holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for channel, payload in notifications(conn, 0.2):
            if match(channel, payload):
                return json.loads(payload)
        if keep_alive:
            keep_alive()
    raise AssertionError("no matching NOTIFY within %.1f s" % timeout)


def lock_holders(server):
    return server.sql(LOCK_HOLDERS_SQL, (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF))[0][0]


# ---- leader election ----------------------------------------------------------------------------

def test_one_leader_at_a_time_and_standby_takes_over(server, supervisors):
    sup = supervisors()
    sup.start(3)
    leader = wait_for("a leader among the three", sup.leader, 10)
    wait_for("three supervisor connections", lambda: server.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'teamboard-supervisor'")[0][0] >= 3, 10)

    # Three candidates for 3 s: always exactly one holder of the lock.
    end = time.monotonic() + 3 * INTERVAL
    while time.monotonic() < end:
        assert lock_holders(server) == 1
        time.sleep(0.05)
    row = server.sql("SELECT host, pid, since <= last_run, last_run > now() - interval '3 s', report"
                     " FROM teamboard.supervisor_status")[0]
    assert row[:4] == (TEST_HOST, leader, True, True)
    assert {"heartbeats", "recycled", "dead", "pruned_age", "pruned_cap"} <= set(row[4])

    # Killing the leader twice: each time a standby leads within two intervals, and there is
    # never more than one holder.
    for _ in range(2):
        os.kill(leader, signal.SIGKILL)
        killed, t0 = leader, time.monotonic()
        while True:
            assert lock_holders(server) <= 1
            now_leader = sup.leader()
            if now_leader and now_leader != killed:
                break
            assert time.monotonic() - t0 < 2 * INTERVAL + 1.0, (
                "no standby took over within two intervals (+1 s grace)\n" + sup.log())
            time.sleep(0.05)
        leader = now_leader
        assert lock_holders(server) == 1
    assert len(sup.pids()) == 1


def test_sigterm_releases_the_lock_promptly(server, supervisors):
    sup = supervisors()
    (p,) = sup.start(1)
    wait_for("the supervisor to lead", sup.leader, 10)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 2.0
    wait_for("the lock to be released", lambda: lock_holders(server) == 0, 5)
    assert "stopped (lock released)" in sup.log()


# ---- heartbeats ---------------------------------------------------------------------------------

def test_heartbeat_notify_reaches_a_listening_holder(server, supervisors, conns):
    user, board = make_board(server)
    holder = conns()
    listen(holder, board)
    row = add_stream(server, board, user, backend_pid(holder))

    def answer():  # what a holder does after writing its keep-alive
        server.sql("UPDATE teamboard.streams SET last_seen = now() WHERE id = %s", (row,))

    sup = supervisors()
    sup.start(1)
    wait_for("the supervisor to lead", sup.leader, 10)
    hb = lambda ch, payload: ch == "board_%d" % board and json.loads(payload) == {"type": "hb"}
    assert wait_notify(holder, hb, 3 * INTERVAL + 2, keep_alive=answer) == {"type": "hb"}
    t0 = time.monotonic()
    wait_notify(holder, hb, 3 * INTERVAL + 2, keep_alive=answer)
    assert time.monotonic() - t0 < 2 * INTERVAL + 1, "heartbeats are not sent every interval"
    # A holder that answers is left alone.
    assert stream_ids(server, [row]) == {row}
    assert backend_alive(server, backend_pid(holder))
    server.sql("DELETE FROM teamboard.streams WHERE id = %s", (row,))


# ---- recycling ----------------------------------------------------------------------------------

def test_recycles_a_holder_that_missed_the_heartbeats(server, supervisors, conns):
    user, board = make_board(server)
    holder, observer = conns(), conns()
    listen(holder, board)
    listen(observer, board)
    holder_pid = backend_pid(holder)
    other_db = conns(dbname="postgres")       # a backend of another database
    other_pid = backend_pid(other_db)
    stale = add_stream(server, board, user, holder_pid, age=3600)
    stale_other = add_stream(server, board, user, other_pid, age=3600)

    sup = supervisors()
    sup.start(1)
    wait_for("the stale rows to be removed",
             lambda: not stream_ids(server, [stale, stale_other]), 5 * INTERVAL + 5)
    wait_for("the holder's backend to end", lambda: not backend_alive(server, holder_pid), 5)
    with pytest.raises(psycopg2.OperationalError):
        with holder.cursor() as cur:
            cur.execute("SELECT 1")
    # Only that backend: a backend of another database with a stale row is left running.
    assert backend_alive(server, other_pid)
    with other_db.cursor() as cur:
        cur.execute("SELECT 1")
    # The board's viewers changed: presence, now empty.
    presence = wait_notify(observer, lambda ch, p: ch == "board_%d" % board and '"presence"' in p,
                           3 * INTERVAL + 2)
    assert presence == {"type": "presence", "board_id": board, "viewers": [], "guests": 0}
    assert re.search(r"recycled [12] holders \(1 backends terminated\)", sup.log()), sup.log()


def test_presence_only_when_the_viewers_changed(server, supervisors, conns):
    """A recycled row of a user who still has another live stream on the board changes nothing."""
    user, board = make_board(server)
    live, observer, stale_holder = conns(), conns(), conns()
    listen(observer, board)
    live_row = add_stream(server, board, user, backend_pid(live))
    stale = add_stream(server, board, user, backend_pid(stale_holder), age=3600)

    def answer():
        server.sql("UPDATE teamboard.streams SET last_seen = now() WHERE id = %s", (live_row,))
    sup = supervisors()
    sup.start(1)
    got = []
    deadline = time.monotonic() + 5 * INTERVAL + 5
    while stream_ids(server, [stale]) and time.monotonic() < deadline:
        got += [p for ch, p in notifications(observer, 0.2) if ch == "board_%d" % board]
        answer()
    assert not stream_ids(server, [stale]), "the stale row was not recycled\n" + sup.log()
    got += [p for ch, p in notifications(observer, INTERVAL + 0.5) if ch == "board_%d" % board]
    assert stream_ids(server, [live_row]) == {live_row}
    assert got and set(got) == {'{"type":"hb"}'}, got
    server.sql("DELETE FROM teamboard.streams WHERE id = %s", (live_row,))


def test_no_recycling_before_holders_could_answer(server, supervisors, conns):
    """After a time without any supervisor every last_seen is old; the new leader recycles only
    holders that then miss its own heartbeats."""
    server.sql("UPDATE teamboard.supervisor_status SET last_run = now() - interval '1 hour'")
    user, board = make_board(server)
    holder, silent = conns(), conns()
    listen(holder, board)
    answering = add_stream(server, board, user, backend_pid(holder), age=3600)
    not_answering = add_stream(server, board, user, backend_pid(silent), age=3600)

    def answer():
        server.sql("UPDATE teamboard.streams SET last_seen = now() WHERE id = %s", (answering,))
    sup = supervisors()
    sup.start(1)
    wait_for("the supervisor to lead", sup.leader, 10)
    # The first heartbeat reaches the holder, which answers; the silent one never does.
    wait_notify(holder, lambda ch, p: json.loads(p) == {"type": "hb"}, 3 * INTERVAL + 2)
    answer()
    # Both rows survive the grace of two intervals + 2 s (checked well inside it) ...
    end = time.monotonic() + 1.5 * INTERVAL
    while time.monotonic() < end:
        notifications(holder, 0.2)
        answer()
    assert stream_ids(server, [answering, not_answering]) == {answering, not_answering}
    # ... after which only the silent holder is recycled.
    deadline = time.monotonic() + 4 * INTERVAL + 5
    while not_answering in stream_ids(server, [not_answering]) and time.monotonic() < deadline:
        notifications(holder, 0.2)
        answer()
    assert stream_ids(server, [answering, not_answering]) == {answering}, sup.log()
    assert backend_alive(server, backend_pid(holder))
    server.sql("DELETE FROM teamboard.streams WHERE id = %s", (answering,))


# ---- dead rows ----------------------------------------------------------------------------------

def test_removes_rows_of_workers_that_are_gone(server, supervisors, conns):
    user, board = make_board(server)
    live = backend_pid(conns())
    gone = subprocess.Popen(["true"])
    gone.wait(timeout=10)
    rows = {
        "no backend": add_stream(server, board, user, NO_BACKEND),
        "this host, worker gone": add_stream(server, board, user, live, host=TEST_HOST, pid=gone.pid),
        "this host, worker alive": add_stream(server, board, user, live, host=TEST_HOST, pid=os.getpid()),
        "other host": add_stream(server, board, user, live, host="elsewhere", pid=gone.pid),
    }
    sup = supervisors()
    sup.once()
    left = stream_ids(server, rows.values())
    assert left == {rows["this host, worker alive"], rows["other host"]}
    assert backend_alive(server, live)        # removing a row never terminates a backend
    report = server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]
    assert report["dead"] == 2 and report["recycled"] == 0, report
    server.sql("DELETE FROM teamboard.streams WHERE id = ANY(%s)", (list(left),))


# ---- retention ----------------------------------------------------------------------------------

def test_prunes_by_per_board_cap_and_by_age(server, supervisors):
    _, busy = make_board(server, items=12)
    _, old = make_board(server, items=3)
    server.sql("UPDATE teamboard.board_events SET created_at = now() - interval '2 days'"
               " WHERE board_id = %s AND seq <= 2", (old,))
    sup = supervisors(event_retention_per_board=5, event_retention_days=1)
    # A cycle deletes at most PRUNE_BATCH (50,000) events by each rule across the whole database,
    # where other modules leave boards of tens of thousands of events: cycles until one is short
    # of a batch, each a full one before it (bounded).
    pruned = {"pruned_cap": 0, "pruned_age": 0}
    for _ in range(20):
        sup.once()
        report = server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]
        for k in pruned:
            pruned[k] += report[k]
        if report["pruned_cap"] < PRUNE_BATCH and report["pruned_age"] < PRUNE_BATCH:
            break

    def seqs(board):
        return [r[0] for r in server.sql(
            "SELECT seq FROM teamboard.board_events WHERE board_id = %s ORDER BY seq", (board,))]
    assert seqs(busy) == [8, 9, 10, 11, 12]
    assert seqs(old) == [3]
    assert pruned["pruned_cap"] >= 7 and pruned["pruned_age"] >= 2, pruned


def test_prunes_sign_in_throttle_rows_whose_window_and_block_ran_out(server, supervisors):
    # sql/012: a row lives for login_window after its window's start or its block's end, whichever
    # is later; a leftover row would only be reset by its next attempt.
    tag = uuid.uuid4().hex[:8]
    rows = {"gone-window": ("now() - interval '200 s'", "NULL"),
            "gone-block": ("now() - interval '900 s'", "now() - interval '150 s'"),
            "kept-window": ("now() - interval '50 s'", "NULL"),
            "kept-block": ("now() - interval '900 s'", "now() + interval '30 s'")}
    for key, (start, blocked) in rows.items():
        server.sql("INSERT INTO teamboard.login_throttle (kind, key, failures, window_start, blocked_until)"
                   " VALUES ('account', %%s, 3, %s, %s)" % (start, blocked), (tag + key,))
    sup = supervisors(login_window=100)
    sup.once()
    left = sorted(r[0][len(tag):] for r in server.sql(
        "SELECT key FROM teamboard.login_throttle WHERE key LIKE %s", (tag + "%",)))
    assert left == ["kept-block", "kept-window"], left
    report = server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]
    assert report["pruned_throttle"] >= 2, report
    server.sql("DELETE FROM teamboard.login_throttle WHERE key LIKE %s", (tag + "%",))


def test_prunes_invite_and_reset_links_that_no_longer_work(server, supervisors):
    # An expired or used-up invite (sql/020) and a used or expired reset link (sql/017) answer 410
    # gone exactly as an unknown token does, so nothing needs their rows: the next cycle deletes
    # them. Links that still work stay. The 410s come from their own address, cleaned up after.
    user = tb.new_user(server, "svlinks")
    team = tb.create_team(server, user)["id"]
    tokens = {name: secrets.token_hex(32) for name in (
        "inv-open", "inv-expired", "inv-used-up", "res-open", "res-used", "res-expired")}
    invites = {"inv-open": ("now() + interval '1 hour'", 1, 0),
               "inv-expired": ("now() - interval '1 second'", 5, 1),
               "inv-used-up": ("now() + interval '1 hour'", 2, 2)}
    for name, (expires, max_uses, uses) in invites.items():
        server.sql("INSERT INTO teamboard.team_invites (team_id, token_hash, role, created_by, expires_at,"
                   " max_uses, uses) VALUES (%%s, sha256(decode(%%s, 'hex')), 'viewer', %%s, %s, %%s, %%s)"
                   % expires, (team, tokens[name], user.id, max_uses, uses))
    resets = {"res-open": ("now() + interval '1 hour'", "NULL"),
              "res-used": ("now() + interval '1 hour'", "now() - interval '1 minute'"),
              "res-expired": ("now() - interval '1 second'", "NULL")}
    for name, (expires, used) in resets.items():
        server.sql("INSERT INTO teamboard.password_resets (token_hash, user_id, expires_at, used_at)"
                   " VALUES (sha256(decode(%%s, 'hex')), %%s, %s, %s)" % (expires, used), (tokens[name], user.id))

    def left(table):
        return sorted(n for n, t in tokens.items() if server.sql(
            "SELECT count(*) FROM teamboard.%s WHERE token_hash = sha256(decode(%%s, 'hex'))" % table,
            (t,))[0][0])
    assert left("team_invites") == ["inv-expired", "inv-open", "inv-used-up"]
    assert left("password_resets") == ["res-expired", "res-open", "res-used"]
    sup = supervisors()
    sup.once()
    assert left("team_invites") == ["inv-open"]
    assert left("password_resets") == ["res-open"]
    report = server.sql("SELECT report FROM teamboard.supervisor_status")[0][0]
    assert report["pruned_invites"] >= 2 and report["pruned_resets"] >= 2, report
    logged = re.findall(r"pruned .* (\d+) invite links, (\d+) reset links; purged", sup.log())
    assert logged == [(str(report["pruned_invites"]), str(report["pruned_resets"]))], sup.log()
    # The answers are those the rows gave (test_invites, test_accounts): 410 gone; the open link works.
    try:
        for name in ("inv-expired", "inv-used-up"):
            tb.assert_error(tb.request(server, "GET", "/invites/" + tokens[name], source=LINKS_SOURCE), 410, "gone")
        tb.assert_error(tb.request(server, "POST", "/password-resets/" + tokens["res-used"],
                                   {"password": "chosen via link"}, source=LINKS_SOURCE), 410, "gone")
        tb.assert_status(tb.request(server, "GET", "/invites/" + tokens["inv-open"]), 200)
    finally:
        server.sql("DELETE FROM teamboard.login_throttle WHERE key = %s OR key LIKE 'invite:%%'"
                   " OR key LIKE 'reset:%%'", (LINKS_SOURCE,))


# ---- supervisor = auto --------------------------------------------------------------------------

def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rfind(")") + 2:].split()[1])


def running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(")") + 2:].split()[0] != "Z"


def supervisor_backends(server):
    return server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'teamboard-supervisor'")[0][0]


def instance_id(database, host_name):
    """tb_metrics_instance_id: FNV-1a 64 of "keyword=value" NUL for each setting libpq parses out of
    database (in libpq's order, as psycopg2's parse_dsn gives them) but the password, then NUL and
    host_name, as 16 hex digits."""
    import psycopg2.extensions
    settings = psycopg2.extensions.parse_dsn(database)
    data = b"".join(("%s=%s" % kv).encode() + b"\0" for kv in settings.items()
                    if kv[0] not in ("password", "sslpassword"))
    h = 0xCBF29CE484222325
    for c in data + b"\0" + host_name.encode():
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def test_supervisor_auto_runs_in_one_worker_child_and_moves_on(server):
    worker = os.path.join(server.state_dir, "bin", "teamboard.fcgi")
    with open(worker, "rb") as f:
        if b"supervisor = auto: candidate" not in f.read():
            pytest.skip("teamboard.fcgi does not call tb_supervisor_auto_start yet")
    pool = server._procs["workers"].pid

    def leader_in_a_worker():
        rows = server.sql("SELECT pid FROM teamboard.supervisor_status WHERE last_run > now() - interval '2 s'")
        if rows and ppid(rows[0][0]) and ppid(ppid(rows[0][0])) == pool:
            return rows[0][0]
        return None
    try:
        server.restart_app(supervisor="auto", heartbeat_interval=INTERVAL)
        pool = server._procs["workers"].pid
        leader = wait_for("a worker's child to lead", leader_in_a_worker, 10)
        # The other workers' candidates wait on the flock: one database connection per host.
        end = time.monotonic() + 2 * INTERVAL
        while time.monotonic() < end:
            assert supervisor_backends(server) == 1
            time.sleep(0.1)
        # Its worker dies: the candidate dies with it and another worker's candidate leads.
        os.kill(ppid(leader), signal.SIGKILL)
        wait_for("another worker's child to lead",
                 lambda: (leader_in_a_worker() or leader) != leader, 2 * INTERVAL + 5)
        wait_for("the orphaned candidate to end", lambda: not running(leader), 5)
        assert supervisor_backends(server) == 1
    finally:
        server.restart_app()
    # Stopping the pool stops every candidate: no supervisor connection is left.
    wait_for("the candidates to end with their workers", lambda: supervisor_backends(server) == 0, 10)
    lock = os.path.join(private_dir(server), "supervisor.lock")
    assert os.path.isfile(lock)
    st = os.lstat(private_dir(server))
    assert st.st_uid == server.account.uid and st.st_mode & 0o777 == 0o700, oct(st.st_mode)
    shutil.rmtree(private_dir(server))


def private_dir(server):
    """The candidates' lock directory: /tmp/teamboard-<uid>-<instance id>, 0700."""
    return "/tmp/teamboard-%d-%s" % (server.account.uid, instance_id(
        database_conninfo(server), server.config.get("host_name") or socket.gethostname()))


def children(pid):
    """The pids whose parent is pid (zombies included)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and ppid(int(entry)) == pid:
            found.append(int(entry))
    return found


def auto_leader(server):
    """Restarts the pool with supervisor = auto; returns (pool pid, pid of the leading candidate)
    once a worker's child leads."""
    server.restart_app(supervisor="auto", heartbeat_interval=INTERVAL)
    pool = server._procs["workers"].pid

    def leader_in_a_worker():
        rows = server.sql("SELECT pid FROM teamboard.supervisor_status WHERE last_run > now() - interval '2 s'")
        if rows and ppid(rows[0][0]) and ppid(ppid(rows[0][0])) == pool:
            return rows[0][0]
        return None
    return pool, wait_for("a worker's child to lead", leader_in_a_worker, 10)


def test_supervisor_auto_runs_when_its_lock_paths_are_taken(server):
    """Another local user (here root, or a directory left world-writable) took the old lock file's
    name in /tmp and the private directory's name first: the supervisor still runs, its candidates
    competing for the database's lock without the flock."""
    if "workers" not in server._procs:
        pytest.skip("set-up %s has no worker pool of the harness's own" % server.setup)
    old = "/tmp/teamboard-supervisor-%d-%s.lock" % (server.account.uid, instance_id(
        database_conninfo(server), server.config.get("host_name") or socket.gethostname()))
    new = private_dir(server)
    for path in (old, new):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
    try:
        if server.account.is_other:  # we are root: the files are root's, mode 0600 / 0755
            with open(old, "w"):
                pass
            os.chmod(old, 0o600)
            os.mkdir(new, 0o755)
        else:  # a directory where the file should be; a directory anyone may write to
            os.mkdir(old, 0o700)
            os.mkdir(new)
            os.chmod(new, 0o777)
        pool, leader = auto_leader(server)
        with open(os.path.join(server.log_dir, "workers.log"), errors="replace") as f:
            assert "cannot use %s" % new in f.read()
        # Without the flock every worker's candidate has its own connection; one of them leads.
        assert lock_holders(server) == 1
    finally:
        server.restart_app()
        wait_for("the candidates to end with their workers", lambda: supervisor_backends(server) == 0, 10)
        if os.path.isdir(old):
            os.rmdir(old)
        elif os.path.exists(old):
            os.unlink(old)
        shutil.rmtree(new, ignore_errors=True)


def test_supervisor_auto_candidates_that_end_are_reaped(server):
    """A candidate that ends while its worker lives (a stop request of its own, an error) leaves no
    zombie behind: nothing in a worker waits for it."""
    if "workers" not in server._procs:
        pytest.skip("set-up %s has no worker pool of the harness's own" % server.setup)
    try:
        pool, leader = auto_leader(server)
        workers = children(pool)
        candidates = [c for w in workers for c in children(w)]
        assert leader in candidates and len(candidates) == len(workers), (workers, candidates)
        for c in candidates:
            os.kill(c, signal.SIGTERM)
        # A zombie stays in /proc until its parent waits; a reaped child is gone from it.
        wait_for("the candidates to be gone", lambda: not any(os.path.exists("/proc/%d" % c)
                                                             for c in candidates), 5)
        assert all(running(w) for w in workers), workers
        assert supervisor_backends(server) == 0
    finally:
        server.restart_app()
    shutil.rmtree(private_dir(server), ignore_errors=True)


# ---- metrics ------------------------------------------------------------------------------------

def scrape(server):
    status, ctype, body = tbenv.http_get(server.base + "/api/v1/metrics")
    if status == 404:
        pytest.skip("GET /api/v1/metrics is not routed (lib/tb_app.c)")
    return status, ctype, body.decode("utf-8")


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_exposition(server, supervisors, conns):
    host = server.config.get("host_name") or socket.gethostname()
    status, ctype, text = scrape(server)
    assert status == 200
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    got = samples(text)
    lh = 'host="%s"' % host
    for family in ("events_sent_total", "events_replayed_total", "heartbeats_total", "streams_opened_total",
                   "streams_refused_total", "polls_total"):
        assert "# TYPE teamboard_%s counter" % family in text
        assert "teamboard_%s{%s}" % (family, lh) in got
    for reason in ("client_gone", "lifetime", "revoked", "recycled", "error"):
        assert 'teamboard_streams_closed_total{%s,reason="%s"}' % (lh, reason) in got
    assert got["teamboard_database_up{%s}" % lh] == 1

    # streams_open counts this host's registry rows; streams_open_all every host's.
    user, board = make_board(server)
    before = got["teamboard_streams_open{%s}" % lh], got["teamboard_streams_open_all"]
    live = backend_pid(conns())
    rows = [add_stream(server, board, user, live, host=host, pid=os.getpid()),
            add_stream(server, board, user, live, host="elsewhere")]
    got = samples(scrape(server)[2])
    assert (got["teamboard_streams_open{%s}" % lh], got["teamboard_streams_open_all"]) == (
        before[0] + 1, before[1] + 2)
    server.sql("DELETE FROM teamboard.streams WHERE id = ANY(%s)", (rows,))

    # supervisor_leader: 1 while a supervisor of this host reports, 0 two intervals after it stops.
    sup = supervisors(host_name=host)
    sup.start(1)
    wait_for("the supervisor to lead", sup.leader, 10)
    wait_for("leader gauge 1", lambda: samples(scrape(server)[2]).get(
        "teamboard_supervisor_leader{%s}" % lh) == 1, 5)
    sup.stop()
    wait_for("leader gauge 0", lambda: samples(scrape(server)[2]).get(
        "teamboard_supervisor_leader{%s}" % lh) == 0, 2 * INTERVAL + 5, step=0.2)


def test_metrics_refused_outside_metrics_allow(server):
    scrape(server)
    try:
        server.restart_app(metrics_allow="10.0.0.0/8 ::2")
        status, ctype, body = tbenv.http_get(server.base + "/api/v1/metrics")
        assert status == 403
        assert json.loads(body)["error"]["code"] == "forbidden"
    finally:
        server.restart_app()
    assert scrape(server)[0] == 200
