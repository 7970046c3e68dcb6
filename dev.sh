#!/usr/bin/env bash
# dev.sh: build, run and test Teamboard on one Debian 12 machine (as root, or with sudo for apt).
#
#   ./dev.sh run      install missing packages, build into build/, start PostgreSQL 15, the
#                     teamboard.fcgi pools (REST and streams) and lighttpd on
#                     http://127.0.0.1:${PORT:-8080}/ in the background, wait until it answers,
#                     print the URL and return. Running it again restarts everything; the
#                     development database is kept. TB_SETUP=apache-fcgid (or apache-htaccess,
#                     apache-htaccess-cpanel, apache-cgi) runs it behind Apache instead
#                     (tools/tbenv/). TB_STREAM_MODE=host (lighttpd only) holds the
#                     event streams in teamboard-streamhost processes (TB_STREAM_HOSTS, default
#                     2, on one socket) instead of the stream pool; the default is worker.
#   ./dev.sh stop     stop what "run" started
#   ./dev.sh status   show what runs and what GET /api/v1/health says
#   ./dev.sh psql     psql into the development database (extra arguments go to psql)
#   ./dev.sh reset    stop, then delete the development database and logs
#   ./dev.sh build    install missing packages and build into build/ only
#   ./dev.sh test     install, build, run every suite; the last line is "N passed, N failed"
#   ./dev.sh soak     build, then tests/soak/run.sh: REST load, streams, churn and hostile clients
#                     for SOAK_SECONDS (default 600), then checks for leaks (not in .ci/run)
#
# Environment: PORT (default 8080), TB_DEV_STATE (default /var/tmp/teamboard-dev-<uid>),
# TB_SETUP (for run: lighttpd, apache-fcgid, apache-htaccess, apache-htaccess-cpanel or apache-cgi),
# TB_SUITES (for test: a subset of DEFAULT_SUITES below, or "browser"),
# TB_SKIP_APT=1 (do not check packages). The servers run as the system user "teamboard"
# when dev.sh runs as root (PostgreSQL refuses root); see tools/tbenv/.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
cd "$ROOT"

PY=/usr/bin/python3          # Debian's python: it has python3-psycopg2 and python3-pytest
TBENV=(env PYTHONDONTWRITEBYTECODE=1 "$PY" "$ROOT/tools/tbenv")
PORT=${PORT:-8080}
STATE_DIR=${TB_DEV_STATE:-/var/tmp/teamboard-dev-$(id -u)}
JOBS=$(nproc 2>/dev/null || echo 2)
CONFIGURE_ARGS=(--enable-werror)
ASAN_CONFIGURE_ARGS=(--enable-sanitizers --enable-werror)
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
          --show-leak-kinds=definite --num-callers=30)
PACKAGES=(build-essential autoconf automake libtool pkg-config libfcgi-dev libpq-dev
          libjson-c-dev libcrypt-dev postgresql-15 lighttpd apache2 libapache2-mod-fcgid
          python3 python3-psycopg2 python3-pytest curl valgrind wrk
          clang libclang-rt-14-dev clang-tidy clang-format cppcheck shellcheck git)
# The suites "./dev.sh test" runs when TB_SUITES is not set. "setups" is the integration subset
# behind Apache (apache-fcgid, apache-htaccess, apache-htaccess-cpanel, apache-cgi); each can also
# be named alone.
# "browser" is tests/browser/run.sh (the web client in headless Chromium), then its live tests
# (live.test.mjs) again with TB_STREAM_MODE=host as the suite "browser-host"; "bench" is the
# benchmark's smoke run (bench/run.sh --quick: every scenario once, tiny N, about a minute).
# "lint" is make lint (cppcheck, clang-tidy, clang-format, shellcheck, tests/lint/links.py and cycles.py: one
# test each); "fuzz" builds build-fuzz/ with --enable-fuzz (clang, libFuzzer) and runs make
# fuzz-smoke (each harness 60 s, two at a time: one test each); "dist" is make distcheck (the tarball
# builds, installs and passes make check out of tree, and holds every file git tracks:
# tests/lint/distfiles.py; one test, 20-40 s here).
DEFAULT_SUITES="unit integration harness asan valgrind setups bench browser lint dist fuzz"
FUZZ_CONFIGURE_ARGS=(--enable-fuzz)
# Installed only when the browser suite runs (run.sh needs Node.js >= 20 with npm, and Chromium).
BROWSER_PACKAGES=(chromium fonts-liberation fonts-dejavu-core)

