"""bench/etag.py: the cost of a 304 against a 200 of the same list (the web client re-reads
GET /boards, /teams and /teams/:id with If-None-Match every few seconds; docs/performance.md,
"Lists: 200 or 304").

    TB_BUILD_DIR=build /usr/bin/python3 bench/etag.py     # N_BOARDS=30 SECONDS_RUN=8 ROUNDS=3

Starts the test stack (tools/tbenv/) from TB_BUILD_DIR, makes a user with N_BOARDS boards
(half in two teams) and 2 teams, then for GET /boards and GET /teams runs wrk (1 thread, 4
connections, SECONDS s) twice: plain (200 with the body) and with If-None-Match: <its ETag> (304).
CPU is the user+system time of every process of the stack (PostgreSQL with its backends,
lighttpd, the teamboard.fcgi workers) over the run, from /proc/<pid>/stat."""
import os
import re
import subprocess
import sys
import time

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))
sys.path.insert(0, os.path.join(SRC, "tools"))
import tbenv  # noqa: E402
import tbclient as tb  # noqa: E402

N_BOARDS = int(os.environ.get("N_BOARDS", "30"))
SECONDS = int(os.environ.get("SECONDS_RUN", "8"))
TICK = os.sysconf("SC_CLK_TCK")

def stack_pids(state_dir):
    kids = {}
    roots = set()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().decode("latin-1")
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
        if state_dir in cmd:
            roots.add(int(p))
    out, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo += kids.get(p, [])
    return out

def cpu(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])  # utime, stime
    return total / TICK

def wrk(url, headers):
    args = ["wrk", "-t1", "-c4", "-d%ds" % SECONDS, "--latency"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=SECONDS + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1)  # the latency distribution's line
    xfer = re.search(r"Transfer/sec:\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, reqs, p50, xfer, int(non2xx.group(1)) if non2xx else 0

env = tbenv.Env.from_environ()
env.start()
try:
    u = tb.new_user(env, "bench")
    teams = [tb.create_team(env, u)["id"] for _ in range(2)]
    for i in range(N_BOARDS):
        tb.create_board(env, u, team_id=teams[i % 2] if i % 2 else None)
    pids = stack_pids(env.state_dir)
    print("stack processes: %d; load before: %s" % (len(pids), open("/proc/loadavg").read().strip()))
    team_path = "/teams/%d" % teams[0]
    for path in ["/boards"] * int(os.environ.get("ROUNDS", "3")) + ["/teams", team_path]:
        r = tb.request(env, "GET", path, token=u.token)
        etag = r.header("ETag")
        url = env.base + "/api/v1" + path
        base = ["Authorization: Bearer " + u.token, "Accept: application/json"]
        for label, hdrs in (("200", base), ("304", base + ["If-None-Match: " + etag])):
            pids = stack_pids(env.state_dir)
            c0, t0 = cpu(pids), time.monotonic()
            rps, reqs, p50, xfer, bad = wrk(url, hdrs)
            c1, t1 = cpu(pids | stack_pids(env.state_dir)), time.monotonic()
            print("GET %-7s %s: %8.0f req/s  p50 %-8s  %-9s/s  body %5d B  server CPU %.2f s = %.0f us/request  (non-2xx/3xx: %d)"
                  % (path, label, rps, p50, xfer, len(r.body) if label == "200" else 0, c1 - c0,
                     (c1 - c0) / reqs * 1e6, bad))
finally:
    env.stop()
