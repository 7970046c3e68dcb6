/* api_invites: invite links to a team (sql/020_invites.sql, sql/functions/invites.sql). A team's
 * admins make links (POST /teams/:id/invites), list the open ones without their tokens and revoke
 * them; whoever holds a link sees the team's name and the role it gives (GET /invites/:token, no
 * session) and, signed in, joins with that role (POST /invites/:token/accept). A token is 32
 * random bytes (tb_auth_new_token, as sessions and reset links); the database keeps its SHA-256
 * only and finds a link by that digest, so how long a lookup takes says nothing about how close a
 * guess came. Every lookup by token counts toward the sign-in throttle as a reset link's does (the
 * address's count stops guessing), and a link that answers takes its attempt back. The admin's
 * writes check the caller's role in the statement that writes (team_role_locked, as the member
 * changes of api_teams.c); an accept is one function (accept_invite) that cannot pass max_uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"

/* The most open links a team may have at once: past it, a new one is 409 too_many_invites. */
#define TB_INVITES_OPEN_MAX "100"

/* The roles a link may give: a member's (viewer, editor or admin). */
static bool invite_role_ok(const char *s)
{
	enum tb_rank rank = tb_api_rank(s);
	return rank >= TB_RANK_VIEWER && rank <= TB_RANK_ADMIN;
}

static const struct tb_field invite_fields[] = {
	{"role", TB_FIELD_STRING, 1, 16, true, false, invite_role_ok, "viewer, editor or admin"},
	{"expires_in_hours", TB_FIELD_INT, 1, 720, false, false, NULL, NULL},
	{"max_uses", TB_FIELD_INT, 1, 1000, false, false, NULL, NULL},
};
const struct tb_fields tb_api_invite_fields = TB_FIELDS(invite_fields);

/* Runs sql, whose one row is (the caller's role in the team, result), and answers: 404 without a
 * role, 403 below admin, none when result is NULL, else ok_status with result (204: no body). */
static void admin_reply(struct tb_app *app, struct tb_resp *resp, const char *sql, int n, const char *const *params,
                        int ok_status, enum tb_error_id none)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE)
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	else if (rank < TB_RANK_ADMIN)
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	else if (PQgetisnull(r, 0, 1))
		tb_resp_fail(resp, none);
	else if (ok_status == 204)
		resp->status = 204;
	else
		tb_api_reply_row(resp, ok_status, r, 1, -1);
	PQclear(r);
}

/* $1 caller, $2 team, $3 token (hex), $4 role, $5 hours, $6 uses, $7 the link without the token.
 * The team's links that expired or are used up go first; a team over TB_INVITES_OPEN_MAX open
 * ones gets none (NULL). */
static const char SQL_CREATE[] =
	"WITH auth AS MATERIALIZED (SELECT team_role_locked($1::bigint, $2::bigint) AS role),"
	" old AS (DELETE FROM team_invites i USING auth WHERE auth.role = 'admin' AND i.team_id = $2::bigint"
	"         AND (i.expires_at <= now() OR i.uses >= i.max_uses)),"
	" open AS (SELECT count(*) AS n FROM team_invites i"
	"          WHERE i.team_id = $2::bigint AND i.expires_at > now() AND i.uses < i.max_uses),"
	" i AS (INSERT INTO team_invites (team_id, token_hash, role, created_by, expires_at, max_uses)"
	"       SELECT $2::bigint, sha256(decode($3::text, 'hex')), $4, $1::bigint,"
	"              now() + $5::integer * interval '1 hour', $6::integer"
	"       FROM auth, open WHERE auth.role = 'admin' AND open.n < " TB_INVITES_OPEN_MAX
	" RETURNING *)"
	" SELECT auth.role, (SELECT invite_json(i::team_invites) || jsonb_build_object('token', $3::text,"
	"                                                              'url', $7::text || $3::text) FROM i)"
	" FROM auth";

void tb_api_invites_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *role = NULL;
	int64_t hours = 168, uses = 1;
	tb_json_str(app->body_json, "role", &role);
	tb_json_int(app->body_json, "expires_in_hours", &hours);
	tb_json_int(app->body_json, "max_uses", &uses);
	char token[TB_TOKEN_HEX_LEN + 1];
	if (tb_auth_new_token(token) != TB_OK) {
		tb_resp_fail(resp, TB_E_TOKEN_FAILED);
		return;
	}
	/* The web client's page for the link, on the site's address (as teamboard-admin's reset
	 * links): the first of allowed_origins, else the path alone. */
	char link[512], uid[24], tid[24], h[24], u[24];
	snprintf(link, sizeof link, "%s/#/invite/", app->cfg->n_allowed_origins ? app->cfg->allowed_origins[0] : "");
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0]), token, role,
	                        tb_i64(h, hours),          tb_i64(u, uses),          link};
	admin_reply(app, resp, SQL_CREATE, 7, params, 201, TB_E_TOO_MANY_INVITES);
	explicit_bzero(token, sizeof token);
}

