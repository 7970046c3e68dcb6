/* api_boards: boards, personal or a team's. GET /boards/:id returns the board with all its items
 * and last_event_id, the point a live stream resumes from. Access is board_role() in SQL: owner
 * (of a team's board only while an editor or admin of the team), else the caller's team role; no
 * role is 404, so a board you cannot see does not exist for you. Writes check the role in the
 * writing statement (board_role_locked, sql/011). GET /boards carries an ETag over its body, so a
 * client polls the list cheaply with If-None-Match (304). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"

static const struct tb_field create_fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL},
	{"team_id", TB_FIELD_ID, 0, 0, false, true, NULL, NULL},
};
static const struct tb_field patch_fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, false, false, NULL, NULL},
};
const struct tb_fields tb_api_board_fields = TB_FIELDS(create_fields);
const struct tb_fields tb_api_board_patch_fields = TB_FIELDS(patch_fields);

/* (body, md5 of body): the list and its ETag (clients poll it with If-None-Match). */
static const char SQL_LIST[] =
	"SELECT l.j, md5(l.j) FROM (SELECT jsonb_build_object('boards', coalesce(jsonb_agg(board_json(b,"
	"          CASE WHEN b.team_id IS NULL THEN 'owner' ELSE team_board_role(b.owner_id = $1::bigint, m.role) END)"
	"          ORDER BY b.id), '[]'::jsonb))::text AS j"
	" FROM boards b LEFT JOIN team_members m ON m.team_id = b.team_id AND m.user_id = $1::bigint"
	" WHERE b.deleted_at IS NULL AND ((b.team_id IS NULL AND b.owner_id = $1::bigint) OR m.user_id IS NOT NULL)) l";

void tb_api_boards_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24];
	const char *params[] = {tb_i64(uid, req->user_id)};
	tb_api_query_tagged(app, req, resp, 200, SQL_LIST, 1, params);
}

/* (role, id, version, json): the caller's role in the team ('owner' for a personal board) and
 * the new board, which is inserted only for an editor or admin. team_role_for_board (sql/011)
 * holds the caller's membership row FOR SHARE to the commit, so a removal or demotion either
 * waits for the new board (and then sees it) or is seen by this check. */
static const char SQL_CREATE[] = TB_SQL_WITH_ACTOR
	","
	" auth AS MATERIALIZED (SELECT CASE WHEN $2::bigint IS NULL THEN 'owner'"
	"                                   ELSE team_role_for_board($1::bigint, $2::bigint) END AS role),"
	" b AS (INSERT INTO boards (owner_id, team_id, title) SELECT $1::bigint, $2::bigint, $3 FROM actor, auth"
	"       WHERE auth.role IN ('owner', 'admin', 'editor')"
	"       RETURNING boards.id, boards.version,"
	"                 board_json(boards, 'owner') || '{\"items\": [], \"authors\": []}'::jsonb AS json)"
	" SELECT auth.role, b.id, b.version, b.json FROM auth LEFT JOIN b ON true";

void tb_api_boards_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *title = NULL;
	tb_json_str(app->body_json, "title", &title);
	int64_t team_id = 0;
	char uid[24], tid[24];
	tb_i64(uid, req->user_id);
	const char *team = tb_json_int(app->body_json, "team_id", &team_id) ? tb_i64(tid, team_id) : NULL;
	const char *params[] = {uid, team, title};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_CREATE, 3, params, &r)))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE) {
		tb_resp_fail(resp, TB_E_NO_SUCH_TEAM);
	} else if (rank < TB_RANK_EDITOR || PQgetisnull(r, 0, 1)) {
		tb_resp_fail(resp, TB_E_VIEWER_CREATES_BOARD);
	} else {
		tb_api_reply_row(resp, 201, r, 3, 2);
		char loc[64];
		snprintf(loc, sizeof loc, TB_API_PREFIX "/boards/%s", PQgetvalue(r, 0, 1));
		tb_resp_set_header(resp, "Location", loc);
	}
	PQclear(r);
}

/* The board's JSON with its notes spliced in: each note's JSON text is kept in items.json
 * (sql/005), so a read joins texts instead of building an object per note (six times cheaper
 * for 50 notes than building them, docs/performance.md). OFFSET 0 keeps the planner from copying
 * board_role into the places that use the role.
 *
 * The notes are one page (board_items_page, sql/011): those after the cursor ($4, $5; NULL: from
 * the first) that fit in the reply budget $3 (max_reply) less the board's own JSON and room for
 * the tail. When notes are left, the reply ends with "items_more": true and "items_next" (NULL
 * otherwise, which concat skips). One concat() copies the notes' text once; a chain of || copied
 * it at every step (1000 notes: 7.7 ms against 10.5 ms with ||, as before paging). A caller
 * without a role gets no notes read at all (the reply is 404). The head carries "authors", the
 * people who wrote the board's notes (board_authors, sql/functions/items.sql), on every page. */
static const char SQL_GET[] =
	"SELECT r.role, b.version, concat(h.head, ', \"items\": [', p.items, ']',"
	"                                 ', \"items_more\": true, \"items_next\": \"' || p.next || '\"', '}')"
	" FROM boards b CROSS JOIN LATERAL (SELECT board_role($1::bigint, b.id) AS role OFFSET 0) r"
	" CROSS JOIN LATERAL (SELECT left((board_json(b, r.role) || CASE WHEN r.role IS NOT NULL"
	"                      THEN jsonb_build_object('authors', board_authors(b.id)) ELSE '{}' END)::text, -1) AS head"
	"                     OFFSET 0) h"
	" CROSS JOIN LATERAL board_items_page(CASE WHEN r.role IS NOT NULL THEN b.id END, $4::int, $5::bigint,"
	"                                     $3::bigint - octet_length(h.head) - 128) p"
	" WHERE b.id = $2::bigint";

