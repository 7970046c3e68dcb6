#!/usr/bin/python3
"""tbbench: Teamboard's benchmark (issue 6). Run it through bench/run.sh; see bench/README.md.

Starts its own stack (tools/tbenv/: Env.for_benchmark), creates users, a team and boards through
the API, then runs the scenarios RUNS times and prints a table of medians with the targets and the
ratios to the limits measured in the same run; writes everything to bench/results/<time>.json.

  1 fanout      N listeners on one board, one writer makes 200 changes 20 ms apart
  2 streams     250, 500, 1000, 2000, 4000 streams across 100 boards until one fails
  3 disconnect  100 streams vanish at once: time until every worker is free (HTTP/1.1, HTTP/2)
  4 rest        wrk: GET a board with 50 notes, POST a note; 32 connections
  5 resume      a listener away while 1000 changes are made comes back with Last-Event-ID
  6 limits      lighttpd static file, PostgreSQL NOTIFY->LISTEN round trip, INSERT commit
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tools"))

from tbenv import (BENCH_HOST_NAME as HOST_NAME, REPO, Env, proc_ticks,  # noqa: E402
                   smaps_rollup, syscall_of, tail)
from tbclient import Api, Load  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-password-1"
ACCEPT_SYSCALLS = {43, 288}  # accept, accept4: a pool worker waiting for its next request


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


FULL = dict(users=500, fanout=[1, 50, 500], fanout_writes=200, ramp=[250, 500, 1000, 2000, 4000],
            ramp_boards=100, disconnect=100, wrk_seconds=10, resume=1000, stream_workers=0,
            rest_workers=4, open_rate=15, heartbeat=15, runs=3, notify_n=500, insert_n=1000)
QUICK = dict(users=8, fanout=[1, 5], fanout_writes=40, ramp=[10, 20], ramp_boards=5, disconnect=10,
             wrk_seconds=2, resume=100, stream_workers=40, rest_workers=4, open_rate=50, heartbeat=2, runs=1,
             notify_n=100, insert_n=100)

TARGETS = [
    # (key in the medians, label, comparison, target)
    ("fanout.50.p99_ms", "fan-out 50 listeners: p99", "<=", 10.0),
    ("fanout.50.lost", "fan-out 50 listeners: lost", "==", 0),
    ("fanout.50.dup", "fan-out 50 listeners: duplicated", "==", 0),
    ("fanout.500.p99_ms", "fan-out 500 listeners: p99", "<=", 60.0),
    ("streams.max_live", "concurrent streams held, every one live", ">=", 2000),
    ("streams.mem_per_stream_mib", "private memory per stream (MiB)", "<=", 1.5),
    ("disconnect.h1.free_s", "disconnect (HTTP/1.1): all workers free (s)", "<=", "hb+1"),
    ("disconnect.h2.free_s", "disconnect (HTTP/2): all workers free (s)", "<=", "hb+1"),
    ("rest.get.rps", "REST GET board (50 notes): req/s", ">=", 3000),
    ("rest.get.p99_ms", "REST GET board (50 notes): p99", "<=", 20.0),
    ("rest.post.rps", "REST POST note: req/s", ">=", 1500),
    ("rest.post.p99_ms", "REST POST note: p99", "<=", 30.0),
    ("resume.ms", "resume of the changes: time", "<=", 200.0),
    ("resume.missed", "resume: missed", "==", 0),
    ("resume.dup", "resume: duplicated", "==", 0),
]


class Abort(Exception):
    pass


def now():
    return time.monotonic()


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def cpu_busy(seconds=5.0):
    """Fraction of all cores busy over the next `seconds` (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit, max_wait):
    """Waits (bounded) until the machine is quiet: the 1-minute load average below limit, or the
    cores less than 10 % busy over 5 s (the load average lags a minute or more behind a burst
    such as 4,000 streams closing). Returns what it saw."""
    t0 = now()
    la, busy = loadavg(), cpu_busy()
    while la[0] >= limit and busy >= 0.10 and now() - t0 < max_wait:
        log("load average %.2f >= %.2f, cores %.0f %% busy: waiting (%.0f of %.0f s)" % (
            la[0], limit, 100 * busy, now() - t0, max_wait))
        time.sleep(min(10, max(1, max_wait - (now() - t0))))
        la, busy = loadavg(), cpu_busy()
    return {"load_before": la, "busy_before": round(busy, 3), "waited_s": round(now() - t0, 1),
            "quiet": la[0] < limit or busy < 0.10}


def machine():
    info = {"cores": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else "?"
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 1048576, 1)
        with open("/etc/debian_version") as f:
            info["debian"] = f.read().strip()
    except OSError:
        pass
    for k, cmd in (("wrk", ["wrk", "--version"]), ("gcc", ["gcc", "--version"])):
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 timeout=10).stdout
            info[k] = out.splitlines()[0].strip()
        except Exception:
            pass
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "lib", "sql", "fcgi"],
                               stdout=subprocess.PIPE, text=True, timeout=10).stdout.strip()
        info["commit"] = rev + ("+dirty(lib/sql/fcgi)" if dirty else "")
    except Exception:
        pass
    return info


# ---- setup through the API ---------------------------------------------------------------------

