#!/bin/sh
# install-webspace.sh: puts Teamboard into a shared-hosting web space, or upgrades it there
# (docs/shared-hosting.md). Run it as the web space's owner, from an unpacked source tree:
#
#     sh conf/shared-hosting/install-webspace.sh [--others-may-read-conf] [--programs DIR] \
#         WEB_ROOT PROGRAM CONF
#
#   WEB_ROOT  the (sub)domain's document root, e.g. ~/public_html or ~/teamboard.example.org
#   PROGRAM   absolute path of teamboard.fcgi, OUTSIDE the web root, e.g. ~/teamboard/bin/teamboard.fcgi
#   CONF      absolute path of teamboard.conf, OUTSIDE the web root, e.g. ~/teamboard/teamboard.conf
#   --programs DIR  also install the programs built in DIR (teamboard.fcgi, teamboard-admin,
#             teamboard-supervisor; e.g. fcgi after ./configure && make) into PROGRAM's directory
#
# What it writes, each file as a new file (mktemp, beside it) renamed over the old one (a running
# program or script is never changed in place: no "Text file busy", no shell reading a
# half-written script):
#   WEB_ROOT/                  web/'s files; files an earlier run installed that the new web/
#                              no longer has are removed (the list: WEB_ROOT/.htteamboard-files)
#   WEB_ROOT/.htaccess         conf/shared-hosting/htaccess with CONF's max_body (default 65536)
#   WEB_ROOT/teamboard-bin/    .htaccess (conf/shared-hosting/teamboard-bin.htaccess) and the two
#                              entry scripts teamboard.fcgi and teamboard-stream.fcgi (copies of
#                              conf/shared-hosting/teamboard.fcgi with PROGRAM and CONF filled in)
#   WEB_ROOT/teamboard-errors/ .htaccess (conf/shared-hosting/teamboard-errors.htaccess) and the
#                              JSON answers of conf/errors/ (too_large.json, no_rewrite.json) and
#                              conf/shared-hosting/no_cgi.json
# In the three .htaccess files it owns only the block from "# BEGIN Teamboard" to
# "# END Teamboard": that block is replaced, every other line is kept where it is; a file without
# the block gets it at the top. Nothing else in WEB_ROOT is touched. Run it again after changing
# max_body, moving things, or unpacking a newer version (the upgrade).
#
# An older layout (the programs in WEB_ROOT/cgi-bin/, which stock hosts map elsewhere) is moved:
# the old .htaccess's Teamboard part becomes the block (a copy of the old file is kept as
# .htaccess.teamboard-old), Teamboard's files in cgi-bin/ are removed (the directory too when
# nothing else is left in it), and a "SetHandler cgi-script" un-commented in cgi-bin/.htaccess
# is carried over to teamboard-bin/.htaccess.
#
# PROGRAM and CONF are compared with WEB_ROOT after resolving symbolic links (a web root that is
# a link, or a CONF reached through one, is still inside it), and a CONF that every local user
# may read (it holds the database password) loses the others' permissions, with a message,
# unless --others-may-read-conf says the host needs that (docs/shared-hosting.md, "Who reads
# teamboard.conf").
#
# Symbolic links: in a shared web space another program of the account (a compromised PHP
# application, say) can put links where this script writes. It refuses, before changing
# anything, a destination in the web space (a file, or a directory it writes into) or an
# installed program that is a symbolic link; its new files are made with mktemp (never a name
# known in advance) and renamed into place; old files it removes are skipped, with a message,
# when they are, or are inside, a symbolic link.
set -eu

