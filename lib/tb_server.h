/* tb_server: the transports. FastCGI (libfcgi's FCGX_* API) on a listening descriptor, one plain
 * CGI request (RFC 3875), and a prefork pool that owns a Unix socket and keeps N children
 * serving it. Each adapts its transport into struct tb_req / tb_resp and calls tb_app_handle. */
#ifndef TB_SERVER_H
#define TB_SERVER_H

#include <stdbool.h>

#include "tb_app.h"
#include "tb_err.h"
#include "tb_request.h"

/* A REST reply whose body is larger than this counts against max_large_replies_per_address while
 * it is written (tb_metrics_hold_reply): over it, a client that does not read may hold a process
 * behind a web server that does not buffer replies (Apache + mod_fcgid, CGI). */
#define TB_SERVER_LARGE_REPLY ((size_t)256 * 1024)

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
