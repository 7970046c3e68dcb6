/* api_events: a board's events. GET /boards/:id/events streams them (Accept: text/event-stream,
 * see tb_stream.c) or returns them from the log as JSON (the polling fallback and the activity
 * history); GET /boards/:id/viewers lists who has the board open. Viewers and up may read both.
 * A public link's guest gets the same two answers in their public form (tb_api_events_serve,
 * called by api_links.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_sse.h"
#include "tb_stream.h"

static const char SQL_ROLE[] = "SELECT board_role($1::bigint, $2::bigint), 0, ''";

/* 404 unless the caller may view the board. */
static bool may_view(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, char uid[24], char bid[24])
{
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_ROLE, 2, params, TB_RANK_VIEWER, false, &t))
		return false;
	free(t.json);
	return true;
}

/* after = N: events with seq > N, oldest first, at most limit, and only as many as fit in $4
 * bytes of event text (each one's length plus a comma), but always the first: a page never stops
 * before its first event, so paging moves on. A resume point older than what the log keeps
 * answers 410 reset (reload the board). One row per event, ordered; one row with NULL seq when
 * there are none; no row when the board is gone. */
#define SQL_POLL_OF(event_json)                                                                         \
	"WITH e AS (SELECT e.seq, " event_json                                                          \
	"(e.board_id, e.seq, e.type, e.actor_id, e.created_at, e.payload)::text AS j"                   \
	"             FROM board_events e WHERE e.board_id = $1::bigint AND e.seq > $2::bigint"         \
	"            ORDER BY e.seq LIMIT $3::int),"                                                    \
	"     s AS (SELECT seq, j, sum(octet_length(j) + 1) OVER (ORDER BY seq) AS total,"              \
	"                  row_number() OVER (ORDER BY seq) AS n FROM e)"                               \
	" SELECT b.last_seq, (SELECT min(seq) FROM board_events x WHERE x.board_id = b.id), s.seq, s.j" \
	"   FROM boards b LEFT JOIN s ON s.n = 1 OR s.total <= $4::bigint"                              \
	"  WHERE b.id = $1::bigint ORDER BY s.seq"
static const char SQL_POLL[] = SQL_POLL_OF("event_json");
/* A guest's page: the events without login names (sql/functions/links.sql). */
static const char SQL_POLL_PUBLIC[] = SQL_POLL_OF("public_event_json");

/* The body's own bytes around the events: {"events":[...],"last_event_id":N,"more":false} */
#define POLL_ENVELOPE 96

/* The bytes of event text a page may carry (max_reply is at least 65536). */
static size_t poll_budget(const struct tb_config *cfg)
{
	return cfg->max_reply > POLL_ENVELOPE ? cfg->max_reply - POLL_ENVELOPE : 0;
}

/* A poll parameter: absent (TB_ERR_NOT_FOUND, *out untouched), or "0" or an id-like decimal (no
 * sign, no leading zero) in [min, max]; anything else (a bad %-escape too) is TB_ERR_INVALID. */
static enum tb_err poll_param(const char *query, const char *name, int64_t min, int64_t max, int64_t *out)
{
	char *v = NULL;
	enum tb_err err = tb_query_get(query, name, &v);
	if (err == TB_ERR_NOT_FOUND)
		return err;
	int64_t n = 0;
	bool ok = err == TB_OK && (strcmp(v, "0") == 0 || tb_parse_id(v, strlen(v), &n)) && n >= min && n <= max;
	free(v);
	if (!ok)
		return TB_ERR_INVALID;
	*out = n;
	return TB_OK;
}

/* Writes the reply itself (resp->streamed), so that the poll's held slot lasts until the client
 * has it, and a client that does not read in write_timeout is counted (slow_client). */
static void write_reply(struct tb_req *req, struct tb_resp *resp)
{
	char len[24];
	snprintf(len, sizeof len, "%zu", resp->body.len);
	tb_resp_set_header(resp, "Content-Length", len);
	struct tb_buf out = {0};
	tb_resp_head(resp, &out);
	tb_buf_append(&out, resp->body.data, resp->body.len);
	int err = 0;
	if (!tb_stream_write_all(&req->io, out.data, out.len, &err)) {
		TB_LOG(TB_LOG_INFO, "poll reply not written: %s", strerror(err));
		if (err == ETIMEDOUT)
			tb_metrics_add(TB_M_CLOSED_SLOW_CLIENT, 1);
	}
	tb_buf_free(&out);
	resp->streamed = true;
}

