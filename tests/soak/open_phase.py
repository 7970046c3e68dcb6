#!/usr/bin/python3
"""The soak's open phase alone: one tbenv environment (lighttpd, per-stream workers, supervisor
with heartbeat_interval = 5, the soak's limits), then N event streams opened as tests/soak/soak.py
opens them (one selector thread, 25 at a time, 10 per account and per client address), timed, with
the machine's figures over the phase: load average, context switches/s, kernel share of CPU time,
and the PostgreSQL backends' signals. Used to find why 500 streams took minutes (docs/operations.md
"Soak"); not part of any suite.

    TB_BUILD_DIR=build /usr/bin/python3 tests/soak/open_phase.py 100 200 500

Each N runs in its own environment. Prints one line per N; SOAK_HOLD=S keeps the N streams open
S more seconds and reports the same figures for that idle time.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import soak  # noqa: E402
import tbclient as tb  # noqa: E402


def proc_stat():
    """(context switches, system jiffies, total jiffies) since boot."""
    ctxt = sysj = total = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:]]
                sysj = v[2] + v[5] + v[6]  # system, irq, softirq
                total = sum(v[:8])
            elif line.startswith("ctxt "):
                ctxt = int(line.split()[1])
    return ctxt, sysj, total


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Sampler:
    def __init__(self):
        self.t, self.s = time.monotonic(), proc_stat()

    def figures(self):
        t, s = time.monotonic(), proc_stat()
        dt = max(t - self.t, 1e-3)
        return "%.0f cs/s, %.0f %% kernel, load %.1f" % (
            (s[0] - self.s[0]) / dt, 100.0 * (s[1] - self.s[1]) / max(1, s[2] - self.s[2]), load1())


def log_counts(env, needles=("cannot connect to the database", "timeout expired",
                              "too many clients", "database connection lost")):
    """How often each needle occurs in the environment's logs (workers', streams', PostgreSQL's)."""
    out = dict.fromkeys(needles, 0)
    logdir = os.path.join(env.state_dir, "log")
    for name in os.listdir(logdir):
        path = os.path.join(logdir, name)
        if not os.path.isfile(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                for k in needles:
                    if k in line:
                        out[k] += 1
    return {k: v for k, v in out.items() if v}


def run(n, build, hold):
    users_n = (n + soak.PER_USER - 1) // soak.PER_USER
    env = soak.SoakEnv(setup="lighttpd", build_dir=build, workers=4, stream_workers=n + soak.MARGIN,
                       supervisor=True,
                       config={"heartbeat_interval": soak.HEARTBEAT,
                               "max_streams_per_user": soak.PER_USER + 2,
                               "max_streams_per_address": soak.PER_USER + 2})
    try:
        env.start()
        users = [tb.new_user(env, "open") for _ in range(users_n)]
        boards = [tb.create_board(env, u)["id"] for u in users]
        time.sleep(3)
        slots = [(boards[i // soak.PER_USER], users[i // soak.PER_USER].token,
                  "127.0.1.%d" % (i // soak.PER_USER + 1)) for i in range(n)]
        fleet = soak.Fleet(env, slots)
        print("opening %d streams" % n, file=sys.stderr, flush=True)
        smp = Sampler()
        took, reopens = fleet.open_all()
        line = "N=%d: %d open in %.1f s (%d reopened; %d open errors, statuses %s, refusals %s);" \
            " during: %s" % (n, fleet.open_count(), took, reopens, fleet.open_errors, fleet.status,
                             fleet.refusals, smp.figures())
        line += "; logs %s" % log_counts(env)
        if hold:
            smp = Sampler()
            ev = fleet.events
            print("holding %d streams" % n, file=sys.stderr, flush=True)
            time.sleep(hold)
            line += "; idle %d s after: %s, %d events" % (hold, smp.figures(), fleet.events - ev)
        print(line, flush=True)
        fleet.shutdown()
    finally:
        env.stop()


def main():
    build = os.environ.get("TB_BUILD_DIR") or "build"
    hold = int(os.environ.get("SOAK_HOLD") or 0)
    for arg in sys.argv[1:] or ["100"]:
        run(int(arg), build, hold)


if __name__ == "__main__":
    main()
