/* tb_app: the route table and the request pipeline. Guards run in one fixed order for every
 * route: route (404/405), authentication (401), CSRF origin (403), body size (413), media type
 * (415), JSON syntax (400); field validation (422) and authorization (404/403) follow in the
 * handler, which knows its fields and its resource. */
#include "tb_app.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_json.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_route.h"

#define P TB_API_PREFIX
enum { AUTH = TB_ROUTE_AUTH, BODY = TB_ROUTE_BODY };

static const struct tb_route routes[] = {
	{TB_GET, P "/health", tb_api_health, TB_ROUTE_NO_DB},
	{TB_GET, P "/metrics", tb_api_metrics, TB_ROUTE_NO_DB},
	{TB_POST, P "/users", tb_api_users_create, BODY},
	{TB_GET, P "/me", tb_api_me, AUTH},
	{TB_POST, P "/sessions", tb_api_sessions_create, BODY},
	{TB_DELETE, P "/sessions/current", tb_api_sessions_delete, AUTH},
	{TB_GET, P "/teams", tb_api_teams_list, AUTH},
	{TB_POST, P "/teams", tb_api_teams_create, AUTH | BODY},
	{TB_GET, P "/teams/:id", tb_api_teams_get, AUTH},
	{TB_POST, P "/teams/:id/members", tb_api_members_add, AUTH | BODY},
	{TB_PATCH, P "/teams/:id/members/:id", tb_api_members_update, AUTH | BODY},
	{TB_DELETE, P "/teams/:id/members/:id", tb_api_members_remove, AUTH},
	{TB_GET, P "/boards", tb_api_boards_list, AUTH},
	{TB_POST, P "/boards", tb_api_boards_create, AUTH | BODY},
	{TB_GET, P "/boards/:id", tb_api_boards_get, AUTH},
	{TB_PATCH, P "/boards/:id", tb_api_boards_update, AUTH | BODY},
	{TB_DELETE, P "/boards/:id", tb_api_boards_delete, AUTH},
	{TB_POST, P "/boards/:id/items", tb_api_items_create, AUTH | BODY},
	{TB_GET, P "/boards/:id/items/:id", tb_api_items_get, AUTH},
	{TB_PATCH, P "/boards/:id/items/:id", tb_api_items_update, AUTH | BODY},
	{TB_DELETE, P "/boards/:id/items/:id", tb_api_items_delete, AUTH},
	{TB_POST, P "/boards/:id/items/:id/editing", tb_api_items_editing, AUTH},
	{TB_DELETE, P "/boards/:id/items/:id/editing", tb_api_items_editing, AUTH},
	{TB_GET, P "/boards/:id/events", tb_api_events, AUTH},
	{TB_GET, P "/boards/:id/viewers", tb_api_viewers, AUTH},
};

void tb_app_init(struct tb_app *app, const struct tb_config *cfg)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	tb_db_init(&app->db, cfg->database, "teamboard");
}

void tb_app_free(struct tb_app *app)
{
	tb_db_free(&app->db);
	json_object_put(app->body_json);
	app->body_json = NULL;
}

static bool unsafe(enum tb_method m)
{
	return m != TB_GET && m != TB_HEAD && m != TB_OPTIONS;
}

/* Authentication and CSRF: false after answering. */
static bool guard_auth(struct tb_app *app, const struct tb_route *route, struct tb_req *req, struct tb_resp *resp)
{
	if (route->flags & TB_ROUTE_AUTH) {
		enum tb_err err = tb_auth_session(app->cfg, &app->db, req);
		if (err == TB_ERR_NOT_FOUND) {
			tb_resp_set_header(resp, "WWW-Authenticate", "Bearer realm=\"teamboard\"");
			tb_resp_error(resp, 401, "unauthorized", "sign in first: no valid session");
			return false;
		}
		if (tb_api_failed(resp, err))
			return false;
	}
	/* Cookie-authenticated writes must come from our own pages. Anonymous writes (sign-up,
	 * sign-in) are checked when the browser says where they come from (login CSRF). */
	bool check = req->auth_by_cookie || (!(route->flags & TB_ROUTE_AUTH) && (req->origin || req->referer));
	if (unsafe(req->method) && check && !tb_auth_origin_allowed(app->cfg, req)) {
		tb_resp_error(resp, 403, "bad_origin", "cross-origin write refused (Origin is not allowed)");
		return false;
	}
	return true;
}

/* Body limits, media type and JSON syntax: false after answering. */
static bool guard_body(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	size_t max = app->cfg->max_body;
	if (req->content_length_bad) {
		tb_resp_error(resp, 400, "bad_request", "Content-Length is not a number");
		return false;
	}
	if (req->has_content_length && req->content_length > max) {
		tb_resp_error(resp, 413, "too_large", "request body is over the size limit");
		return false;
	}
	if (!tb_content_type_is_json(req->content_type)) {
		tb_resp_error(resp, 415, "unsupported_media_type", "send the body as application/json");
		return false;
	}
	enum tb_err err = tb_req_read_body(req, max);
	if (err == TB_ERR_TOO_LARGE) {
		tb_resp_error(resp, 413, "too_large", "request body is over the size limit");
		return false;
	}
	if (err == TB_ERR_TIMEOUT) {
		tb_resp_error(resp, 408, "timeout", "the request body did not arrive within body_timeout");
		return false;
	}
	if (err) {
		tb_resp_error(resp, 400, "bad_request", "the request body could not be read");
		return false;
	}
	if (tb_json_parse(req->body.data, req->body.len, TB_JSON_MAX_DEPTH, &app->body_json) != TB_OK) {
		tb_resp_error(resp, 400, "bad_json", "the body is not valid JSON");
		return false;
	}
	return true;
}

