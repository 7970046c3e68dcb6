#!/bin/sh
# check-webspace.sh: tells, in plain words, whether a shared-hosting web space serves Teamboard,
# and when it does not, what the host lacks and what to ask the host for
# (docs/shared-hosting.md, "When the host lacks something"). It only sends HTTP requests (curl),
# so it runs from anywhere, your own computer too:
#
#     sh conf/shared-hosting/check-webspace.sh [--user NAME] URL
#
#   URL         the site's address, e.g. https://teamboard.example.org
#   --user NAME also check that live events get through (the web server's output buffer):
#               signs in as NAME (password from the environment variable TEAMBOARD_PASSWORD),
#               opens the event stream of a board made for the check, and removes the board;
#               the password is sent, so the URL must be https:// (http:// only for
#               localhost, 127.0.0.1 and [::1], which never leave the machine)
#
# Each check prints one line, "ok: ..." or "PROBLEM: ..." followed by what to ask the host for.
# Exit status: 0 all checked fine, 1 a problem was found, 2 the site could not be asked at all
# (or a refused URL); stopped by a signal (Ctrl-C, kill), 128 + its number. Its temporary files
# (the password among them) are removed however it ends.
set -eu

say() { printf '%s\n' "$*"; }
die() { echo "check-webspace.sh: $*" >&2; exit 2; }
user=
while [ $# -gt 0 ]; do
	case $1 in
	--user) [ $# -ge 2 ] || die "--user needs a name"; user=$2; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: check-webspace.sh [--user NAME] URL"
url=${1%/}
case $url in
http://* | https://*) ;;
*) die "$url: give the site's address with http:// or https://" ;;
esac
# The URL's host, lower case: after "//" and a "name@", before a port, path, query or fragment
# (an IPv6 address keeps its brackets).
host=${url#*://}
host=${host%%[/?#]*}
host=${host##*@}
case $host in
\[*) host=${host%%]*}] ;;
*) host=${host%%:*} ;;
esac
host=$(printf '%s' "$host" | tr '[:upper:]' '[:lower:]')
if [ -n "$user" ]; then
	case $url in
	https://*) ;;
	*)
		case $host in
		localhost | 127.0.0.1 | '[::1]') ;;
		*) die "--user sends your password: give the site's https:// address (http:// only for localhost, 127.0.0.1 or ::1)" ;;
		esac ;;
	esac
fi
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"
if [ -n "$user" ] && [ -z "${TEAMBOARD_PASSWORD:-}" ]; then
	die "--user: put the password into the environment variable TEAMBOARD_PASSWORD"
fi

# The temporary files (answers, the sign-in body with the password, the token) go with the
# script however it ends: a signal ends it through exit, which runs the EXIT trap.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
problems=0
problem() {
	say "PROBLEM: $1"
	say "  what to do: $2"
	problems=$((problems + 1))
}

# fetch PATH [curl options...]: the answer's status into $status, its Content-Type into $ctype,
# its body into $tmp/body. A request that gets no answer at all ends the check.
fetch() {
	path=$1
	shift
	if ! out=$(curl -sS -o "$tmp/body" -w '%{http_code} %{content_type}' --max-time 20 "$@" \
		"$url$path" 2>"$tmp/err"); then
		die "no answer from $url$path: $(cat "$tmp/err")"
	fi
	status=${out%% *}
	ctype=${out#* }
}
# json_text TEXT: TEXT with its backslashes and double quotes escaped for a JSON string.
json_text() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
is_json() { case $ctype in application/json*) return 0 ;; esac; return 1; }
body_has() { grep -q -- "$1" "$tmp/body"; }
is_script() { head -c 2 "$tmp/body" | grep -q '^#!'; }

# 1. The static files: the web root's .htaccess must be accepted.
fetch /
case $status in
200) say "ok: the site's start page answers (200)" ;;
500)
	problem "the start page answers 500: the web server refuses the web root's .htaccess" \
		"ask the host to allow .htaccess files with \"AllowOverride FileInfo Options=ExecCGI\" for your web space (their error log names the refused line)" ;;
