/* tb_host: the stream host (issue 13), many live streams in one process. One thread runs an
 * epoll loop over the FastCGI connections of the stream socket (each connection one stream of
 * GET /api/v1/boards/N/events, spoken with lib/tb_fcgi_rec.c) and over ONE PostgreSQL connection
 * that LISTENs on the channels of the boards with a local stream, fanning each notification out
 * to that board's streams; a second thread with its own connection (the query pool) runs every
 * stream's own queries, so that a new stream's access check, registration or replay never delays
 * the fan-out. What a stream decides and writes is lib/tb_stream_core.c's, as in the worker. */
#ifndef TB_HOST_H
#define TB_HOST_H

#include "tb_config.h"
#include "tb_err.h"

/* Creates the Unix socket path (an old socket file there is replaced), listening with a large
 * backlog; *fd is the listening descriptor. */
enum tb_err tb_host_listen(const char *path, int *fd);

/* Serves streams accepted on listen_fd until SIGTERM or SIGINT; then ends every stream, removes
 * this process's registry rows and returns 0 (1 when it could not start). */
int tb_host_run(const struct tb_config *cfg, int listen_fd);

#endif
