/* api_events: a board's events. GET /boards/:id/events streams them (Accept: text/event-stream,
 * see tb_stream.c) or returns them from the log as JSON (the polling fallback and the activity
 * history); GET /boards/:id/viewers lists who has the board open. Viewers and up may read both. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_metrics.h"
#include "tb_sse.h"
#include "tb_stream.h"

static const char SQL_ROLE[] = "SELECT board_role($1::bigint, $2::bigint), 0, ''";

/* 404 unless the caller may view the board. */
static bool may_view(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, char uid[24], char bid[24])
{
	const char *params[] = {tb_api_i64(uid, req->user_id), tb_api_i64(bid, req->ids[0])};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_ROLE, 2, params, TB_RANK_VIEWER, false, &t))
		return false;
	free(t.json);
	return true;
}

/* after = N: events with seq > N, oldest first, at most limit. A resume point older than what
 * the log keeps answers 410 reset (reload the board). */
static const char SQL_POLL[] =
	"SELECT b.last_seq, (SELECT min(seq) FROM board_events e WHERE e.board_id = b.id),"
	"       (SELECT coalesce(jsonb_agg(event_json(e.board_id, e.seq, e.type, e.actor_id, e.created_at, e.payload)"
	"                                  ORDER BY e.seq), '[]'::jsonb)"
	"          FROM (SELECT * FROM board_events e WHERE e.board_id = b.id AND e.seq > $2::bigint"
	"                 ORDER BY e.seq LIMIT $3::int) e)"
	" FROM boards b WHERE b.id = $1::bigint";

static void poll_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *bid)
{
	int64_t after = 0, limit = 100;
	bool explicit_after = false;
	enum tb_err e1 = tb_query_int(req->query, "after", 0, INT64_MAX, &after);
	enum tb_err e2 = tb_query_int(req->query, "limit", 1, 1000, &limit);
	if ((e1 && e1 != TB_ERR_NOT_FOUND) || (e2 && e2 != TB_ERR_NOT_FOUND)) {
		tb_resp_error(resp, 400, "bad_request", "after must be an integer >= 0 and limit 1 to 1000");
		return;
	}
	explicit_after = e1 == TB_OK;
	char a[24], l[24];
	const char *params[] = {bid, tb_api_i64(a, after), tb_api_i64(l, limit)};
	PGresult *r = NULL;
	if (tb_api_failed(resp, tb_db_query(&app->db, SQL_POLL, 3, params, &r)))
		return;
	if (PQntuples(r) != 1) { /* deleted since may_view() */
		PQclear(r);
		tb_resp_error(resp, 404, "not_found", "no such resource");
		return;
	}
	tb_metrics_add(TB_M_POLLS, 1);
	int64_t last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t min = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	struct json_object *extra = json_object_new_int64(last);
	if (explicit_after && (after > last || (after < last && (min < 0 || min > after + 1)))) {
		tb_resp_error_with(resp, 410, "reset", "those events are no longer kept; reload the board",
		                   "last_event_id", extra);
	} else {
		struct json_object *body = json_object_new_object();
		struct json_object *events = json_tokener_parse(PQgetvalue(r, 0, 2));
		size_t n = json_object_array_length(events);
		json_object_object_add(body, "events", events);
		json_object_object_add(body, "last_event_id", extra);
		int64_t upto = n ? json_object_get_int64(json_object_object_get(json_object_array_get_idx(events, n - 1), "seq"))
		                 : after;
		json_object_object_add(body, "more", json_object_new_boolean(upto < last));
		tb_resp_json(resp, 200, body);
		json_object_put(body);
	}
	PQclear(r);
}

void tb_api_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	if (!may_view(app, req, resp, uid, bid))
		return;
	if (tb_sse_accepts(req->accept))
		tb_stream_serve(app, req, resp, req->ids[0]);
	else
		poll_events(app, req, resp, bid);
}

static const char SQL_VIEWERS[] = "SELECT jsonb_build_object('viewers', board_viewers($1::bigint))";

void tb_api_viewers(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	if (!may_view(app, req, resp, uid, bid))
		return;
	const char *params[] = {bid};
	tb_api_query_reply(app, resp, 200, SQL_VIEWERS, 1, params);
}
