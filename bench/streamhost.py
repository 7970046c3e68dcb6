#!/usr/bin/python3
"""streamhost: the benchmark of the stream host beside the per-stream workers (issue 13 item 4).

    /usr/bin/python3 bench/streamhost.py --build-dir build          # both modes, 3 runs
    /usr/bin/python3 bench/streamhost.py --build-dir build --quick  # smoke run, tiny N, < 60 s

One stack (tools/tbenv/, Env.for_benchmark: PostgreSQL 15 with durable commits, the REST pool, the supervisor,
lighttpd with the stream socket as an external FastCGI backend), and behind run/stream.sock first
the prefork pool of teamboard.fcgi workers (TB_STREAM_MODE=worker), then one teamboard-streamhost
(TB_STREAM_MODE=host): the same database, users and boards for both, so the two columns differ
only in who holds the streams. The load generator is bench/tbload.c (one epoll loop, thousands of
SSE streams over HTTP/1.1). Per mode and run:

  fanout   N listeners on one board (worker: 50, 500; host: 50, 500, 5000), one writer makes 200
           changes 20 ms apart (further apart past 25,000 deliveries a second: 5000 at 200 ms):
           per event per listener the time from the POST's answer (and from its sending) to the
           event being parsed; p50/p99/max; lost, duplicated, streams dropped
  memory   at the largest N: the drop of MemAvailable per open stream (every process: holders,
           PostgreSQL, lighttpd; the whole machine's), the private memory of the stack's
           processes and the kernel's slab per stream, the holder's private memory per stream
           (smaps_rollup: the host process; a worker and its backend), PostgreSQL connections
           held for the streams
  crowd    K streams on 20 boards (worker: 500; host: 2000) close at once (TCP close), over
           HTTP/2 and over HTTP/1.1: time until the registry is empty, and the CPU seconds every
           part of the stack spent until then
  concurrent  N streams on B boards (worker: 500 on 50; host: 10,000 on 1,000; past what one
           lighttpd's RLIMIT_NOFILE holds, half through a second lighttpd), then one change on
           each board: every stream must receive its board's (streams_missing 0); the memory
           as above at N, also without the load generator's own
  mixed    N streams on 100 boards (worker: 500; host: 4,000), 50 changes a second for 20 s
           round the boards: lost, duplicated, p50/p99/max from the POST's answer
           (--scenarios picks some of the four; concurrent and mixed start from a fresh holder)
and once per mode, the reference: PostgreSQL's own NOTIFY -> LISTEN round trip (bench/pgprobe.c),
and the same with an INSERT in the notifying transaction. Prints a table (median of the runs,
both modes side by side, the issue's targets) and writes bench/results/streamhost-<time>.json;
exits 1 when a stream did not open, an event was lost or duplicated, a stream missed its board's
change, or a crowd's rows stayed.

Limits are raised for this benchmark's own processes only (RLIMIT_NOFILE, inherited; lighttpd's
server.max-fds and max-connections, max_streams and max_streams_per_user in the config it writes);
nothing system-wide. Every wait is bounded; --max-seconds aborts the whole run.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tools"))

from tbenv import (BENCH_HOST_NAME as HOST_NAME, REPO, Env, TbEnvError as EnvError,  # noqa: E402
                   children, proc_ticks, smaps_rollup, tail)
from tbclient import Api, Load  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


PASSWORD = "bench-password-1"
MODES = ("worker", "host")
FULL = dict(runs=3, users=50, fanout={"worker": [50, 500], "host": [50, 500, 5000]}, writes=200,
            deliveries_per_s=25000,
            crowd={"worker": 500, "host": 2000}, crowd_boards=20, heartbeat=15,
            open_rate={"worker": 25, "host": 250}, notify_n=500, wrk_seconds=5,
            concurrent={"worker": 500, "host": 10000}, concurrent_boards={"worker": 50, "host": 1000},
            write_interval_ms=5, mixed={"worker": 500, "host": 4000}, mixed_boards=100, mixed_rate=50,
            mixed_seconds=20, fresh_holder=True, settle_quiet_ms=1000)
QUICK = dict(runs=1, users=4, fanout={"worker": [5], "host": [5]}, writes=20, deliveries_per_s=25000,
             crowd={"worker": 5, "host": 5}, crowd_boards=2, heartbeat=2, open_rate={"worker": 0, "host": 0},
             notify_n=50, wrk_seconds=1, concurrent={"worker": 6, "host": 6},
             concurrent_boards={"worker": 3, "host": 3}, write_interval_ms=5, mixed={"worker": 6, "host": 6},
             mixed_boards=3, mixed_rate=10, mixed_seconds=1, fresh_holder=False, settle_quiet_ms=200)
SCENARIOS = ("fanout", "crowd", "concurrent", "mixed")

# (label, key in a mode's medians, comparison, the target for the stream host)
TARGETS = [
    ("fan-out 50: p99 from the POST's answer (ms)", "fanout.50.ans_p99_ms", "<=", 5),
    ("fan-out 50: lost + duplicated", "fanout.50.lost_dup", "==", 0),
    ("fan-out 500: p99 from the POST's answer (ms)", "fanout.500.ans_p99_ms", "<=", 20),
    ("fan-out 500: lost + duplicated", "fanout.500.lost_dup", "==", 0),
    ("fan-out 5000: p99 from the POST's answer (ms)", "fanout.5000.ans_p99_ms", "<=", 250),
    ("fan-out 5000: lost + duplicated", "fanout.5000.lost_dup", "==", 0),
    ("MemAvailable per open stream (KiB)", "memory.memavail_kib_per_stream", "<=", 48),
    ("holders' private memory per stream (KiB)", "memory.private_kib_per_stream", None, None),
    ("PostgreSQL connections held for the streams", "memory.pg_connections", "<=", 2),
    ("stack's private memory per stream (KiB)", "memory.stack_private_kib_per_stream", None, None),
    ("concurrent streams: opened and live", "concurrent.live", ">=", 10000),
    ("concurrent streams: missing their board's change", "concurrent.streams_missing", "==", 0),
    ("concurrent: MemAvailable per open stream (KiB)", "concurrent.memory.memavail_kib_per_stream", "<=", 48),
    ("concurrent: the same without the client's (KiB)", "concurrent.memory.memavail_kib_per_stream_server",
     "<=", 48),
    ("concurrent: holders' private memory per stream (KiB)", "concurrent.memory.private_kib_per_stream", None,
     None),
    ("concurrent: PostgreSQL connections for the streams", "concurrent.memory.pg_connections", "<=", 2),
    ("mixed load: lost + duplicated", "mixed.lost_dup", "==", 0),
    ("mixed load: p99 from the POST's answer (ms)", "mixed.ans_p99_ms", "<=", 50),
    ("crowd leaves, HTTP/2: registry empty (s)", "crowd.h2.registry_empty_s", "<=", 2),
    ("crowd leaves, HTTP/2: CPU seconds, all processes", "crowd.h2.cpu_s", "<=", 0.5),
    ("crowd leaves, HTTP/1.1: registry empty (s)", "crowd.h1.registry_empty_s", "<=", 2),
    ("crowd leaves, HTTP/1.1: CPU seconds, all processes", "crowd.h1.cpu_s", "<=", 0.5),
]


def now():
    return time.monotonic()


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def kernel_kib():
    """Kernel memory that sockets cost: the slab (socket structures) and the TCP buffers in use
    (/proc/net/sockstat, pages), in KiB; both are the whole machine's."""
    out = {"slab": 0, "tcp_buffers": 0}
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                out["slab"] = int(line.split()[1])
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                w = line.split()
                out["tcp_buffers"] = int(w[w.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return out


def private_kib(pid):
    m = smaps_rollup(pid)
    return m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)


def build_tools(build_dir, tool_dir):
    """Compiles tbload and pgprobe into tool_dir when missing or older than their source (as
    bench/run.sh does)."""
    os.makedirs(tool_dir, exist_ok=True)
    pq = subprocess.run(["pkg-config", "--cflags", "--libs", "libpq"], stdout=subprocess.PIPE, text=True,
                        timeout=30).stdout.split()
    for name, extra in (("tbload", []), ("pgprobe", pq)):
        src, out = os.path.join(BENCH_DIR, name + ".c"), os.path.join(tool_dir, name)
        if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
            continue
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-g", "-std=c11", "-Wall", "-Wextra", "-o",
                        out + ".tmp", src] + extra, check=True, timeout=300)
        os.replace(out + ".tmp", out)


