/* api_links: public read-only links to a board (issue 15 item 2; docs/api.md, "Public links"). The
 * board's owner or a team admin makes, lists and deletes them (POST, GET /boards/:id/links, DELETE
 * /boards/:id/links/:id); whoever has a link reads the board and its notes and follows its events,
 * as a guest, with no session (GET /public/boards/:token and .../events). A link's token is 32
 * random bytes (tb_auth_new_token, as a session's or a reset link's) given out once; the database
 * keeps its SHA-256 only, and a token is found by an index probe on that hash, never compared in C.
 * A token is a credential for the /public routes alone: it is no session, so every other route,
 * every write among them, answers it 401. What a guest sees names no user by login name
 * (sql/functions/links.sql). Deleting a link ends its guests' streams at once (revoked
 * link_deleted), through the heartbeat its trigger sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_buf.h"
#include "tb_config.h"

/* (role, the new link's JSON): the caller's role on the board, and the new link, which is inserted
 * only for its owner or a team admin while the board has fewer than $4 links; its url is the site
 * $5 and the public page of the token $3. board_role_locked holds the caller's membership row to
 * the commit, as every write's check does. */
static const char SQL_CREATE[] =
	"WITH r AS MATERIALIZED (SELECT board_role_locked($1::bigint, $2::bigint) AS role),"
	" l AS (INSERT INTO board_links (board_id, token_hash, created_by)"
	"       SELECT $2::bigint, sha256(decode($3::text, 'hex')), $1::bigint FROM r"
	"        WHERE r.role IN ('owner', 'admin')"
	"          AND (SELECT count(*) FROM board_links x WHERE x.board_id = $2::bigint) < $4::int"
	"       RETURNING jsonb_build_object('id', id, 'board_id', board_id, 'token', $3::text,"
	"                                    'url', $5::text || '/#/public/' || $3::text, 'created_at', created_at) AS j)"
	" SELECT r.role, l.j FROM r LEFT JOIN l ON true";

/* (role, 0, the links as JSON: only for the owner or an admin). */
static const char SQL_LIST[] =
	"SELECT r.role, 0, CASE WHEN r.role IN ('owner', 'admin') THEN jsonb_build_object('links',"
	"         (SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'board_id', l.board_id,"
	"                  'created_by', l.created_by, 'created_at', l.created_at,"
	"                  'guests', (SELECT count(*) FROM streams s WHERE s.link_id = l.id)) ORDER BY l.id), '[]'::jsonb)"
	"            FROM board_links l WHERE l.board_id = $2::bigint)) END"
	" FROM (SELECT board_role($1::bigint, $2::bigint) AS role) r";

/* (role, links deleted): the trigger board_links_deleted tells the link's streams. */
static const char SQL_DELETE[] =
	"WITH r AS MATERIALIZED (SELECT board_role_locked($1::bigint, $2::bigint) AS role),"
	" d AS (DELETE FROM board_links l USING r"
	"        WHERE l.id = $3::bigint AND l.board_id = $2::bigint AND r.role IN ('owner', 'admin') RETURNING 1)"
	" SELECT r.role, (SELECT count(*) FROM d) FROM r";

/* 404 without a role, 403 below admin: false after answering. */
static bool may_share(struct tb_resp *resp, PGresult *r)
{
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE)
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	else if (rank < TB_RANK_ADMIN)
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	return rank >= TB_RANK_ADMIN;
}

/* The site's address for a link: the first of allowed_origins, else the request's own scheme://Host
 * (when Host is a plain host[:port]), else nothing (the url is then the path alone). */
static void site_origin(const struct tb_app *app, const struct tb_req *req, struct tb_buf *out)
{
	if (app->cfg->n_allowed_origins > 0)
		tb_buf_puts(out, app->cfg->allowed_origins[0]);
	else if (req->host && req->host[0] && strpbrk(req->host, "/\\@ \"") == NULL)
		tb_buf_printf(out, "%s://%s", req->https ? "https" : "http", req->host);
}

void tb_api_links_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char token[TB_TOKEN_HEX_LEN + 1], uid[24], bid[24], max[24];
	if (tb_auth_new_token(token) != TB_OK) {
		tb_resp_fail(resp, TB_E_TOKEN_FAILED);
		return;
	}
	struct tb_buf site = {0};
	site_origin(app, req, &site);
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), token, tb_i64(max, TB_LINKS_MAX),
	                        tb_buf_str(&site)};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_CREATE, 5, params, &r);
	tb_buf_free(&site);
	if (tb_resp_db_failed(resp, err))
		return;
	if (may_share(resp, r)) {
		if (PQgetisnull(r, 0, 1))
			tb_resp_fail(resp, TB_E_TOO_MANY_LINKS);
		else
			tb_api_reply_row(resp, 201, r, 1, -1);
	}
	PQclear(r);
}

void tb_api_links_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_LIST, 2, params, TB_RANK_ADMIN, false, &t))
		return;
	tb_resp_json_text(resp, 200, t.json, strlen(t.json));
	free(t.json);
}

void tb_api_links_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], lid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), tb_i64(lid, req->ids[1])};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_DELETE, 3, params, &r)))
		return;
	if (may_share(resp, r)) {
		if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
			tb_resp_fail(resp, TB_E_NOT_FOUND); /* no such link of this board */
		else
			resp->status = 204;
	}
	PQclear(r);
}

/* ---- the guest's routes ---- */

/* (version, the board's public JSON with one page of its notes), as GET /boards/:id pages them
 * (api_boards.c): no row for a token of no link or of a board in the trash. */
static const char SQL_PUBLIC_BOARD[] =
	"SELECT b.version, concat(h.head, ', \"items\": [', p.items, ']',"
	"                         ', \"items_more\": true, \"items_next\": \"' || p.next || '\"', '}')"
	" FROM board_link(sha256(decode($1::text, 'hex'))) k JOIN boards b ON b.id = k.board_id"
	" CROSS JOIN LATERAL (SELECT left(public_board_json(b)::text, -1) AS head OFFSET 0) h"
	" CROSS JOIN LATERAL board_items_page(b.id, $3::int, $4::bigint, $2::bigint - octet_length(h.head) - 128) p";

static const char SQL_PUBLIC_LINK[] = "SELECT link_id, board_id FROM board_link(sha256(decode($1::text, 'hex')))";

void tb_api_public_board(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char budget[24], z[24], iid[24];
	const char *zp, *idp;
	if (!tb_api_items_cursor(req, z, iid, &zp, &idp)) {
		tb_resp_fail(resp, TB_E_BAD_ITEMS_AFTER);
		return;
	}
	const char *params[] = {req->token, tb_i64(budget, (int64_t)app->cfg->max_reply), zp, idp};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_PUBLIC_BOARD, 4, params, &r)))
		return;
	if (PQntuples(r) == 1)
		tb_api_reply_row(resp, 200, r, 1, 0);
	else
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	PQclear(r);
}

void tb_api_public_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *params[] = {req->token};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_PUBLIC_LINK, 1, params, &r)))
		return;
	if (PQntuples(r) == 1) {
		int64_t link = strtoll(PQgetvalue(r, 0, 0), NULL, 10), board = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		tb_api_events_serve(app, req, resp, board, link);
		return;
	}
	tb_resp_fail(resp, TB_E_NOT_FOUND);
	PQclear(r);
}
