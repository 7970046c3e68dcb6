/* api_items: the sticky notes of a board. Viewers read; editors and up create, change and delete.
 * PATCH changes only the fields it names; every change bumps the item's version, and If-Match
 * makes a change conditional on the version the client saw. A create with an Idempotency-Key is
 * made once per key (a repeat with the same fields gets the first reply, one with other fields
 * 422). Editors also announce that they are editing
 * a note (the editing routes at the end), which every stream of the board shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_stream.h"

bool tb_api_color_ok(const char *s)
{
	return s[0] == '#' && strlen(s) == 7 && strspn(s + 1, "0123456789abcdefABCDEF") == 6;
}

/* Order matters: the values become SQL parameters $3..$9 in this order. */
static const struct tb_field fields[] = {TB_API_ITEM_FIELDS(false)};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };
const struct tb_fields tb_api_item_fields = TB_FIELDS(fields);

/* params[2 + i] = text of field i, or NULL (SQL NULL: keep / default) when absent. */
static void field_params(struct json_object *body, const char **params)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		struct json_object *v;
		params[2 + i] = json_object_object_get_ex(body, fields[i].name, &v) ? json_object_get_string(v) : NULL;
	}
}

static const char SQL_BOARD_ROLE[] = "SELECT board_role($1::bigint, $2::bigint), 0, ''";

static const char SQL_ITEM[] =
	"SELECT board_role($1::bigint, i.board_id), i.version, item_json(i) FROM items i"
	" WHERE i.id = $3::bigint AND i.board_id = $2::bigint";

/* Every write checks the caller's role in its own statement with board_role_locked (sql/011),
 * which holds the caller's membership row FOR SHARE to the commit: a removal or demotion either
 * waits for the write or is seen by it, never slips in between a check and the write.
 *
 * A create inserts only for an editor of the board: the role check is part of the one round
 * trip, and a caller who may not write (no row) is told why by SQL_BOARD_ROLE afterwards. */
#define CREATE_WITH                                                                                         \
	TB_SQL_WITH_ACTOR                                                                                   \
	","                                                                                                 \
	" i AS (INSERT INTO items (board_id, text, color, x, y, w, h, z, author_id)"                        \
	"       SELECT $2::bigint, coalesce($3, ''), coalesce(lower($4), '#fff59d'), coalesce($5::int, 0)," \
	"              coalesce($6::int, 0), coalesce($7::int, 200), coalesce($8::int, 150),"               \
	"              coalesce($9::int, (SELECT least(coalesce(max(z) + 1, 0), 1000000) FROM items"        \
	"                                  WHERE board_id = $2::bigint)),"                                  \
	"              $1::bigint FROM actor"                                                               \
	"        WHERE board_role_locked($1::bigint, $2::bigint) IN ('owner', 'admin', 'editor')"           \
	"       RETURNING items.id, items.version, item_json(items) AS json)"

static const char SQL_CREATE[] = CREATE_WITH " SELECT id, version, json FROM i";

/* The request a key stands for: the sha256 of the fields $3..$9 as read (a value or null each, in
 * the order of fields[]), so neither their order in the body nor the JSON's spacing and escapes
 * count (sql/015). */
#define REQUEST_HASH                                                                                 \
	"sha256(convert_to(json_build_array($3::text, $4::text, $5::int, $6::int, $7::int, $8::int," \
	" $9::int)::text, 'UTF8'))"

/* With an Idempotency-Key ($10) the key's row is inserted by the same statement as the note, so
 * a concurrent request with the same key fails on the key's primary key (after waiting for this
 * one's commit) and its own note is rolled back with it (sql/014). */
static const char SQL_CREATE_KEYED[] = CREATE_WITH
	", k AS (INSERT INTO idempotency_keys (user_id, board_id, key, item_id, version, status, body,"
	"                                      request_hash)"
	"               SELECT $1::bigint, $2::bigint, $10, i.id, i.version, 201, i.json::text, " REQUEST_HASH
	"                 FROM i)"
	" SELECT id, version, json FROM i";

/* (role, status, body, item_id, version, same): the caller's role on the board and the reply
 * stored for the key, when there is one; same is whether this request is the one the key was
 * first used with (true for a row from before sql/015, which has no hash). Parameters as for
 * SQL_CREATE_KEYED. */
static const char SQL_KEY[] =
	"SELECT r.role, k.status, k.body, k.item_id, k.version,"
	"       k.request_hash IS NULL OR k.request_hash = " REQUEST_HASH
	" FROM (SELECT board_role($1::bigint, $2::bigint) AS role) r"
	" LEFT JOIN idempotency_keys k ON k.user_id = $1::bigint AND k.board_id = $2::bigint AND k.key = $10";

static const char SQL_UPDATE[] = TB_SQL_WITH_ACTOR
	" UPDATE items i SET text = coalesce($3, i.text), color = coalesce(lower($4), i.color),"
	"        x = coalesce($5::int, i.x), y = coalesce($6::int, i.y), w = coalesce($7::int, i.w),"
	"        h = coalesce($8::int, i.h), z = coalesce($9::int, i.z), version = i.version + 1, updated_at = now()"
	" FROM actor WHERE i.id = $10::bigint AND i.board_id = $2::bigint"
	"   AND ($11::bigint IS NULL OR i.version = $11::bigint)"
	"   AND board_role_locked($1::bigint, $2::bigint) IN ('owner', 'admin', 'editor')"
	" RETURNING i.version, item_json(i)";

