#!/usr/bin/env bash
# tests/lint/lint.sh: the static checks of `make lint`: cppcheck and clang-tidy on the C sources,
# clang-format in check mode (.clang-format: the layout every C file and header already has),
# ShellCheck on every shell script in the tree, the links and repository paths named in docs and
# comments (tests/lint/links.py), the include/import cycles of lib/ and web/js/
# (tests/lint/cycles.py, known ones in tests/lint/cycles-allowed), no function of web/js/ over 150
# lines (tests/lint/jsfnsize.py; clang-tidy holds C functions to 80, .clang-tidy) and the tests of
# those scripts (tests/lint/test_lint_tools.py). Clean means no finding beyond tests/lint/suppressions.
#
#   lint.sh [--srcdir DIR] [--cflags "FLAGS"] [cppcheck|clang-tidy|clang-format|shellcheck|links|cycles|jsfnsize|selftest]...
#
# --cflags: preprocessor flags for clang-tidy (Makefile.am passes config.h's directory, the
# pkg-config flags and AM_CPPFLAGS). With no tool named, all of them run. One line per check:
# "PASS: <check>" or "FAIL: <check>" after its findings (cppcheck, clang-tidy, shellcheck; links
# prints links-markdown, links-paths and links-outside; cycles prints cycles-lib and cycles-web;
# jsfnsize prints jsfnsize; selftest prints lint-selftest); exit status 0 when every check passed. A tool that is not
# installed fails (dev.sh installs cppcheck, clang-tidy and shellcheck; the rest needs python3).
set -euo pipefail

srcdir=. cflags="" jobs=${LINT_JOBS:-2}
while [ $# -gt 0 ]; do
	case $1 in
	--srcdir) srcdir=$2; shift 2 ;;
	--cflags) cflags=$2; shift 2 ;;
	-*) echo "lint.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- cppcheck clang-tidy clang-format shellcheck links cycles jsfnsize selftest
cd "$srcdir"
supp=tests/lint/suppressions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The C that ships (lib/, fcgi/), its tests and harnesses, and the benchmark's tools.
c_sources() {
	local d
	for d in lib fcgi tests/unit tests/fuzz bench; do
		find "$d" -maxdepth 1 -name '*.c' 2>/dev/null
	done | sort
}

# Every shell script: *.sh and files starting with a sh/bash "#!" line. In a git checkout the
# tracked files (what CI lints); elsewhere (a release tarball) every file outside build trees,
# autotools output and node_modules.
tree_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files
	else
		find . \( -path './.git' -o -path './build*' -o -path '*/node_modules' -o -path './autom4te.cache' \
			-o -path './m4' \) \
			-prune -o -type f -print | sed 's|^\./||'
	fi
}

shell_scripts() {
	tree_files | sort | while IFS= read -r f; do
		case $f in
		configure | config.status | libtool | *~ | Makefile* | *.in | *.am | *.c | *.h | *.py | *.md | \
			*.sql | *.js | *.mjs | *.json | *.css | *.html | *.conf | *.sample | tests/fuzz/corpus/*) continue ;;
		*.sh) printf '%s\n' "$f" ;;
		*) [ -f "$f" ] && head -n 1 "$f" | grep -qE '^#! ?(/usr)?/bin/(env +)?(ba|da)?sh\b' &&
			printf '%s\n' "$f" ;;
		esac
	done
}

# suppressed TOOL: "file check" pairs of TOOL from the suppressions file.
suppressed() {
	sed -n "s/^$1 \\([^ ]*\\) \\([^ ]*\\).*/\\1 \\2/p" "$supp"
}

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "$1 is not installed (Debian: apt-get install $2)"
		return 1
	fi
}

run_cppcheck() {
	need cppcheck cppcheck || return 1
	local args=() f c
	while read -r f c; do args+=("--suppress=$c:$f"); done < <(suppressed cppcheck)
	# warning + portability: real defects only, no style opinions. missingIncludeSystem: the
	# system and library headers are not given to cppcheck (their types come from clang-tidy's run).
	# unmatchedSuppression is reported, so a stale line in the suppressions file fails too.
	c_sources | xargs cppcheck --quiet --std=c11 --enable=warning,portability --inline-suppr \
		--error-exitcode=1 -D_GNU_SOURCE -Ilib --suppress=missingIncludeSystem "${args[@]}" \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]'
}

