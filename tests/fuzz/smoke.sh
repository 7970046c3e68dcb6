#!/usr/bin/env bash
# tests/fuzz/smoke.sh: runs libFuzzer harnesses for a fixed time each and fails on any crash
# (`make fuzz-smoke` calls it from a build configured with --enable-fuzz).
#
#   smoke.sh [--time SECONDS] [--jobs N] [--corpus DIR] [--dicts DIR] [--bin DIR] [--out DIR] HARNESS...
#
# Each harness starts from DIR/<harness>/ (the seed corpus, never written to) plus a scratch corpus
# in --out, with DIR/<harness>.dict of --dicts as its dictionary when there is one; N harnesses
# run at a time. One line per harness: "PASS: name (runs, seconds)" or
# "FAIL: name (...)" with the end of its log; a crash's input is kept as --out/<name>/crash-*.
# Exit status: 0 when every harness passed.
set -euo pipefail

time=60 jobs=2 corpus=tests/fuzz/corpus dicts=tests/fuzz bin=tests/fuzz out=""
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--corpus) corpus=$2; shift 2 ;;
	--dicts) dicts=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "smoke.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "smoke.sh: name at least one harness" >&2; exit 2; }
out=${out:-$bin/smoke}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run NAME: one harness; its status in $out/NAME/status.
run() {
	local name=$1 dir="$out/$1" rc=0 dict=()
	rm -rf "$dir"
	mkdir -p "$dir/corpus"
	[ -f "$dicts/$name.dict" ] && dict=(-dict="$dicts/$name.dict")
	# -timeout: one input may take 10 s (a hang is a failure too); -rss_limit_mb: libFuzzer's default.
	"$bin/$name" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/" "${dict[@]}" "$dir/corpus" "$corpus/$name" >"$dir/log" 2>&1 || rc=$?
	echo "$rc" >"$dir/status"
}

running=0
for name in "$@"; do
	if [ ! -x "$bin/$name" ]; then
		mkdir -p "$out/$name"
		echo "harness $bin/$name not built" >"$out/$name/log"
		echo 127 >"$out/$name/status"
		continue
	fi
	run "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

failed=0
for name in "$@"; do
	rc=$(cat "$out/$name/status" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name/log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		printf 'PASS: %s (%s runs in %ss)\n' "$name" "${runs:-?}" "$time"
	else
		failed=$((failed + 1))
		printf 'FAIL: %s (exit %s; log %s)\n' "$name" "$rc" "$out/$name/log"
		tail -n 40 "$out/$name/log"
	fi
done
[ "$failed" -eq 0 ]