/* (caller's role, the open links newest first) for a member; no row for anyone else. */
static const char SQL_LIST[] =
	"SELECT m.role, (SELECT jsonb_build_object('invites', coalesce(jsonb_agg(invite_json(i)"
	"                                            ORDER BY i.created_at DESC, i.id DESC), '[]'::jsonb))"
	"                FROM team_invites i"
	"               WHERE i.team_id = m.team_id AND i.expires_at > now() AND i.uses < i.max_uses)"
	" FROM team_members m WHERE m.user_id = $1::bigint AND m.team_id = $2::bigint";

void tb_api_invites_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], tid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0])};
	admin_reply(app, resp, SQL_LIST, 2, params, 200, TB_E_INTERNAL);
}

static const char SQL_REVOKE[] =
	"WITH auth AS MATERIALIZED (SELECT team_role_locked($1::bigint, $2::bigint) AS role),"
	" d AS (DELETE FROM team_invites i USING auth"
	"       WHERE auth.role = 'admin' AND i.team_id = $2::bigint AND i.id = $3::bigint RETURNING i.id)"
	" SELECT auth.role, (SELECT 'true' FROM d) FROM auth";

void tb_api_invites_revoke(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], tid[24], iid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0]), tb_i64(iid, req->ids[1])};
	admin_reply(app, resp, SQL_REVOKE, 3, params, 204, TB_E_NO_SUCH_INVITE);
}

/* ---- the link's holder: GET /invites/:token, POST /invites/:token/accept ---- */

/* Counts an attempt with the link's token for the client's address (the reset links' key
 * "reset:<token>" is "invite:<token>" here): true after answering 429 (or the database's error).
 * key receives the throttle key for tb_api_login_succeeded. */
static bool invite_throttled(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, char *key, size_t key_len,
                             char addr[TB_ADDRESS_KEY_MAX])
{
	tb_auth_address_key(req->remote_addr, addr, TB_ADDRESS_KEY_MAX);
	snprintf(key, key_len, "invite:%s", req->token);
	return tb_api_login_throttled(app, resp, key, addr);
}

static const char SQL_SHOW[] =
	"SELECT jsonb_build_object('team', jsonb_build_object('id', t.id, 'name', t.name), 'role', i.role,"
	"                          'expires_at', i.expires_at)"
	" FROM team_invites i JOIN teams t ON t.id = i.team_id"
	" WHERE i.token_hash = sha256(decode($1::text, 'hex')) AND i.expires_at > now() AND i.uses < i.max_uses";

void tb_api_invite_show(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char addr[TB_ADDRESS_KEY_MAX], key[8 + TB_REQ_TOKEN_LEN];
	if (invite_throttled(app, req, resp, key, sizeof key, addr))
		return;
	const char *params[] = {req->token};
	if (tb_api_query_reply(app, resp, 200, SQL_SHOW, 1, params)) {
		if (resp->status == 200)
			tb_api_login_succeeded(app, key, addr);
	} else {
		tb_resp_fail(resp, TB_E_INVITE_GONE);
	}
}

static const char SQL_ACCEPT[] =
	"SELECT outcome, team_id, team FROM accept_invite($1::bigint, sha256(decode($2::text, 'hex')))";

void tb_api_invite_accept(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char addr[TB_ADDRESS_KEY_MAX], key[8 + TB_REQ_TOKEN_LEN], uid[24];
	if (invite_throttled(app, req, resp, key, sizeof key, addr))
		return;
	const char *params[] = {tb_i64(uid, req->user_id), req->token};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_ACCEPT, 2, params, &r)))
		return;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "joined") == 0) {
		tb_api_reply_row(resp, 201, r, 2, -1);
	} else if (strcmp(outcome, "member") == 0) {
		/* The team's id, so that a client can go there. */
		struct json_object *team = json_object_new_int64(strtoll(PQgetvalue(r, 0, 1), NULL, 10));
		tb_resp_fail_with(resp, TB_E_ALREADY_IN_TEAM, "team_id", team);
	} else {
		tb_resp_fail(resp, TB_E_INVITE_GONE);
	}
	if (strcmp(outcome, "gone") != 0)
		tb_api_login_succeeded(app, key, addr);
	PQclear(r);
}
