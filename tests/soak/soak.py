#!/usr/bin/python3
"""The soak (issue 12, item 8): one tbenv environment (lighttpd set-up, supervisor running) under
REST load + many open event streams + stream churn + every attack of tests/integration/test_hostile.py
in turn, for SOAK_SECONDS; then everything is closed and it checks that nothing leaked:

  * processes: the pools have as many processes as before (none died and was replaced, none
    extra), and after the environment stops no process runs from its state dir;
  * file descriptors: /proc/<pid>/fd of every pool process, before the load and after it (a
    worker may have opened its one database connection meanwhile: +1 is allowed, more is a leak);
  * PostgreSQL connections: pg_stat_activity of the teamboard database, at most one per pool
    process (+ the supervisor and this script), none left in a transaction;
  * registry rows: teamboard.streams is empty once the streams are closed, and so is the
    shared-memory table of held workers (teamboard_workers_held in GET /api/v1/metrics).
While each attack lasts, a well-behaved user on 127.0.0.1 is probed as the tests do (health, a
REST call, a JSON poll, a stream's first event, each within 2 s); every failed probe is counted.

Run it with tests/soak/run.sh (./dev.sh soak). Environment:
  SOAK_SECONDS   how long the load runs (default 600)
  SOAK_STREAMS   event streams held open (default 500; 10 per user and per client address)
  SOAK_CHURN     streams closed and reopened per second (default 2)
  SOAK_REST      REST load threads (default 3)
  SOAK_ATTACK    seconds each attack lasts (default 20)
  TB_BUILD_DIR   the build whose binaries run (default build)
Prints the figures and exits 0 when nothing leaked and every probe was served, else 1.
"""

import json
import os
import random
import selectors
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "harness"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools"))

import tbenv  # noqa: E402
import tbclient as tb  # noqa: E402
import test_hostile as hostile  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name) or default)


SECONDS = env_int("SOAK_SECONDS", 600)
STREAMS = env_int("SOAK_STREAMS", 500)
CHURN = float(os.environ.get("SOAK_CHURN") or 2)
REST_THREADS = env_int("SOAK_REST", 3)
ATTACK_SECONDS = env_int("SOAK_ATTACK", 20)
PER_USER = 10          # the fleet's streams per account and per client address
HEARTBEAT = 5          # the supervisor's cycle: closed streams' workers are found out within it
MARGIN = 60            # stream workers beyond the fleet: churned-but-not-yet-noticed streams,
                       # the attacks' streams (at most max_streams_per_user each) and the probes


def say(msg):
    print("soak: " + msg, file=sys.stderr, flush=True)


class SoakEnv(tbenv.Env):
    """tbenv's environment with room for one PostgreSQL backend per stream worker."""

    def _write_pg_conf(self):
        super()._write_pg_conf()
        conf = os.path.join(self.pg_data, "teamboard-harness.conf")
        with open(conf, "a") as f:
            f.write("max_connections = %d\n" % (self.stream_workers + self.workers + 100))


# ---- the stream fleet: many reading clients in one selector thread ---------------------------------