class HostBench:
    def __init__(self, args, p):
        self.a, self.p = args, p
        self.env = None

    # -- set-up through the API
    def setup(self):
        api = self.api = Api("127.0.0.1", self.env.port)
        self.writer = self.user("hw")
        self.team = api.request("POST", "/teams", {"name": "hostbench"}, token=self.writer["token"],
                                expect=201)[1]["id"]
        self.listeners = [self.user("hl%03d" % i) for i in range(self.p["users"])]
        for u in self.listeners:
            api.request("POST", "/teams/%d/members" % self.team, {"name": u["name"], "role": "viewer"},
                        token=self.writer["token"], expect=201)
        ns = sorted(set(n for m in self.a.modes for n in self.p["fanout"][m]))
        self.fan_boards = {n: self.board("fan-out %d" % n) for n in ns}
        self.crowd_boards = [self.board("crowd %d" % i) for i in range(self.p["crowd_boards"])]
        nb = max([self.p["concurrent_boards"][m] for m in self.a.modes if "concurrent" in self.a.scenarios] +
                 [self.p["mixed_boards"] if "mixed" in self.a.scenarios else 0])
        self.many_boards = [self.board("many %d" % i) for i in range(nb)]

    def user(self, name):
        self.api.request("POST", "/users", {"name": name, "password": PASSWORD}, expect=201)
        s = self.api.request("POST", "/sessions", {"name": name, "password": PASSWORD}, expect=201)[1]
        return {"name": name, "token": s["token"]}

    def board(self, title):
        return self.api.request("POST", "/boards", {"title": title, "team_id": self.team},
                                token=self.writer["token"], expect=201)[1]["id"]

    def pairs_file(self, name, pairs):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for board, token in pairs:
                f.write("%d %s\n" % (board, token))
        return path

    # -- what the stack holds
    def registry(self):
        return self.env.sql("SELECT count(*) FROM streams WHERE host = %s", (HOST_NAME,))[0][0]

    def wait_registry(self, want, timeout):
        """Seconds until the registry holds `want` rows (None: not within timeout)."""
        t0 = now()
        while now() - t0 < timeout:
            if self.registry() == want:
                return now() - t0
            time.sleep(0.02)
        return None

    def client_backends(self):
        return self.env.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")[0][0]

    def cpu_ticks(self):
        t = self.env.cpu_ticks()
        t["tbload"] = proc_ticks(self.load.p.pid)
        return t

    def stack_private_kib(self):
        """Private memory (smaps_rollup) of every process of the stack: PostgreSQL, both pools or the
        host, lighttpd, the supervisor."""
        pids = []
        try:
            with open(self.env.path("pg", "postmaster.pid")) as f:
                pm = int(f.readline())
            pids += [pm] + children(pm)
        except (OSError, ValueError):
            pass
        for name in ("streams", "workers", "lighttpd", "lighttpd2", "supervisor"):
            p = self.env.procs.get(name)
            if p is not None:
                pids += [p.pid] + children(p.pid)
        return sum(private_kib(pid) for pid in set(pids))

    def open_group(self, g, pairs, mode, proto="h1"):
        n = len(pairs)
        rate = self.p["open_rate"][mode]
        self.load.cmd("load " + self.pairs_file("g%d.pairs" % g, pairs), 30)
        secs = 60 + (2 * n / rate if rate else n / 50)
        o = self.load.cmd("open %d 0 %d %s %d %d 3" % (g, n, proto, rate, 1000 * secs), secs + 30)
        self.load.cmd("settle 30000 1000", 40)
        if o["ok"] != n:
            log("%s: only %d of %d streams opened: %s" % (mode, o["ok"], n, o["reasons"]))
        return o

    def close_group(self, g):
        c = self.load.cmd("close %d close" % g, 30)
        return c["t_ms"] / 1000.0

    def memory(self, mode, n, before):
        """What N open streams cost, against `before` (taken with the holder idle)."""
        time.sleep(1.0)
        out = {"streams": self.registry(), "memavail_kib_per_stream":
               round((before["memavail"] - mem_available_kib()) / max(1, n), 1),
               "stack_private_kib_per_stream": round((self.stack_private_kib() - before["stack"]) / max(1, n), 1)}
        k = kernel_kib()
        for name, v in k.items():
            out["kernel_%s_kib_per_stream" % name] = round((v - before["kernel"][name]) / max(1, n), 1)
        out["pg_connections"] = self.client_backends() - before["backends"]
        if "client" in before:
            # the same without the load generator's own private memory (its sockets' kernel
            # memory stays in: both ends of a loopback connection are this machine's)
            out["client_private_kib_per_stream"] = round((private_kib(self.load.p.pid) - before["client"]) /
                                                         max(1, n), 1)
            out["memavail_kib_per_stream_server"] = round(out["memavail_kib_per_stream"] -
                                                          out["client_private_kib_per_stream"], 1)
        if mode == "host":
            out["private_kib_per_stream"] = round((private_kib(self.env.procs["streams"].pid) -
                                                   before["host_private"]) / max(1, n), 2)
            out["pg_connections"] = self.env.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'teamboard-streamhost%'")[0][0]
        else:
            rows = self.env.sql("SELECT pid, backend_pid FROM streams WHERE host = %s", (HOST_NAME,))
            tot = [private_kib(a) + private_kib(b) for a, b in rows]
            out["private_kib_per_stream"] = round(sum(tot) / max(1, len(tot)), 1)
            out["pg_connections"] = len(set(b for _, b in rows))
        return out

    def fresh_load(self):
        """A new load generator: it keeps every connection it made (at most 20,000), and the
        memory a scenario's client costs is measured from one that never held a stream."""
        if self.load is not None:
            self.load.close()
            self.load = None
        self.load = Load(os.path.join(self.a.tool_dir, "tbload"), "127.0.0.1", self.env.port,
                         log_path=self.env.path("log", "tbload.log"))

    def fronts(self, n):
        """The lighttpd ports that n streams are spread over. lighttpd spends two descriptors a
        stream (the client's connection and its FastCGI connection to the holder), so one lighttpd
        holds (RLIMIT_NOFILE - 256) / 2 streams; the hard limit is 20,000 on this VM and cannot be
        raised without CAP_SYS_RESOURCE. Past that a second lighttpd, the same configuration on
        another port, serves the rest: the same holder, database and machine."""
        per = max(1, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 256) // 2)
        return [self.env.port] + ([self.second_front()] if n > per else [])

    def second_front(self, timeout=15):
        if self.front2 is not None:
            return self.front2
        with open(self.env.path("etc", "lighttpd.conf")) as f:
            text = f.read()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        text = re.sub(r"(?m)^server\.port\s*=.*$", "server.port = %d" % port, text)
        text = text.replace("lighttpd-error.log", "lighttpd2-error.log")
        conf = self.env.path("etc", "lighttpd2.conf")
        with open(conf, "w") as f:
            f.write(text)
        lighttpd = shutil.which("lighttpd", path="/usr/sbin:/usr/bin") or "lighttpd"
        p = self.env._spawn("lighttpd2", [lighttpd, "-D", "-f", conf])
        deadline = now() + timeout
        while now() < deadline and p.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    self.front2 = port
                    log("second lighttpd front on port %d" % port)
                    return port
            except OSError:
                time.sleep(0.1)
        raise EnvError("second lighttpd did not start:\n%s" % tail(self.env.path("log", "lighttpd2-error.log")))

    def stop_second_front(self):
        if "lighttpd2" in self.env.procs:
            self.env._stop_proc("lighttpd2")
        self.front2 = None

    def open_spread(self, g, pairs, mode, ports):
        """open_group over HTTP/1.1, the pairs split evenly over the lighttpd ports."""
        n, rate = len(pairs), self.p["open_rate"][mode]
        self.load.cmd("load " + self.pairs_file("g%d.pairs" % g, pairs), 30)
        tot = {"ok": 0, "ms": 0.0, "reasons": {}, "hello_p99_ms": 0.0}
        per = -(-n // len(ports))
        for i, port in enumerate(ports):
            lo, k = i * per, min(per, n - i * per)
            self.load.cmd("target 127.0.0.1 %d" % port, 10)
            secs = 60 + (2 * k / rate if rate else k / 50)
            o = self.load.cmd("open %d %d %d h1 %d %d 3" % (g, lo, k, rate, 1000 * secs), secs + 30)
            tot["ok"] += o["ok"]
            tot["ms"] += o["ms"]
            tot["hello_p99_ms"] = max(tot["hello_p99_ms"], o["hello_p99_ms"])
            for why, c in o["reasons"].items():
                tot["reasons"][why] = tot["reasons"].get(why, 0) + c
        self.load.cmd("target 127.0.0.1 %d" % self.env.port, 10)  # the writers go to the first
        self.load.cmd("settle 30000 %d" % self.p["settle_quiet_ms"], 40)
        if tot["ok"] != n:
            log("%s: only %d of %d streams opened: %s" % (mode, tot["ok"], n, tot["reasons"]))
        return tot

    def fresh_holder(self, mode):
        """The registry empty and the holder restarted, so that what a scenario's streams cost is
        measured from a holder that never held one (not in --quick: no figure there)."""
        self.wait_registry(0, 3 * self.env.heartbeat + 15)
        if self.p["fresh_holder"] and not (self.env.stream_mode == mode and self.fresh):
            self.env.use_stream_mode(mode)
        self.fresh = False

    def spread_write(self, g, mode, run, what, pairs, n_boards, interval, live):
        """open (spread over the fronts), then one write per line of `what` (board, token),
        `interval` ms apart; close; the write's result and the open's."""
        ports = self.fronts(len(pairs))
        before = {"memavail": mem_available_kib(), "backends": self.client_backends(),
                  "stack": self.stack_private_kib(), "kernel": kernel_kib(),
                  "host_private": private_kib(self.env.procs["streams"].pid),
                  "client": private_kib(self.load.p.pid)}
        o = self.open_spread(g, pairs, mode, ports)
        mem = self.memory(mode, o["ok"], before)
        writes = self.pairs_file("writes", what)
        w = self.load.cmd("write %d %s %g 4 %s%s%dr%d 10000 %d" % (g, writes, interval, g, mode[0], len(pairs), run,
                                                                   live),
                          len(what) * interval / 1000 + 120)
        self.close_group(g)
        left = self.wait_registry(0, 3 * self.env.heartbeat + 15)
        res = {"streams": len(pairs), "boards": n_boards, "fronts": len(ports), "opened": o["ok"],
               "open_s": round(o["ms"] / 1000, 1), "open_failed": o["reasons"], "hello_p99_ms": o["hello_p99_ms"],
               "writes": len(what), "interval_ms": interval, "write_errors": w["write_errors"],
               "write_p99_ms": w["write_p99_ms"], "expected": w["expected"], "received": w["received"],
               "lost": w["lost"], "dup": w["dup"], "live": w["streams_live"],
               "streams_missing": w["streams_missing"] + (len(pairs) - o["ok"]),
               "streams_unexpected": w["streams_unexpected"], "streams_dropped": w["streams_dead"],
               "lost_dup": w["lost"] + w["dup"] + (len(pairs) - o["ok"]),
               "ans_p50_ms": w["ans_p50_ms"], "ans_p99_ms": w["ans_p99_ms"], "ans_max_ms": w["ans_max_ms"],
               "sent_p50_ms": w["p50_ms"], "sent_p99_ms": w["p99_ms"], "sent_max_ms": w["max_ms"],
               "registry_empty_after_close_s": None if left is None else round(left, 2), "memory": mem}
        return res

    # -- scenarios
    def concurrent(self, mode, run):
        """N streams on B boards (host: 10,000 on 1,000) all open at once, then one change on
        every board: each stream must receive its board's (streams_missing 0); the memory the N
        open streams cost."""
        self.fresh_holder(mode)
        self.fresh_load()
        n, nb = self.p["concurrent"][mode], self.p["concurrent_boards"][mode]
        bs, us = self.many_boards[:nb], self.listeners
        pairs = [(bs[i % nb], us[i % len(us)]["token"]) for i in range(n)]
        what = [(b, self.writer["token"]) for b in bs]
        r = self.spread_write(300, mode, run, what, pairs, nb, self.p["write_interval_ms"], 10000)
        log("%s run %d concurrent %d on %d boards (%d front(s)): opened %d in %.1f s, live %d, missing %d, "
            "unexpected %d; lost %d dup %d; p99 %.2f ms; memory %s" % (
                mode, run, n, nb, r["fronts"], r["opened"], r["open_s"], r["live"], r["streams_missing"],
                r["streams_unexpected"], r["lost"], r["dup"], r["ans_p99_ms"], r["memory"]))
        return r

    def mixed(self, mode, run):
        """N streams on B boards (host: 4,000 on 100), and changes at a steady rate (50 a
        second for 20 s) round the boards: every event delivered, latency from the POST's answer."""
        self.fresh_holder(mode)
        self.fresh_load()
        n, nb = self.p["mixed"][mode], self.p["mixed_boards"]
        bs, us = self.many_boards[:nb], self.listeners
        pairs = [(bs[i % nb], us[i % len(us)]["token"]) for i in range(n)]
        k = int(self.p["mixed_rate"] * self.p["mixed_seconds"])
        what = [(bs[i % nb], self.writer["token"]) for i in range(k)]
        r = self.spread_write(400, mode, run, what, pairs, nb, 1000.0 / self.p["mixed_rate"], 10000)
        log("%s run %d mixed %d on %d boards, %d changes at %g/s: opened %d; from the answer p50 %.2f p99 %.2f "
            "max %.2f ms; lost %d dup %d, streams dropped %d" % (
                mode, run, n, nb, k, self.p["mixed_rate"], r["opened"], r["ans_p50_ms"], r["ans_p99_ms"],
                r["ans_max_ms"], r["lost"], r["dup"], r["streams_dropped"]))
        return r

    def fanout(self, mode, run):
        res = {}
        ns = self.p["fanout"][mode]
        for n in ns:
            board = self.fan_boards[n]
            pairs = [(board, self.listeners[i % len(self.listeners)]["token"]) for i in range(n)]
            writes = self.pairs_file("writes", [(board, self.writer["token"])] * self.p["writes"])
            g = 1 + ns.index(n)
            before = {"memavail": mem_available_kib(), "backends": self.client_backends(),
                      "stack": self.stack_private_kib() if n == max(ns) else 0, "kernel": kernel_kib(),
                      "host_private": private_kib(self.env.procs["streams"].pid)}
            o = self.open_group(g, pairs, mode)
            mem = self.memory(mode, o["ok"], before) if n == max(ns) else None
            # one change every 20 ms, or fewer so that at most deliveries_per_s events a second
            # go out (500 listeners at 20 ms: 25,000 a second; 5,000 at 20 ms would be 250,000,
            # several times what lighttpd alone can pass on two cores)
            interval = max(20, 1000.0 * n / self.p["deliveries_per_s"])
            w = self.load.cmd("write %d %s %g 4 %s%dr%d 10000 5000" % (g, writes, interval, mode[0], n, run),
                              self.p["writes"] * interval / 1000 + 120)
            t_close = self.close_group(g)
            left = self.wait_registry(0, 3 * self.env.heartbeat + 15)
            res[str(n)] = {"listeners": n, "interval_ms": interval, "streams_dropped": w["streams_dead"],
                           "opened": o["ok"], "open_s": round(o["ms"] / 1000, 1),
                           "open_failed": o["reasons"], "hello_p99_ms": o["hello_p99_ms"],
                           "ans_p50_ms": w["ans_p50_ms"], "ans_p99_ms": w["ans_p99_ms"],
                           "ans_max_ms": w["ans_max_ms"], "ans_min_ms": w["ans_min_ms"],
                           "sent_p50_ms": w["p50_ms"], "sent_p99_ms": w["p99_ms"], "sent_max_ms": w["max_ms"],
                           "write_p50_ms": w["write_p50_ms"], "write_p99_ms": w["write_p99_ms"],
                           "write_errors": w["write_errors"], "expected": w["expected"],
                           "received": w["received"], "lost": w["lost"], "dup": w["dup"],
                           "lost_dup": w["lost"] + w["dup"] + (n - o["ok"]),
                           "registry_empty_after_close_s": None if left is None else round(left, 2),
                           "t_close": t_close}
            if mem is not None:
                res["memory"] = mem
            log("%s run %d fan-out %d: opened %d in %.1f s; from the answer p50 %.2f p99 %.2f max %.2f ms "
                "(from sending p99 %.2f); lost %d dup %d, streams dropped %d%s" % (
                    mode, run, n, o["ok"], o["ms"] / 1000, w["ans_p50_ms"], w["ans_p99_ms"], w["ans_max_ms"],
                    w["p99_ms"], w["lost"], w["dup"], w["streams_dead"], "; memory %s" % mem if mem else ""))
        return res

    def crowd(self, mode, run):
        return {proto: self.crowd_proto(mode, run, proto) for proto in ("h2", "h1")}

    def crowd_proto(self, mode, run, proto):
        """K streams close at once over one protocol: lighttpd closes a stream's FastCGI connection
        as soon as an HTTP/2 client's connection closes, but notices an HTTP/1.1 client's close only
        at its next write to it (the heartbeat's keep-alive or an event)."""
        k = self.p["crowd"][mode]
        bs = self.crowd_boards
        pairs = [(bs[i % len(bs)], self.listeners[i % len(self.listeners)]["token"]) for i in range(k)]
        g = 100 + len(proto)
        o = self.open_group(g, pairs, mode, proto)
        held = self.registry()
        time.sleep(0.5)
        c0 = self.cpu_ticks()
        t_close = self.close_group(g)
        empty = self.wait_registry(0, 3 * self.env.heartbeat + 30)
        c1 = self.cpu_ticks()
        tick = 1.0 / os.sysconf("SC_CLK_TCK")
        per = {p: round((c1[p] - c0[p]) * tick, 2) for p in c0 if c1[p] != c0[p]}
        cpu = round(sum(v for p, v in per.items() if p != "tbload"), 2)
        res = {"proto": proto, "streams": k, "opened": o["ok"], "registered": held,
               "registry_empty_s": None if empty is None else round(now() - t_close, 3),
               "cpu_s": cpu, "cpu_s_by_part": per}
        log("%s run %d crowd of %d over %s (%d registered) leaves: registry empty after %s s, %.2f CPU-s %s" % (
            mode, run, k, proto, held, res["registry_empty_s"], cpu, per))
        return res

    def reference(self):
        probe = os.path.join(self.a.tool_dir, "pgprobe")
        out = {}
        for what in ("notify", "event"):
            r = subprocess.run([probe, what, self.env.dsn(user="teamboard"), str(self.p["notify_n"])],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            if r.returncode != 0:
                raise EnvError("pgprobe %s: %s" % (what, r.stdout))
            out[what] = json.loads(r.stdout.strip().splitlines()[-1])
        out["static"] = self.static_ceiling()
        log("reference: NOTIFY->LISTEN p50 %.3f p99 %.3f ms; INSERT+NOTIFY->LISTEN p50 %.3f p99 %.3f ms; "
            "lighttpd static file %s req/s" % (out["notify"]["p50_ms"], out["notify"]["p99_ms"],
                                               out["event"]["p50_ms"], out["event"]["p99_ms"],
                                               out["static"].get("rps")))
        return out

    def static_ceiling(self):
        """lighttpd's own ceiling: wrk on a 1 KiB static file (an event's size), 32 connections
        (as bench/run.sh's limits); {} without wrk."""
        if not shutil.which("wrk"):
            return {}
        path = self.env.path("web", "event.json")
        with open(path, "w") as f:
            f.write('{"type":"item.created","text":"%s"}\n' % ("x" * 990))
        os.chmod(path, 0o644)
        secs = self.p["wrk_seconds"]
        r = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % secs, "http://127.0.0.1:%d/event.json" % self.env.port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=secs + 60)
        m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
        return {"rps": float(m.group(1)) if m else None, "seconds": secs}

    # -- the whole run
    def main(self):
        a, p = self.a, self.p

        def sizes(m):
            return ((p["fanout"][m] if "fanout" in a.scenarios else []) +
                    [p[sc][m] for sc in ("crowd", "concurrent", "mixed") if sc in a.scenarios] + [1])
        most = max(max(sizes(m)) for m in a.modes)
        workers = max(sizes("worker")) if "worker" in a.modes else 1
        workers += 10 if a.quick else 50
        # the stream pool holds worker mode's streams; lighttpd (and max_streams) are sized for
        # the most streams open in either mode, and one teamboard-streamhost holds host mode's
        self.env = Env.for_benchmark(a.build_dir, rest_workers=4, stream_workers=workers,
                                     heartbeat=p["heartbeat"], durable=True, keep=a.keep,
                                     max_streams=most + 50, max_conns=max(workers, most + 100) + 1024,
                                     config={"max_streams_per_user": min(1000000, most + 50),
                                             "max_streams_per_address": 0},
                                     stream_mode="worker", stream_hosts=1)
        res = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "mode": "quick" if a.quick else "full", "params": p, "commit": commit(), "modes": {},
               "scenarios": a.scenarios}
        self.load, self.front2 = None, None
        try:
            t0 = now()
            self.env.start()
            self.fresh = True  # the stream pool has held no stream yet
            log("stack up in %.1f s (state %s, port %d)" % (now() - t0, self.env.state_dir, self.env.port))
            self.tmp = self.env.path("tmp", "bench")
            os.makedirs(self.tmp, exist_ok=True)
            self.setup()
            for mode in a.modes:
                m = res["modes"][mode] = {"reference": self.reference(), "runs": []}
                for run in range(1, p["runs"] + 1):
                    # a fresh holder per run: a worker keeps its PostgreSQL connection for its next
                    # stream, and a host the heap it grew, so the memory a run's streams cost is
                    # measured from a holder that never held a stream
                    if not (self.env.stream_mode == mode and self.fresh):
                        self.env.use_stream_mode(mode)
                    self.fresh = False
                    self.wait_registry(0, 30)
                    r = {"run": run, "load_before": loadavg(), "at": time.strftime("%H:%M:%S")}
                    # a load generator per run: it keeps every connection it made (at most 20,000)
                    self.load = Load(os.path.join(a.tool_dir, "tbload"), "127.0.0.1", self.env.port,
                                     log_path=self.env.path("log", "tbload.log"))
                    for sc in a.scenarios:
                        r[sc] = getattr(self, sc)(mode, run)
                    r["load_after"] = loadavg()
                    self.load.close()
                    self.load = None
                    m["runs"].append(r)
                m["medians"] = medians(m["runs"], m["reference"])
        finally:
            if self.load is not None:
                self.load.close()
            self.stop_second_front()
            res["log_tail"] = tail(self.env.path("log", "streams.log"), 10)
            self.env.stop()
        return res


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + str(k) + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[prefix + str(k)] = v
    return out


