"""tbenv: a complete Teamboard environment on one machine, for development and for tests.

    python3 tools/tbenv up|down|status|psql --state-dir DIR ...   (what ./dev.sh runs)
    python3 tools/tbenv leftovers --under DIR [--kill]

"up" leaves the servers running in the background and "down" stops them from their pid files;
"status" shows what runs, "psql" opens psql on the database, "leftovers" lists (and with --kill
stops) processes running from a directory.
"""

import argparse
import json
import os
import signal
import sys

from .stack import (DB_OWNER, DB_USER, PG_BIN, REPO, TbEnvError, _proc_stat, _read_pid, cmdline,
                    http_get, log, stop_group)
from .web import SETUP_CONFIG, SETUPS, Env


def _load_state(state_dir):
    try:
        with open(os.path.join(state_dir, "tbenv.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _attach(args, **kw):
    """An Env on an existing state dir (to stop or inspect what an earlier "up" started)."""
    st = _load_state(args.state_dir)
    return Env(state_dir=args.state_dir, persistent=True, port=st.get("port") or 1,
               db_port=st.get("db_port"), build_dir=st.get("build_dir"),
               setup=st.get("setup") or "lighttpd", src_dir=st.get("src_dir") or REPO, **kw)


def cmd_up(args):
    if os.path.isdir(args.state_dir):
        cmd_down(args, quiet=True)
    overrides = {}
    for kv in args.set or []:
        k, sep, v = kv.partition("=")
        if not sep:
            raise TbEnvError("--set wants KEY=VALUE, not %r" % kv)
        overrides[k.strip()] = v.strip()
    st = _load_state(args.state_dir)
    env = Env(state_dir=args.state_dir, persistent=True, build_dir=args.build_dir,
              port=args.port, db_port=st.get("db_port"), workers=args.workers,
              stream_workers=args.stream_workers, setup=args.setup,
              stream_mode=os.environ.get("TB_STREAM_MODE") or "worker",
              stream_hosts=int(os.environ.get("TB_STREAM_HOSTS") or 2),
              wrapper=os.environ.get("TB_WORKER_WRAPPER") or None, config=overrides,
              app=not args.no_app, supervisor=not args.no_app and not args.no_supervisor and
              SETUP_CONFIG.get(args.setup, {}).get("supervisor") != "auto" and  # workers run it
              os.path.isfile(os.path.join(REPO, args.build_dir, "fcgi", "teamboard-supervisor")))
    env.start()
    print(env.base + "/")
    return 0


def cmd_down(args, quiet=False):
    if not os.path.isdir(args.state_dir):
        if not quiet:
            print("nothing to stop: %s does not exist" % args.state_dir)
        return 0
    env = _attach(args)
    problems = env.stop()
    for p in problems:
        log(p)
    if not quiet:
        print("stopped (state kept in %s)" % args.state_dir)
    return 1 if problems else 0


def cmd_status(args):
    st = _load_state(args.state_dir)
    if not st:
        print("not set up: %s" % args.state_dir)
        return 3
    env = _attach(args)
    ok = True
    names = (("workers",) + env.stream_proc_names() if env.setup == "lighttpd" else ()) + (
        "supervisor", env.web_server)
    print("%-10s %s" % ("set-up", env.setup))
    for name in names:
        pidfile = env.path("run", "%s.pid" % name)
        if name == "supervisor" and not os.path.exists(pidfile):
            print("%-10s not started" % name)
            continue
        pid = _read_pid(pidfile, env.state_dir)
        ok &= bool(pid)
        print("%-10s %s" % (name, "running, pid %d" % pid if pid else "stopped"))
    pg = env._postmaster_alive()
    ok &= pg
    print("%-10s %s" % ("postgresql", "running, port %s, socket dir %s" % (env.db_port, env.run_dir)
                        if pg else "stopped"))
    try:
        status, _, body = http_get(env.base + "/api/v1/health", timeout=3)
        print("%-10s %s/api/v1/health -> %d %s" % ("health", env.base, status,
                                                    body[:200].decode("utf-8", "replace")))
        ok &= status == 200
    except OSError as e:
        print("%-10s %s/api/v1/health -> %s" % ("health", env.base, e))
        ok = False
    print("%-10s %s" % ("logs", env.log_dir))
    return 0 if ok else 1


def cmd_leftovers(args):
    """Processes whose command line names a path under args.under (e.g. the parent of the test
    state dirs); with --kill their process groups are stopped. Exit 1 when any were found."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        st = _proc_stat(int(name))
        if st and st[0] != "Z" and args.under in cmdline(int(name)):
            found.setdefault(st[1], []).append(int(name))
    for pgid, pids in sorted(found.items()):
        for pid in pids:
            print("leftover process %d (group %d): %s" % (pid, pgid, cmdline(pid)[:200]))
        if args.kill:
            stop_group(pgid, timeout=5)
    return 1 if found else 0


def cmd_psql(args):
    env = _attach(args)
    if not env._postmaster_alive():
        raise TbEnvError("PostgreSQL is not running (./dev.sh run)")
    os.execv(os.path.join(PG_BIN, "psql"), ["psql", env._dsn(user=args.user)] + args.rest)


def main(argv=None):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `tbenv status | head` ends quietly
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start (or restart) a persistent environment, then return")
    down = sub.add_parser("down", help="stop what 'up' started")
    status = sub.add_parser("status", help="show what runs")
    psql = sub.add_parser("psql", help="psql into the environment's database "
                          "(further arguments go to psql)")
    left = sub.add_parser("leftovers", help="list (--kill: stop) processes running from a dir")
    left.add_argument("--under", required=True)
    left.add_argument("--kill", action="store_true")
    for p in (up, down, status, psql):
        p.add_argument("--state-dir", required=True)
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--build-dir", default=os.environ.get("TB_BUILD_DIR") or "build")
    up.add_argument("--workers", type=int, default=int(os.environ.get("TB_WORKERS") or 4),
                    help="processes in the REST pool (default 4)")
    up.add_argument("--stream-workers", type=int,
                    default=int(os.environ.get("TB_STREAM_WORKERS") or 8),
                    help="processes in the stream pool (default 8; max_streams defaults to 2 "
                    "fewer, and the pool grows to max_streams + 2 when --set asks for more)")
    up.add_argument("--setup", choices=SETUPS, default=os.environ.get("TB_SETUP") or "lighttpd",
                    help="the web server set-up (default lighttpd)")
    up.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="teamboard.conf setting (repeatable)")
    up.add_argument("--no-app", action="store_true",
                    help="PostgreSQL and the web server only (no worker pool)")
    up.add_argument("--no-supervisor", action="store_true",
                    help="do not start teamboard-supervisor (started when it was built)")
    psql.add_argument("--user", default=DB_OWNER,
                      help="database role (default %s, the owner; the workers' is %s)"
                      % (DB_OWNER, DB_USER))
    args, rest = ap.parse_known_args(argv)
    if rest and args.cmd != "psql":
        ap.error("unrecognized arguments: %s" % " ".join(rest))
    args.rest = [a for a in rest if a != "--"] if args.cmd == "psql" else []
    if args.cmd == "leftovers":
        args.under = os.path.abspath(args.under)
        return cmd_leftovers(args)
    args.state_dir = os.path.abspath(args.state_dir)
    try:
        return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "psql": cmd_psql}[
            args.cmd](args)
    except TbEnvError as e:
        log("error: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())

