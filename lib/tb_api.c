/* tb_api: the route table of /api/v1, which is its request policy (which handler serves each
 * method and path, and what tb_app checks before it: a session, a body and the body's fields,
 * a check of the request before those fields), and the helpers the handlers (api_*.c,
 * tb_stream.c) share. */
#include "tb_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_metrics.h"
#include "tb_route.h"

#define P TB_API_PREFIX
enum { AUTH = TB_ROUTE_AUTH };
#define FULL TB_BODY_FULL
#define PATCH TB_BODY_PATCH
#define NO_BODY TB_BODY_NONE, NULL, NULL
#define OWN_BODY TB_BODY_OWN, NULL, NULL

/* {method, path, handler, flags, body, the body's fields, admit}; the fields live beside their
 * handlers (api_*.c), which read the validated body. */
static const struct tb_route routes[] = {
	{TB_GET, P "/health", tb_api_health, 0, NO_BODY},
	{TB_GET, P "/metrics", tb_api_metrics, 0, NO_BODY},
	{TB_POST, P "/users", tb_api_users_create, 0, FULL, &tb_api_register_fields, tb_api_users_admit},
	{TB_GET, P "/me", tb_api_me, AUTH, NO_BODY},
	{TB_PATCH, P "/users/me", tb_api_me_update, AUTH, PATCH, &tb_api_me_fields, tb_api_me_admit},
	{TB_DELETE, P "/users/me", tb_api_me_delete, AUTH, FULL, &tb_api_me_delete_fields, NULL},
	{TB_POST, P "/password-resets/:token", tb_api_password_reset, 0, FULL, &tb_api_reset_fields, NULL},
	{TB_POST, P "/sessions", tb_api_sessions_create, 0, FULL, &tb_api_credentials, NULL},
	{TB_DELETE, P "/sessions/current", tb_api_sessions_delete, AUTH, NO_BODY},
	{TB_GET, P "/teams", tb_api_teams_list, AUTH, NO_BODY},
	{TB_POST, P "/teams", tb_api_teams_create, AUTH, FULL, &tb_api_team_fields, NULL},
	{TB_GET, P "/teams/:id", tb_api_teams_get, AUTH, NO_BODY},
	{TB_POST, P "/teams/:id/members", tb_api_members_add, AUTH, FULL, &tb_api_member_fields, NULL},
	{TB_PATCH, P "/teams/:id/members/:id", tb_api_members_update, AUTH, FULL, &tb_api_member_role_fields, NULL},
	{TB_DELETE, P "/teams/:id/members/:id", tb_api_members_remove, AUTH, NO_BODY},
	{TB_GET, P "/boards", tb_api_boards_list, AUTH, NO_BODY},
	{TB_POST, P "/boards", tb_api_boards_create, AUTH, FULL, &tb_api_board_fields, NULL},
	{TB_GET, P "/boards/:id", tb_api_boards_get, AUTH, NO_BODY},
	{TB_PATCH, P "/boards/:id", tb_api_boards_update, AUTH, PATCH, &tb_api_board_patch_fields, NULL},
	{TB_DELETE, P "/boards/:id", tb_api_boards_delete, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/items", tb_api_items_create, AUTH, FULL, &tb_api_item_fields, tb_api_items_admit},
	{TB_GET, P "/boards/:id/items/:id", tb_api_items_get, AUTH, NO_BODY},
	{TB_PATCH, P "/boards/:id/items/:id", tb_api_items_update, AUTH, PATCH, &tb_api_item_fields, NULL},
	{TB_DELETE, P "/boards/:id/items/:id", tb_api_items_delete, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/items/:id/editing", tb_api_items_editing, AUTH, NO_BODY},
	{TB_DELETE, P "/boards/:id/items/:id/editing", tb_api_items_editing, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/events", tb_api_events, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/viewers", tb_api_viewers, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/trash", tb_api_trash_notes, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/items/:id/restore", tb_api_trash_restore_note, AUTH, NO_BODY},
	{TB_GET, P "/trash", tb_api_trash_boards, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/restore", tb_api_trash_restore_board, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/undo", tb_api_undo_state, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/undo", tb_api_undo, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/redo", tb_api_redo, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/history", tb_api_history, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/history/restore", tb_api_history_restore, AUTH, FULL, &tb_api_seq_fields, NULL},
	{TB_GET, P "/boards/:id/visit", tb_api_visit_get, AUTH, NO_BODY},
	{TB_POST, P "/boards/:id/visit", tb_api_visit_report, AUTH, FULL, &tb_api_seq_fields, NULL},
	{TB_POST, P "/teams/:id/invites", tb_api_invites_create, AUTH, FULL, &tb_api_invite_fields, NULL},
	{TB_GET, P "/teams/:id/invites", tb_api_invites_list, AUTH, NO_BODY},
	{TB_DELETE, P "/teams/:id/invites/:id", tb_api_invites_revoke, AUTH, NO_BODY},
	{TB_GET, P "/invites/:token", tb_api_invite_show, 0, NO_BODY},
	{TB_POST, P "/invites/:token/accept", tb_api_invite_accept, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/export", tb_api_export, AUTH, NO_BODY},
	/* its body is read piece by piece by the handler, within max_import (api_import.c) */
	{TB_POST, P "/boards/import", tb_api_import, AUTH, OWN_BODY},
	{TB_POST, P "/boards/:id/links", tb_api_links_create, AUTH, NO_BODY},
	{TB_GET, P "/boards/:id/links", tb_api_links_list, AUTH, NO_BODY},
	{TB_DELETE, P "/boards/:id/links/:id", tb_api_links_delete, AUTH, NO_BODY},
	{TB_GET, P "/public/boards/:token", tb_api_public_board, 0, NO_BODY},
	{TB_GET, P "/public/boards/:token/events", tb_api_public_events, 0, NO_BODY},
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

bool tb_api_load(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *sql, int n,
                 const char *const *params, enum tb_rank min_rank, bool check_if_match, struct tb_api_target *t)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return false;
	bool go_on = false;
	enum tb_rank rank =
		PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
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