say() { printf 'dev.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run dev.sh as root or install sudo)"
	fi
}

ensure_packages() {
	[ "${TB_SKIP_APT:-}" = 1 ] && return 0
	local missing=() p want=("${PACKAGES[@]}")
	if [ "${1:-}" = test ] && wants browser; then
		want+=("${BROWSER_PACKAGES[@]}")
	fi
	for p in "${want[@]}"; do
		if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	# The lock timeout lets a concurrent apt run finish instead of failing at once.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y \
		install --no-install-recommends "${missing[@]}"
}

autogen() {
	mkdir -p m4
	if [ -f config.status ]; then
		die "the source tree itself is configured; run 'make distclean' at the top first (dev.sh builds out of tree in build/)"
	fi
	if [ ! -x configure ] || [ ! -f Makefile.in ] || [ configure.ac -nt configure ] ||
		[ Makefile.am -nt Makefile.in ]; then
		say "autoreconf -fi"
		autoreconf -fi
	fi
}

# build_in DIR CONFIGURE-ARGS...: configure DIR out of tree (again if the arguments changed),
# then make. Returns non-zero on failure.
build_in() {
	local dir=$1
	shift
	local stamp="$dir/.dev-configure-args"
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
		say "configuring $dir: $*"
		(cd "$dir" && ../configure "$@") || return 1
		printf '%s\n' "$*" >"$stamp"
	fi
	say "building $dir"
	make -C "$dir" -j"$JOBS"
}

build() {
	ensure_packages
	autogen
	build_in build "${CONFIGURE_ARGS[@]}"
}

cmd_run() {
	build
	local url
	if ! url=$("${TBENV[@]}" up --state-dir "$STATE_DIR" --port "$PORT" --build-dir build \
		--setup "${TB_SETUP:-lighttpd}"); then
		die "could not start the environment (see above and $STATE_DIR/log/)"
	fi
	url=$(printf '%s\n' "$url" | tail -n 1)
	# tbenv waited for GET /api/v1/health = 200; check the page itself the same way a browser would.
	local _
	for _ in $(seq 1 50); do
		if curl -fsS --noproxy '*' -m 5 -o /dev/null "$url"; then
			cat <<-EOF

				Teamboard is running at $url
				  health:   ${url}api/v1/health
				  logs:     $STATE_DIR/log/
				  database: ./dev.sh psql
				  stop:     ./dev.sh stop
			EOF
			return 0
		fi
		sleep 0.2
	done
	die "$url does not answer (see $STATE_DIR/log/)"
}

cmd_stop() { "${TBENV[@]}" down --state-dir "$STATE_DIR"; }
cmd_status() { "${TBENV[@]}" status --state-dir "$STATE_DIR"; }
cmd_psql() { exec "${TBENV[@]}" psql --state-dir "$STATE_DIR" -- "$@"; }
cmd_reset() {
	"${TBENV[@]}" down --state-dir "$STATE_DIR" || true
	case "$STATE_DIR" in
	/ | "") die "refusing to delete '$STATE_DIR'" ;;
	esac
	rm -rf "$STATE_DIR"
	say "deleted $STATE_DIR"
}

# ---- test -----------------------------------------------------------------------------------

TOTAL_P=0 TOTAL_F=0 TOTAL_S=0
SUMMARY=()
RESULTS=""
STATE_PARENT=""
SUITE_ENV=()
SUITE_START=0

# record_build NAME ok|failed: a failed build counts as one failed test; a good one counts nothing.
record_build() {
	local secs=$(($(date +%s) - SUITE_START))
	if [ "$2" = ok ]; then
		SUMMARY+=("$(printf '%-18s %-39s %5ds' "$1" ok "$secs")")
	else
		TOTAL_F=$((TOTAL_F + 1))
		SUMMARY+=("$(printf '%-18s %-39s %5ds' "$1" "FAILED (counted as 1 failed)" "$secs")")
	fi
}

# record NAME PASSED FAILED SKIPPED [NOTE]
record() {
	local secs=$(($(date +%s) - SUITE_START))
	TOTAL_P=$((TOTAL_P + $2)) TOTAL_F=$((TOTAL_F + $3)) TOTAL_S=$((TOTAL_S + $4))
	SUMMARY+=("$(printf '%-18s %4d passed, %3d failed, %3d skipped %5ds%s' "$1" "$2" "$3" "$4" \
		"$secs" "${5:+   ($5)}")")
}