def medians(runs, reference):
    keys = {}
    for r in runs:
        fan = r.get("fanout", {})
        flat = flatten({"fanout": {k: v for k, v in fan.items() if k != "memory"},
                        "memory": fan.get("memory", {}), "crowd": r.get("crowd", {}),
                        "concurrent": r.get("concurrent", {}), "mixed": r.get("mixed", {})})
        for k, v in flat.items():
            keys.setdefault(k, []).append(v)
    m = {k: statistics.median(v) for k, v in sorted(keys.items())}
    m.update(flatten(reference, "reference."))
    return m


def commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              text=True, timeout=10).stdout.strip()
    except Exception:
        return None


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.3f" % v if abs(v) < 10 else "%.1f" % v
    return str(v)


def table(res):
    modes = list(res["modes"])
    lines = ["stream host benchmark (%s, median of %d run(s)) %s, commit %s" % (
        res["mode"], res["params"]["runs"], res["started"], res["commit"])]
    lines.append("%-48s %10s  %s" % ("", "target", "  ".join("%12s" % m for m in modes)))
    for label, key, op, target in TARGETS:
        vals = [res["modes"][m]["medians"].get(key) for m in modes]
        if all(v is None for v in vals):
            continue
        lines.append("%-48s %10s  %s" % (label, "%s %s" % (op, target) if op else "",
                                          "  ".join("%12s" % fmt(v) for v in vals)))
    for m in modes:
        med = res["modes"][m]["medians"]
        lines.append("%s: reference NOTIFY->LISTEN p50 %s p99 %s ms, INSERT+NOTIFY->LISTEN p50 %s p99 %s ms; "
                     "lighttpd static file %s req/s" % (
                         m, fmt(med.get("reference.notify.p50_ms")), fmt(med.get("reference.notify.p99_ms")),
                         fmt(med.get("reference.event.p50_ms")), fmt(med.get("reference.event.p99_ms")),
                         fmt(med.get("reference.static.rps"))))
        for n in res["params"]["fanout"][m] if "fanout" in res.get("scenarios", SCENARIOS) else []:
            k = "fanout.%d." % n
            lines.append("  fan-out %5d: from the answer p50 %s p99 %s max %s ms; from sending p50 %s p99 %s; "
                         "POST p99 %s ms; lost %s dup %s" % (
                             n, fmt(med.get(k + "ans_p50_ms")), fmt(med.get(k + "ans_p99_ms")),
                             fmt(med.get(k + "ans_max_ms")), fmt(med.get(k + "sent_p50_ms")),
                             fmt(med.get(k + "sent_p99_ms")), fmt(med.get(k + "write_p99_ms")),
                             fmt(med.get(k + "lost")), fmt(med.get(k + "dup"))))
        for sc in ("concurrent", "mixed"):
            if sc not in res.get("scenarios", SCENARIOS):
                continue
            k = sc + "."
            lines.append("  %-10s %s streams on %s boards (%s front(s)): opened %s, live %s, missing %s; "
                         "from the answer p50 %s p99 %s max %s ms; lost %s dup %s; MemAvailable %s KiB/stream "
                         "(%s without the client's), holder %s KiB/stream" % (
                             sc, fmt(med.get(k + "streams")), fmt(med.get(k + "boards")), fmt(med.get(k + "fronts")),
                             fmt(med.get(k + "opened")), fmt(med.get(k + "live")),
                             fmt(med.get(k + "streams_missing")), fmt(med.get(k + "ans_p50_ms")),
                             fmt(med.get(k + "ans_p99_ms")), fmt(med.get(k + "ans_max_ms")), fmt(med.get(k + "lost")),
                             fmt(med.get(k + "dup")), fmt(med.get(k + "memory.memavail_kib_per_stream")),
                             fmt(med.get(k + "memory.memavail_kib_per_stream_server")),
                             fmt(med.get(k + "memory.private_kib_per_stream"))))
        for r in res["modes"][m]["runs"]:
            lines.append("  run %d at %s: load average %s -> %s" % (r["run"], r["at"], r["load_before"][0],
                                                                    r["load_after"][0]))
    return "\n".join(lines)


