#!/usr/bin/python3
"""streamhost_probe: a first look at the stream host (issue 13), not the benchmark of its item 4.

Starts the test environment of tools/tbenv/ with TB_STREAM_MODE=host (lighttpd in front,
one teamboard-streamhost on run/stream.sock), opens N streams on one board through lighttpd with
the tests' Python SSE client, and prints: the host's private memory (smaps_rollup) before and
after, per stream; the PostgreSQL connections the host holds (application_name
teamboard-streamhost*); then ROUNDS changes, each waited for on every stream: whether every stream
got every event once, in order, and the time from the POST's answer to the last stream's receipt
(an upper bound: the Python client shares the cores with everything else).

Usage: TB_BUILD_DIR=$PWD/build /usr/bin/python3 bench/streamhost_probe.py [N [ROUNDS]]
(defaults 200 and 10). docs/design.md, "Stream host (first slice)", quotes a run.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "harness"), os.path.join(HERE, "..", "tools")]

import tbsse as sse  # noqa: E402
import tbclient as tb  # noqa: E402
import tbenv  # noqa: E402


def private_kib(pid):
    total = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    env = tbenv.Env.from_environ(stream_mode="host", config={
        "max_streams": n + 10, "max_streams_per_user": n + 10, "max_streams_per_address": 0})
    env.start()
    clients = []
    try:
        owner = tb.new_user(env, "probe")
        bid = tb.create_board(env, owner)["id"]
        pid = env._procs["streams"].pid
        before = private_kib(pid)
        t0 = time.monotonic()
        for i in range(n):
            clients.append(sse.open_stream(env, bid, owner, name="p%d" % i))
        opened = time.monotonic() - t0
        after = private_kib(pid)
        conns = env.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'teamboard-streamhost%'")[0][0]
        print("streams %d opened in %.1f s; host private %d -> %d KiB (%.2f KiB per stream); "
              "PostgreSQL connections of the host: %d" % (n, opened, before, after, (after - before) / n, conns))
        waits, items = [], []
        for k in range(rounds):
            items.append(tb.create_item(env, owner, bid, text="probe %d" % k)["id"])
            t1 = time.monotonic()
            for c in clients:
                c.wait_count(k + 1, timeout=30, predicate=lambda e: e.type == "item.created")
            waits.append(time.monotonic() - t1)
        ids_ok = True
        for c in clients:
            got = [e for e in c.events if e.type == "item.created"]
            seqs = [int(e.id) for e in got]
            ids_ok &= [e.json["item"]["id"] for e in got] == items and seqs == sorted(set(seqs))
        waits.sort()
        print("%d changes: every stream got each once and in order: %s; POST answered -> last stream "
              "read it: median %.1f ms, max %.1f ms" % (rounds, ids_ok, 1000 * waits[len(waits) // 2],
                                                          1000 * waits[-1]))
    finally:
        for c in clients:
            c.close()
        env.stop()


if __name__ == "__main__":
    main()
