/* api_trash: the trash (sql/016). A deleted note leaves items for items_trash (the DELETE's
 * trigger puts it there); a deleted board stays in boards marked deleted_at, invisible to
 * board_role, with its notes and its log. GET /boards/:id/trash lists a board's deleted notes
 * (viewer and up) and POST /boards/:id/items/:id/restore brings one back (editor and up) with its
 * id, its last content and a new version, announced as item.created with "restored": true. GET
 * /trash lists the boards in the trash that the caller may restore (owner or team admin) and POST
 * /boards/:id/restore brings one back, announced as board.restored. The supervisor purges both
 * trash_days after the deletion: a purged note keeps a tombstone row (item NULL), a purged board a
 * row in board_tombstones, and a restore of either answers 410.
 *
 * A restore first reads the state of what it restores with the caller's role, to answer 404 /
 * 403 / 409 / 410; the writing statement checks the role again (board_role_locked,
 * trashed_board_role_locked) and that the thing is still in the trash, and when it matched no row
 * (a race) the state is read again and answered as a fresh request would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"

/* ---- a board's deleted notes ---- */

/* (role, 0, body): the caller's role on the board and, for a role, the newest TB_TRASH_LIMIT + 1
 * notes of its trash (the extra one only says "more"), each as it was with who deleted it and
 * when. $3: the limit. */
static const char SQL_NOTES[] =
	"SELECT r.role, 0, CASE WHEN r.role IS NOT NULL THEN ("
	"  SELECT jsonb_build_object('trash', coalesce(jsonb_agg(x.j ORDER BY x.n) FILTER (WHERE x.n <= $3::int),"
	"                                              '[]'::jsonb), 'more', count(*) > $3::int)::text"
	"    FROM (SELECT row_number() OVER (ORDER BY t.deleted_at DESC, t.item_id DESC) AS n,"
	"                 jsonb_build_object('item', t.item, 'deleted_at', t.deleted_at, 'deleted_by',"
	"                                    (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'display_name',"
	"                                                              u.display_name) FROM users u"
	"                                      WHERE u.id = t.deleted_by)) AS j"
	"            FROM items_trash t WHERE t.board_id = $2::bigint AND t.purged_at IS NULL"
	"           ORDER BY t.deleted_at DESC, t.item_id DESC LIMIT $3::int + 1) x) END"
	" FROM (SELECT board_role($1::bigint, $2::bigint) AS role OFFSET 0) r";

void tb_api_trash_notes(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], limit[24];
	snprintf(limit, sizeof limit, "%d", TB_TRASH_LIMIT);
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), limit};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_NOTES, 3, params, TB_RANK_VIEWER, false, &t))
		return;
	tb_resp_json_text(resp, 200, t.json, strlen(t.json));
	free(t.json);
}

/* ---- restoring a note ---- */

/* (role, state): the caller's role on the board and where the note (board, note) is: 'live' on
 * the board, 'trash', 'purged' (a tombstone), or NULL (no such note on this board). */
static const char SQL_NOTE_STATE[] =
	"SELECT board_role($1::bigint, $2::bigint),"
	"       CASE WHEN EXISTS (SELECT 1 FROM items i WHERE i.id = $3::bigint AND i.board_id = $2::bigint)"
	"            THEN 'live'"
	"            ELSE (SELECT CASE WHEN t.purged_at IS NULL THEN 'trash' ELSE 'purged' END FROM items_trash t"
	"                   WHERE t.item_id = $3::bigint AND t.board_id = $2::bigint) END";

/* Takes the note out of the trash and inserts it again as it was, with its id and a version one
 * past its deletion's, as undo and "restore this version" do (sql/functions/undo.sql); its
 * item.created says "restored". (version, json) of the note, or no row. */
static const char SQL_NOTE_RESTORE[] =
	"SELECT r.version, r.json FROM trash_restore_note($1::bigint, $2::bigint, $3::bigint) r";

