#!/usr/bin/env bash
# tests/browser/run.sh: the browser tests (Debian's Chromium driven by npm's playwright-core,
# node's built-in test runner).
#
#   tests/browser/run.sh [node --test arguments, e.g. --test-name-pattern=conflict]
#
# Without TB_BASE_URL it starts its own environment with tools/tbenv/ (PostgreSQL, the
# worker pool and lighttpd serving web/ on a free port), runs the tests and tears it down.
# With TB_BASE_URL=http://127.0.0.1:PORT/ it tests that running server instead; the stream-kill
# test then also needs TB_PSQL (a command prefix running psql as a superuser on its database,
# e.g. "python3 tools/tbenv psql --state-dir DIR --user postgres --") or TB_DB_DSN,
# else it is skipped.
#
# Environment: TB_BUILD_DIR (default <repo>/build; build first: ./dev.sh build), TB_WORKERS
# (default 10), TB_STATE_PARENT (default /tmp), TB_CHROMIUM (default /usr/bin/chromium),
# TB_BROWSER_TIMEOUT (whole run, seconds, default 1200), TB_UPDATE_SCREENSHOTS=1 (copy the
# README's screenshots from artifacts/ to docs/screenshots/), TB_KEEP_STATE=1,
# TB_BROWSER_ARTIFACTS (default tests/browser/artifacts: two runs at once need two),
# TB_BROWSER_TESTS (the test files, relative to tests/browser/, globs allowed; default
# "./*.test.mjs ./unit/*.test.mjs").
# The default list: the browser tests ./*.test.mjs, plus the node-only unit tests (no browser):
# unit-outbox.test.mjs (web/js/outbox.js and api.js's busy retry) and unit/*.test.mjs (the
# board's pure functions, web/js/board/, the keyboard's moves on a stand-in board, and the trash's words, web/js/trash.js). axe-core (npm, in package.json) is injected into pages
# by a11y.test.mjs. With TB_BASE_URL, the tests that stop the REST pool (a 5xx) also need
# TB_WEBCTL, else they are skipped, and the reset link test TB_ADMIN (a command running the
# environment's teamboard-admin); run.sh's own environment always sets both.
# Output: node's spec report on stdout; artifacts/junit.xml (for tbcount.py junit) and the
# screenshots in artifacts/. Exit status: node's (0 = all passed).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
TBENV=(env PYTHONDONTWRITEBYTECODE=1 "$PY" "$ROOT/tools/tbenv")
say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

CHROMIUM=${TB_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || die "$CHROMIUM not found: apt-get install chromium (never a downloaded browser)"
command -v node >/dev/null || die "node not found (Node.js 20 or later)"

cd "$HERE"
if [ ! -f node_modules/playwright-core/package.json ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	say "npm ci"
	# playwright-core downloads no browser on install; the tests use $CHROMIUM.
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
ARTIFACTS=${TB_BROWSER_ARTIFACTS:-$HERE/artifacts}
export TB_BROWSER_ARTIFACTS=$ARTIFACTS
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

STATE=""
# shellcheck disable=SC2317 # run by the EXIT trap below
cleanup() {
	local rc=$?
	if [ -n "$STATE" ]; then
		"${TBENV[@]}" down --state-dir "$STATE/env" >/dev/null || rc=1
		if [ "${TB_KEEP_STATE:-}" = 1 ] || [ "$rc" -ne 0 ]; then
			say "state kept in $STATE (logs: $STATE/env/log/)"
		else
			rm -rf "$STATE"
		fi
	fi
	exit "$rc"
}

if [ -z "${TB_BASE_URL:-}" ]; then
	BUILD_DIR=${TB_BUILD_DIR:-$ROOT/build}
	[ -x "$BUILD_DIR/fcgi/teamboard.fcgi" ] || die "$BUILD_DIR/fcgi/teamboard.fcgi not found: build first (./dev.sh build)"
	STATE=$(mktemp -d "${TB_STATE_PARENT:-/tmp}/tb-browser.XXXXXX")
	chmod 0755 "$STATE"  # the servers run as the service user and must reach $STATE/env
	trap cleanup EXIT
	PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	say "starting an environment in $STATE/env on port $PORT"
	# Short heartbeats so that closed tabs free their stream (and its worker) within seconds;
	# max_streams below the pool size, so that a full pool answers 503 instead of hanging.
	WORKERS=${TB_WORKERS:-10}
	PER_USER=5  # the limit test opens this many boards plus one; above the client cap (4)
	LIFETIME=15 # streams are rotated (event bye) this often: the bye test watches one
	url=$("${TBENV[@]}" up --state-dir "$STATE/env" --port "$PORT" --build-dir "$BUILD_DIR" \
		--workers "$WORKERS" --set heartbeat_interval=2 --set "max_streams=$((WORKERS - 3))" \
		--set "max_streams_per_user=$PER_USER" --set "stream_max_seconds=$LIFETIME") || die "could not start the environment (logs: $STATE/env/log/)"
	TB_BASE_URL=$(printf '%s\n' "$url" | tail -n 1)
	export TB_BASE_URL
	export TB_PSQL="$PY $ROOT/tools/tbenv psql --state-dir $STATE/env --user postgres --"
	export TB_STREAM_LIMIT_PER_USER=$PER_USER TB_STREAM_LIFETIME=$LIFETIME
	export TB_WEBCTL="$PY $HERE/webctl.py --state-dir $STATE/env"
	# The environment's teamboard-admin as its service account (account.test.mjs makes reset links).
	ADMIN_AS=""
	[ "$(id -u)" != 0 ] || ADMIN_AS="runuser -u $(stat -c %U "$STATE/env/etc/teamboard.conf") --"
	export TB_ADMIN="$ADMIN_AS $STATE/env/bin/teamboard-admin --config $STATE/env/etc/teamboard.conf"
fi
say "testing $TB_BASE_URL"

if [ -n "${TB_BROWSER_TESTS:-}" ]; then
	# shellcheck disable=SC2206 # TB_BROWSER_TESTS is a list of files (or globs) on purpose
	TESTS=($TB_BROWSER_TESTS)
else
	shopt -s nullglob
	TESTS=(./*.test.mjs ./unit/*.test.mjs)
	shopt -u nullglob
fi
[ ${#TESTS[@]} -gt 0 ] || die "no test files"

rc=0
timeout -k 30 "${TB_BROWSER_TIMEOUT:-1200}" node --test --test-concurrency=1 --test-timeout=900000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=junit --test-reporter-destination="$ARTIFACTS/junit.xml" \
	"$@" "${TESTS[@]}" </dev/null || rc=$?

if [ "${TB_UPDATE_SCREENSHOTS:-}" = 1 ] && [ $rc -eq 0 ]; then
	mkdir -p "$ROOT/docs/screenshots"
	cp "$ARTIFACTS"/07-board-two-users.png "$ROOT/docs/screenshots/board.png"
	cp "$ARTIFACTS"/05-board-phone.png "$ROOT/docs/screenshots/board-phone.png"
	cp "$ARTIFACTS"/04-boards.png "$ROOT/docs/screenshots/boards.png"
	say "updated docs/screenshots/"
fi
exit $rc