die() { echo "install-webspace.sh: $*" >&2; exit 1; }
say() { echo "install-webspace.sh: $*" >&2; }
# The temporary file being written (removed if the script stops), and a private directory for
# the script's own intermediate files, outside the web space.
pending=
work=
trap 'rm -f -- "$pending"; [ -z "$work" ] || rm -rf -- "$work"' EXIT
trap 'exit 1' HUP INT TERM
others_may_read=no
programs_dir=
while [ $# -gt 0 ]; do
	case $1 in
	--others-may-read-conf) others_may_read=yes; shift ;;
	--programs) [ $# -ge 2 ] || die "--programs needs a directory"; programs_dir=$2; shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 3 ] || die "usage: install-webspace.sh [--others-may-read-conf] [--programs DIR] WEB_ROOT PROGRAM CONF"
web_root=$1 program=$2 conf=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
BEGIN='# BEGIN Teamboard'
END='# END Teamboard'

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
work=$(mktemp -d)
if [ -n "$programs_dir" ]; then
	for name in teamboard.fcgi teamboard-admin; do
		[ -f "$programs_dir/$name" ] || die "$programs_dir/$name: no such program (build first: ./configure && make)"
	done
fi

# refuse_link PATH: stops, before anything is written, when PATH is a symbolic link.
refuse_link() {
	if [ -L "$1" ]; then
		die "$1 is a symbolic link: refusing to write through it (in a shared web space another" \
			"program may have put it there); see where it points (ls -l), remove it, and run again"
	fi
}
# Every destination in the web space, and the programs' (--programs), checked before any change.
(cd "$src/web" && find . -type d | sed -n 's|^\./||p' | LC_ALL=C sort) >"$work/dirs"
(cd "$src/web" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$work/files"
while IFS= read -r p; do
	refuse_link "$web_root/$p"
done <"$work/dirs"
while IFS= read -r p; do
	refuse_link "$web_root/$p"
done <"$work/files"
for p in .htaccess .htaccess.teamboard-old .htteamboard-files teamboard-errors \
	teamboard-errors/.htaccess teamboard-errors/too_large.json teamboard-errors/no_rewrite.json \
	teamboard-errors/no_cgi.json \
	teamboard-bin teamboard-bin/.htaccess teamboard-bin/teamboard.fcgi \
	teamboard-bin/teamboard-stream.fcgi; do
	refuse_link "$web_root/$p"
done
if [ -n "$programs_dir" ]; then
	for name in teamboard.fcgi teamboard-admin teamboard-supervisor; do
		refuse_link "$(dirname "$program")/$name"
	done
	refuse_link "$program"
fi

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
if [ -f "$conf" ]; then
	# -L: the file's own mode, also when CONF is a link to it.
	if [ -z "$(find -L "$conf" -prune \( -perm -o=r -o -perm -o=w -o -perm -o=x \) -print)" ]; then
		:
	elif [ $others_may_read = yes ]; then
		say "warning: every local user can read $conf and its database password (--others-may-read-conf)"
	else
		chmod o-rwx -- "$real_conf" || die "$conf is open to every local user and its mode cannot be changed"
		say "$conf was open to every local user, and it holds the database" \
			"password: took the others' permissions away (chmod o-rwx; if the host runs Teamboard" \
			"as the web server's user, see --others-may-read-conf)"
	fi
else
	say "warning: $conf does not exist (yet): make it mode 600 (or 640)"
fi

# put SRC DEST MODE: DEST becomes a copy of SRC by renaming a new file over it, made by mktemp
# in DEST's directory (a new name each time: nothing planted there in advance is written through;
# ".ht" first: Apache never serves it meanwhile).
put() {
	refuse_link "$2"
	[ ! -d "$2" ] || die "$2 is a directory; a file of Teamboard's belongs there: move it away and run again"
	pending=$(mktemp -- "$(dirname -- "$2")/.htteamboard-new.XXXXXX")
	cat -- "$1" >"$pending"
	chmod "$3" "$pending"
	mv -f -- "$pending" "$2"
	pending=
}
# make_dir DIR: DIR exists, mode 755 (not a link: refused).
make_dir() {
	refuse_link "$1"
	mkdir -p -- "$1"
	chmod 755 "$1"
}

# The programs themselves (--programs), each renamed over the old one: a running teamboard.fcgi
# keeps its (now unnamed) file and mod_fcgid starts the new one for new processes.
if [ -n "$programs_dir" ]; then
	bin_dir=$(dirname "$program")
	mkdir -p "$bin_dir"
	for name in teamboard.fcgi teamboard-admin teamboard-supervisor; do
		[ -f "$programs_dir/$name" ] || continue
		put "$programs_dir/$name" "$bin_dir/$name" 755
	done
	if [ "$(basename "$program")" != teamboard.fcgi ]; then
		put "$programs_dir/teamboard.fcgi" "$program" 755
	fi
fi
[ -f "$program" ] || say "warning: $program does not exist (yet)"

# The static files, and away with those an earlier run installed that web/ no longer has.
# through_link REL: true when WEB_ROOT/REL or a directory on the way to it (below WEB_ROOT) is a
# symbolic link.
through_link() {
	rel=$1
	while :; do
		[ ! -L "$web_root/$rel" ] || return 0
		case $rel in
		*/*) rel=${rel%/*} ;;
		*) return 1 ;;
		esac
	done
}
manifest="$web_root/.htteamboard-files"
while IFS= read -r d; do
	make_dir "$web_root/$d"
done <"$work/dirs"
while IFS= read -r f; do
	put "$src/web/$f" "$web_root/$f" 644
done <"$work/files"
if [ -f "$manifest" ]; then
	LC_ALL=C sort "$manifest" | LC_ALL=C comm -23 - "$work/files" >"$work/gone"
	while IFS= read -r f; do
		case $f in
		'' | /* | .. | ../* | */../* | *'/..') continue ;;
		esac
		if through_link "$f"; then
			say "left $web_root/$f alone: it is, or is inside, a symbolic link (not Teamboard's)"
			continue
		fi
		rm -f -- "${web_root:?}/$f"
		d=$(dirname "$f")
		while [ "$d" != . ] && rmdir -- "$web_root/$d" 2>/dev/null; do
			d=$(dirname "$d")
		done
	done <"$work/gone"
fi
put "$work/files" "$manifest" 644

# merge_block TEMPLATE TARGET: TARGET gets TEMPLATE's block ("# BEGIN Teamboard" to
# "# END Teamboard"). An existing block is replaced, the lines around it stay; a TARGET without
# one gets it at the top; a new TARGET is the whole TEMPLATE (with the lines after its block).
merge_block() {
	refuse_link "$2"
	tmp="$work/merged"
	sed -n "/^$BEGIN\$/,/^$END\$/p" "$1" >"$work/block"
	if [ ! -f "$2" ]; then
		cp -- "$1" "$tmp"
	else
		begins=$(grep -c "^$BEGIN\$" "$2" || true)
		ends=$(grep -c "^$END\$" "$2" || true)
		if [ "$begins" = 0 ] && [ "$ends" = 0 ]; then
			{ cat "$work/block"; echo; cat "$2"; } >"$tmp"
		elif [ "$begins" = 1 ] && [ "$ends" = 1 ] &&
			[ "$(grep -n "^$BEGIN\$" "$2" | cut -d: -f1)" -lt "$(grep -n "^$END\$" "$2" | cut -d: -f1)" ]; then
			awk -v block="$work/block" -v b="$BEGIN" -v e="$END" '
				$0 == b { while ((getline line < block) > 0) print line; skip = 1; next }
				skip && $0 == e { skip = 0; next }
				!skip { print }' "$2" >"$tmp"
		else
			die "$2: expected one \"$BEGIN\" line and after it one \"$END\" line; put them right by hand (or remove both) and run again"
		fi
	fi
	put "$tmp" "$2" 644
}

# An older layout's root .htaccess: Teamboard's part, from its first to its last line, becomes
# the block; what the customer added before or after stays.
old_first='^# Teamboard in a shared-hosting web space: the web root'
old_last='^RewriteRule \^api/ cgi-bin/teamboard\.fcgi \[L\]$'
if [ -f "$web_root/.htaccess" ] && ! grep -q "^$BEGIN\$" "$web_root/.htaccess" &&
	grep -q "$old_first" "$web_root/.htaccess" && grep -q "$old_last" "$web_root/.htaccess"; then
	cp -- "$web_root/.htaccess" "$work/old-htaccess"
	put "$work/old-htaccess" "$web_root/.htaccess.teamboard-old" 644
	awk -v first="$old_first" -v last="$old_last" -v b="$BEGIN" -v e="$END" '
		!seen && $0 ~ first { print b; inside = 1; seen = 1; next }
		inside && $0 ~ last { print e; inside = 0; next }
		!inside { print }' "$work/old-htaccess" >"$work/new-htaccess"
	put "$work/new-htaccess" "$web_root/.htaccess" 644
	say "the older layout's .htaccess became the Teamboard block (the old file: .htaccess.teamboard-old)"
fi

# max_body from CONF (the last "max_body = N" line, a comment after it allowed), else the default.
max_body=
if [ -r "$conf" ]; then
	max_body=$(sed -n 's/^[[:space:]]*max_body[[:space:]]*=[[:space:]]*\([0-9][0-9]*\)[[:space:]]*\(#.*\)\{0,1\}$/\1/p' \
		"$conf" | tail -n 1)
fi
max_body=${max_body:-65536}

# Teamboard's fixed answers: static files where nothing is run.
make_dir "$web_root/teamboard-errors"
merge_block "$src/conf/shared-hosting/teamboard-errors.htaccess" "$web_root/teamboard-errors/.htaccess"
for f in too_large.json no_rewrite.json; do
	put "$src/conf/errors/$f" "$web_root/teamboard-errors/$f" 644
done
put "$src/conf/shared-hosting/no_cgi.json" "$web_root/teamboard-errors/no_cgi.json" 644

# The programs' directory. Mode 755 and no group/other write: suEXEC refuses anything else.
bin="$web_root/teamboard-bin"
make_dir "$bin"
fresh_bin_htaccess=no
[ -f "$bin/.htaccess" ] || fresh_bin_htaccess=yes
merge_block "$src/conf/shared-hosting/teamboard-bin.htaccess" "$bin/.htaccess"
old="$web_root/cgi-bin"
if [ $fresh_bin_htaccess = yes ] && [ ! -L "$old" ] && [ ! -L "$old/.htaccess" ] && [ -f "$old/.htaccess" ] &&
	grep -q '^[[:space:]]*SetHandler[[:space:]][[:space:]]*cgi-script' "$old/.htaccess"; then
	{
		cat -- "$bin/.htaccess"
		printf '\n# Carried over from cgi-bin/.htaccess: event streams as plain CGI.\n<Files "teamboard-stream.fcgi">\n    SetHandler cgi-script\n</Files>\n'
	} >"$work/bin-htaccess"
	put "$work/bin-htaccess" "$bin/.htaccess" 644
	say "kept your choice from cgi-bin/.htaccess: event streams run as plain CGI (teamboard-bin/.htaccess)"
fi
sed -e "s'@CONF@'$conf'" -e "s'@PROGRAM@'$program'" \
	"$src/conf/shared-hosting/teamboard.fcgi" >"$work/entry"
for name in teamboard.fcgi teamboard-stream.fcgi; do
	put "$work/entry" "$bin/$name" 755
done

# The web root's .htaccess last: from here on the API goes to teamboard-bin/.
sed -e "s/-gt65536 /-gt$max_body /" "$src/conf/shared-hosting/htaccess" >"$work/htaccess"
merge_block "$work/htaccess" "$web_root/.htaccess"

# The older layout's cgi-bin/: Teamboard's files go (only when they are Teamboard's own; links,
# and anything in a cgi-bin/ that is a link, stay).
if [ -L "$old" ]; then
	say "left $old alone: it is a symbolic link (not Teamboard's)"
elif [ ! -L "$old/teamboard.fcgi" ] && [ -f "$old/teamboard.fcgi" ] &&
	grep -q '^TEAMBOARD_CONF=' "$old/teamboard.fcgi"; then
	for f in teamboard.fcgi teamboard-stream.fcgi too_large.json; do
		if [ -L "$old/$f" ]; then
			say "left $old/$f alone: it is a symbolic link (not Teamboard's)"
		else
			rm -f -- "${old:?}/$f"
		fi
	done
	if [ ! -L "$old/.htaccess" ] && [ -f "$old/.htaccess" ] &&
		grep -q "^# Teamboard's programs in a shared-hosting web space" "$old/.htaccess"; then
		rm -f -- "$old/.htaccess"
	fi
	if rmdir -- "$old" 2>/dev/null; then
		say "moved from the older layout: cgi-bin/ removed, the programs are in teamboard-bin/"
	else
		say "moved from the older layout: Teamboard's files left cgi-bin/, which still holds other files"
	fi
fi
echo "install-webspace.sh: installed into $web_root (program $program, config $conf, max_body $max_body)"
