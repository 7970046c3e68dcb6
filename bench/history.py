#!/usr/bin/python3
"""bench/history.py: the cost of time travel (issue 14, item 6: "time travel to any point of a
board with 100,000 events in <= 100 ms"). Not part of the CI suite (tests/integration/
test_history.py runs the same path on 2,000 events and times nothing).

It starts its own Teamboard like the tests (tools/tbenv/: PostgreSQL 15, the pool,
lighttpd on 127.0.0.1), makes a user and a board through the API, appends EVENTS note events to the
board's log directly in SQL (test_history.fill_log: NOTES notes, each created, updated many times,
deleted and restored every ten rounds, payloads as the items_event trigger writes them), runs
VACUUM ANALYZE (as autovacuum would), and times GET /boards/:id/history for seq near the start,
the middle and the end, and for at= the middle event's time: the median (and min, max) of RUNS
requests each, from the request sent to the whole reply read, on a fresh connection.

    TB_BUILD_DIR=$PWD/build /usr/bin/python3 bench/history.py [EVENTS [NOTES [RUNS]]]

Defaults 100000 1000 9. The figures are in docs/performance.md ("Time travel")."""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "harness"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tools"))

import tbenv  # noqa: E402
import tbclient as tb  # noqa: E402
from biglog import filled_board  # noqa: E402


def timed(server, user, path, runs):
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = tb.request(server, "GET", path, token=user.token)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, resp
        size = len(resp.body)
    return statistics.median(times), min(times), max(times), size


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    notes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    env = tbenv.Env.from_environ()
    try:
        env.start()
        user, bid = filled_board(env, "bh", events, notes, place_notes=False)
        mid = events // 2
        at = env.sql("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                     " FROM teamboard.board_events WHERE board_id = %s AND seq = %s", (bid, mid))[0][0]
        print("%-28s %9s %9s %9s %10s" % ("query", "median ms", "min ms", "max ms", "bytes"))
        early = env.sql("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                        " FROM teamboard.board_events WHERE board_id = %s AND seq = 100", (bid,))[0][0]
        cases = [("seq=%d" % n, "seq=%d" % n) for n in (0, 100, mid, events - 100, events)]
        cases += [("at=<time of seq 100>", "at=%sZ" % early), ("at=<time of seq %d>" % mid, "at=%sZ" % at)]
        for label, query in cases:
            row = timed(env, user, "/boards/%d/history?%s" % (bid, query), runs)
            print("%-28s %9.1f %9.1f %9.1f %10d" % ((label,) + row))
        row = timed(env, user, "/boards/%d" % bid, runs)
        print("%-28s %9.1f %9.1f %9.1f %10d" % (("GET /boards/:id (0 notes)",) + row))
    finally:
        env.stop()


if __name__ == "__main__":
    main()