def problems(res, modes):
    """What makes a run fail: a mode without results, a stream that did not open, an event
    lost or duplicated, a crowd whose registry rows stayed."""
    bad = []
    for m in modes:
        if m not in res["modes"]:
            bad.append("%s: no results" % m)
            continue
        for r in res["modes"][m]["runs"]:
            for sc in ("concurrent", "mixed"):
                f = r.get(sc)
                if f and (f["lost_dup"] or f["streams_missing"] or f["streams_unexpected"] or f["write_errors"] or
                          f["received"] == 0):
                    bad.append("%s %s: %s" % (m, sc, {k: f[k] for k in ("opened", "live", "streams_missing", "lost",
                                                                         "dup", "write_errors", "received")}))
            for n, f in r.get("fanout", {}).items():
                if n != "memory" and (f["lost_dup"] or f["write_errors"] or f["received"] == 0):
                    bad.append("%s fan-out %s: %s" % (m, n, {k: f[k] for k in ("opened", "lost", "dup",
                                                                                  "write_errors", "received")}))
            for c in r.get("crowd", {}).values():
                if c["opened"] != c["streams"] or c["registry_empty_s"] is None:
                    bad.append("%s crowd: %s" % (m, c))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny N, one run, both modes")
    ap.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or os.path.join(REPO, "build"))
    ap.add_argument("--tool-dir", help="where tbload and pgprobe are (built there; default BUILD/bench)")
    ap.add_argument("--modes", default="worker,host", help="worker,host (default both)")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--fanout-worker", help="listener counts for the workers (default 50,500)")
    ap.add_argument("--fanout-host", help="listener counts for the host (default 50,500,5000)")
    ap.add_argument("--crowd-worker", type=int, help="streams that leave at once (default 500)")
    ap.add_argument("--crowd-host", type=int, help="(default 2000)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="any of %s (default all)" % ",".join(SCENARIOS))
    ap.add_argument("--concurrent-worker", type=int, help="streams held at once (default 500, on 50 boards)")
    ap.add_argument("--concurrent-host", type=int, help="(default 10000, on 1000 boards)")
    ap.add_argument("--mixed-worker", type=int, help="streams of the mixed load (default 500, on 100 boards)")
    ap.add_argument("--mixed-host", type=int, help="(default 4000)")
    ap.add_argument("--users", type=int, help="listener accounts the streams cycle over (default 50)")
    ap.add_argument("--heartbeat", type=int, help="heartbeat_interval (default 15, as shipped)")
    ap.add_argument("--max-seconds", type=int, default=3600, help="abort the whole run after this")
    ap.add_argument("--keep", action="store_true", help="keep the state dir (logs)")
    ap.add_argument("--out", help="JSON file (default bench/results/streamhost-<time>.json)")
    a = ap.parse_args()
    p = json.loads(json.dumps(QUICK if a.quick else FULL))
    a.modes = [m for m in a.modes.split(",") if m]
    if not a.modes or any(m not in MODES for m in a.modes):
        ap.error("--modes: worker, host or both")
    wanted = [sc for sc in a.scenarios.split(",") if sc]
    if not wanted or set(wanted) - set(SCENARIOS):
        ap.error("--scenarios: any of %s" % ",".join(SCENARIOS))
    a.scenarios = [sc for sc in SCENARIOS if sc in wanted]
    for m in MODES:
        v = getattr(a, "fanout_" + m)
        if v:
            p["fanout"][m] = [int(x) for x in v.split(",")]
        for sc in ("crowd", "concurrent", "mixed"):
            if getattr(a, sc + "_" + m):
                p[sc][m] = getattr(a, sc + "_" + m)
    for k in ("runs", "users", "heartbeat"):
        if getattr(a, k):
            p[k] = getattr(a, k)
    a.build_dir = os.path.abspath(a.build_dir)
    a.tool_dir = os.path.abspath(a.tool_dir or os.path.join(a.build_dir, "bench"))
    build_tools(a.build_dir, a.tool_dir)

    def on_signal(sig, frame):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(a.max_seconds)
    try:
        res = HostBench(a, p).main()
    except KeyboardInterrupt as e:
        log("aborted: %s" % e)
        return 2
    finally:
        signal.alarm(0)
    out = a.out or os.path.join(BENCH_DIR, "results", "streamhost-%s%s.json" % (
        time.strftime("%Y%m%d-%H%M%S"), "-quick" if a.quick else ""))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(table(res))
    print("results: %s" % out)
    bad = problems(res, a.modes)
    if bad:
        log("problems: %s" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