class World:
    """The users, team and boards of the benchmark, made through the API."""

    def __init__(self, env, n_users, n_ramp_boards, fanout_ns):
        self.env = env
        self.api = Api("127.0.0.1", env.port)
        t0 = now()
        self.writer = self._user("bw")
        self.team = self.api.request("POST", "/teams", {"name": "bench"}, token=self.writer["token"],
                                     expect=201)[1]["id"]
        names = ["l%04d" % i for i in range(n_users)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            self.listeners = list(ex.map(self._user, names))

        def add(name):
            api = Api("127.0.0.1", env.port)
            api.request("POST", "/teams/%d/members" % self.team, {"name": name, "role": "viewer"},
                        token=self.writer["token"], expect=201)
            api.close()
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(add, names))
        self.fanout_boards = {n: self._board("fan-out %d" % n) for n in fanout_ns}
        self.ramp_boards = [self._board("ramp %d" % i) for i in range(n_ramp_boards)]
        self.resume_board = self._board("resume")
        self.get_board = self._board("rest get", team=False)
        self.post_board = self._board("rest post", team=False)
        self.spread_boards = [self._board("rest post %d" % i, team=False) for i in range(32)]
        for i in range(50):
            self.api.request("POST", "/boards/%d/items" % self.get_board,
                             {"text": "note %d: some words on a sticky note" % i, "x": 10 * i, "y": 5 * i},
                             token=self.writer["token"], expect=201)
        self.setup_s = round(now() - t0, 1)
        log("setup: %d users, %d boards in %.1f s" % (n_users + 1, len(fanout_ns) + n_ramp_boards + 3,
                                                       self.setup_s))

    def _user(self, name):
        api = Api("127.0.0.1", self.env.port)
        u = api.request("POST", "/users", {"name": name, "password": PASSWORD}, expect=201)[1]
        s = api.request("POST", "/sessions", {"name": name, "password": PASSWORD}, expect=201)[1]
        api.close()
        return {"id": u["id"], "name": name, "token": s["token"]}

    def _board(self, title, team=True):
        body = {"title": title}
        if team:
            body["team_id"] = self.team
        return self.api.request("POST", "/boards", body, token=self.writer["token"], expect=201)[1]["id"]


