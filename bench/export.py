#!/usr/bin/python3
"""bench/export.py: the cost of export and import (issue 14, item 6: "export of 100,000 events
streams at >= 50 MB/s; an import of 100,000 events takes <= 10 s"; storage per event, and what a
year of a busy board costs). Not part of the CI suite (tests/integration/test_export.py runs the
same paths on a dozen events and times nothing).

It starts its own Teamboard like the tests (tools/tbenv/: PostgreSQL 15, the pool,
lighttpd on 127.0.0.1) with max_import raised to 256 MiB (a 100,000-event document is larger than
the default 16 MiB), makes a user and a board through the API, appends EVENTS note events to the
board's log directly in SQL and puts the notes that history leaves on the board (bench/biglog.py:
NOTES notes, each created, updated many times, deleted and restored every ten rounds), then:
- storage: the size of board_events (table, TOAST and indexes) per event of the log;
- export: GET /boards/:id/export, from the request sent to the last byte read, RUNS times with
  curl (to /dev/null) and RUNS times with Python's http.client: the median, min and max, and MB/s
  (10^6 bytes) at the median;
- import: POST /boards/import of that document, RUNS times (each makes a new board): the median,
  min and max, and events per second at the median; the first import is exported again and must
  be byte-identical apart from ids and exported_at;
- for both, the median CPU time the server's processes (workers, lighttpd, PostgreSQL) used,
  which a loaded machine distorts less than the wall clock, and the load average at the end.

    TB_BUILD_DIR=$PWD/build /usr/bin/python3 bench/export.py [EVENTS [NOTES [RUNS]]]

Defaults 100000 1000 3. The figures are in docs/performance.md ("Export and import")."""

import glob
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "harness"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tools"))

import tbenv  # noqa: E402
import tbclient as tb  # noqa: E402
from biglog import filled_board  # noqa: E402


def server_cpu(env):
    """CPU seconds (user + system) used so far by the environment's server processes: the
    processes it started (the worker pools, lighttpd) and PostgreSQL's (the postmaster's
    descendants, the workers' backends among them), with all their descendants. On a shared,
    loaded machine this says what the work cost better than the wall clock."""
    parent, ticks = {}, {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.split("/")[2])
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    roots = {p.pid for p in env._procs.values()}
    for pidfile in glob.glob(os.path.join(env.state_dir, "**", "postmaster.pid"), recursive=True):
        with open(pidfile) as f:
            roots.add(int(f.readline()))
    total, todo = 0, list(roots)
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += ticks.get(pid, 0)
        todo += [c for c, pp in parent.items() if pp == pid]
    return total / os.sysconf("SC_CLK_TCK")


def timed(env, fn, runs):
    """fn() runs times: (median wall s, min, max, median server CPU s, fn's last result)."""
    times, cpu, out = [], [], None
    for _ in range(runs):
        c0, t0 = server_cpu(env), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(server_cpu(env) - c0)
    return statistics.median(times), min(times), max(times), statistics.median(cpu), out


def normalized(doc):
    doc = re.sub(rb'"id":[0-9]+', b'"id":_', doc)
    return re.sub(rb'"exported_at":"[^"]*"', b'"exported_at":_', doc)


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    notes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    env = tbenv.Env.from_environ(config={"max_import": 256 * 1024 * 1024, "body_timeout": 120})
    try:
        env.start()
        user, bid = filled_board(env, "bx", events, notes)
        size = env.sql("SELECT pg_total_relation_size('teamboard.board_events'),"
                       " pg_relation_size('teamboard.board_events'),"
                       " (SELECT count(*) FROM teamboard.board_events)")[0]
        print("storage: board_events %.1f MB in all (%.1f MB heap) for %d events: %.0f bytes per event"
              % (size[0] / 1e6, size[1] / 1e6, size[2], size[0] / size[2]))

        def export(board):
            resp = tb.request(env, "GET", "/boards/%d/export" % board, token=user.token, timeout=300)
            assert resp.status == 200, resp
            return resp.body

        def export_curl():
            # curl reads a chunked reply far faster than Python's http.client: the client's share
            # of the wall clock stays small.
            out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                  "-H", "Authorization: Bearer " + user.token,
                                  "%s/api/v1/boards/%d/export" % (env.base, bid)],
                                 check=True, capture_output=True, text=True).stdout.split()
            assert out[0] == "200", out
            return int(out[1])

        med, lo, hi, cpu, size = timed(env, export_curl, runs)
        print("export (curl):  %d bytes; median %.2f s (min %.2f, max %.2f): %.1f MB/s; server CPU %.2f s"
              % (size, med, lo, hi, size / med / 1e6, cpu))

        med, lo, hi, cpu, doc = timed(env, lambda: export(bid), runs)
        print("export:  %d bytes; median %.2f s (min %.2f, max %.2f): %.1f MB/s; server CPU %.2f s: %.1f MB per CPU s"
              % (len(doc), med, lo, hi, len(doc) / med / 1e6, cpu, len(doc) / max(cpu, 0.01) / 1e6))
        made = []

        def import_once():
            resp = tb.request(env, "POST", "/boards/import", raw=doc, token=user.token, timeout=300)
            assert resp.status == 201, resp
            made.append(resp.json()["id"])

        med, lo, hi, cpu, _ = timed(env, import_once, runs)
        print("import:  %d events; median %.2f s (min %.2f, max %.2f): %.0f events/s; server CPU %.2f s"
              % (events, med, lo, hi, events / med, cpu))
        again = export(made[0])
        print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("round trip byte-identical apart from ids and exported_at: %s" % (normalized(again) == normalized(doc)))
    finally:
        env.stop()


if __name__ == "__main__":
    main()