begin() {
	SUITE_START=$(date +%s)
	printf '\n==== %s ====\n' "$1"
}

wants() {
	local s=" ${TB_SUITES:-$DEFAULT_SUITES} "
	case $1 in apache-*) s=${s/ setups / apache-fcgid apache-htaccess apache-htaccess-cpanel apache-cgi } ;; esac
	case $s in *" $1 "*) return 0 ;; esac
	return 1
}

# unit_suite NAME BUILD_DIR: make check, counting automake's TAP/test summary.
unit_suite() {
	local name=$1 dir=$2 rc=0 p f s note=""
	begin "$name: make -C $dir check"
	AM_COLOR_TESTS=no timeout -k 30 900 make -C "$dir" -j"$JOBS" check </dev/null 2>&1 |
		tee "$RESULTS/$name.log" || rc=$?
	read -r p f s < <("$PY" tests/harness/tbcount.py automake "$RESULTS/$name.log" || echo 0 0 0)
	if [ "$rc" -ne 0 ]; then
		[ -f "$dir/test-suite.log" ] && cat "$dir/test-suite.log"
		if [ "$f" -eq 0 ]; then
			f=1 note="make check exited $rc"
		fi
	fi
	record "$name" "$p" "$f" "$s" "$note"
}

# pytest_suite NAME TIMEOUT PYTEST-ARGS...; environment for the harness from SUITE_ENV.
pytest_suite() {
	local name=$1 tmo=$2 rc=0 p=0 f=0 s=0 note=""
	shift 2
	local xml="$RESULTS/$name.xml"
	begin "$name: pytest $*"
	rm -f "$xml"
	env "${SUITE_ENV[@]}" TB_STATE_PARENT="$STATE_PARENT" PYTHONDONTWRITEBYTECODE=1 \
		timeout -k 30 "$tmo" "$PY" -m pytest -q -p no:cacheprovider -o junit_family=xunit2 \
		--junitxml="$xml" "$@" </dev/null 2>&1 | tee "$RESULTS/$name.log" || rc=$?
	if [ -s "$xml" ]; then
		read -r p f s < <("$PY" tests/harness/tbcount.py junit "$xml" || echo 0 1 0)
	fi
	case $rc in
	0 | 5) ;; # 5: no tests collected
	124 | 137) f=$((f + 1)) note="timed out after ${tmo}s" ;;
	*) if [ "$f" -eq 0 ]; then f=1 note="pytest exited $rc"; fi ;;
	esac
	# Every server the suite started must be gone.
	if ! "${TBENV[@]}" leftovers --under "$STATE_PARENT" --kill; then
		f=$((f + 1)) note="${note:+$note; }processes left running"
	fi
	record "$name" "$p" "$f" "$s" "$note"
}

