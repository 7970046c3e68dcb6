/* tb_stream: holding one browser's event stream for a board. The worker registers the stream,
 * LISTENs on the board's channel, replays the log after the client's resume point, then waits in
 * poll() on its PostgreSQL socket and on the client's connection until the client goes, the
 * stream reaches its lifetime, access is revoked, or the supervisor recycles it. */
#ifndef TB_STREAM_H
#define TB_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_app.h"
#include "tb_metrics.h"
#include "tb_stream_core.h" /* tb_stream_notify_header, TB_STREAM_TYPE_MAX */

/* Serves GET /boards/:id/events as text/event-stream for a caller who may view board_id. The
 * resume point comes from Last-Event-ID or ?last_event_id. Writes the response itself
 * (resp->streamed) except for the refusals, which it leaves in resp: 400 bad_request (a malformed
 * resume point, a body that could not be read), 413 too_large (a body over max_body), 404
 * not_found (the board was deleted since the caller's access check), 503 too_many_streams (over
 * the limits, tb_stream_refuse) and 503 db_unavailable / 500 internal (database failures). A
 * resume point the log cannot serve is not a refusal: it is answered 200 with a reset event. */
void tb_stream_serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id);
/* tb_stream_serve for a guest who follows board_id through the public link link_id (GET
 * /public/boards/:token/events, api_links.c), with no session: the events and the presence come in
 * their public form (no login names, sql/functions/links.sql), no editing announcements, guests
 * count against max_guest_streams (as one user), and the stream ends with revoked
 * {"reason":"link_deleted"} at the heartbeat that follows the link's deletion (the deletion sends
 * one at once), and where a member's would end with access_removed. */
void tb_stream_serve_guest(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id,
                           int64_t link_id);

/* The size of a board's channel name with its NUL. */
#define TB_STREAM_CHANNEL_MAX 32
/* Writes the name of board_id's NOTIFY channel, "board_<id>", the one its streams LISTEN on:
 * C's copy of board_channel() (sql/functions/common.sql), which names it for every sender. */
void tb_stream_channel(char out[TB_STREAM_CHANNEL_MAX], int64_t board_id);

/* Claims this worker's place among the streams and polls of this host (tb_metrics_hold against
 * max_streams, max_streams_per_user and max_streams_per_address, REMOTE_ADDR; for a guest, no
 * user: max_guest_streams in place of max_streams_per_user). false after
 * answering 503 too_many_streams (tb_stream_refuse). *counted false: no shared memory, nothing
 * was claimed and the caller counts some other way (a stream: in the registry, under a lock).
 * Release with tb_metrics_unhold() once the stream or poll has been written. */
bool tb_stream_hold(struct tb_app *app, const struct tb_req *req, enum tb_hold_kind kind, int64_t board_id,
                    struct tb_resp *resp, bool *counted);
/* The 503 too_many_streams reply with Retry-After, counted in teamboard_streams_refused_total. */
void tb_stream_refuse(struct tb_resp *resp);
/* Writes len bytes and flushes them; false when that failed, with *err = errno (ETIMEDOUT: the
 * transport's write_timeout passed, the client does not read). */
bool tb_stream_write_all(const struct tb_io *io, const char *data, size_t len, int *err);

/* The registration without shared memory: count and insert in one transaction after the
 * advisory locks (TB_STREAM_SQL_LOCK_REGISTRY on params[0], the host, and params[3], the user:
 * NULL for a guest, who count together). sql takes the n params (host, pid, board, user,
 * max_streams, max_streams_per_user or max_guest_streams, and the worker's also the link) and
 * returns the new row's id, or no row when a limit is reached. On TB_OK *out is its result. */
enum tb_err tb_stream_register_locked(struct tb_db *db, const char *sql, int n, const char *const *params,
                                      PGresult **out);

/* The advisory locks of the registry's counting, in a transaction: BEGIN, then
 * TB_STREAM_SQL_LOCK_REGISTRY on host and user (NULL: the guests). A statement after it sees every
 * registration (and, in a stream host, every poll's claim) that went before it on this host and of
 * this user. On failure nothing is left open. End with tb_stream_unlock_registry. */
enum tb_err tb_stream_lock_registry(struct tb_db *db, const char *host, const char *user);
/* COMMIT when err is TB_OK, else ROLLBACK; returns err, or the COMMIT's error. */
enum tb_err tb_stream_unlock_registry(struct tb_db *db, enum tb_err err);

/* The statements of a stream, shared by this worker and the stream host (lib/tb_host.c):
 * STATE ($1 board, $2 resume: last_seq, oldest kept seq, events after resume), LOCK_REGISTRY
 * ($1 host, $2 user), PRESENCE ($1 board, $2 user, $3 the user's streams on the board after the
 * change: {"viewers": [...], "guests": N}, announced when that is 1 or 0), PRESENCE_NOW ($1 board:
 * a presence payload), REPLAY ($1 board, $2 after: seq, type, event JSON, at most 500), SEEN ($1 row, $2
 * token: no row when the row is gone, else whether the session lasts), UNREGISTER ($1 row), ROLE
 * ($1 user, $2 board: the role, NULL when none). A guest's (a public link's: no login names,
 * sql/functions/links.sql): PRESENCE_GUEST ($1 board: announces, and returns what a guest is
 * shown), PRESENCE_NOW_GUEST ($1 board), REPLAY_GUEST (as REPLAY, the events' public form),
 * LINK_ALIVE ($1 link, $2 board: 'guest', NULL once the link or the board is gone). */
extern const char TB_STREAM_SQL_STATE[], TB_STREAM_SQL_LOCK_REGISTRY[], TB_STREAM_SQL_PRESENCE[],
	TB_STREAM_SQL_PRESENCE_NOW[], TB_STREAM_SQL_REPLAY[], TB_STREAM_SQL_SEEN[], TB_STREAM_SQL_UNREGISTER[],
	TB_STREAM_SQL_ROLE[], TB_STREAM_SQL_PRESENCE_GUEST[], TB_STREAM_SQL_PRESENCE_NOW_GUEST[],
	TB_STREAM_SQL_REPLAY_GUEST[], TB_STREAM_SQL_LINK_ALIVE[];

#endif