# ---- helpers -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, p):
        self.args = args
        self.p = p
        self.tmp = None
        self.load_pid = None

    def file(self, name, pairs):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for board, token in pairs:
                f.write("%d %s\n" % (board, token))
        return path

    def cpu_start(self):
        """A snapshot for cpu_per(): ticks of each part of the stack, of tbload and of our children
        (wrk, pgbench)."""
        snap = self.env.cpu_ticks()
        snap["tbload"] = proc_ticks(self.load_pid) if self.load_pid else 0
        c = os.times()
        snap["wrk"] = (c.children_user + c.children_system) * os.sysconf("SC_CLK_TCK")
        return snap

    def cpu_per(self, snap, units):
        """CPU microseconds per unit (request, event, stream) of each part since snap."""
        now = self.cpu_start()
        tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
        if not units:
            return {}
        return {k: round((now[k] - snap[k]) * tick_us / units, 1) for k in snap if now[k] - snap[k] > 0}

    def registry(self):
        return self.env.sql("SELECT count(*) FROM streams WHERE host = %s", (HOST_NAME,))[0][0]

    def wait_registry_empty(self, timeout):
        t0 = now()
        while now() - t0 < timeout:
            if self.registry() == 0:
                return now() - t0
            time.sleep(0.05)
        return None

    def memory(self):
        """Private memory (Private_Clean + Private_Dirty, smaps_rollup) of each stream's worker and
        PostgreSQL backend, from the registry's pid and backend_pid."""
        rows = self.env.sql("SELECT pid, backend_pid FROM streams WHERE host = %s", (HOST_NAME,))
        w = b = wp = bp = 0
        n = 0
        for pid, bpid in rows:
            a, c = smaps_rollup(pid), smaps_rollup(bpid)
            if not a or not c:
                continue
            n += 1
            w += a.get("Private_Clean", 0) + a.get("Private_Dirty", 0)
            b += c.get("Private_Clean", 0) + c.get("Private_Dirty", 0)
            wp += a.get("Pss", 0)
            bp += c.get("Pss", 0)
        if n == 0:
            return {}
        return {"streams_measured": n, "worker_private_kib": round(w / n), "backend_private_kib": round(b / n),
                "worker_pss_kib": round(wp / n), "backend_pss_kib": round(bp / n),
                "per_stream_private_mib": round((w + b) / n / 1024, 3)}

    def log_problems(self):
        """What the servers logged as failing (PostgreSQL FATAL/ERROR, lighttpd, pools)."""
        out = {}
        for name in ("postgresql.log", "lighttpd-error.log", "streams.log", "workers.log",
                     "supervisor.log"):
            path = self.env.path("log", name)
            try:
                with open(path, errors="replace") as f:
                    f.seek(self.log_marks.get(name, 0))
                    text = f.read()
                    self.log_marks[name] = f.tell()
            except OSError:
                continue
            lines = [ln.strip() for ln in text.splitlines()
                     if re.search(r"FATAL|ERROR|PANIC|too many|out of memory|fork|refused|Too many|"
                                  r"cannot|failed|WARNING", ln)]
            if lines:
                out[name] = {"count": len(lines), "first": lines[:5]}
        return out

    def mark_logs(self):
        self.log_marks = {}
        self.log_problems()

    # ---- scenario 1
    def fanout(self, load, run):
        res = {}
        for n in self.p["fanout"]:
            board = self.world.fanout_boards[n]
            ls = self.world.listeners
            pairs = self.file("fanout.pairs", [(board, ls[i % len(ls)]["token"]) for i in range(n)])
            writes = self.file("fanout.writes", [(board, self.world.writer["token"])] *
                               self.p["fanout_writes"])
            load.cmd("load " + pairs, 10)
            g = 100 + n
            o = load.cmd("open %d 0 %d h1 %d %d 3" % (g, n, self.p["open_rate"],
                                                       1000 * (30 + 2 * n / self.p["open_rate"])),
                         60 + 2 * n / self.p["open_rate"])
            s = load.cmd("settle 60000 1000", 70)
            c0 = self.cpu_start()
            w = load.cmd("write %d %s 20 4 f%dr%d 10000 5000" % (g, writes, n, run), 120)
            cpu = self.cpu_per(c0, w["received"])
            load.cmd("close %d close" % g, 10)
            freed = self.wait_registry_empty(self.env.heartbeat * 3 + 10)
            res[str(n)] = {"listeners": n, "opened": o["ok"], "open_failed": o["reasons"],
                           "refused_503_then_retried": o["refused_503"], "open_s": round(o["ms"] / 1000, 1),
                           "hello_p99_ms": o["hello_p99_ms"], "settle_events": s["events"],
                           "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "max_ms": w["max_ms"],
                           "expected": w["expected"], "received": w["received"], "lost": w["lost"],
                           "dup": w["dup"], "write_p50_ms": w["write_p50_ms"], "write_p99_ms": w["write_p99_ms"],
                           "write_errors": w["write_errors"], "workers_freed_s": freed,
                           "cpu_us_per_delivered_event": cpu}
            log("fan-out %d: p50 %.2f p99 %.2f max %.2f ms, lost %d, dup %d" % (
                n, w["p50_ms"], w["p99_ms"], w["max_ms"], w["lost"], w["dup"]))
        return res

    # ---- scenario 2
    def streams(self, load, run):
        steps = self.p["ramp"]
        boards = self.world.ramp_boards
        ls = self.world.listeners
        total = steps[-1]
        pairs = self.file("ramp.pairs", [(boards[i % len(boards)], ls[i % len(ls)]["token"])
                                         for i in range(total)])
        writes = self.file("ramp.writes", [(b, self.world.writer["token"]) for b in boards])
        load.cmd("load " + pairs, 10)
        g, opened, out, max_live, failure = 200, 0, [], 0, None
        self.mark_logs()
        for step in steps:
            t0 = now()
            k = step - opened
            c0 = self.cpu_start()
            o = load.cmd("open %d %d %d h1 %d %d 3" % (g, opened, k, self.p["open_rate"],
                                                        1000 * (30 + 2 * k / self.p["open_rate"])),
                         60 + 2 * k / self.p["open_rate"])
            opened = step
            cpu_open = self.cpu_per(c0, o["ok"])
            s = load.cmd("settle 60000 1000", 70)
            w = load.cmd("write %d %s 10 8 s%dr%d 5000 5000" % (g, writes, step, run), 120)
            mem = self.memory()
            la = loadavg()
            problems = self.log_problems()
            st = {"streams": step, "open_failed": o["failed"], "refused_503_then_retried": o["refused_503"],
                  "open_reasons": o["reasons"], "open_s": round(now() - t0, 1),
                  "hello_p99_ms": o["hello_p99_ms"], "settle_events": s["events"],
                  "live": w["streams_live"], "with_hello": w["streams"], "lost": w["lost"],
                  "event_p50_ms": w["p50_ms"], "event_p99_ms": w["p99_ms"], "event_max_ms": w["max_ms"],
                  "write_p99_ms": w["write_p99_ms"], "memory": mem, "load": la, "log_problems": problems,
                  "cpu_us_per_opened_stream": cpu_open}
            out.append(st)
            log("streams %d: live %d, open failed %d %s, event p99 %.0f ms, max %.0f ms, %s MiB/stream" % (
                step, w["streams_live"], o["failed"], o["reasons"], w["p99_ms"], w["max_ms"],
                mem.get("per_stream_private_mib")))
            if w["streams_live"] >= step and o["failed"] == 0:
                max_live = step
            else:
                why = []
                if o["failed"]:
                    why.append("open failed: %s" % o["reasons"])
                late = w["streams"] - w["streams_live"]
                if late:
                    why.append("%d streams without their event within 5 s (lost %d, event max %.0f ms)" % (
                        late, w["lost"], w["max_ms"]))
                if problems:
                    why.append("logs: %s" % {k: v["first"][:2] for k, v in problems.items()})
                failure = {"at": step, "what": "; ".join(why)}
                break
        load.cmd("close %d close" % g, 30)
        freed = self.wait_registry_empty(self.env.heartbeat * 3 + 60)
        mem_at = next((s["memory"] for s in reversed(out) if s["streams"] == max_live and s["memory"]), {})
        if not mem_at and out:
            mem_at = out[0]["memory"]
        return {"steps": out, "max_live": max_live, "failure": failure, "workers_freed_s": freed,
                "mem_per_stream_mib": mem_at.get("per_stream_private_mib"), "memory_at_max": mem_at}

    # ---- scenario 3
    def worker_state(self, pids, bpids):
        free = sum(1 for p in pids if syscall_of(p) in ACCEPT_SYSCALLS)
        idle = self.env.sql("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND state = 'idle'",
                            (list(bpids),))[0][0]
        return free, idle

    def disconnect(self, load, run):
        res = {}
        n = self.p["disconnect"]
        boards = self.world.ramp_boards
        ls = self.world.listeners
        pairs = self.file("disc.pairs", [(boards[i % len(boards)], ls[i % len(ls)]["token"])
                                         for i in range(n + 1)])
        load.cmd("load " + pairs, 10)
        for proto, mode in (("h1", "close"), ("h2", "h2rst"), ("h2", "close")):
            key = proto if mode != "close" or proto == "h1" else "h2close"
            g = 300 + len(res)
            o = load.cmd("open %d 0 %d %s 0 60000" % (g, n, proto), 70)
            load.cmd("settle 10000 500", 15)
            rows = self.env.sql("SELECT pid, backend_pid FROM streams WHERE host = %s", (HOST_NAME,))
            pids, bpids = [r[0] for r in rows], [r[1] for r in rows]
            c = load.cmd("close %d %s" % (g, mode), 10)
            t_close = c["t_ms"] / 1000.0
            t_reg = t_free = None
            limit = self.env.heartbeat * 3 + 10
            while now() - t_close < limit:
                t = now()
                if t_reg is None and self.registry() == 0:
                    t_reg = t - t_close
                if t_reg is not None:
                    free, idle = self.worker_state(pids, bpids)
                    if free == len(pids) and idle == len(bpids):
                        t_free = now() - t_close
                        break
                time.sleep(0.01)
            # a new stream is served
            load.cmd("load " + pairs, 10)
            p = load.cmd("open %d %d 1 %s 0 10000" % (g + 50, n, proto), 15)
            t_served = now() - t_close if p["ok"] == 1 else None
            load.cmd("close %d close" % (g + 50), 10)
            load.cmd("drop %d" % g, 10)
            self.wait_registry_empty(self.env.heartbeat * 3 + 10)
            res[key] = {"streams": o["ok"], "proto": proto, "close": mode,
                        "registry_empty_s": None if t_reg is None else round(t_reg, 3),
                        "free_s": None if t_free is None else round(t_free, 3),
                        "new_stream_served_s": None if t_served is None else round(t_served, 3),
                        "heartbeat_s": self.env.heartbeat}
            log("disconnect %s/%s: registry empty %s s, workers free %s s, new stream %s s (heartbeat %d s)" % (
                proto, mode, res[key]["registry_empty_s"], res[key]["free_s"], res[key]["new_stream_served_s"],
                self.env.heartbeat))
        return res

    # ---- scenario 4 and 6 (wrk)
    def wrk(self, path, token=None, script=None, seconds=None, env=None):
        c0 = self.cpu_start()
        r = self._wrk(path, token, script, seconds, env)
        if r.get("requests"):
            r["cpu_us_per_request"] = self.cpu_per(c0, r["requests"])
        return r

    def _wrk(self, path, token=None, script=None, seconds=None, env=None):
        cmd = ["wrk", "-t2", "-c32", "-d%ds" % (seconds or self.p["wrk_seconds"]), "--latency"]
        if token:
            cmd += ["-H", "Authorization: Bearer " + token]
        if script:
            cmd += ["-s", script]
        cmd.append("http://127.0.0.1:%d%s" % (self.env.port, path))
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=(seconds or self.p["wrk_seconds"]) + 60,
                             env=dict(os.environ, **(env or {}))).stdout

        def ms(v, unit):
            return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        r = {"raw": out}
        m = re.search(r"Requests/sec:\s*([\d.]+)", out)
        r["rps"] = float(m.group(1)) if m else None
        for p in ("50", "90", "99"):
            m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M)
            r["p%s_ms" % p] = round(ms(m.group(1), m.group(2)), 3) if m else None
        m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        r["non_2xx"] = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
        m = re.search(r"(\d+) requests in", out)
        r["requests"] = int(m.group(1)) if m else None
        return r

    def rest(self, load, run):
        """GET a board of 50 notes; POST a note on one board (as the issue asks), then spread over 32
        boards, then on one board again with synchronous_commit off (what the commit wait costs)."""
        tok = self.world.writer["token"]
        out = {}
        out["get"] = self.wrk("/api/v1/boards/%d" % self.world.get_board, token=tok)
        out["post"] = self.wrk("/api/v1/boards/%d/items" % self.world.post_board, token=tok,
                               script=os.path.join(BENCH_DIR, "wrk", "post_note.lua"))
        out["post_32_boards"] = self.wrk("/api/v1/boards/%d/items" % self.world.post_board, token=tok,
                                         script=os.path.join(BENCH_DIR, "wrk", "post_boards.lua"),
                                         env={"TB_BOARDS": ",".join(str(b) for b in self.world.spread_boards)})
        self.env.sql("ALTER SYSTEM SET synchronous_commit = off")
        self.env.sql("SELECT pg_reload_conf()")
        time.sleep(1)
        try:
            out["post_async_commit"] = self.wrk("/api/v1/boards/%d/items" % self.world.post_board, token=tok,
                                                script=os.path.join(BENCH_DIR, "wrk", "post_note.lua"))
        finally:
            self.env.sql("ALTER SYSTEM RESET synchronous_commit")
            self.env.sql("SELECT pg_reload_conf()")
            time.sleep(1)
        for r in out.values():
            del r["raw"]
        log("REST GET %.0f req/s p99 %s ms; POST %.0f req/s p99 %s ms; POST on 32 boards %.0f req/s; "
            "POST with synchronous_commit off %.0f req/s" % (
                out["get"]["rps"] or 0, out["get"]["p99_ms"], out["post"]["rps"] or 0, out["post"]["p99_ms"],
                out["post_32_boards"]["rps"] or 0, out["post_async_commit"]["rps"] or 0))
        return out

    # ---- scenario 5
    def resume(self, load, run):
        n = self.p["resume"]
        board = self.world.resume_board
        tok = self.world.listeners[0]["token"]
        pairs = self.file("resume.pairs", [(board, tok)])
        load.cmd("load " + pairs, 10)
        g = 500 + run
        o = load.cmd("open %d 0 1 h1 0 10000" % g, 15)
        hello_id = None
        status, body = self.world.api.request("GET", "/boards/%d" % board, token=tok)
        hello_id = body["last_event_id"]
        load.cmd("close %d close" % g, 10)
        writes = self.file("resume.writes", [(board, self.world.writer["token"])] * n)
        w = load.cmd("write -1 %s 0 16 r%d 5000 5000" % (writes, run), 300)
        r = load.cmd("resume %d %s %d %d 10000 h1" % (board, tok, hello_id, n), 20)
        self.wait_registry_empty(self.env.heartbeat * 3 + 10)
        log("resume of %d: %.1f ms, missed %d, dup %d" % (n, r["ms"], r["missed"], r["dup"]))
        return {"events": n, "ms": r["ms"], "hello_ms": r["hello_ms"], "received": r["received"],
                "missed": r["missed"], "dup": r["dup"], "write_errors": w["write_errors"],
                "opened": o["ok"]}

    # ---- scenario 6
    def limits(self, load, run):
        out = {}
        # the GET board response, served by lighttpd as a static file
        st, body = self.world.api.request("GET", "/boards/%d" % self.world.get_board,
                                          token=self.world.writer["token"], raw=True)
        path = self.env.path("web", "board.json")
        with open(path, "wb") as f:
            f.write(body)
        os.chmod(path, 0o644)
        s = self.wrk("/board.json")
        del s["raw"]
        s["bytes"] = len(body)
        out["static"] = s
        probe = os.path.join(self.args.tool_dir, "pgprobe")
        dsn = self.env.dsn(user="teamboard")
        for what, n in (("notify", self.p["notify_n"]), ("event", self.p["notify_n"]),
                        ("insert", self.p["insert_n"])):
            r = subprocess.run([probe, what, dsn, str(n)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
            if r.returncode != 0:
                raise Abort("pgprobe %s: %s" % (what, r.stdout))
            out[what] = json.loads(r.stdout.strip().splitlines()[-1])
        # PostgreSQL's own fan-out: as many LISTEN connections as the largest fan-out scenario, the
        # same number of changes at the same interval; no worker, no web server.
        nl = max(self.p["fanout"])
        r = subprocess.run([probe, "fanout", dsn, str(self.p["fanout_writes"]), str(nl), "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if not r.stdout.strip():
            raise Abort("pgprobe fanout: no output")
        out["fanout"] = json.loads(r.stdout.strip().splitlines()[-1])
        out.update(self.pgbench_floors())
        out["backend_bare_private_kib"] = self.bare_backend()
        log("limits: static %.0f req/s p99 %s ms; NOTIFY rtt p50 %.3f p99 %.3f ms; NOTIFY to %d listeners p50 %.2f"
            " p99 %.2f ms; INSERT p50 %.3f p99 %.3f ms;"
            " 32 clients: %.0f INSERT/s, %.0f INSERT+NOTIFY/s, %.0f one-row+NOTIFY/s" % (
                s["rps"] or 0, s["p99_ms"], out["notify"]["p50_ms"], out["notify"]["p99_ms"], nl,
                out["fanout"]["p50_ms"], out["fanout"]["p99_ms"],
                out["insert"]["p50_ms"], out["insert"]["p99_ms"], out["insert_32"]["tps"] or 0,
                out["insert_notify_32"]["tps"] or 0, out["one_row_notify_32"]["tps"] or 0))
        return out

    def pgbench(self, name, sql, clients=32):
        """Commits per second of a one-transaction script at 32 clients (pgbench), on tables of its own."""
        script = os.path.join(self.tmp, name + ".sql")
        with open(script, "w") as f:
            f.write(sql)
        os.chmod(self.tmp, 0o755)
        os.chmod(script, 0o644)
        cmd = [os.path.join("/usr/lib/postgresql/15/bin", "pgbench"), "-n", "-M", "prepared", "-f", script,
               "-c", str(clients), "-j", "2", "-T", str(self.p["wrk_seconds"]), "-h", self.env.run_dir,
               "-p", str(self.env.db_port), "-U", "teamboard", "teamboard"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=self.p["wrk_seconds"] + 120)
        m = re.search(r"tps = ([\d.]+) \(without initial", r.stdout)
        lat = re.search(r"latency average = ([\d.]+) ms", r.stdout)
        if not m:
            log("pgbench %s: %s" % (name, r.stdout[-500:]))
        return {"tps": float(m.group(1)) if m else None, "latency_avg_ms": float(lat.group(1)) if lat else None,
                "clients": clients}

    def pgbench_floors(self):
        """The database's floors for writes: INSERT commits at 32 clients; the same with a NOTIFY in
        each transaction (PostgreSQL serializes the commits of notifying transactions); and the
        shape of a change on ONE board (every writer updates the board's row, as record_event
        does, then NOTIFYs), which serializes the writers of a board through their commits."""
        self.env.sql("CREATE TABLE IF NOT EXISTS public.bench_notes (id bigint GENERATED ALWAYS AS IDENTITY"
                     " PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        self.env.sql("CREATE TABLE IF NOT EXISTS public.bench_board (id int PRIMARY KEY, last_seq bigint NOT NULL)")
        self.env.sql("INSERT INTO public.bench_board VALUES (1, 0) ON CONFLICT DO NOTHING")
        self.env.sql("GRANT ALL ON public.bench_notes, public.bench_board TO teamboard")
        ins = "INSERT INTO public.bench_notes (payload) VALUES ('a sticky note of about this length');\n"
        out = {
            "insert_32": self.pgbench("insert", ins),
            "insert_notify_32": self.pgbench("insert_notify", "BEGIN;\n" + ins +
                                             "SELECT pg_notify('bench_floor', 'x');\nCOMMIT;\n"),
            "one_row_notify_32": self.pgbench("one_row_notify", "BEGIN;\n" + ins +
                                              "UPDATE public.bench_board SET last_seq = last_seq + 1 WHERE id = 1;\n"
                                              "SELECT pg_notify('bench_floor', 'x');\nCOMMIT;\n"),
        }
        self.env.sql("DROP TABLE public.bench_notes, public.bench_board")
        return out

    def bare_backend(self):
        """Private memory of a PostgreSQL backend that ran SELECT 1: the floor of a stream's backend."""
        import psycopg2
        c = psycopg2.connect(self.env.dsn(user="teamboard"))
        try:
            with c.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            m = smaps_rollup(pid)
            return m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
        finally:
            c.close()

    # ---- the whole run
    def main(self):
        a, p = self.args, self.p
        self.env = Env.for_benchmark(a.build_dir, rest_workers=p["rest_workers"],
                                     stream_workers=p["stream_workers"], heartbeat=p["heartbeat"],
                                     durable=not a.no_durable, keep=a.keep,
                                     extra_connections=max(p["fanout"]) + 10)
        result = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "mode": "quick" if a.quick else "full", "params": p, "machine": machine(), "runs": []}
        scenarios = a.scenarios
        load = None
        try:
            t0 = now()
            self.env.start()
            log("stack up in %.1f s (state %s, port %d)" % (now() - t0, self.env.state_dir, self.env.port))
            self.tmp = self.env.path("tmp", "bench")
            os.makedirs(self.tmp, exist_ok=True)
            result["versions"] = self.env.versions()
            result["settings"] = self.env.describe()
            self.world = World(self.env, p["users"], p["ramp_boards"], p["fanout"])
            result["setup_s"] = self.world.setup_s
            load = Load(os.path.join(a.tool_dir, "tbload"), "127.0.0.1", self.env.port,
                        log_path=self.env.path("log", "tbload.log"))
            self.load_pid = load.p.pid
            for run in range(1, p["runs"] + 1):
                quiet = {} if a.quick else wait_quiet(a.max_load, a.max_wait)
                r = {"run": run, "load": quiet, "t_start": time.strftime("%H:%M:%S")}
                for name in ("limits", "fanout", "streams", "disconnect", "rest", "resume"):
                    if name not in scenarios:
                        continue
                    ts = now()
                    r[name] = getattr(self, name)(load, run)
                    r[name + "_s"] = round(now() - ts, 1)
                r["load_after"] = loadavg()
                result["runs"].append(r)
                log("run %d done; load %s" % (run, r["load_after"]))
        finally:
            if load is not None:
                load.close()
            if self.env is not None:
                result["log_tails"] = {n: tail(self.env.path("log", n), 8) for n in
                                       ("postgresql.log", "lighttpd-error.log", "streams.log",
                                        "workers.log", "supervisor.log")}
                self.env.stop()
        result["medians"] = medians(result["runs"])
        result["ratios"] = ratios(result["medians"])
        result["targets"] = check_targets(result["medians"], p["heartbeat"])
        return result


# ---- summaries ---------------------------------------------------------------------------------

def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v
    return out


def medians(runs):
    keys = {}
    for r in runs:
        flat = {}
        for name in ("limits", "fanout", "disconnect", "rest", "resume"):
            if name in r:
                flat.update(flatten(r[name], name + "."))
        if "streams" in r:
            s = r["streams"]
            flat["streams.max_live"] = s["max_live"]
            if s.get("mem_per_stream_mib") is not None:
                flat["streams.mem_per_stream_mib"] = s["mem_per_stream_mib"]
            for k, v in s.get("memory_at_max", {}).items():
                flat["streams.memory." + k] = v
        for k, v in flat.items():
            keys.setdefault(k, []).append(v)
    return {k: (statistics.median(v) if None not in v else None) for k, v in sorted(keys.items())}


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def ratios(m):
    out = {}
    nrtt50, nrtt99 = m.get("limits.notify.p50_ms"), m.get("limits.notify.p99_ms")
    ev50, ev99 = m.get("limits.event.p50_ms"), m.get("limits.event.p99_ms")
    for n in ("1", "50", "500", "5"):
        if "fanout.%s.p50_ms" % n in m:
            out["fanout.%s.p50 / INSERT+NOTIFY->LISTEN p50" % n] = ratio(m["fanout.%s.p50_ms" % n], ev50)
            out["fanout.%s.p99 / INSERT+NOTIFY->LISTEN p99" % n] = ratio(m["fanout.%s.p99_ms" % n], ev99)
    for n in ("500", "5"):
        if "fanout.%s.p99_ms" % n in m and m.get("limits.fanout.listeners") == int(n):
            out["fanout.%s.p99 / PostgreSQL's own NOTIFY to %s listeners p99" % (n, n)] = ratio(
                m["fanout.%s.p99_ms" % n], m.get("limits.fanout.p99_ms"))
            out["fanout.%s.p50 / PostgreSQL's own NOTIFY to %s listeners p50" % (n, n)] = ratio(
                m["fanout.%s.p50_ms" % n], m.get("limits.fanout.p50_ms"))
    out["GET board req/s / static file req/s"] = ratio(m.get("rest.get.rps"), m.get("limits.static.rps"))
    out["GET board p99 / static file p99"] = ratio(m.get("rest.get.p99_ms"), m.get("limits.static.p99_ms"))
    out["POST note req/s / one-row+NOTIFY commits/s (32 clients)"] = ratio(
        m.get("rest.post.rps"), m.get("limits.one_row_notify_32.tps"))
    out["POST on 32 boards req/s / INSERT+NOTIFY commits/s (32 clients)"] = ratio(
        m.get("rest.post_32_boards.rps"), m.get("limits.insert_notify_32.tps"))
    out["POST note p50 / INSERT commit p50"] = ratio(m.get("rest.post.p50_ms"), m.get("limits.insert.p50_ms"))
    out["resume time / NOTIFY rtt p50"] = ratio(m.get("resume.ms"), nrtt50)
    out["memory per stream / bare backend"] = ratio(
        m.get("streams.mem_per_stream_mib"),
        None if m.get("limits.backend_bare_private_kib") is None else m["limits.backend_bare_private_kib"] / 1024)
    for k in ("h1", "h2", "h2close"):
        if "disconnect.%s.free_s" % k in m:
            out["disconnect %s / heartbeat interval" % k] = ratio(m["disconnect.%s.free_s" % k],
                                                                  m.get("disconnect.%s.heartbeat_s" % k))
    return {k: v for k, v in out.items() if v is not None}


def check_targets(m, hb):
    out = []
    for key, label, op, target in TARGETS:
        t = hb + 1 if target == "hb+1" else target
        v = m.get(key)
        if v is None:
            met = None
        elif op == "<=":
            met = v <= t
        elif op == ">=":
            met = v >= t
        else:
            met = v == t
        out.append({"key": key, "label": label, "target": "%s %s" % (op, t), "value": v, "met": met})
    return out


def table(result):
    m = result["medians"]
    lines = []
    add = lines.append
    runs = len(result["runs"])
    add("Teamboard benchmark (%s, median of %d run%s) %s" % (result["mode"], runs, "s" if runs > 1 else "",
                                                             result["started"]))
    add("%-46s %12s %12s  %s" % ("target", "median", "target", "met"))
    for t in result["targets"]:
        v = t["value"]
        vs = "-" if v is None else ("%.3f" % v if isinstance(v, float) and v < 10 else "%.1f" % v
                                    if isinstance(v, float) else str(v))
        add("%-46s %12s %12s  %s" % (t["label"], vs, t["target"],
                                     {True: "met", False: "MISSED", None: "n/a"}[t["met"]]))
    add("")
    add("limits (same run): static file %s req/s p99 %s ms; NOTIFY->LISTEN p50 %s p99 %s ms;"
        " INSERT+NOTIFY->LISTEN p50 %s p99 %s ms; INSERT commit p50 %s p99 %s ms;" % (
            m.get("limits.static.rps"), m.get("limits.static.p99_ms"), m.get("limits.notify.p50_ms"),
            m.get("limits.notify.p99_ms"), m.get("limits.event.p50_ms"), m.get("limits.event.p99_ms"),
            m.get("limits.insert.p50_ms"), m.get("limits.insert.p99_ms")))
    add("  PostgreSQL alone, NOTIFY to %s listeners: p50 %s p99 %s max %s ms, lost %s" % (
        m.get("limits.fanout.listeners"), m.get("limits.fanout.p50_ms"), m.get("limits.fanout.p99_ms"),
        m.get("limits.fanout.max_ms"), m.get("limits.fanout.lost")))
    add("  commits/s at 32 clients: INSERT %s, INSERT+NOTIFY %s, one row+NOTIFY %s; bare backend %s KiB" % (
        m.get("limits.insert_32.tps"), m.get("limits.insert_notify_32.tps"), m.get("limits.one_row_notify_32.tps"),
        m.get("limits.backend_bare_private_kib")))
    add("REST extra: POST on 32 boards %s req/s p99 %s ms; POST with synchronous_commit off %s req/s p99 %s ms" % (
        m.get("rest.post_32_boards.rps"), m.get("rest.post_32_boards.p99_ms"),
        m.get("rest.post_async_commit.rps"), m.get("rest.post_async_commit.p99_ms")))
    for n in ("1", "5", "50", "500"):
        if "fanout.%s.p50_ms" % n in m:
            add("fan-out %4s: p50 %s p99 %s max %s ms, lost %s, dup %s" % (
                n, m["fanout.%s.p50_ms" % n], m["fanout.%s.p99_ms" % n], m["fanout.%s.max_ms" % n],
                m["fanout.%s.lost" % n], m["fanout.%s.dup" % n]))
    add("ratios: " + "; ".join("%s = %s" % kv for kv in result["ratios"].items()))
    for r in result["runs"]:
        s = r.get("streams")
        if s:
            add("run %d streams: held live up to %s; first failure: %s" % (
                r["run"], s["max_live"], (s["failure"] or {}).get("what", "none (all steps passed)")))
        add("run %d load: before %s, after %s" % (r["run"], r.get("load", {}).get("load_before"),
                                                   r.get("load_after")))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="Teamboard benchmark (see bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny N, under a minute")
    ap.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or os.path.join(REPO, "build"))
    ap.add_argument("--tool-dir", required=True, help="where run.sh built tbload and pgprobe")
    ap.add_argument("--runs", type=int, help="repetitions (default 3; --quick 1)")
    ap.add_argument("--scenarios", default="limits,fanout,streams,disconnect,rest,resume")
    ap.add_argument("--ramp", help="comma-separated stream counts (default 250,500,1000,2000,4000)")
    ap.add_argument("--fanout", help="comma-separated listener counts (default 1,50,500)")
    ap.add_argument("--heartbeat", type=int, help="heartbeat_interval in seconds (default 5; --quick 2)")
    ap.add_argument("--rest-workers", type=int)
    ap.add_argument("--open-rate", type=int, help="streams opened per second (default 50: each new stream"
                    " worker starts a PostgreSQL backend)")
    ap.add_argument("--users", type=int, help="listener accounts (default 500; at least the largest fan-out)")
    ap.add_argument("--stream-workers", type=int)
    ap.add_argument("--no-durable", action="store_true", help="PostgreSQL fsync/synchronous_commit off")
    ap.add_argument("--max-load", type=float, default=0.5, help="wait until the load average is below this")
    ap.add_argument("--max-wait", type=float, default=600, help="... but at most this many seconds per run")
    ap.add_argument("--max-seconds", type=int, default=5400, help="abort the whole benchmark after this")
    ap.add_argument("--keep", action="store_true", help="keep the state dir (logs) afterwards")
    ap.add_argument("--out", help="JSON file (default bench/results/<time>[-quick].json)")
    a = ap.parse_args()
    p = dict(QUICK if a.quick else FULL)
    if a.runs:
        p["runs"] = a.runs
    if a.ramp:
        p["ramp"] = [int(x) for x in a.ramp.split(",")]
    if a.fanout:
        p["fanout"] = [int(x) for x in a.fanout.split(",")]
    for k in ("heartbeat", "rest_workers", "stream_workers", "users", "open_rate"):
        if getattr(a, k) is not None:
            p[k] = getattr(a, k)
    sc = a.scenarios.split(",")
    p["stream_workers"] = max(p["stream_workers"], (max(p["ramp"]) + 150) if "streams" in sc else 0,
                              (max(p["fanout"]) + 50) if "fanout" in sc else 0, p["disconnect"] + 50)
    if "fanout" in a.scenarios.split(","):
        p["users"] = max(p["users"], max(p["fanout"]))
    a.scenarios = a.scenarios.split(",")
    if not shutil.which("wrk") and ("rest" in a.scenarios or "limits" in a.scenarios):
        sys.exit("bench: wrk is not installed (apt-get install wrk)")

    def on_signal(sig, frame):
        raise Abort("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(a.max_seconds)
    b = Bench(a, p)
    try:
        result = b.main()
    except (Abort, KeyboardInterrupt) as e:
        log("aborted: %s" % e)
        return 2
    finally:
        signal.alarm(0)
    out = a.out or os.path.join(BENCH_DIR, "results", "%s%s.json" % (
        time.strftime("%Y%m%d-%H%M%S"), "-quick" if a.quick else ""))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(table(result))
    print("results: %s" % out)
    if a.quick:
        # the smoke run proves the benchmark works: every scenario ran and nothing was lost
        m = result["medians"]
        bad = [k for k in m if k.endswith((".lost", ".dup", ".missed")) and m[k]]
        if bad or not result["runs"]:
            log("smoke run found problems: %s" % bad)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