enum tb_trash_state tb_trash_state(const char *name)
{
	static const char *const names[] = {"", "live", "trash", "purged"};
	for (int i = TB_TRASH_LIVE; i <= TB_TRASH_PURGED; i++) {
		if (name && strcmp(name, names[i]) == 0)
			return (enum tb_trash_state)i;
	}
	return TB_TRASH_NONE;
}

enum tb_error_id tb_trash_note_verdict(enum tb_rank rank, enum tb_trash_state state)
{
	if (rank == TB_RANK_NONE || state == TB_TRASH_NONE)
		return TB_E_NOT_FOUND;
	if (rank < TB_RANK_EDITOR)
		return TB_E_FORBIDDEN;
	static const enum tb_error_id by_state[] = {
		[TB_TRASH_LIVE] = TB_E_NOTE_NOT_DELETED,
		[TB_TRASH_IN] = TB_E__COUNT,
		[TB_TRASH_PURGED] = TB_E_NOTE_PURGED,
	};
	return by_state[state];
}

enum tb_error_id tb_trash_board_verdict(enum tb_rank rank, enum tb_trash_state state)
{
	if (rank == TB_RANK_NONE || state == TB_TRASH_NONE || (state != TB_TRASH_LIVE && rank < TB_RANK_ADMIN))
		return TB_E_NOT_FOUND;
	if (rank < TB_RANK_ADMIN)
		return TB_E_FORBIDDEN;
	static const enum tb_error_id by_state[] = {
		[TB_TRASH_LIVE] = TB_E_BOARD_NOT_DELETED,
		[TB_TRASH_IN] = TB_E__COUNT,
		[TB_TRASH_PURGED] = TB_E_BOARD_PURGED,
	};
	return by_state[state];
}

/* Answers the verdict on a state row (role in column role_col, state in state_col): true when
 * the restore may go on (nothing answered). */
static bool answer(struct tb_resp *resp, PGresult *r, int role_col, int state_col,
                   enum tb_error_id (*verdict)(enum tb_rank, enum tb_trash_state))
{
	enum tb_error_id e =
		verdict(tb_api_rank(PQgetvalue(r, 0, role_col)), tb_trash_state(PQgetvalue(r, 0, state_col)));
	if (e == TB_E__COUNT)
		return true;
	tb_resp_fail(resp, e);
	return false;
}

/* A note's state row: (role, state). */
static bool note_verdict(struct tb_resp *resp, PGresult *r)
{
	return answer(resp, r, 0, 1, tb_trash_note_verdict);
}

/* Runs a state query (one row) and its verdict; true when the restore may go on. */
static bool read_state(struct tb_app *app, struct tb_resp *resp, const char *sql, int n, const char *const *params,
                       bool (*verdict)(struct tb_resp *, PGresult *))
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return false;
	bool go_on = PQntuples(r) == 1 ? verdict(resp, r) : (tb_resp_fail(resp, TB_E_NOT_FOUND), false);
	PQclear(r);
	return go_on;
}

/* Runs a restore (its row: version, json; the same n params as its state query) and answers 200
 * with the restored object and its ETag; when it matched no row, the state is read again and
 * answered, else 409 (race). */
static void restore(struct tb_app *app, struct tb_resp *resp, const char *sql, const char *state_sql, int n,
                    const char *const *params, bool (*verdict)(struct tb_resp *, PGresult *), enum tb_error_id race)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, n, params, &r)))
		return;
	if (PQntuples(r) == 1)
		tb_api_reply_row(resp, 200, r, 1, 0);
	else if (read_state(app, resp, state_sql, n, params, verdict))
		tb_resp_fail(resp, race);
	PQclear(r);
}

void tb_api_trash_restore_note(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), tb_i64(iid, req->ids[1])};
	if (read_state(app, resp, SQL_NOTE_STATE, 3, params, note_verdict))
		restore(app, resp, SQL_NOTE_RESTORE, SQL_NOTE_STATE, 3, params, note_verdict, TB_E_NOTE_CHANGED);
}

/* ---- boards in the trash ---- */

/* The boards in the trash that the caller may restore (owner, or admin of the board's team), the
 * most recently deleted first, each with who deleted it, when, and when it will be purged ($2:
 * trash_days; 0: never, purge_at null). */
