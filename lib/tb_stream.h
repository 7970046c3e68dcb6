/* tb_stream: holding one browser's event stream for a board. The worker registers the stream,
 * LISTENs on the board's channel, replays the log after the client's resume point, then waits in
 * poll() on its PostgreSQL socket and on the client's connection until the client goes, the
 * stream reaches its lifetime, access is revoked, or the supervisor recycles it. */
#ifndef TB_STREAM_H
#define TB_STREAM_H

#include <stdint.h>

#include "tb_app.h"

/* Serves GET /boards/:id/events as text/event-stream for a caller who may view board_id. The
 * resume point comes from Last-Event-ID or ?last_event_id. Writes the response itself
 * (resp->streamed) except for refusals (400, 503), which it leaves in resp. */
void tb_stream_serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id);

#endif