class Fleet:
    """STREAMS reading event-stream clients; each slot (board, token, source address) is reopened
    after churn closes it. One thread reads them all and counts events."""

    def __init__(self, env, slots):
        self.env = env
        self.slots = slots
        self.socks = {}           # slot index -> socket
        self.state = {}           # socket -> [slot, head bytes or None once parsed, status]
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.events = 0
        self.bytes = 0
        self.status = {}          # status -> count (of every open)
        self.ended_by_server = 0
        self.opens = 0
        self.open_errors = 0
        self.refusals = {}        # "<status> <error code>" -> count, of every open not answered 200
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def open(self, i):
        board, token, source = self.slots[i]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((source, 0))
            s.settimeout(5)
            s.connect((self.env.host, self.env.port))
            s.sendall(("GET /api/v1/boards/%d/events HTTP/1.1\r\nHost: %s:%d\r\n"
                       "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n"
                       % (board, self.env.host, self.env.port, token)).encode())
            s.setblocking(False)
        except OSError:
            s.close()
            with self.lock:
                self.open_errors += 1
            return False
        with self.lock:
            self.opens += 1
            self.socks[i] = s
            self.state[s] = [i, b"", None]
            self.sel.register(s, selectors.EVENT_READ)
        return True

    def close(self, i):
        with self.lock:
            s = self.socks.pop(i, None)
            if s is None:
                return
            self.state.pop(s, None)
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        except OSError:
            pass

    def open_all(self, timeout=120):
        """Opens every slot, 25 at a time, and waits until all of them are open (at most timeout
        seconds). A slot the server refused (503) or ended meanwhile is opened again, once a second
        at most, as churn does later: the refused slots used to stay closed until churn started,
        after this wait, and the wait then took its whole timeout (docs/operations.md, "Soak").
        Returns (seconds until every slot was open, or the timeout; reopens)."""
        t0 = time.monotonic()
        for i in range(len(self.slots)):
            self.open(i)
            if i % 25 == 24:
                time.sleep(0.2)
        reopens = 0
        next_pass = time.monotonic() + 1.0
        while self.open_count() < len(self.slots) and time.monotonic() < t0 + timeout:
            time.sleep(0.1)
            if time.monotonic() < next_pass:
                continue
            next_pass = time.monotonic() + 1.0
            with self.lock:
                closed = [i for i in range(len(self.slots)) if i not in self.socks]
            for i in closed:
                reopens += self.open(i)
        return time.monotonic() - t0, reopens

    def open_count(self):
        with self.lock:
            return sum(1 for st in self.state.values() if st[2] == 200)

    def _run(self):
        while not self.stop.is_set():
            try:
                ready = self.sel.select(timeout=0.2)
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            for key, _ in ready:
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                with self.lock:
                    st = self.state.get(s)
                    if st is None:
                        continue
                    if not data:
                        i = st[0]
                        if st[2] == 200:
                            self.ended_by_server += 1
                    else:
                        self.bytes += len(data)
                        if st[1] is not None:
                            st[1] += data
                            end = st[1].find(b"\r\n\r\n")
                            if end >= 0:
                                try:
                                    st[2] = int(st[1].split(b" ", 2)[1])
                                except (IndexError, ValueError):
                                    st[2] = 0
                                self.status[st[2]] = self.status.get(st[2], 0) + 1
                                data = st[1][end + 4:]
                                if st[2] != 200:
                                    self.refused(st[2], data)
                                st[1] = None
                            else:
                                continue
                        self.events += data.count(b"\nevent: ") + data.startswith(b"event: ")
                        continue
                self.close(i)  # the server ended it (or refused it): open_all or churn reopens the slot

    def refused(self, status, body):
        """Counts a refusal by its status and error code (the JSON body's error.code, when the body
        came in the same read as the head; else its first characters, often '')."""
        text = body.decode("utf-8", "replace")
        try:  # the body may come chunked: the JSON object between its first { and last }
            code = json.loads(text[text.find("{"):text.rfind("}") + 1])["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = repr(text[:60])
        key = "%d %s" % (status, code)
        self.refusals[key] = self.refusals.get(key, 0) + 1

    def shutdown(self):
        for i in list(self.socks):
            self.close(i)
        self.stop.set()
        self.thread.join(timeout=5)


# ---- REST load ---------------------------------------------------------------------------------

class RestLoad:
    def __init__(self, env, users, boards):
        self.env, self.users, self.boards = env, users, boards
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.times = []
        self.status = {}
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                        for k in range(REST_THREADS)]
        for t in self.threads:
            t.start()

    def _one(self, rnd):
        k = rnd.randrange(len(self.users))
        user, board = self.users[k], self.boards[k]
        op = rnd.random()
        if op < 0.4:
            return tb.request(self.env, "POST", "/boards/%d/items" % board,
                              {"text": "soak %d" % rnd.randrange(1 << 30)}, token=user.token,
                              timeout=10)
        if op < 0.7:
            return tb.request(self.env, "GET", "/boards/%d" % board, token=user.token, timeout=10)
        if op < 0.85:
            return tb.request(self.env, "GET", "/boards/%d/events?after=0&limit=50" % board,
                              token=user.token, timeout=10)
        return tb.request(self.env, "GET", "/health", timeout=10)

    def _run(self, k):
        rnd = random.Random(k)
        while not self.stop.is_set():
            t = time.monotonic()
            try:
                r = self._one(rnd)
                status = r.status
            except OSError as exc:
                status = "error"
                with self.lock:
                    if len(self.errors) < 20:
                        self.errors.append(repr(exc))
            with self.lock:
                self.times.append(time.monotonic() - t)
                self.status[status] = self.status.get(status, 0) + 1

    def shutdown(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


# ---- the attacks (the same as tests/integration/test_hostile.py) --------------------------------

def attack_slow_bodies(env, h, big):
    for _ in range(6):
        s = h.connect()
        s.sendall(h.head("POST", "/api/v1/sessions", length=1000) + b'{"name":')
    h.every(3.0, lambda: [s.sendall(b" ") for s in list(h.socks)])


def attack_nonreading_get(env, h, big):
    attacker, board = big
    for _ in range(4):
        s = h.connect(rcvbuf=4096)
        s.sendall(h.head("GET", "/api/v1/boards/%d" % board, token=attacker.token,
                         extra=["Accept: application/json"]))


def attack_nonreading_polls(env, h, big):
    attacker, board = big
    for _ in range(8):
        s = h.connect(rcvbuf=4096)
        s.sendall(h.head("GET", "/api/v1/boards/%d/events?after=0&limit=1000" % board,
                         token=attacker.token, extra=["Accept: application/json"]))


def attack_race(env, h, big):
    attacker, board = big

    def burst():
        clients, _ = hostile.open_at_once(env, board, attacker.token, 8, source=h.source,
                                          name="soak-race")
        time.sleep(1.0)
        for c in clients:
            c.close()
    burst()
    h.every(3.0, burst)


def attack_recycled(env, h, big):
    attacker, board = big

    def wave():
        for _ in range(3):
            if len(h.socks) >= h.limit - 3:
                return
            s = h.connect(rcvbuf=4096)
            s.sendall(h.head("GET", "/api/v1/boards/%d/events" % board, token=attacker.token,
                             extra=["Accept: text/event-stream", "Last-Event-ID: 0"]))
    wave()
    h.every(4.0, wave)


def attack_many_connections(env, h, big):
    for _ in range(50):
        h.connect()
    slow = []
    for _ in range(50):
        s = h.connect()
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(s)
    h.every(2.0, lambda: [s.sendall(b"X-Slow: 1\r\n") for s in slow])


ATTACKS = [("slow request bodies", attack_slow_bodies),
           ("non-reading GET /boards/:id", attack_nonreading_get),
           ("non-reading JSON polls", attack_nonreading_polls),
           ("max_streams race", attack_race),
           ("recycled but held streams", attack_recycled),
           ("many connections from one address", attack_many_connections)]


def run_attack(env, name, fn, big, victim, seconds, source):
    rounds = failures = 0
    examples = []
    with hostile.Hostile(env, source, limit=200) as h:
        try:
            fn(env, h, big)
        except OSError as exc:
            examples.append("attack set-up: %r" % exc)
        time.sleep(1.5)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            f = hostile.probe_round(env, victim, refusal_ok=(name == "max_streams race"))
            rounds += 1
            if f:
                failures += 1
                if len(examples) < 3:
                    examples.append("; ".join(f))
            time.sleep(0.3)
    return rounds, failures, examples


# ---- measurements ------------------------------------------------------------------------------

def pool_processes(env):
    """{pid: fd count} of every teamboard.fcgi process of this environment."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            continue
        if not exe.startswith(env.state_dir) or os.path.basename(exe) != "teamboard.fcgi":
            continue
        try:
            out[pid] = len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            pass
    return out


def web_server_fds(env):
    """The fd count of the web server's processes (lighttpd: one), summed."""
    n = 0
    for name in os.listdir("/proc"):
        if name.isdigit() and os.path.basename(tbenv.cmdline(int(name)).split(" ")[0]) == "lighttpd" \
                and env.state_dir in tbenv.cmdline(int(name)):
            try:
                n += len(os.listdir("/proc/%s/fd" % name))
            except OSError:
                pass
    return n


def pg_connections(env):
    rows = env.sql("SELECT coalesce(application_name, ''), state, count(*) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                   " GROUP BY 1, 2 ORDER BY 1, 2")
    return [(a, s, int(n)) for a, s, n in rows]


def held_workers(env):
    """teamboard_workers_held (the shared-memory table of processes holding a stream or running a
    poll), summed over its kinds; None when the metrics do not have it."""
    r = tb.request(env, "GET", "/metrics", timeout=10)
    total = None
    for line in r.body.decode("utf-8", "replace").splitlines():
        if line.startswith("teamboard_workers_held{"):
            total = (total or 0) + int(float(line.rsplit(" ", 1)[1]))
    return total


def registry_count(env):
    return int(env.sql("SELECT count(*) FROM teamboard.streams")[0][0])


def settle(env, timeout=90):
    """Every board with a registry row is poked until its streams' workers noticed their clients are gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = env.sql("SELECT DISTINCT board_id FROM teamboard.streams")
        if not rows:
            return True
        for (b,) in rows:
            env.sql("SELECT pg_notify(%s, %s)", ("board_%d" % b, json.dumps({"type": "hb"})))
        time.sleep(0.5)
    return registry_count(env) == 0


def snapshot(env):
    return {"procs": pool_processes(env), "pg": pg_connections(env), "web": web_server_fds(env),
            "registry": registry_count(env), "held": held_workers(env)}


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


# ---- main ----------------------------------------------------------------------------------------

def main():
    build = os.environ.get("TB_BUILD_DIR") or "build"
    users_n = max(1, (STREAMS + PER_USER - 1) // PER_USER)
    say("%d s, %d streams (%d accounts), churn %.1f/s, %d REST threads, attacks of %d s; build %s"
        % (SECONDS, STREAMS, users_n, CHURN, REST_THREADS, ATTACK_SECONDS, build))
    env = SoakEnv(setup="lighttpd", build_dir=build, workers=4,
                  stream_workers=STREAMS + MARGIN, supervisor=True,
                  config={"heartbeat_interval": HEARTBEAT, "max_streams_per_user": PER_USER + 2,
                          "max_streams_per_address": PER_USER + 2})
    ok = True
    lines = []
    try:
        env.start()
        say("environment up at %s (state %s)" % (env.base, env.state_dir))
        users = [tb.new_user(env, "soak") for _ in range(users_n)]
        boards = [tb.create_board(env, u)["id"] for u in users]
        attacker = tb.new_user(env, "attacker")
        big_board = tb.create_board(env, attacker)["id"]
        for _ in range(hostile.NOTES):
            tb.create_item(env, attacker, big_board, text=hostile.NOTE)
        big = (attacker, big_board)
        victim = hostile.Victim(env)
        # Warm-up: every REST worker connected; then the baseline, before any stream opened.
        for _ in range(40):
            tb.request(env, "GET", "/health")
        before = snapshot(env)

        slots = [(boards[i // PER_USER], users[i // PER_USER].token,
                  "127.0.1.%d" % (i // PER_USER + 1)) for i in range(STREAMS)]
        fleet = Fleet(env, slots)
        t0 = time.monotonic()
        opened_in, reopens = fleet.open_all()
        with fleet.lock:
            open_refusals = dict(sorted(fleet.refusals.items()))
        say("%d of %d streams open after %.1f s (%d reopened after a refusal: %s)"
            % (fleet.open_count(), STREAMS, opened_in, reopens, open_refusals))
        peak_registry = registry_count(env)

        rest = RestLoad(env, users, boards)
        stop_churn = threading.Event()
        churned = [0]

        def churn():
            rnd = random.Random(99)
            while not stop_churn.wait(1.0):
                for _ in range(int(CHURN) + (1 if rnd.random() < CHURN % 1 else 0)):
                    i = rnd.randrange(STREAMS)
                    fleet.close(i)
                    fleet.open(i)
                    churned[0] += 1
                # slots the server ended (lifetime, refusals) are reopened too
                for i in range(STREAMS):
                    if i not in fleet.socks:
                        fleet.open(i)
        churner = threading.Thread(target=churn, daemon=True)
        churner.start()

        attack_results = []
        end = time.monotonic() + SECONDS
        k = 0
        while time.monotonic() + 3 < end or k < len(ATTACKS):  # each attack at least once
            name, fn = ATTACKS[k % len(ATTACKS)]
            secs = ATTACK_SECONDS if k < len(ATTACKS) else \
                min(ATTACK_SECONDS, max(2, end - time.monotonic() - 2))
            r = run_attack(env, name, fn, big, victim, secs, "127.0.0.%d" % (100 + k % 100))
            attack_results.append((name,) + r)
            say("attack %-36s %3d probe rounds, %d with a failure %s"
                % (name, r[0], r[1], ("(" + r[2][0] + ")") if r[2] else ""))
            k += 1
            settle(env, timeout=5)
        peak_registry = max(peak_registry, registry_count(env))
        mid = snapshot(env)

        stop_churn.set()
        churner.join(timeout=10)
        rest.shutdown()
        fleet.shutdown()
        settled = settle(env)
        time.sleep(2)
        after = snapshot(env)
        load_secs = time.monotonic() - t0

        # ---- the figures
        times = rest.times
        lines.append("soak figures (%s, %d s of load, build %s)" % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), round(load_secs), build))
        lines.append("  streams: %d held (%d accounts, %d addresses), opened in %.1f s (%d reopened"
                     " after a refusal then: %s); %d opens in all"
                     " (%d by churn), statuses %s (refusals %s), %d open errors, %d ended by the server,"
                     " %d events and %.1f MB received; registry peak %d rows" % (
                         STREAMS, users_n, users_n, opened_in, reopens, open_refusals, fleet.opens,
                         churned[0],
                         dict(sorted(fleet.status.items(), key=str)),
                         dict(sorted(fleet.refusals.items())), fleet.open_errors,
                         fleet.ended_by_server, fleet.events, fleet.bytes / 1e6, peak_registry))
        lines.append("  REST: %d requests (%.1f/s), statuses %s, latency p50 %.0f ms, p99 %.0f ms,"
                     " max %.0f ms%s" % (
                         len(times), len(times) / max(1, load_secs),
                         dict(sorted(rest.status.items(), key=str)),
                         1000 * percentile(times, 50), 1000 * percentile(times, 99),
                         1000 * (max(times) if times else 0),
                         ("; errors e.g. " + rest.errors[0]) if rest.errors else ""))
        probe_fail = 0
        for name, rounds, failures, examples in attack_results:
            probe_fail += failures
            lines.append("  attack %-36s %3d probe rounds, %d failed%s" % (
                name, rounds, failures, ("  e.g. " + examples[0]) if examples else ""))
        if probe_fail:
            ok = False

        bp, ap = before["procs"], after["procs"]
        common = set(bp) & set(ap)
        deltas = {p: ap[p] - bp[p] for p in common}
        grown = {p: d for p, d in deltas.items() if d > 1}
        lines.append("  pool processes: %d before, %d during, %d after (%d gone, %d new)" % (
            len(bp), len(mid["procs"]), len(ap), len(set(bp) - set(ap)), len(set(ap) - set(bp))))
        lines.append("  fds of the pool processes: %d before, %d during, %d after; per process"
                     " max +%d, %d grew by more than 1" % (
                         sum(bp.values()), sum(mid["procs"].values()), sum(ap.values()),
                         max(deltas.values()) if deltas else 0, len(grown)))
        if grown or set(bp) != set(ap):
            ok = False
        lines.append("  fds of lighttpd: %d before, %d during, %d after" % (
            before["web"], mid["web"], after["web"]))
        if after["web"] > before["web"] + 5:
            ok = False

        def pg_total(s):
            return sum(n for _, _, n in s["pg"])
        in_tx = [(a, s, n) for a, s, n in after["pg"] if s and s.startswith("idle in transaction")]
        lines.append("  PostgreSQL connections: %d before, %d during, %d after (%s); limit one per"
                     " pool process (%d) + supervisor" % (
                         pg_total(before), pg_total(mid), pg_total(after),
                         ", ".join("%s/%s: %d" % r for r in after["pg"]), len(ap)))
        if pg_total(after) > len(ap) + 3 or in_tx:
            ok = False
        lines.append("  registry rows: %d before, %d during, %d after (settled: %s)" % (
            before["registry"], mid["registry"], after["registry"], settled))
        if after["registry"]:
            ok = False
        lines.append("  held workers (shared memory, teamboard_workers_held): %s before, %s during,"
                     " %s after" % (before["held"], mid["held"], after["held"]))
        if after["held"]:
            ok = False
    finally:
        problems = env.stop()
        left = []
        for name in os.listdir("/proc"):
            if name.isdigit() and env.state_dir in tbenv.cmdline(int(name)):
                left.append(int(name))
        lines.append("  after stop: %d processes left from the state dir%s" % (
            len(left), ("; problems: " + "; ".join(p[:300] for p in problems)) if problems else ""))
        if left or problems:
            ok = False
        lines.append("  result: %s" % ("CLEAN" if ok else "NOT CLEAN"))
        print("\n".join(lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