static const char SQL_BOARDS[] =
	"SELECT jsonb_build_object('boards', coalesce(jsonb_agg(board_json(b, r.role)"
	"         || jsonb_build_object('deleted_at', b.deleted_at,"
	"                               'deleted_by', (SELECT jsonb_build_object('id', u.id, 'name', u.name,"
	"                                                                  'display_name', u.display_name)"
	"                                                FROM users u WHERE u.id = b.deleted_by),"
	"                               'purge_at', CASE WHEN $2::int > 0"
	"                                                THEN b.deleted_at + make_interval(days => $2::int) END)"
	"         ORDER BY b.deleted_at DESC, b.id DESC), '[]'::jsonb))::text"
	" FROM boards b LEFT JOIN team_members m ON m.team_id = b.team_id AND m.user_id = $1::bigint"
	" CROSS JOIN LATERAL (SELECT CASE WHEN b.team_id IS NULL THEN 'owner'"
	"                                 ELSE team_board_role(b.owner_id = $1::bigint, m.role) END AS role) r"
	" WHERE b.deleted_at IS NOT NULL AND ((b.team_id IS NULL AND b.owner_id = $1::bigint) OR m.user_id IS NOT NULL)"
	"   AND r.role IN ('owner', 'admin')";

void tb_api_trash_boards(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], days[24];
	snprintf(days, sizeof days, "%ld", app->cfg->trash_days);
	const char *params[] = {tb_i64(uid, req->user_id), days};
	tb_api_query_reply(app, resp, 200, SQL_BOARDS, 2, params);
}

/* (state, role): where the board is ('live', 'trash', 'purged': a tombstone; NULL: never was) and
 * the caller's role on it there (for a tombstone: the role they would have had). */
static const char SQL_BOARD_STATE[] =
	"SELECT CASE WHEN b.id IS NULL THEN CASE WHEN g.board_id IS NOT NULL THEN 'purged' END"
	"            WHEN b.deleted_at IS NULL THEN 'live' ELSE 'trash' END,"
	"       CASE WHEN b.id IS NOT NULL AND b.deleted_at IS NULL THEN board_role($1::bigint, b.id)"
	"            WHEN b.id IS NOT NULL THEN trashed_board_role($1::bigint, b.id)"
	"            WHEN g.team_id IS NULL THEN CASE WHEN g.owner_id = $1::bigint THEN 'owner' END"
	"            ELSE team_board_role(g.owner_id = $1::bigint, (SELECT m.role FROM team_members m"
	"                                 WHERE m.team_id = g.team_id AND m.user_id = $1::bigint)) END"
	" FROM (SELECT $2::bigint AS id) k LEFT JOIN boards b ON b.id = k.id"
	" LEFT JOIN board_tombstones g ON g.board_id = k.id";

/* Takes the board out of the trash: a new version, and boards_event logs board.restored. (version,
 * json) of the board as GET /boards lists it, with last_event_id the restore's own event. */
static const char SQL_BOARD_RESTORE[] = TB_SQL_WITH_ACTOR
	","
	" r AS MATERIALIZED (SELECT trashed_board_role_locked($1::bigint, $2::bigint) AS role)"
	" UPDATE boards b SET deleted_at = NULL, deleted_by = NULL, version = b.version + 1, updated_at = now()"
	"  FROM actor, r WHERE b.id = $2::bigint AND b.deleted_at IS NOT NULL AND r.role IN ('owner', 'admin')"
	" RETURNING b.version, board_json(b, r.role) || jsonb_build_object('last_event_id', b.last_seq + 1)";

/* A board's state row: (state, role). */
static bool board_verdict(struct tb_resp *resp, PGresult *r)
{
	return answer(resp, r, 1, 0, tb_trash_board_verdict);
}

void tb_api_trash_restore_board(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	if (read_state(app, resp, SQL_BOARD_STATE, 2, params, board_verdict))
		restore(app, resp, SQL_BOARD_RESTORE, SQL_BOARD_STATE, 2, params, board_verdict, TB_E_BOARD_CHANGED);
}