*)
	problem "the start page answers $status, not Teamboard's index.html" \
		"run conf/shared-hosting/install-webspace.sh for this site's web root, and check that $url is the web space's own address (Teamboard must be the root of its (sub)domain)" ;;
esac

# 2. The programs' directory, asked directly: its .htaccess lets nothing through but the API.
fetch /teamboard-bin/teamboard.fcgi
bin_status=$status
case $status in
403) say "ok: teamboard-bin/ is closed to direct requests (403)" ;;
500)
	problem "Apache refuses teamboard-bin/.htaccess (500): the host does not let it allow programs (Options +ExecCGI)" \
		"ask the host for \"AllowOverride FileInfo Options=ExecCGI\" for your web space (\"Options not allowed here\" in their error log)" ;;
200)
	if is_script; then
		problem "teamboard-bin/teamboard.fcgi is sent as a file: the web server ignores .htaccess files" \
			"ask the host for \"AllowOverride FileInfo Options=ExecCGI\" for your web space (it looks like \"AllowOverride None\")"
	else
		problem "teamboard-bin/teamboard.fcgi answers 200 when asked directly" \
			"run conf/shared-hosting/install-webspace.sh again: teamboard-bin/.htaccess should refuse this (403)"
	fi ;;
404)
	if is_json; then
		# the program itself answered: nothing closed the directory (no mod_rewrite: below)
		say "  (teamboard-bin/ is open to direct requests: see the API's check below)"
	else
		problem "teamboard-bin/ is missing from the web space" \
			"run conf/shared-hosting/install-webspace.sh for this site's web root"
	fi ;;
*) problem "teamboard-bin/teamboard.fcgi answers $status when asked directly (403 expected)" \
	"see docs/shared-hosting.md, \"When the host lacks something\"" ;;
esac

# 3. The API through the web root's rewrite rules, and its database.
fetch /api/v1/health
api_ok=no
if is_json && body_has '"database": *"ok"' && [ "$status" = 200 ]; then
	say "ok: the API answers and reaches its database"
	api_ok=yes
elif is_json && body_has '"db_unavailable"'; then
	problem "Teamboard runs, but cannot reach its database (503 db_unavailable)" \
		"check \"database\" in teamboard.conf (host, port, dbname, user, password; sslmode=disable if the host's PostgreSQL has no TLS), over SSH, teamboard-admin --config ~/teamboard/teamboard.conf migrate connects the same way and prints the database's own error; ask the host whether their web servers may connect to that database"
elif [ "$status" = 403 ] && is_json && body_has '"host_setup"'; then
	problem "the host runs neither FastCGI nor CGI programs: the API is closed (403)" \
		"ask the host for mod_fcgid (FastCGI), or at least mod_cgid/mod_cgi (plain CGI)"
elif is_json && body_has '"host_setup"'; then
	problem "the web server has no mod_rewrite: nothing reaches Teamboard's programs" \
		"ask the host to enable mod_rewrite for your site"
elif [ "$status" = 200 ] && is_script; then
	problem "the API is sent as a file: the host runs neither FastCGI nor CGI programs" \
		"ask the host for mod_fcgid (FastCGI), or at least mod_cgid/mod_cgi (plain CGI); meanwhile run conf/shared-hosting/install-webspace.sh again: its teamboard-bin/.htaccess closes the programs' directory then"
elif [ "$status" = 404 ] && ! is_json; then
	if [ "$bin_status" = 200 ]; then
		say "  (the API is not found because the .htaccess files are ignored: see above)"
		problems=$((problems + 1))
	else
		problem "the web server ignores the .htaccess files: the API is not found (404)" \
			"ask the host for \"AllowOverride FileInfo Options=ExecCGI\" for your web space (it looks like \"AllowOverride None\"); and check that the web root's .htaccess has Teamboard's block (run install-webspace.sh)"
	fi
