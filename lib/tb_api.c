/* tb_api: the route table of /api/v1 (which handler serves each method and path, and which guards
 * tb_app runs before it) and the helpers the handlers (api_*.c, tb_stream.c) share. */
#include "tb_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_metrics.h"
#include "tb_route.h"

#define P TB_API_PREFIX
enum { AUTH = TB_ROUTE_AUTH, BODY = TB_ROUTE_BODY };

static const struct tb_route routes[] = {
	{TB_GET, P "/health", tb_api_health, 0},
	{TB_GET, P "/metrics", tb_api_metrics, 0},
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

const struct tb_route *tb_api_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}

/* ---- helpers shared by the handlers ---- */

enum tb_rank tb_api_rank(const char *role)
{
	static const char *const names[] = {"", "viewer", "editor", "admin", "owner"};
	for (int i = 1; role && i <= TB_RANK_OWNER; i++) {
		if (strcmp(role, names[i]) == 0)
			return (enum tb_rank)i;
	}
	return TB_RANK_NONE;
}

bool tb_api_valid_body(struct tb_app *app, struct tb_resp *resp, const struct tb_field *fields, size_t n,
                       bool require)
{
	char msg[160];
	if (tb_json_validate(fields, n, app->body_json, require, msg, sizeof msg) != TB_OK) {
		tb_resp_fail_msg(resp, TB_E_INVALID, msg);
		return false;
	}
	if (!require && json_object_object_length(app->body_json) == 0) {
		tb_resp_fail(resp, TB_E_NO_FIELD);
		return false;
	}
	return true;
}

bool tb_api_load(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *sql, int n,
                 const char *const *params, enum tb_rank min_rank, bool check_if_match, struct tb_api_target *t)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return false;
	bool go_on = false;
	enum tb_rank rank = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE) {
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	} else if (rank < min_rank) {
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	} else {
		int64_t version = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		const char *json = PQgetvalue(r, 0, 2);
		if (check_if_match && !tb_if_match(req->if_match, version)) {
			struct json_object *current = json_tokener_parse(json);
			tb_resp_fail_with(resp, TB_E_VERSION_MISMATCH, "current", current);
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
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
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
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
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
