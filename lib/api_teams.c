/* api_teams: teams and their members. Members read a team; its admins manage members; a member
 * may leave. The database keeps at least one admin per team (trigger team_keeps_admin, which
 * reports TB409, seen here as TB_ERR_CONFLICT). Writes name the acting user in the transaction
 * setting teamboard.actor_id, which the event-log triggers read. GET /teams and GET /teams/:id carry
 * an ETag over their body, so a client polls them cheaply with If-None-Match (304). */
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"

static bool role_ok(const char *s)
{
	return strcmp(s, "viewer") == 0 || strcmp(s, "editor") == 0 || strcmp(s, "admin") == 0;
}

#define ROLE_FIELD(required)                                                                        \
	{                                                                                           \
		"role", TB_FIELD_STRING, 1, 16, required, false, role_ok, "viewer, editor or admin" \
	}

static const struct tb_field team_fields[] = {
	{"name", TB_FIELD_STRING, 1, 100, true, false, NULL, NULL},
};
static const struct tb_field member_add_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, false, NULL, NULL},
	ROLE_FIELD(true),
};
static const struct tb_field member_patch_fields[] = {
	ROLE_FIELD(true),
};
const struct tb_fields tb_api_team_fields = TB_FIELDS(team_fields);
const struct tb_fields tb_api_member_fields = TB_FIELDS(member_add_fields);
const struct tb_fields tb_api_member_role_fields = TB_FIELDS(member_patch_fields);

static const char SQL_CREATE[] = TB_SQL_WITH_ACTOR
	","
	" t AS (INSERT INTO teams (name, created_by) SELECT $2, $1::bigint FROM actor RETURNING *),"
	" m AS (INSERT INTO team_members (team_id, user_id, role) SELECT t.id, $1::bigint, 'admin' FROM t"
	"       RETURNING team_id)"
	" SELECT jsonb_build_object('id', t.id, 'name', t.name, 'role', 'admin', 'created_at', t.created_at,"
	"          'members', jsonb_build_array(jsonb_build_object('user_id', u.id, 'name', u.name,"
	"                                                'display_name', u.display_name, 'role', 'admin')))"
	" FROM t, m, users u WHERE u.id = $1::bigint";

void tb_api_teams_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *name = NULL;
	tb_json_str(app->body_json, "name", &name);
	char uid[24];
	const char *params[] = {tb_i64(uid, req->user_id), name};
	tb_api_query_reply(app, resp, 201, SQL_CREATE, 2, params);
}

/* (body, md5 of body): the list and its ETag (clients poll it with If-None-Match). */
static const char SQL_LIST[] =
	"SELECT l.j, md5(l.j) FROM (SELECT jsonb_build_object('teams', coalesce(jsonb_agg(jsonb_build_object("
	"          'id', t.id, 'name', t.name, 'role', m.role, 'created_at', t.created_at)"
	"          ORDER BY lower(t.name), t.id), '[]'::jsonb))::text AS j"
	" FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1::bigint) l";

void tb_api_teams_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24];
	const char *params[] = {tb_i64(uid, req->user_id)};
	tb_api_query_tagged(app, req, resp, 200, SQL_LIST, 1, params);
}

/* (body, md5 of body) of a team for a member; no row for anyone else (404). */
static const char SQL_TEAM_TAGGED[] =
	"SELECT t.j, md5(t.j) FROM (SELECT team_json(m.team_id, m.role)::text AS j FROM team_members m"
	"                           WHERE m.user_id = $1::bigint AND m.team_id = $2::bigint) t";

void tb_api_teams_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], tid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0])};
	if (!tb_api_query_tagged(app, req, resp, 200, SQL_TEAM_TAGGED, 2, params))
		tb_resp_fail(resp, TB_E_NOT_FOUND);
}

/* Member changes check the caller's role in the statement that changes the member:
 * team_role_locked (sql/011) takes the team row FOR UPDATE, as team_keeps_admin does, then the
 * caller's membership row FOR SHARE, so member changes of a team run one at a time and a change
 * never passes on a role its caller has just lost. Each statement returns (caller's role, result)
 * whatever it changed, so the reply is decided from one consistent look. */
