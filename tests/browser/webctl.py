#!/usr/bin/python3
"""webctl: stops or starts only the web server (lighttpd) of a tbenv environment, for the browser
test that restarts it under open event streams, or only the REST worker pool (lighttpd then
answers the API with 503 while the streams go on), for the outbox's retry test. tbenv's command
line (tools/tbenv/cli.py) has no such commands yet, so this uses its module (Env, as tbenv's own
"down"/"status" attach to a state dir).

  webctl.py stop|start|stop-api|start-api --state-dir DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import tbenv  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=("stop", "start", "stop-api", "start-api"))
    ap.add_argument("--state-dir", required=True)
    args = ap.parse_args()
    args.state_dir = os.path.abspath(args.state_dir)
    env = tbenv._attach(args)
    if args.action == "stop":
        env._stop_proc("lighttpd")
    elif args.action == "start":
        env.start_web()  # lighttpd in its own session: it outlives this process
    elif args.action == "stop-api":
        env._stop_proc("workers")
    else:
        try:
            os.unlink(env.api_socket)
        except FileNotFoundError:
            pass
        env._spawn("workers", env._worker_cmd("workers"))  # its own session, like lighttpd
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tbenv.TbEnvError as e:
        print("webctl: %s" % e, file=sys.stderr)
        sys.exit(1)