static const char SQL_LOAD[] =
	"SELECT r.role, b.version, board_json(b, r.role)"
	" FROM boards b CROSS JOIN LATERAL (SELECT board_role($1::bigint, b.id) AS role) r"
	" WHERE b.id = $2::bigint";

/* "-?digits" without a sign on 0 or leading zeros, as z's bounds allow (-1000000..1000000). */
static bool parse_z(const char *s, size_t len, int64_t *out)
{
	bool neg = len > 0 && s[0] == '-';
	int64_t v;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (!tb_parse_id(s + neg, len - neg, &v) || v > 1000000)
		return false;
	*out = neg ? -v : v;
	return true;
}

bool tb_api_items_cursor(struct tb_req *req, char z[24], char id[24], const char **zp, const char **idp)
{
	char *value = NULL;
	enum tb_err err = tb_query_get(req->query, "items_after", &value);
	*zp = *idp = NULL;
	if (err == TB_ERR_NOT_FOUND)
		return true;
	bool ok = false;
	const char *dot = err == TB_OK ? strchr(value, '.') : NULL;
	int64_t zv, iv;
	if (dot && parse_z(value, (size_t)(dot - value), &zv) && tb_parse_id(dot + 1, strlen(dot + 1), &iv)) {
		*zp = tb_i64(z, zv);
		*idp = tb_i64(id, iv);
		ok = true;
	}
	free(value);
	return ok;
}

void tb_api_boards_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], budget[24], z[24], iid[24];
	const char *zp, *idp;
	if (!tb_api_items_cursor(req, z, iid, &zp, &idp)) {
		tb_resp_fail(resp, TB_E_BAD_ITEMS_AFTER);
		return;
	}
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]),
	                        tb_i64(budget, (int64_t)app->cfg->max_reply), zp, idp};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_GET, 5, params, TB_RANK_VIEWER, false, &t))
		return;
	tb_resp_json_text(resp, 200, t.json, strlen(t.json));
	tb_resp_etag(resp, t.version);
	free(t.json);
}

/* RETURNING sees the row before boards_updated records the rename (AFTER triggers run at the
 * end of the statement), so the reply's last_event_id is that event's seq: one past last_seq, which
 * no other writer can move while this UPDATE holds the row. */
static const char SQL_UPDATE[] = TB_SQL_WITH_ACTOR
	" UPDATE boards b SET title = $3, version = b.version + 1, updated_at = now() FROM actor"
	" WHERE b.id = $2::bigint AND ($4::bigint IS NULL OR b.version = $4::bigint)"
	"   AND board_role_for_rename($1::bigint, $2::bigint) IN ('owner', 'admin', 'editor')"
	" RETURNING b.version, board_json(b, board_role($1::bigint, b.id))"
	"           || jsonb_build_object('last_event_id', b.last_seq + 1)";

/* A deletion puts the board in the trash (sql/016): its notes and its log stay, board_role sees no
 * role on it any more, and boards_event logs board.deleted, which ends its streams. The supervisor
 * purges it trash_days later; until then POST /boards/:id/restore brings it back (api_trash.c).
 * Like a rename, it updates its row twice (deleted_at, then last_seq), so it takes the locks of
 * board_role_for_rename. */
static const char SQL_DELETE[] = TB_SQL_WITH_ACTOR
	" UPDATE boards b SET deleted_at = now(), deleted_by = $1::bigint, version = b.version + 1 FROM actor"
	" WHERE b.id = $2::bigint AND b.deleted_at IS NULL AND ($3::bigint IS NULL OR b.version = $3::bigint)"
	"   AND board_role_for_rename($1::bigint, $2::bigint) IN ('owner', 'admin')";

/* Loads the board for a write by a caller of at least min rank, honouring If-Match. */
static bool load_for_write(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, enum tb_rank min, char uid[24],
                           char bid[24], char ver[24])
{
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_LOAD, 2, params, min, true, &t))
		return false;
	tb_i64(ver, t.version);
	free(t.json);
	return true;
}

/* A write matched no row: the board changed or went away, or the caller's role did, since the
 * load. Answer as a fresh load would (412 with the current board, 404 or 403), else 409. */
static void lost_race(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, enum tb_rank min)
{
	char uid[24], bid[24], ver[24];
	if (load_for_write(app, req, resp, min, uid, bid, ver))
		tb_resp_fail(resp, TB_E_BOARD_CHANGED);
}

void tb_api_boards_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], ver[24];
	if (!load_for_write(app, req, resp, TB_RANK_EDITOR, uid, bid, ver))
		return;
	const char *title = NULL;
	tb_json_str(app->body_json, "title", &title);
	const char *params[] = {uid, bid, title, req->if_match ? ver : NULL};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_UPDATE, 4, params, &r)))
		return;
	if (PQntuples(r) == 1)
		tb_api_reply_row(resp, 200, r, 1, 0);
	else
		lost_race(app, req, resp, TB_RANK_EDITOR);
	PQclear(r);
}

void tb_api_boards_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], ver[24];
	if (!load_for_write(app, req, resp, TB_RANK_ADMIN, uid, bid, ver))
		return;
	const char *params[] = {uid, bid, req->if_match ? ver : NULL};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_DELETE, 3, params, &r)))
		return;
	if (strcmp(PQcmdTuples(r), "0") != 0)
		resp->status = 204;
	else
		lost_race(app, req, resp, TB_RANK_ADMIN);
	PQclear(r);
}