# valgrind_unit NAME BUILD_DIR: each unit test binary under valgrind is one test.
valgrind_unit() {
	local name=$1 dir=$2 p=0 f=0 t n
	begin "$name: unit test binaries under ${VALGRIND[*]}"
	local tests=()
	# The unit test programs (already built when the unit suite ran; "TESTS=" runs none).
	make -C "$dir" -j"$JOBS" check TESTS= >/dev/null 2>&1 || true
	while IFS= read -r t; do tests+=("$t"); done < <(find "$dir/tests/unit" -maxdepth 1 -type f \
		-name 'test_*' -perm -u+x 2>/dev/null | sort)
	for t in "${tests[@]}"; do
		n=$(basename "$t")
		if (cd "$dir" && srcdir="$ROOT" timeout -k 10 600 "${VALGRIND[@]}" \
			--log-file="$RESULTS/$name.$n.vg" "./tests/unit/$n") >"$RESULTS/$name.$n.log" 2>&1 &&
			! [ -s "$RESULTS/$name.$n.vg" ]; then
			p=$((p + 1))
			printf 'PASS: %s\n' "$n"
		else
			f=$((f + 1))
			printf 'FAIL: %s\n' "$n"
			tail -n 40 "$RESULTS/$name.$n.log" "$RESULTS/$name.$n.vg" 2>/dev/null || true
		fi
	done
	if [ ${#tests[@]} -eq 0 ]; then
		record "$name" 0 1 0 "no unit test binaries in $dir/tests/unit"
	else
		record "$name" "$p" "$f" 0
	fi
}

# browser_suite NAME [VAR=VALUE...]: tests/browser/run.sh (the web client in Chromium, node
# --test) with those variables, counted from node's summary lines ("ℹ pass N", "ℹ fail N", ...),
# else from its junit report. Runs only when "browser" is wanted (TB_SUITES or DEFAULT_SUITES)
# and run.sh exists.
browser_suite() {
	local name=$1 rc=0 p=0 f=0 s=0 note=""
	shift
	begin "$name: ${*:+$* }tests/browser/run.sh"
	if [ ! -x tests/browser/run.sh ]; then
		record "$name" 0 0 0 "tests/browser/run.sh not present: nothing run"
		return 0
	fi
	env TB_BUILD_DIR="$ROOT/build" TB_STATE_PARENT="$STATE_PARENT" PYTHONDONTWRITEBYTECODE=1 "$@" \
		timeout -k 30 1500 tests/browser/run.sh </dev/null 2>&1 | tee "$RESULTS/$name.log" || rc=$?
	read -r p f s < <("$PY" tests/harness/tbcount.py node "$RESULTS/$name.log" || echo 0 0 0)
	if [ $((p + f + s)) -eq 0 ] && [ -s tests/browser/artifacts/junit.xml ]; then
		read -r p f s < <("$PY" tests/harness/tbcount.py junit-cases \
			tests/browser/artifacts/junit.xml || echo 0 0 0)
	fi
	case $rc in
	0) ;;
	124 | 137) f=$((f + 1)) note="timed out after 1500s" ;;
	*) if [ "$f" -eq 0 ]; then f=1 note="run.sh exited $rc"; fi ;;
	esac
	if ! "${TBENV[@]}" leftovers --under "$STATE_PARENT" --kill; then
		f=$((f + 1)) note="${note:+$note; }processes left running"
	fi
	record "$name" "$p" "$f" "$s" "$note"
}

# bench_suite: bench/run.sh --quick proves the benchmark still runs (bench/README.md): one test,
# passed when every scenario ran and no event was lost, duplicated or missed.
bench_suite() {
	local name=bench rc=0
	begin "$name: bench/run.sh --quick"
	timeout -k 30 600 bench/run.sh --quick --build-dir "$ROOT/build" --out "$RESULTS/bench-quick.json" \
		</dev/null 2>&1 | tee "$RESULTS/$name.log" || rc=$?
	case $rc in
	0) record "$name" 1 0 0 ;;
	124 | 137) record "$name" 0 1 0 "timed out after 600s" ;;
	*) record "$name" 0 1 0 "bench/run.sh --quick exited $rc" ;;
	esac
}

# pass_fail_suite NAME TIMEOUT COMMAND...: a command that prints "PASS: x" / "FAIL: x" lines (make lint,
# make fuzz-smoke); each line is one test. A failing command without a FAIL line counts one failure.
pass_fail_suite() {
	local name=$1 tmo=$2 rc=0 p f note=""
	shift 2
	begin "$name: $*"
	timeout -k 30 "$tmo" "$@" </dev/null 2>&1 | tee "$RESULTS/$name.log" || rc=$?
	p=$(grep -c '^PASS: ' "$RESULTS/$name.log" || true)
	f=$(grep -c '^FAIL: ' "$RESULTS/$name.log" || true)
	case $rc in
	0) ;;
	124 | 137) f=$((f + 1)) note="timed out after ${tmo}s" ;;
	*) if [ "$f" -eq 0 ]; then f=1 note="$1 exited $rc"; fi ;;
	esac
	record "$name" "$p" "$f" 0 "$note"
}

# The integration tests about the set-ups and installs themselves (their own lighttpd and Apache
# web hosts beside the session's, the log file, the guides' build and install steps in a copy of
# the tree): run once, in the "integration" suite, not again under the sanitizers.
SETUP_TESTS=(tests/integration/test_overload.py tests/integration/test_two_hosts.py
             tests/integration/test_logs.py tests/integration/test_docs_steps.py)
# Not again under the sanitizers: test_hostile (its attacks measure whether another user is served
# within 2 s while workers are held; ASan's slower workers make that a different machine, and the C
# it drives, body and write deadlines, held and recycled workers, the stream limits, runs under the
# sanitizers in test_transport_limits and test_stream_limits) and test_install_webspace (shell
# scripts, no C). About 170 s of CI's 45 minutes.
ASAN_SKIP_TESTS=(tests/integration/test_hostile.py tests/integration/test_install_webspace.py)
# What runs behind each Apache set-up: every REST route, the authorization matrix and bad input (the two mod_fcgid layouts), streams.
SUBSET_TESTS=(test_health test_users_sessions test_teams test_boards test_items test_authz_matrix
              test_csrf test_bad_input test_stream_basic test_stream_resume test_security_headers
              test_transport_limits test_hostile)