elif [ "$bin_status" = 500 ]; then
	say "  (the API answers $status because of teamboard-bin/.htaccess: see above)"
	problems=$((problems + 1))
else
	problem "the API answers $status ($ctype), not Teamboard's JSON: the program did not start" \
		"check the two paths in teamboard-bin/teamboard.fcgi (the program and teamboard.conf must exist, the program be executable and built for the host, e.g. Debian 12 with libpq5, libjson-c5, libfcgi0ldbl, libcrypt1); ask the host for the lines of their error log at this time"
fi

# 4. An over-size body gets the API's JSON 413 from a static error document.
if [ $api_ok = yes ]; then
	fetch /api/v1/sessions -X POST -H 'Content-Type: application/json' \
		-H 'Content-Length: 99999999999' -H 'Expect:' --data-binary ''
	if [ "$status" = 413 ] && is_json && body_has '"too_large"'; then
		say "ok: an over-size request gets the API's JSON 413"
	else
		problem "an over-size request gets $status ($ctype), not the API's JSON 413" \
			"check that teamboard-errors/too_large.json exists (run install-webspace.sh again) and that the host does not run files in teamboard-errors/ as programs"
	fi
fi

# 5. Live events: the web server must pass the event stream on as it comes.
if [ $api_ok = yes ] && [ -n "$user" ]; then
	printf '{"name":"%s","password":"%s"}' "$(json_text "$user")" "$(json_text "$TEAMBOARD_PASSWORD")" \
		>"$tmp/login"
	fetch /api/v1/sessions -X POST -H 'Content-Type: application/json' --data-binary "@$tmp/login"
	rm -f "$tmp/login"
	token=$(sed -n 's/.*"token" *: *"\([0-9a-f]\{64\}\)".*/\1/p' "$tmp/body")
	if [ "$status" != 201 ] || [ -z "$token" ]; then
		problem "could not sign in as $user ($status)" "check the name and TEAMBOARD_PASSWORD"
	else
		printf 'Authorization: Bearer %s\n' "$token" >"$tmp/auth"
		fetch /api/v1/boards -X POST -H "@$tmp/auth" -H 'Content-Type: application/json' \
			--data-binary '{"title":"check-webspace (removed after the check)"}'
		board=$(sed -n 's/^[^0-9]*"id" *: *\([0-9][0-9]*\).*/\1/p' "$tmp/body" | head -n 1)
		if [ "$status" != 201 ] || [ -z "$board" ]; then
			problem "could not make a board for the check ($status)" "see the API's answer: $(head -c 200 "$tmp/body")"
		else
			# The stream's first event (hello) comes at once; a web server that buffers holds it.
			curl -sS -N -o "$tmp/stream" --max-time 6 -H "@$tmp/auth" \
				-H 'Accept: text/event-stream' "$url/api/v1/boards/$board/events" 2>/dev/null || true
			if grep -q '^event: hello' "$tmp/stream"; then
				say "ok: live events arrive at once (the web server does not hold them back)"
			else
				problem "live events do not arrive: the web server holds the event stream back (mod_fcgid's output buffer)" \
					"ask the host for \"FcgidOutputBufferSize 0\" for your site; until then serve the streams as plain CGI: remove the \"#\" from the three lines at the end of teamboard-bin/.htaccess (needs mod_cgid or mod_cgi)"
			fi
			fetch "/api/v1/boards/$board" -X DELETE -H "@$tmp/auth"
		fi
		fetch /api/v1/sessions/current -X DELETE -H "@$tmp/auth"
	fi
elif [ $api_ok = yes ]; then
	say "not checked: live events (give --user NAME and TEAMBOARD_PASSWORD to check them)"
fi

if [ $problems -eq 0 ]; then
	say "All checks passed: $url serves Teamboard."
	exit 0
fi
say "$problems problem(s) found: docs/shared-hosting.md, \"When the host lacks something\", says more."
exit 1
