#!/usr/bin/python3
"""bench/restore.py: the cost of "restore this version" (POST /boards/:id/history/restore,
board_restore_version in sql/functions/history.sql) and of its undo on a large board (issue 14,
item 6). Not part of the CI suite (tests/integration/test_history_restore.py runs the same paths on
a few notes and times nothing).

It starts its own Teamboard like the tests (tools/tbenv/), makes a user and a board
through the API, fills the board's log with EVENTS note events of NOTES notes directly in SQL
(bench/biglog.py: each note created, updated, deleted in every round r % 10 == 5 and restored
in the next), puts the notes the log leaves on the board, runs VACUUM ANALYZE, then times, RUNS
times each, from the request sent to the whole reply read:
- "update": a restore to seq NOTES * 3 (every note on the board, each with other x, y and text:
  NOTES item.updated), then its undo (POST /boards/:id/undo: NOTES updates back);
- "delete": a restore to seq 0 (every note to the trash: NOTES item.deleted), then its undo
  (NOTES notes back from the trash);
a restore of more than 5000 changes is refused (409 too_many_changes: then the time of the
refusal, and no undo); with the status, the reply's size, the server's CPU time (bench/export.py's server_cpu) and the load average.

    TB_BUILD_DIR=$PWD/build /usr/bin/python3 bench/restore.py [EVENTS [NOTES [RUNS]]]

Defaults 100000 10000 3. The figures are in docs/performance.md ("Restore this version")."""

import os
import statistics
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
from export import server_cpu  # noqa: E402


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    notes = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    env = tbenv.Env.from_environ()
    try:
        env.start()
        user, bid = filled_board(env, "rx", events, notes)

        def post(path, body=None):
            c0, t0 = server_cpu(env), time.perf_counter()
            resp = tb.request(env, "POST", path, body=body, token=user.token, timeout=600)
            took, cpu = time.perf_counter() - t0, server_cpu(env) - c0
            assert resp.status in (200, 409), resp
            return took, cpu, len(resp.body), len(resp.json().get("events", [])), resp.status

        for name, seq in (("update", notes * 3), ("delete", 0)):
            done, undone = [], []
            for _ in range(runs):
                done.append(post("/boards/%d/history/restore" % bid, {"seq": seq}))
                if done[-1][4] == 200:
                    undone.append(post("/boards/%d/undo" % bid))
            for what, res in (("restore to seq %d" % seq, done), ("its undo", undone)):
                if res:
                    print("%s %s: %d %d events, reply %.1f MB; median %.2f s (min %.2f, max %.2f); server CPU %.2f s"
                          % (name, what, res[0][4], res[0][3], res[0][2] / 1e6, statistics.median(r[0] for r in res),
                             min(r[0] for r in res), max(r[0] for r in res), statistics.median(r[1] for r in res)))
        print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        env.stop()


if __name__ == "__main__":
    main()