# Behind Apache a request body is read before the program sees the request, so Apache itself
# refuses an over-size Content-Length (413, the API's JSON) before the program can ask for
# authentication (401): the one guard-order test that cannot hold there (docs/deploy.md).
APACHE_DESELECT=(--deselect tests/integration/test_bad_input.py::test_auth_is_checked_before_size)

# The cPanel-like shared host (per-user ScriptAlias, programs as the customer) runs only what
# differs there: its own set-up tests (test_setups_htaccess.py), health and the basic stream. The
# program and the .htaccess files are the same as behind apache-htaccess, and CI's budget is 45
# minutes for everything.
CPANEL_TESTS=(test_health test_stream_basic)
# The hostile-client and transport-limit tests (test_hostile, test_transport_limits) run behind
# apache-fcgid (and apache-cgi), no longer also behind apache-htaccess: apache-fcgid and
# apache-htaccess put the program behind the same mod_fcgid (what those tests exercise); the web
# space's own transport (.htaccess, rewrite, the 413) is covered by test_setups_htaccess.py. That
# makes room for apache-htaccess-cpanel.
NOT_BEHIND_HTACCESS=(test_hostile test_transport_limits)

# setup_suite SETUP: the subset behind one Apache set-up.
setup_suite() {
	local setup=$1 t args=() tests=("${SUBSET_TESTS[@]}")
	[ "$setup" = apache-htaccess-cpanel ] && tests=("${CPANEL_TESTS[@]}")
	for t in "${tests[@]}"; do
		# The authorization matrix and the bad-input rows test the program, not its transport:
		# they run behind both mod_fcgid layouts; plain CGI skips them (a process per request
		# makes their hundreds of requests slow, and the program is the same).
		# Under plain CGI every request is a new process with a new database connection: the
		# loss-free resume test's 800 writes under load would take minutes; its transport-side
		# checks (hello, resume by header and query) are in test_stream_basic.
		case $setup:$t in
		apache-cgi:test_authz_matrix | apache-cgi:test_bad_input | apache-cgi:test_stream_resume) continue ;;
		esac
		case " ${NOT_BEHIND_HTACCESS[*]} " in
		*" $t "*) [ "$setup" != apache-htaccess ] || continue ;;
		esac
		args+=("tests/integration/$t.py")
	done
	t=tests/integration/test_setups_${setup#apache-}.py
	[ "$setup" = apache-htaccess-cpanel ] && t=tests/integration/test_setups_htaccess.py
	[ -f "$t" ] && args+=("$t")
	SUITE_ENV=(TB_BUILD_DIR="$ROOT/build" TB_SETUP="$setup")
	local deselect=()
	[ "$setup" != apache-cgi ] && deselect=("${APACHE_DESELECT[@]}")
	pytest_suite "$setup" 900 "${deselect[@]}" "${args[@]}"
}