void tb_app_handle(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	tb_resp_set_header(resp, "Cache-Control", "no-store");
	tb_resp_set_header(resp, "X-Content-Type-Options", "nosniff");
	const struct tb_route *route = NULL;
	char allow[64];
	switch (tb_route_match(routes, sizeof routes / sizeof routes[0], req, &route, allow, sizeof allow)) {
	case TB_ROUTE_NO_PATH:
		tb_resp_error(resp, 404, "not_found", "no such resource");
		return;
	case TB_ROUTE_NO_METHOD:
		tb_resp_set_header(resp, "Allow", allow);
		tb_resp_error(resp, 405, "method_not_allowed", "this resource does not take that method");
		return;
	case TB_ROUTE_FOUND:
		break;
	}
	if (!guard_auth(app, route, req, resp))
		return;
	if ((route->flags & TB_ROUTE_BODY) && !guard_body(app, req, resp))
		goto out;
	route->handler(app, req, resp);
out:
	json_object_put(app->body_json);
	app->body_json = NULL;
}

/* ---- helpers shared by the handlers (tb_api.h) ---- */

enum tb_rank tb_api_rank(const char *role)
{
	static const char *const names[] = {"", "viewer", "editor", "admin", "owner"};
	for (int i = 1; role && i <= TB_RANK_OWNER; i++) {
		if (strcmp(role, names[i]) == 0)
			return (enum tb_rank)i;
	}
	return TB_RANK_NONE;
}

bool tb_api_failed(struct tb_resp *resp, enum tb_err err)
{
	if (err == TB_OK)
		return false;
	if (err == TB_ERR_DB_DOWN) {
		tb_resp_set_header(resp, "Retry-After", "5");
		tb_resp_error(resp, 503, "db_unavailable", "the database is unavailable; try again shortly");
	} else {
		tb_resp_error(resp, 500, "internal", "internal error");
	}
	return true;
}

bool tb_api_valid_body(struct tb_app *app, struct tb_resp *resp, const struct tb_field *fields, size_t n,
                       bool require)
{
	char msg[160];
	if (tb_json_validate(fields, n, app->body_json, require, msg, sizeof msg) != TB_OK) {
		tb_resp_error(resp, 422, "invalid", msg);
		return false;
	}
	if (!require && json_object_object_length(app->body_json) == 0) {
		tb_resp_error(resp, 422, "invalid", "body: no field to change");
		return false;
	}
	return true;
}

const char *tb_api_i64(char *buf, int64_t v)
{
	snprintf(buf, 21, "%" PRId64, v);
	return buf;
}

bool tb_api_load(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *sql, int n,
                 const char *const *params, enum tb_rank min_rank, bool check_if_match, struct tb_api_target *t)
{
	PGresult *r = NULL;
	if (tb_api_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return false;
	bool go_on = false;
	enum tb_rank rank = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE) {
		tb_resp_error(resp, 404, "not_found", "no such resource");
	} else if (rank < min_rank) {
		tb_resp_error(resp, 403, "forbidden", "your role does not allow this");
	} else {
		int64_t version = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		const char *json = PQgetvalue(r, 0, 2);
		if (check_if_match && !tb_if_match(req->if_match, version)) {
			struct json_object *current = json_tokener_parse(json);
			tb_resp_error_with(resp, 412, "version_mismatch", "changed by someone else since you read it",
			                   "current", current);
			tb_resp_etag(resp, version);
		} else {
			t->rank = rank;
			t->version = version;
			t->json = tb_xstrdup(json);
			go_on = true;
		}
	}
	PQclear(r);
	return go_on;
}

bool tb_api_query_reply(struct tb_app *app, struct tb_resp *resp, int status, const char *sql, int n,
                        const char *const *params)
{
	PGresult *r = NULL;
	if (tb_api_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return true;
	bool found = PQntuples(r) > 0;
	if (found)
		tb_api_reply_row(resp, status, r, 0, -1);
	PQclear(r);
	return found;
}

bool tb_api_query_tagged(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int status, const char *sql,
                         int n, const char *const *params)
{
	PGresult *r = NULL;
	if (tb_api_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return true;
	bool found = PQntuples(r) > 0;
	if (found) {
		char etag[48];
		snprintf(etag, sizeof etag, "\"%.32s\"", PQgetvalue(r, 0, 1));
		if (req->method == TB_GET && tb_if_none_match(req->if_none_match, etag))
			resp->status = 304;
		else
			tb_api_reply_row(resp, status, r, 0, -1);
		tb_resp_set_header(resp, "ETag", etag);
	}
	PQclear(r);
	return found;
}

void tb_api_reply_row(struct tb_resp *resp, int status, PGresult *r, int col, int etag_col)
{
	tb_resp_json_text(resp, status, PQgetvalue(r, 0, col), (size_t)PQgetlength(r, 0, col));
	if (etag_col >= 0)
		tb_resp_etag(resp, strtoll(PQgetvalue(r, 0, etag_col), NULL, 10));
}
