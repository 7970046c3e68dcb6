/* api_undo: undo and redo per person (issue 14, item 3; docs/api.md, "Undo and redo";
 * docs/design.md, "Undo and redo"). POST /boards/:id/undo reverses the caller's newest note change
 * on the board that is not undone yet (made from any client), POST /boards/:id/redo the caller's
 * newest undo that is not redone, while no new change of the caller came after it. The work is one
 * statement, board_undo() (sql/functions/undo.sql): it checks and holds the caller's role as
 * every write does, locks the notes of the step, refuses (and writes nothing) when someone else
 * changed one of them since, and otherwise makes the reversing changes, each an ordinary change
 * whose event carries "undo_of" / "redo_of". Its row (role, outcome, body) is answered here.
 * GET /boards/:id/undo says whether each would find something, so that a client just opened knows
 * whether to offer them. */
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"

/* (role, 0, body): the caller's role on the board and, for a role, whether an undo and a redo
 * would find a step (undo_step, the walk board_undo starts with); false below editor. */
static const char SQL_UNDO_STATE[] =
	"SELECT r.role, 0, CASE WHEN r.role IS NOT NULL THEN jsonb_build_object("
	"  'can_undo', r.role IN ('owner', 'admin', 'editor') AND undo_step($1::bigint, $2::bigint, false) IS NOT NULL,"
	"  'can_redo', r.role IN ('owner', 'admin', 'editor') AND undo_step($1::bigint, $2::bigint, true) IS NOT NULL"
	")::text END"
	" FROM (SELECT board_role($1::bigint, $2::bigint) AS role OFFSET 0) r";

void tb_api_undo_state(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	struct tb_api_target t;
	if (!tb_api_load(app, req, resp, SQL_UNDO_STATE, 2, params, TB_RANK_VIEWER, false, &t))
		return;
	tb_resp_json_text(resp, 200, t.json, strlen(t.json));
	free(t.json);
}

static const char SQL_UNDO[] = "SELECT role, outcome, body FROM board_undo($1::bigint, $2::bigint, $3::boolean)";

enum tb_error_id tb_undo_verdict(enum tb_rank rank, const char *outcome, bool redo)
{
	if (rank == TB_RANK_NONE)
		return TB_E_NOT_FOUND;
	if (rank < TB_RANK_EDITOR)
		return TB_E_FORBIDDEN;
	static const struct {
		const char *outcome;
		enum tb_error_id undo, redo;
	} table[] = {
		{"ok", TB_E__COUNT, TB_E__COUNT},
		{"empty", TB_E_NOTHING_TO_UNDO, TB_E_NOTHING_TO_REDO},
		{"conflict", TB_E_UNDO_CONFLICT, TB_E_REDO_CONFLICT},
		{"purged", TB_E_NOTE_PURGED, TB_E_NOTE_PURGED},
	};
	for (size_t i = 0; outcome && i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(outcome, table[i].outcome) == 0)
			return redo ? table[i].redo : table[i].undo;
	}
	return TB_E_INTERNAL;
}

static void undo(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, bool redo)
{
	char uid[24], bid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), redo ? "true" : "false"};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_UNDO, 3, params, &r);
	if (err == TB_ERR_CONFLICT) { /* a unique index: the change was undone (redone) meanwhile */
		tb_resp_fail(resp, redo ? TB_E_REDO_CONFLICT : TB_E_UNDO_CONFLICT);
		return;
	}
	if (tb_resp_db_failed(resp, err))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	const char *outcome = PQntuples(r) == 1 && !PQgetisnull(r, 0, 1) ? PQgetvalue(r, 0, 1) : NULL;
	enum tb_error_id e = tb_undo_verdict(rank, outcome, redo);
	if (e == TB_E__COUNT) {
		tb_api_reply_row(resp, 200, r, 2, -1);
	} else if (e == TB_E_UNDO_CONFLICT || e == TB_E_REDO_CONFLICT) {
		/* With the other person's change ({"event": ...}) when there is one. */
		struct json_object *body = PQgetisnull(r, 0, 2) ? NULL : json_tokener_parse(PQgetvalue(r, 0, 2));
		struct json_object *event = NULL;
		if (body && json_object_object_get_ex(body, "event", &event))
			json_object_get(event);
		json_object_put(body);
		tb_resp_fail_with(resp, e, "event", event);
	} else {
		tb_resp_fail(resp, e);
	}
	PQclear(r);
}

void tb_api_undo(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	undo(app, req, resp, false);
}

void tb_api_redo(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	undo(app, req, resp, true);
}