cmd_test() {
	local t0
	t0=$(date +%s)
	ensure_packages test
	"$PY" -c 'import psycopg2, pytest' || die "$PY lacks psycopg2 or pytest (python3-psycopg2, python3-pytest)"
	RESULTS="$ROOT/build/test-results"
	mkdir -p build
	rm -rf "$RESULTS"
	mkdir -p "$RESULTS"
	# The test environments' state dirs go here: outside the checkout, which the service user
	# may not be able to enter (/root), and one place to look for leftover processes.
	STATE_PARENT=$(mktemp -d /tmp/tb-devtest.XXXXXX)
	chmod 0755 "$STATE_PARENT"
	trap 'rmdir "$STATE_PARENT" 2>/dev/null || true' EXIT
	local build_ok=1

	begin "build: configure ${CONFIGURE_ARGS[*]} && make"
	# The programs only: a unit test that does not compile fails the unit suite, not the build.
	if autogen && build_in build "${CONFIGURE_ARGS[@]}"; then
		record_build build ok
	else
		build_ok=0
		record_build build failed
	fi

	if [ $build_ok = 1 ]; then
		wants unit && unit_suite unit build
		SUITE_ENV=(TB_BUILD_DIR="$ROOT/build")
		# The full suite behind lighttpd; the Apache set-ups' own test files run in their suites.
		local ignore_apache=() t
		for t in tests/integration/test_setups_{fcgid,htaccess,cgi}.py; do
			[ -f "$t" ] && ignore_apache+=(--ignore "$t")
		done
		wants integration && pytest_suite integration 1500 "${ignore_apache[@]}" tests/integration
		wants harness && pytest_suite harness 600 tests/harness tests/soak/test_fleet.py
		local setup
		for setup in apache-fcgid apache-htaccess apache-htaccess-cpanel apache-cgi; do
			if wants "$setup"; then setup_suite "$setup"; fi
		done
	fi

	if wants asan; then
		begin "build-asan: configure ${ASAN_CONFIGURE_ARGS[*]} && make"
		if autogen && build_in build-asan "${ASAN_CONFIGURE_ARGS[@]}"; then
			record_build build-asan ok
			ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
				unit_suite unit-asan build-asan
			# Each live-stream test once, in the session's mode (tests/harness/tbfixture.py): the stream
			# host's C runs under the sanitizers in test_streamhost.py and test_stream_failover.py.
			SUITE_ENV=(TB_BUILD_DIR="$ROOT/build-asan" TB_BOTH_STREAM_MODES=0)
			local ignore=()
			for t in "${SETUP_TESTS[@]}" "${ASAN_SKIP_TESTS[@]}" tests/integration/test_setups_*.py; do
				[ -f "$t" ] && ignore+=(--ignore "$t")
			done
			pytest_suite integration-asan 1500 "${ignore[@]}" tests/integration
		else
			record_build build-asan failed
		fi
	fi

	if [ $build_ok = 1 ] && wants valgrind; then
		valgrind_unit valgrind-unit build
		# Workers under valgrind: slow (yescrypt above all), so two workers and a smoke test only.
		SUITE_ENV=(TB_BUILD_DIR="$ROOT/build" TB_WORKERS=2
			TB_WORKER_WRAPPER="${VALGRIND[*]} --trace-children=no")
		pytest_suite valgrind-smoke 1200 tests/harness/test_harness_smoke.py
	fi

	if [ $build_ok = 1 ] && wants bench; then
		bench_suite
	fi

	if [ $build_ok = 1 ] && wants browser; then
		browser_suite browser
		# The live boards again with the stream host holding the streams (lighttpd's host mode).
		rm -rf tests/browser/artifacts/junit.xml
		browser_suite browser-host TB_STREAM_MODE=host TB_BROWSER_TESTS=./live.test.mjs
	fi

	# make lint needs only a configured tree (config.h and the libraries' flags), not a build.
	if wants lint; then
		if [ -f build/Makefile ]; then
			pass_fail_suite lint 1200 make -C build --no-print-directory lint
		else
			SUITE_START=$(date +%s)
			record lint 0 1 0 "build/ is not configured"
		fi
	fi

	# make distcheck needs a configured tree (it makes the tarball from build/'s Makefile).
	if wants dist; then
		if [ -f build/Makefile ]; then
			pass_fail_suite dist 600 make -C build -j"$JOBS" --no-print-directory distcheck-test
		else
			SUITE_START=$(date +%s)
			record dist 0 1 0 "build/ is not configured"
		fi
	fi

	if wants fuzz; then
		begin "build-fuzz: configure ${FUZZ_CONFIGURE_ARGS[*]} && make"
		if autogen && build_in build-fuzz "${FUZZ_CONFIGURE_ARGS[@]}"; then
			record_build build-fuzz ok
			pass_fail_suite fuzz 1200 make -C build-fuzz --no-print-directory fuzz-smoke
		else
			record_build build-fuzz failed
		fi
	fi

	printf '\n==== summary (%ss; logs in %s) ====\n' "$(($(date +%s) - t0))" "$RESULTS"
	printf '%s\n' "${SUMMARY[@]}"
	if [ "$TOTAL_S" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$TOTAL_P" "$TOTAL_F" "$TOTAL_S"
	else
		printf '%d passed, %d failed\n' "$TOTAL_P" "$TOTAL_F"
	fi
	[ "$TOTAL_F" -eq 0 ]
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
}

case "${1:-}" in
run) cmd_run ;;
stop) cmd_stop ;;
status) cmd_status ;;
psql) shift; cmd_psql "$@" ;;
reset) cmd_reset ;;
build) build ;;
test) cmd_test ;;
soak) build; TB_BUILD_DIR="$ROOT/build" tests/soak/run.sh ;;
*) usage ;;
esac
