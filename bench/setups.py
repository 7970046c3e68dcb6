#!/usr/bin/python3
"""bench/setups.py: per set-up measurements for docs/performance.md ("Per set-up").

    /usr/bin/python3 bench/setups.py [--build-dir DIR] [--setups lighttpd,apache-fcgid,...]
                                     [--events N] [--vanish N] [--json FILE]

For each web server set-up of tools/tbenv/ (lighttpd with its two external pools,
Apache + mod_fcgid, the shared-hosting .htaccess layout on mod_fcgid, plain CGI on mod_cgid), it
starts a throw-away environment from the project's conf/ files on loopback and measures:

  latency   write sent -> event received: a client holds an event stream (tools/tbsse.py)
            and another makes N changes through the REST API (POST an item), one at a time; the
            time from just before the POST is sent until the item.created event has been read
            on the stream. Median, p90, p99, max.
  vanish    a client holding a stream goes away (its socket closed, as a closed tab). Then the
            supervisor's heartbeat NOTIFY is sent by hand, one at a time, 300 ms apart, and we
            count how many it takes until the stream's registry row is gone (the worker has
            noticed, unregistered and is free again), and how long after the decisive one. With
            a heartbeat every heartbeat_interval seconds, the worker is free after that many
            intervals. Repeated N times.
  memory    one open stream's private memory: the worker holding it (its registry pid) and its
            PostgreSQL backend (its backend_pid), Private_Clean + Private_Dirty from
            /proc/PID/smaps_rollup (run as root, or as the service user, to read them); RSS and
            PSS for reference.

Everything is bounded (counts and timeouts) and listens on 127.0.0.1 only; each environment is
stopped before the next starts. Prints a Markdown table and writes the raw numbers as JSON.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "harness"))
sys.path.insert(0, os.path.join(REPO, "tools"))

import tbclient as tb  # noqa: E402
import tbenv  # noqa: E402
import tbsse  # noqa: E402


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def smaps(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    out[parts[0][:-1]] = int(parts[1])
    except OSError as e:
        return {"error": str(e)}
    return out


def private_kb(m):
    return m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)


def measure_latency(env, user, board, n):
    s = tbsse.Stream(env, board, user.token)
    try:
        s.wait_event("hello", 15)
        lat = []
        for k in range(n):
            mark = len(s.events)
            t0 = time.monotonic()
            item = tb.create_item(env, user, board, text="bench %d" % k)
            ev = s.wait_event("item.created", 10, after=mark)
            assert json.loads(ev.data)["item"]["id"] == item["id"]
            lat.append(ev.t - t0)
        return lat
    finally:
        s.close()
        tbsse.release(env, [board], timeout=20)


def measure_vanish(env, user, board, rounds):
    results = []
    for _ in range(rounds):
        s = tbsse.Stream(env, board, user.token)
        s.wait_event("hello", 15)
        rows = tbsse.registry(env, [board])
        assert len(rows) == 1, rows
        s.close()
        time.sleep(0.3)
        pokes, after_ms = None, None
        for k in range(1, 7):
            t = time.monotonic()
            env.sql("SELECT pg_notify(%s, %s)", ("board_%d" % board, json.dumps({"type": "hb"})))
            while time.monotonic() < t + 0.3:
                if not tbsse.registry(env, [board]):
                    pokes, after_ms = k, 1000 * (time.monotonic() - t)
                    break
                time.sleep(0.002)
            if pokes:
                break
        results.append((pokes, after_ms))
        if not pokes:
            tbsse.release(env, [board], timeout=20)
    return results


def measure_memory(env, user, board):
    s = tbsse.Stream(env, board, user.token)
    try:
        s.wait_event("hello", 15)
        time.sleep(0.5)
        row = env.sql("SELECT pid, backend_pid FROM teamboard.streams WHERE board_id = %s",
                      (board,))
        assert len(row) == 1, row
        pid, backend = row[0]
        w, b = smaps(pid), smaps(backend)
        return {"worker_pid": pid, "backend_pid": backend, "worker": w, "backend": b,
                "worker_private_kb": private_kb(w), "backend_private_kb": private_kb(b)}
    finally:
        s.close()
        tbsse.release(env, [board], timeout=20)


def run_setup(setup, args):
    env = tbenv.Env(setup=setup, build_dir=args.build_dir, workers=4, stream_workers=8,
                    supervisor=False, config={"supervisor": "off"})
    env.start()
    try:
        # the CGI set-up starts no supervisor here either: the heartbeats are ours
        user = tb.new_user(env)
        board = tb.create_board(env, user)["id"]
        for _ in range(5):  # warm-up: processes spawned, connections open
            tb.create_item(env, user, board, text="warm-up")
        lat = measure_latency(env, user, board, args.events)
        van = measure_vanish(env, user, board, args.vanish)
        mem = measure_memory(env, user, board)
    finally:
        problems = env.stop()
        if problems:
            print("\n".join(problems), file=sys.stderr)
    pokes = [p for p, _ in van if p]
    return {
        "setup": setup,
        "latency_ms": {"n": len(lat), "median": 1000 * statistics.median(lat),
                       "p90": 1000 * pct(lat, 90), "p99": 1000 * pct(lat, 99),
                       "max": 1000 * max(lat)},
        "vanish": {"rounds": len(van), "heartbeats": [p for p, _ in van],
                   "heartbeats_max": max(pokes) if pokes else None,
                   "ms_after_last": [round(ms, 1) if ms is not None else None for _, ms in van],
                   "not_freed": sum(1 for p, _ in van if not p)},
        "memory_kb": mem,
    }


def table(results):
    lines = ["| set-up | event latency median / p99 (ms) | heartbeats until a vanished client's "
             "worker is free | freed after the decisive heartbeat (ms, median) | private memory "
             "of one open stream: worker + backend (KiB) |",
             "|---|---|---|---|---|"]
    for r in results:
        lat, van, mem = r["latency_ms"], r["vanish"], r["memory_kb"]
        ms = [m for m in van["ms_after_last"] if m is not None]
        lines.append("| %s | %.1f / %.1f | %s (of %d rounds: %s) | %s | %d + %d = %d |" % (
            r["setup"], lat["median"], lat["p99"], van["heartbeats_max"], van["rounds"],
            ",".join(str(p) for p in van["heartbeats"]),
            "%.1f" % statistics.median(ms) if ms else "-",
            mem["worker_private_kb"], mem["backend_private_kb"],
            mem["worker_private_kb"] + mem["backend_private_kb"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or "build")
    ap.add_argument("--setups", default=",".join(tbenv.SETUPS))
    ap.add_argument("--events", type=int, default=200, help="changes timed per set-up")
    ap.add_argument("--vanish", type=int, default=10, help="vanishing clients per set-up")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    args.events = max(10, min(args.events, 5000))
    args.vanish = max(1, min(args.vanish, 100))
    results = []
    for setup in args.setups.split(","):
        print("bench/setups.py: %s ..." % setup, file=sys.stderr, flush=True)
        results.append(run_setup(setup.strip(), args))
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