static const char SQL_DELETE[] = TB_SQL_WITH_ACTOR
	" DELETE FROM items i USING actor WHERE i.id = $3::bigint AND i.board_id = $2::bigint"
	"   AND ($4::bigint IS NULL OR i.version = $4::bigint)"
	"   AND board_role_locked($1::bigint, $2::bigint) IN ('owner', 'admin', 'editor')";

/* An Idempotency-Key: 1 to 64 of [A-Za-z0-9_-] (docs/api.md). */
static bool key_ok(const char *key)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
	size_t n = strlen(key);
	return n >= 1 && n <= 64 && strspn(key, chars) == n;
}

static void set_location(struct tb_resp *resp, const char *bid, const char *iid)
{
	char loc[96];
	snprintf(loc, sizeof loc, TB_API_PREFIX "/boards/%s/items/%s", bid, iid);
	tb_resp_set_header(resp, "Location", loc);
}

/* Answers a create whose key was used before: 404/403 when the caller may no longer create on
 * the board, 422 when the key was used with another request, else the stored reply with
 * Idempotent-Replayed. Returns false (nothing answered) when the key has no row. params: as for
 * SQL_CREATE_KEYED (uid, bid, the fields, key). */
static bool replay(struct tb_app *app, struct tb_resp *resp, const char *const *params)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_KEY, 3 + N_FIELDS, params, &r)))
		return true;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	bool done = true;
	if (rank == TB_RANK_NONE) {
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	} else if (rank < TB_RANK_EDITOR) {
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	} else if (PQgetisnull(r, 0, 1)) {
		done = false;
	} else if (strcmp(PQgetvalue(r, 0, 5), "t") != 0) {
		tb_resp_fail(resp, TB_E_IDEMPOTENCY_KEY_REUSED);
	} else {
		int status = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
		tb_resp_json_text(resp, status, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
		tb_resp_etag(resp, strtoll(PQgetvalue(r, 0, 4), NULL, 10));
		set_location(resp, params[1], PQgetvalue(r, 0, 3));
		tb_resp_set_header(resp, "Idempotent-Replayed", "true");
	}
	PQclear(r);
	return done;
}

bool tb_api_items_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	if (!req->idempotency_key || key_ok(req->idempotency_key))
		return true;
	tb_resp_fail(resp, TB_E_BAD_IDEMPOTENCY_KEY);
	return false;
}

void tb_api_items_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *key = req->idempotency_key; /* well-formed: tb_api_items_admit */
	char uid[24], bid[24];
	const char *params[3 + N_FIELDS] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	field_params(app->body_json, params);
	params[2 + N_FIELDS] = key;
	if (key && replay(app, resp, params))
		return;
	PGresult *r = NULL;
	enum tb_err err = key ? tb_db_query(&app->db, SQL_CREATE_KEYED, 3 + N_FIELDS, params, &r)
			      : tb_db_query(&app->db, SQL_CREATE, 2 + N_FIELDS, params, &r);
	if (err == TB_ERR_CONFLICT && key) { /* the same key, committed meanwhile */
		if (!replay(app, resp, params))
			tb_resp_fail(resp, TB_E_KEY_RACE);
		return;
	}
	if (tb_resp_db_failed(resp, err))
		return;
	if (PQntuples(r) != 1) {
		PQclear(r);
		/* Not an editor (404 or 403), or the role changed since the insert looked (409). */
		struct tb_api_target t;
		if (tb_api_load(app, req, resp, SQL_BOARD_ROLE, 2, params, TB_RANK_EDITOR, false, &t)) {
			free(t.json);
			tb_resp_fail(resp, TB_E_ROLE_CHANGED);
		}
		return;
	}
	tb_api_reply_row(resp, 201, r, 2, 1);
	set_location(resp, bid, PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* Loads the item (board, item) = req->ids for a caller of at least min rank. */
static bool load_item(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, enum tb_rank min, bool if_match,
                      struct tb_api_target *t, char uid[24], char bid[24], char iid[24])
{
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), tb_i64(iid, req->ids[1])};
	return tb_api_load(app, req, resp, SQL_ITEM, 3, params, min, if_match, t);
}

void tb_api_items_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24];
	struct tb_api_target t;
	if (!load_item(app, req, resp, TB_RANK_VIEWER, false, &t, uid, bid, iid))
		return;
	tb_resp_json_text(resp, 200, t.json, strlen(t.json));
	tb_resp_etag(resp, t.version);
	free(t.json);
}

/* A write matched no row: the note changed or went away, or the caller's role did, since the
 * load. Answer as a fresh load would (412, 404 or 403), else 409. */
static void lost_race(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24];
	struct tb_api_target t;
	if (load_item(app, req, resp, TB_RANK_EDITOR, true, &t, uid, bid, iid)) {
		free(t.json);
		tb_resp_fail(resp, TB_E_NOTE_CHANGED);
	}
}

