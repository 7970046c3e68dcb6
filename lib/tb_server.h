/* tb_server: the transports. FastCGI (libfcgi's FCGX_* API) on a listening descriptor, one plain
 * CGI request (RFC 3875), and a prefork pool that owns a Unix socket and keeps N children
 * serving it. Each adapts its transport into struct tb_req / tb_resp and calls tb_app_handle. */
#ifndef TB_SERVER_H
#define TB_SERVER_H

#include <stdbool.h>

#include "tb_app.h"
#include "tb_err.h"
#include "tb_request.h"

/* A REST reply whose body is larger than this counts against max_large_replies_per_address and
 * max_large_replies while it is written (tb_metrics_hold_reply): over it, a client that does not
 * read may hold a process behind a web server that does not buffer replies (Apache + mod_fcgid,
 * CGI). */
#define TB_SERVER_LARGE_REPLY ((size_t)256 * 1024)

/* How long a large reply still counts after the program stopped writing it without success (its
 * client did not read within write_timeout) or after its process died: Apache goes on holding the
 * client's connection, and mod_fcgid the process, until Apache's own write to the client fails,
 * which is up to Apache's Timeout after the client last read. That is the setting reply_linger
 * (seconds, default 25): conf/apache/teamboard.conf sets Timeout 20 s, and 5 s more covers the
 * data still on its way (the socket's buffer, Apache's brigade) when the program gave up. An admin
 * whose Apache has another Timeout sets reply_linger to it + 5 (a shared host's is the host's,
 * Debian's 300 s: there, under CGI, the process has ended but an Apache thread is held longer). */
#define TB_SERVER_REPLY_LINGER_MS(cfg) ((int64_t)(cfg)->reply_linger * 1000)

/* Serves FastCGI requests accepted on listen_fd (0 when spawned by the web server) until accept
 * fails. The app's database connection persists across requests. */
void tb_server_fcgi_loop(struct tb_app *app, int listen_fd);
/* Serves one CGI request: meta-variables through get, body on in_fd, response to out_fd. */
void tb_server_cgi_once(struct tb_app *app, tb_param_fn get, void *ctx, int in_fd, int out_fd);
/* Opens path as a FastCGI Unix socket (mode 0660, replacing a stale socket) and forks workers
 * children, restarting any that die, until SIGTERM or SIGINT; then stops them and removes the
 * socket. Returns in the parent with *child_fd = -1, or in a child with *child_fd = the
 * listening descriptor (the child then serves it and exits). SIGTERM, SIGINT and SIGCHLD are
 * blocked in the parent meanwhile (a SIGTERM already pending stops the pool) and unblocked in
 * the children. */
enum tb_err tb_server_prefork(const char *path, int workers, int *child_fd);

#endif
