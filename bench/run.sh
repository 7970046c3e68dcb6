#!/usr/bin/env bash
# bench/run.sh: Teamboard's benchmark in one command (see bench/README.md).
#
#   bench/run.sh [--quick] [--build-dir DIR] [tbbench.py options...]
#
# Builds the load generator (tbload) and the PostgreSQL probe (pgprobe) next to the build dir's
# binaries, then runs bench/tbbench.py, which starts its own PostgreSQL, worker pools and lighttpd,
# runs the scenarios, prints a table and writes bench/results/<time>.json. The build dir (default
# build/, or $TB_BUILD_DIR) must hold a built Teamboard (./dev.sh build, or configure && make).
# Needs: Debian's python3 with python3-psycopg2, lighttpd, postgresql-15, wrk, libpq-dev.
# TB_STREAM_MODE=host holds the streams in TB_STREAM_HOSTS (default 2) teamboard-streamhost
# processes on one socket instead of the prefork stream pool (tools/tbenv/); default worker.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
BUILD=${TB_BUILD_DIR:-$ROOT/build}
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) BUILD=$2; shift 2 ;;
	--build-dir=*) BUILD=${1#*=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
[ -x "$BUILD/fcgi/teamboard.fcgi" ] || { echo "bench: no $BUILD/fcgi/teamboard.fcgi: build first (./dev.sh build)" >&2; exit 1; }
case ${TB_STREAM_MODE:-worker} in
worker) ;;
host) [ -x "$BUILD/fcgi/teamboard-streamhost" ] || { echo "bench: no $BUILD/fcgi/teamboard-streamhost: build first" >&2; exit 1; } ;;
*) echo "bench: TB_STREAM_MODE must be worker or host, not '$TB_STREAM_MODE'" >&2; exit 1 ;;
esac
export TB_STREAM_MODE=${TB_STREAM_MODE:-worker}
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }

TOOLS=$BUILD/bench
mkdir -p "$TOOLS"
CC=${CC:-cc}
build_tool() { # name, extra flags...
	local name=$1
	shift
	if [ ! -x "$TOOLS/$name" ] || [ "$ROOT/bench/$name.c" -nt "$TOOLS/$name" ]; then
		$CC -O2 -g -std=c11 -Wall -Wextra -o "$TOOLS/$name.tmp" "$ROOT/bench/$name.c" "$@"
		mv "$TOOLS/$name.tmp" "$TOOLS/$name"
	fi
}
build_tool tbload
read -ra PQ_FLAGS <<<"$(pkg-config --cflags --libs libpq)"
build_tool pgprobe "${PQ_FLAGS[@]}"

exec env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$ROOT/bench/tbbench.py" --build-dir "$BUILD" \
	--tool-dir "$TOOLS" "${args[@]}"