run_clang_tidy() {
	need clang-tidy clang-tidy || return 1
	# The checks are in .clang-tidy; the files are the C that ships (lib/, fcgi/) and the fuzz
	# harnesses. Left to cppcheck alone: tests/unit/ (the analyzer does not follow the variadic
	# tb_check(), so every "if (tb_check(p != NULL, ...)) use(p)" reads as a null dereference;
	# ASan and valgrind run them too) and bench/ (load generators run by developers, whose
	# command-line parsing with atoi is fine for them).
	local rc=0
	# Files before "--", the compiler's flags (a list of words) after it.
	# shellcheck disable=SC2016 # expanded by the inner bash
	c_sources | grep -v -e '^tests/unit/' -e '^bench/' | LINT_TIDY_FLAGS=$cflags xargs -P "$jobs" -n 4 \
		bash -c 'clang-tidy --quiet "$@" -- $LINT_TIDY_FLAGS' clang-tidy >"$out/tidy" 2>"$out/tidy.err" || rc=$?
	# Findings as "file check", the source tree's prefix removed.
	local here
	here=$(pwd -P)
	sed -n -E "s#^($here/)?([^:]*):[0-9]+:[0-9]+: (warning|error): .*\\[([^]]+)\\]\$#&\\t\\2 \\4#p" \
		"$out/tidy" | sed "s#^$here/##" >"$out/tidy.found"
	suppressed clang-tidy | sort -u >"$out/tidy.supp"
	local bad=0 line key
	while IFS=$'\t' read -r line key; do
		if ! grep -qxF "$key" "$out/tidy.supp"; then
			echo "$line"
			bad=1
		fi
	done <"$out/tidy.found"
	while read -r key; do
		if ! cut -f2 "$out/tidy.found" | grep -qxF "$key"; then
			echo "note: $supp: clang-tidy $key is no longer found: remove the line"
		fi
	done <"$out/tidy.supp"
	if [ "$rc" -ne 0 ]; then # a file that does not compile, or clang-tidy itself failed
		grep -v '^[0-9]* warnings\{0,1\} generated' "$out/tidy.err" | head -n 40
		bad=1
	fi
	return "$bad"
}

# Every C file and header laid out as .clang-format says: a file that is not gets clang-format's
# replacements listed (fix: clang-format -i FILE).
run_clang_format() {
	need clang-format clang-format || return 1
	{
		c_sources
		find lib fcgi tests/unit tests/fuzz bench -maxdepth 1 -name '*.h' 2>/dev/null | sort
	} | xargs clang-format --dry-run --Werror 2>&1 | head -n 60
	return "${PIPESTATUS[1]}"
}

run_shellcheck() {
	need shellcheck shellcheck || return 1
	local bad=0 f c ex used=()
	while IFS= read -r f; do
		ex=()
		while read -r sf c; do
			if [ "$sf" = "$f" ]; then
				ex+=(-e "$c")
				used+=("$sf")
			fi
		done < <(suppressed shellcheck)
		shellcheck -x -P SCRIPTDIR "${ex[@]}" "$f" || bad=1
	done < <(shell_scripts)
	while read -r sf c; do
		case " ${used[*]} " in *" $sf "*) ;; *) echo "note: $supp: shellcheck $sf: no such script" ;; esac
	done < <(suppressed shellcheck)
	return "$bad"
}

# The Python checks print their own PASS/FAIL line per check; lint.sh adds one only when the
# script could not run at all.
run_python() {
	local check=$1
	shift
	if ! need python3 python3; then
		echo "FAIL: $check"
		return 1
	fi
	local rc=0
	python3 "$@" || rc=$?
	if [ "$rc" -gt 1 ]; then # 1: a check failed (and said so); more: the script itself broke
		echo "FAIL: $check"
	fi
	return "$rc"
}

# The unit tests of links.py, cycles.py and jsfnsize.py, on small trees made in a temporary directory.
run_selftest() {
	if ! need python3 python3; then
		echo "FAIL: lint-selftest"
		return 1
	fi
	if python3 tests/lint/test_lint_tools.py >"$out/selftest" 2>&1; then
		echo "PASS: lint-selftest"
	else
		cat "$out/selftest"
		echo "FAIL: lint-selftest"
		return 1
	fi
}

failed=0
for tool in "$@"; do
	rc=0
	case $tool in
	cppcheck) run_cppcheck || rc=1 ;;
	clang-tidy) run_clang_tidy || rc=1 ;;
	clang-format) run_clang_format || rc=1 ;;
	shellcheck) run_shellcheck || rc=1 ;;
	links) run_python links tests/lint/links.py --srcdir . || failed=1; continue ;;
	cycles) run_python cycles tests/lint/cycles.py --srcdir . || failed=1; continue ;;
	jsfnsize) run_python jsfnsize tests/lint/jsfnsize.py --srcdir . || failed=1; continue ;;
	selftest) run_selftest || failed=1; continue ;;
	*) echo "lint.sh: unknown tool $tool" >&2; exit 2 ;;
	esac
	if [ $rc -eq 0 ]; then
		echo "PASS: $tool"
	else
		echo "FAIL: $tool"
		failed=1
	fi
done
exit $failed
