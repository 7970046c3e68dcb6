#!/bin/sh
# tests/soak/run.sh: the soak of issue 12 (tests/soak/soak.py): one tbenv environment under REST
# load, SOAK_STREAMS event streams, churn and every hostile-client attack for SOAK_SECONDS, then
# checks for leaked processes, file descriptors, PostgreSQL connections and registry rows, and
# prints the figures. Not part of .ci/run; ./dev.sh soak builds first and runs it.
#
#   tests/soak/run.sh                                   10 minutes, 500 streams
#   SOAK_SECONDS=60 SOAK_STREAMS=100 SOAK_ATTACK=5 tests/soak/run.sh    the short mode
#                                     (every attack runs once at least, whatever SOAK_SECONDS)
#
# TB_BUILD_DIR picks the build (default build/). Exit status 0: clean.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
exec env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$ROOT/tests/soak/soak.py" "$@"
