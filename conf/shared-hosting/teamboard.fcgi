#!/bin/sh
# Teamboard's entry point in a shared-hosting web space (docs/shared-hosting.md), installed as
# teamboard-bin/teamboard.fcgi and teamboard-bin/teamboard-stream.fcgi.
#
# Apache runs this file as a FastCGI program (mod_fcgid) or, where FastCGI is not offered, as a
# plain CGI program. Either way it names the configuration file and becomes the real program;
# both live outside the web root, so neither can be downloaded. teamboard-stream.fcgi is an
# identical copy (mod_fcgid gives each file its own process class). The environment variable is
# set here, not with SetEnv: mod_fcgid passes SetEnv values with each request, not to the
# process, and suEXEC drops unknown variables.
#
# conf/shared-hosting/install-webspace.sh writes the two paths (and replaces both copies by
# renaming a new file over them, so a running copy is never changed under the shell reading it);
# by hand, replace @CONF@ and @PROGRAM@ with absolute paths.
TEAMBOARD_CONF='@CONF@'
export TEAMBOARD_CONF
if [ -z "${GATEWAY_INTERFACE:-}" ]; then
	# FastCGI (mod_fcgid starts us without a CGI environment): the program stays and serves
	# request after request.
	exec '@PROGRAM@'
fi
# Plain CGI: one request. Under mod_cgid the request body and the answer share one socket, and
# Linux resets a socket closed with unread data in it: Apache would lose the answer to every
# request the program answers without reading its body (401, 403, 413, 415). So what is left of
# the body is read afterwards; Apache ends it (EOF) once it has passed the whole body on.
'@PROGRAM@'
status=$?
cat >/dev/null
exit $status
