#!/bin/sh
# install-webspace.sh: puts Teamboard into a shared-hosting web space (docs/shared-hosting.md).
# Run it as the web space's owner, from an unpacked source tree:
#
#     sh conf/shared-hosting/install-webspace.sh [--others-may-read-conf] WEB_ROOT PROGRAM CONF
#
#   WEB_ROOT  the (sub)domain's document root, e.g. ~/public_html or ~/teamboard.example.org
#   PROGRAM   absolute path of teamboard.fcgi, OUTSIDE the web root, e.g. ~/teamboard/bin/teamboard.fcgi
#   CONF      absolute path of teamboard.conf, OUTSIDE the web root, e.g. ~/teamboard/teamboard.conf
#
# It copies web/'s files into WEB_ROOT, writes WEB_ROOT/.htaccess (conf/shared-hosting/htaccess,
# with CONF's max_body, default 65536) and WEB_ROOT/cgi-bin/ (the source tree's cgi-bin/: its
# .htaccess and the two entry scripts, with PROGRAM and CONF filled in, and
# conf/errors/too_large.json). Files of the same names are replaced; nothing else is touched.
# It does not copy the program or write the configuration: see the guide. Run it again after
# changing max_body.
#
# PROGRAM and CONF are compared with WEB_ROOT after resolving symbolic links (a web root that is
# a link, or a CONF reached through one, is still inside it), and a CONF that every local user
# may read (it holds the database password) loses the others' permissions, with a message,
# unless --others-may-read-conf says the host needs that (docs/shared-hosting.md, "Who reads
# teamboard.conf").
set -eu

die() { echo "install-webspace.sh: $*" >&2; exit 1; }
others_may_read=no
if [ "${1:-}" = --others-may-read-conf ]; then
	others_may_read=yes
	shift
fi
[ $# -eq 3 ] || die "usage: install-webspace.sh [--others-may-read-conf] WEB_ROOT PROGRAM CONF"
web_root=$1 program=$2 conf=$3
src=$(cd "$(dirname "$0")/../.." && pwd)

for p in "$web_root" "$program" "$conf"; do
	case $p in
	/*) ;;
	*) die "$p: give an absolute path" ;;
	esac
	case $p in
	*"'"* | *'&'* | *\\* | *'
'*) die "$p: quotes, &, backslashes and newlines are not supported in paths" ;;
	esac
done
[ -d "$web_root" ] || die "$web_root is not a directory"

# The path with every symbolic link resolved: GNU realpath -m (parts of it need not exist yet),
# else readlink -f (all but the last part must exist).
real() {
	realpath -m -- "$1" 2>/dev/null || readlink -f -- "$1" || die "$1: cannot resolve the path"
}
real_root=$(real "$web_root")
real_program=$(real "$program")
real_conf=$(real "$conf")
case $real_program/ in
"${real_root%/}"/*) die "$program is inside the web root ($real_root): anyone could download it" ;;
esac
case $real_conf/ in
"${real_root%/}"/*) die "$conf is inside the web root ($real_root): anyone could read the database password" ;;
esac
[ -f "$program" ] || echo "install-webspace.sh: warning: $program does not exist (yet)" >&2
if [ -f "$conf" ]; then
	# -L: the file's own mode, also when CONF is a link to it.
	if [ -z "$(find -L "$conf" -prune \( -perm -o=r -o -perm -o=w -o -perm -o=x \) -print)" ]; then
		:
	elif [ $others_may_read = yes ]; then
		echo "install-webspace.sh: warning: every local user can read $conf and its database" \
			"password (--others-may-read-conf)" >&2
	else
		chmod o-rwx -- "$real_conf" || die "$conf is open to every local user and its mode cannot be changed"
		echo "install-webspace.sh: $conf was open to every local user, and it holds the database" \
			"password: took the others' permissions away (chmod o-rwx; if the host runs Teamboard" \
			"as the web server's user, see --others-may-read-conf)" >&2
	fi
else
	echo "install-webspace.sh: warning: $conf does not exist (yet): make it mode 600 (or 640)" >&2
fi

# The static files.
(cd "$src/web" && find . -type d) | while IFS= read -r d; do
	mkdir -p "$web_root/$d"
	chmod 755 "$web_root/$d"
done
(cd "$src/web" && find . -type f) | while IFS= read -r f; do
	cp "$src/web/$f" "$web_root/$f"
	chmod 644 "$web_root/$f"
done

# max_body from CONF (the last "max_body = N" line), else the default.
max_body=
if [ -r "$conf" ]; then
	max_body=$(sed -n 's/^[[:space:]]*max_body[[:space:]]*=[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p' \
		"$conf" | tail -n 1)
fi
max_body=${max_body:-65536}
sed -e "s/-gt65536 /-gt$max_body /" "$src/conf/shared-hosting/htaccess" >"$web_root/.htaccess.tmp"
chmod 644 "$web_root/.htaccess.tmp"
mv -f "$web_root/.htaccess.tmp" "$web_root/.htaccess"

# The programs' directory. Mode 755 and no group/other write: suEXEC refuses anything else.
mkdir -p "$web_root/cgi-bin"
chmod 755 "$web_root/cgi-bin"
for f in cgi-bin/.htaccess conf/errors/too_large.json; do
	cp "$src/$f" "$web_root/cgi-bin/${f##*/}"
	chmod 644 "$web_root/cgi-bin/${f##*/}"
done
for name in teamboard.fcgi teamboard-stream.fcgi; do
	tmp="$web_root/cgi-bin/.$name.tmp"
	sed -e "s'@CONF@'$conf'" -e "s'@PROGRAM@'$program'" \
		"$src/cgi-bin/$name" >"$tmp"
	chmod 755 "$tmp"
	mv -f "$tmp" "$web_root/cgi-bin/$name"
done
echo "install-webspace.sh: installed into $web_root (program $program, config $conf, max_body $max_body)"