/* The page: events as the log has them (their text is not parsed again), stopped before the
 * reply would pass max_reply; "more" says whether the log goes on after it. */
static void poll_page(struct tb_app *app, PGresult *r, int64_t after, int64_t last, struct tb_resp *resp)
{
	size_t budget = poll_budget(app->cfg);
	struct tb_buf body = {0};
	int64_t upto = after;
	tb_buf_puts(&body, "{\"events\":[");
	for (int i = 0; i < PQntuples(r) && !PQgetisnull(r, i, 2); i++) {
		size_t len = (size_t)PQgetlength(r, i, 3);
		if (i > 0 && body.len + len + 1 > budget)
			break; /* SQL_POLL stopped at the budget already; this keeps it exact */
		if (i > 0)
			tb_buf_puts(&body, ",");
		tb_buf_append(&body, PQgetvalue(r, i, 3), len);
		upto = strtoll(PQgetvalue(r, i, 2), NULL, 10);
	}
	tb_buf_printf(&body, "],\"last_event_id\":%" PRId64 ",\"more\":%s}", last, upto < last ? "true" : "false");
	tb_resp_json_text(resp, 200, body.data, body.len);
	tb_buf_free(&body);
}

static void poll_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id, bool guest)
{
	char bid[24];
	tb_i64(bid, board_id);
	int64_t after = 0, limit = 100;
	enum tb_err e1 = poll_param(req->query, "after", 0, INT64_MAX, &after);
	enum tb_err e2 = poll_param(req->query, "limit", 1, 1000, &limit);
	if ((e1 && e1 != TB_ERR_NOT_FOUND) || (e2 && e2 != TB_ERR_NOT_FOUND)) {
		tb_resp_fail(resp, TB_E_BAD_POLL);
		return;
	}
	bool explicit_after = e1 == TB_OK, counted;
	/* A poll holds its worker like a stream while it reads and writes: it counts the same.
	 * Without shared memory polls are not counted (the registry has no row for them). */
	if (!tb_stream_hold(app, req, TB_HOLD_POLL, board_id, resp, &counted))
		return;
	char a[24], l[24], m[24];
	const char *params[] = {bid, tb_i64(a, after), tb_i64(l, limit), tb_i64(m, (int64_t)poll_budget(app->cfg))};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, guest ? SQL_POLL_PUBLIC : SQL_POLL, 4, params, &r)))
		goto out;
	if (PQntuples(r) == 0) { /* deleted since may_view() */
		tb_resp_fail(resp, TB_E_NOT_FOUND);
		goto out;
	}
	tb_metrics_add(TB_M_POLLS, 1);
	int64_t last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t min = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (explicit_after && (after > last || (after < last && (min < 0 || min > after + 1))))
		tb_resp_fail_with(resp, TB_E_RESET, "last_event_id", json_object_new_int64(last));
	else
		poll_page(app, r, after, last, resp);
	write_reply(req, resp);
out:
	PQclear(r);
	tb_metrics_unhold();
}

void tb_api_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	if (!may_view(app, req, resp, uid, bid))
		return;
	tb_api_events_serve(app, req, resp, req->ids[0], 0);
}

void tb_api_events_serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id,
                         int64_t link_id)
{
	if (tb_sse_accepts(req->accept) && app->stream_serve) /* a stream host's (tb_host.c) */
		app->stream_serve(app, req, resp, board_id, link_id);
	else if (tb_sse_accepts(req->accept) && link_id)
		tb_stream_serve_guest(app, req, resp, board_id, link_id);
	else if (tb_sse_accepts(req->accept))
		tb_stream_serve(app, req, resp, board_id);
	else
		poll_events(app, req, resp, board_id, link_id != 0);
}

static const char SQL_VIEWERS[] =
	"SELECT jsonb_build_object('viewers', board_viewers($1::bigint), 'guests', board_guests($1::bigint))";

void tb_api_viewers(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	if (!may_view(app, req, resp, uid, bid))
		return;
	const char *params[] = {bid};
	tb_api_query_reply(app, resp, 200, SQL_VIEWERS, 1, params);
}