static const char SQL_MEMBER_ADD[] = TB_SQL_WITH_ACTOR
	","
	" auth AS MATERIALIZED (SELECT team_role_locked($1::bigint, $2::bigint) AS role),"
	" u AS (SELECT id, name, display_name FROM users WHERE lower(name) = lower($3)),"
	" m AS (INSERT INTO team_members (team_id, user_id, role) SELECT $2::bigint, u.id, $4 FROM u, actor, auth"
	"       WHERE auth.role = 'admin' RETURNING user_id, role)"
	" SELECT auth.role, (SELECT jsonb_build_object('user_id', m.user_id, 'name', u.name,"
	"                                         'display_name', u.display_name, 'role', m.role)"
	"                      FROM m, u) FROM auth";

static const char SQL_MEMBER_UPDATE[] = TB_SQL_WITH_ACTOR
	","
	" auth AS MATERIALIZED (SELECT team_role_locked($1::bigint, $2::bigint) AS role),"
	" m AS (UPDATE team_members m SET role = $4 FROM actor, auth"
	"       WHERE auth.role = 'admin' AND m.team_id = $2::bigint AND m.user_id = $3::bigint"
	"       RETURNING m.user_id, m.role)"
	" SELECT auth.role, (SELECT jsonb_build_object('user_id', m.user_id, 'name', u.name,"
	"                                         'display_name', u.display_name, 'role', m.role)"
	"                      FROM m JOIN users u ON u.id = m.user_id) FROM auth";

/* An admin removes anyone; any member may remove themself (leave the team). */
static const char SQL_MEMBER_REMOVE[] = TB_SQL_WITH_ACTOR
	","
	" auth AS MATERIALIZED (SELECT team_role_locked($1::bigint, $2::bigint) AS role),"
	" m AS (DELETE FROM team_members m USING actor, auth"
	"       WHERE (auth.role = 'admin' OR (auth.role IS NOT NULL AND $3::bigint = $1::bigint))"
	"         AND m.team_id = $2::bigint AND m.user_id = $3::bigint RETURNING m.user_id)"
	" SELECT auth.role, (SELECT 'true' FROM m) FROM auth";

/* Runs a member change (sql: one of the statements above) with params; answers 404 (not a
 * member), 403 (rank below min), conflict (409 last_admin / already_member), or, when the change
 * matched no row, none (404 / 422); else ok_status with the result. */
struct member_change {
	const char *sql;
	int n_params;
	enum tb_rank min;
	int ok_status;
	enum tb_error_id none, conflict;
};

static void member_change(struct tb_app *app, struct tb_resp *resp, const struct member_change *c,
                          const char *const *params)
{
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, c->sql, c->n_params, params, &r);
	if (err == TB_ERR_CONFLICT) {
		tb_resp_fail(resp, c->conflict);
		return;
	}
	if (tb_resp_db_failed(resp, err))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE)
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	else if (rank < c->min)
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	else if (PQgetisnull(r, 0, 1))
		tb_resp_fail(resp, c->none);
	else if (c->ok_status == 204)
		resp->status = 204;
	else
		tb_api_reply_row(resp, c->ok_status, r, 1, -1);
	PQclear(r);
}

void tb_api_members_add(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	static const struct member_change add = {
		SQL_MEMBER_ADD, 4, TB_RANK_ADMIN, 201, TB_E_NO_SUCH_USER, TB_E_ALREADY_MEMBER,
	};
	const char *name = NULL, *role = NULL;
	tb_json_str(app->body_json, "name", &name);
	tb_json_str(app->body_json, "role", &role);
	char uid[24], tid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0]), name, role};
	member_change(app, resp, &add, params);
}

void tb_api_members_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	static const struct member_change update = {
		SQL_MEMBER_UPDATE, 4, TB_RANK_ADMIN, 200, TB_E_NO_SUCH_MEMBER, TB_E_LAST_ADMIN,
	};
	const char *role = NULL;
	tb_json_str(app->body_json, "role", &role);
	char uid[24], tid[24], target[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0]), tb_i64(target, req->ids[1]), role};
	member_change(app, resp, &update, params);
}

void tb_api_members_remove(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	static const struct member_change remove_other = {
		SQL_MEMBER_REMOVE, 3, TB_RANK_ADMIN, 204, TB_E_NO_SUCH_MEMBER, TB_E_LAST_ADMIN,
	};
	/* Anyone may leave a team; removing someone else takes an admin. */
	struct member_change c = remove_other;
	if (req->ids[1] == req->user_id)
		c.min = TB_RANK_VIEWER;
	char uid[24], tid[24], target[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(tid, req->ids[0]), tb_i64(target, req->ids[1])};
	member_change(app, resp, &c, params);
}