void tb_api_items_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24], ver[24];
	struct tb_api_target t;
	if (!load_item(app, req, resp, TB_RANK_EDITOR, true, &t, uid, bid, iid))
		return;
	free(t.json);
	const char *params[4 + N_FIELDS] = {uid, bid};
	field_params(app->body_json, params);
	params[2 + N_FIELDS] = iid;
	params[3 + N_FIELDS] = req->if_match ? tb_i64(ver, t.version) : NULL;
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_UPDATE, 4 + N_FIELDS, params, &r)))
		return;
	if (PQntuples(r) == 1)
		tb_api_reply_row(resp, 200, r, 1, 0);
	else
		lost_race(app, req, resp);
	PQclear(r);
}

void tb_api_items_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24], ver[24];
	struct tb_api_target t;
	if (!load_item(app, req, resp, TB_RANK_EDITOR, true, &t, uid, bid, iid))
		return;
	free(t.json);
	const char *params[] = {uid, bid, iid, req->if_match ? tb_i64(ver, t.version) : NULL};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_DELETE, 4, params, &r)))
		return;
	if (strcmp(PQcmdTuples(r), "0") != 0)
		resp->status = 204;
	else
		lost_race(app, req, resp);
	PQclear(r);
}

/* ---- editing announcements ----
 * POST/DELETE /boards/:id/items/:id/editing: "being edited by" badges. The announcement is a NOTIFY
 * on the board's channel, "editing <JSON>" or "editing.end <JSON>", which every stream of the
 * board forwards as a control event (tb_stream.c); nothing is recorded in the log. A user
 * announces a note at most once per second between two starts, but a start after an end always
 * goes out (an editor closed and opened again at once shows its badge); an end goes out only
 * after the announcement it ends (table editing_announcements, sql/014: editing is whether the
 * last start is not ended yet, sent_at when it went out). Other calls are answered 204 and send
 * nothing. Each statement returns (role, item on the board, notifications sent).
 *
 * The note's row is held FOR KEY SHARE to the commit (for a caller who can see the board): a
 * deletion of the note (or its board) that commits while the statement runs is waited for and
 * then seen as no note (404), never a foreign-key error; one that starts later waits for this
 * statement. */
#define EDITING_WITH                                                                                        \
	"WITH r AS MATERIALIZED (SELECT board_role($1::bigint, $2::bigint) AS role),"                       \
	" it AS MATERIALIZED (SELECT i.id FROM items i WHERE i.id = $3::bigint AND i.board_id = $2::bigint" \
	"                       AND (SELECT r.role FROM r) IS NOT NULL FOR KEY SHARE),"                     \
	" a AS MATERIALIZED (SELECT r.role, EXISTS (SELECT 1 FROM it) AS item FROM r),"                     \
	" ok AS (SELECT 1 FROM a WHERE a.role IN ('owner', 'admin', 'editor') AND a.item),"

static const char SQL_EDITING_START[] = EDITING_WITH
	" s AS (INSERT INTO editing_announcements AS e (user_id, item_id, editing, sent_at)"
	"       SELECT $1::bigint, $3::bigint, true, now() FROM ok"
	"       ON CONFLICT (user_id, item_id) DO UPDATE SET editing = true, sent_at = EXCLUDED.sent_at"
	"        WHERE NOT e.editing OR e.sent_at <= EXCLUDED.sent_at - interval '1 second'"
	"       RETURNING 1)"
	" SELECT a.role, a.item, (SELECT count(*) FROM (SELECT pg_notify(board_channel($2::bigint), 'editing ' ||"
	"          format('{\"item_id\":%s,\"user_id\":%s,\"name\":%s,\"display_name\":%s,\"ttl\":30}',"
	"                 $3::bigint, $1::bigint, to_json(u.name)::text, to_json(u.display_name)::text))"
	"          FROM s, users u WHERE u.id = $1::bigint) n)"
	" FROM a";

static const char SQL_EDITING_END[] = EDITING_WITH
	" s AS (UPDATE editing_announcements e SET editing = false FROM ok"
	"        WHERE e.user_id = $1::bigint AND e.item_id = $3::bigint AND e.editing RETURNING 1)"
	" SELECT a.role, a.item, (SELECT count(*) FROM (SELECT pg_notify(board_channel($2::bigint), 'editing.end ' ||"
	"          format('{\"item_id\":%s,\"user_id\":%s}', $3::bigint, $1::bigint)) FROM s) n)"
	" FROM a";

void tb_api_items_editing(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24], iid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), tb_i64(iid, req->ids[1])};
	const char *sql = req->method == TB_DELETE ? SQL_EDITING_END : SQL_EDITING_START;
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, 3, params, &r)))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	if (rank == TB_RANK_NONE || strcmp(PQgetvalue(r, 0, 1), "t") != 0)
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	else if (rank < TB_RANK_EDITOR)
		tb_resp_fail(resp, TB_E_FORBIDDEN);
	else
		resp->status = 204;
	PQclear(r);
}
