/* tb_api: the REST handlers (one api_<resource>.c each), the fields of their bodies (which the
 * route table names and tb_app validates before a handler runs) and the helpers they share:
 * role ranks, loading a resource with the caller's role so that 404 / 403 / 412 are decided in
 * one place, and replies from database rows. */
#ifndef TB_API_H
#define TB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_app.h"
#include "tb_json.h"

#define TB_API_PREFIX "/api/v1"

/* The first CTE of every writing statement: the caller ($1) becomes the transaction's acting
 * user, whom the event log's triggers record (set_actor, sql/functions/common.sql). MATERIALIZED:
 * it runs once, before the writes that reference it (... USING actor, or FROM actor). */
#define TB_SQL_WITH_ACTOR "WITH actor AS MATERIALIZED (SELECT set_actor($1::bigint))"

struct tb_route;
/* The API's route table for tb_app_init; *n gets its length. */
const struct tb_route *tb_api_routes(size_t *n);

/* Role ranks: a route names the lowest rank it accepts. */
enum tb_rank { TB_RANK_NONE, TB_RANK_VIEWER, TB_RANK_EDITOR, TB_RANK_ADMIN, TB_RANK_OWNER };

/* The rank of a role name ("viewer" ... "owner"); TB_RANK_NONE for NULL, "" or others. */
enum tb_rank tb_api_rank(const char *role);

/* A resource as loaded for a request: the caller's rank, its version and its JSON. */
struct tb_api_target {
	enum tb_rank rank;
	int64_t version;
	char *json; /* caller frees */
};

/* Runs sql, which must return one row (role, version, json) or none, then decides: no row or no
 * role: 404; rank below min_rank: 403; with check_if_match, a stale If-Match: 412 carrying the
 * current object. Returns true when the handler may go on (t filled), false after answering. */
bool tb_api_load(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *sql, int n,
                 const char *const *params, enum tb_rank min_rank, bool check_if_match, struct tb_api_target *t);
/* Runs sql and answers status with the JSON text in column 0 of its one row. Returns false
 * (nothing answered) when it returned no row; a database failure is answered (503/500). */
bool tb_api_query_reply(struct tb_app *app, struct tb_resp *resp, int status, const char *sql, int n,
                        const char *const *params);
/* Runs sql, whose one row is (JSON text, its md5 in hex), and answers status with the text and
 * the strong ETag "<md5>"; a GET whose If-None-Match matches that tag (tb_if_none_match) gets 304
 * with the ETag and no body instead. Returns false (nothing answered) when sql returned no row; a
 * database failure is answered (503/500). */
bool tb_api_query_tagged(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int status, const char *sql,
                         int n, const char *const *params);
/* Answers with the JSON text of column col of row 0 of r (and ETag from column etag_col when >= 0). */
void tb_api_reply_row(struct tb_resp *resp, int status, PGresult *r, int col, int etag_col);

/* The fields of the request bodies, beside the handlers that read them (api_<resource>.c). */
extern const struct tb_fields tb_api_credentials;        /* {name, password}: sign-in */
extern const struct tb_fields tb_api_register_fields;    /* POST /users: {name, password, display_name} */
extern const struct tb_fields tb_api_team_fields;        /* POST /teams */
extern const struct tb_fields tb_api_member_fields;      /* POST /teams/:id/members */
extern const struct tb_fields tb_api_member_role_fields; /* PATCH /teams/:id/members/:id */
extern const struct tb_fields tb_api_board_fields;       /* POST /boards */
extern const struct tb_fields tb_api_board_patch_fields; /* PATCH /boards/:id */
extern const struct tb_fields tb_api_item_fields;        /* POST and PATCH of a note: TB_API_ITEM_FIELDS(false) */
extern const struct tb_fields tb_api_me_fields;          /* PATCH /users/me: {password: {...}}, {display_name} */
extern const struct tb_fields tb_api_me_delete_fields;   /* DELETE /users/me: {password} */
extern const struct tb_fields tb_api_reset_fields;       /* POST /password-resets/:token: {password} */
extern const struct tb_fields tb_api_invite_fields;      /* POST /teams/:id/invites */

/* The changeable fields of a note, in the order of their SQL parameters (api_items.c), each
 * required or not: one definition for the note's POST and PATCH (tb_api_item_fields) and for an
 * import's notes and an event's "before" (api_import.c). */
#define TB_API_ITEM_FIELDS(required)                                                                            \
	{"text", TB_FIELD_TEXT, 0, 10000, required, false, NULL, NULL},                                         \
		{"color", TB_FIELD_STRING, 7, 7, required, false, tb_api_color_ok, "a color like \"#ffcc00\""}, \
		{"x", TB_FIELD_INT, -100000, 100000, required, false, NULL, NULL},                              \
		{"y", TB_FIELD_INT, -100000, 100000, required, false, NULL, NULL},                              \
		{"width", TB_FIELD_INT, 20, 4000, required, false, NULL, NULL},                                 \
		{"height", TB_FIELD_INT, 20, 4000, required, false, NULL, NULL},                                \
	{                                                                                                       \
		"z", TB_FIELD_INT, -1000000, 1000000, required, false, NULL, NULL                               \
	}
/* True for a note's color: "#rrggbb" (hex digits of either case). */
bool tb_api_color_ok(const char *s);

/* The {name, password} fields of sign-up and sign-in (tb_api_credentials' table, for tb_admin). */
const struct tb_field *tb_api_credential_fields(size_t *n);

/* Checks before the body's fields (the route table's admit): false after answering. Sign-up:
 * 403 registration_closed unless registration is open. A note's create: 400 for a malformed
 * Idempotency-Key. */
bool tb_api_users_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
bool tb_api_items_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* PATCH /users/me: the members of "password" ({current, new}), 422 invalid naming
 * "password.<field>"; the pipeline then checks the body's own fields. */
bool tb_api_me_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);

/* The sign-in throttle (sql/012, api_sessions.c), also for the password checks of PATCH and
 * DELETE /users/me and the tokens of reset links. throttled counts one attempt for the account
 * key name (lower-cased) and the address key addr (tb_auth_address_key): false when it may go
 * ahead; true after answering 429 with Retry-After, or the database's error. succeeded takes the
 * attempt back (the account's count starts again). Both do nothing when login_max_failures is 0. */
bool tb_api_login_throttled(struct tb_app *app, struct tb_resp *resp, const char *name, const char *addr);
void tb_api_login_succeeded(struct tb_app *app, const char *name, const char *addr);
/* Sets (or with max_age 0 clears) the session cookie. With cookie_secure it also clears a
 * tb_session left from before: next to __Host-tb_session it would keep every request from being
 * signed in by cookie (tb_auth_token). */
void tb_api_session_cookie(struct tb_app *app, struct tb_resp *resp, const char *token, long max_age);

void tb_api_health(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_users_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_me(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_me_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_me_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_password_reset(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_sessions_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_sessions_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_teams_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_teams_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_teams_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_members_add(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_members_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_members_remove(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_boards_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_boards_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_boards_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_boards_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_boards_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_items_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_items_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_items_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_items_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* POST (announce) and DELETE (end) /boards/:id/items/:id/editing, told apart by req->method. */
void tb_api_items_editing(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* The trash (api_trash.c): GET /boards/:id/trash (a board's deleted notes, the newest
 * TB_TRASH_LIMIT), POST /boards/:id/items/:id/restore, GET /trash, POST /boards/:id/restore. */
#define TB_TRASH_LIMIT 100
void tb_api_trash_notes(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_trash_restore_note(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_trash_boards(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_trash_restore_board(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* Where a note or a board is for a restore: on its board (live), in the trash, purged (a
 * tombstone), or nowhere. tb_trash_state reads the names a state query gives ("live", "trash",
 * "purged"; anything else, NULL too: TB_TRASH_NONE). */
enum tb_trash_state { TB_TRASH_NONE, TB_TRASH_LIVE, TB_TRASH_IN, TB_TRASH_PURGED };
enum tb_trash_state tb_trash_state(const char *name);
/* What a restore answers for the caller's rank and the thing's state: the error, or TB_E__COUNT
 * when it may go on (in the trash, and the rank may restore). A note (rank on its live board):
 * 404 without a rank or a note, 403 below editor, then 409 live, 410 purged. A board (rank on it
 * where it is; for a tombstone, the rank it would give): 404 without a rank or a board, and for
 * one in the trash or purged below admin (it is not seen), 403 for a live one below admin, then
 * 409 live, 410 purged. */
enum tb_error_id tb_trash_note_verdict(enum tb_rank rank, enum tb_trash_state state);
enum tb_error_id tb_trash_board_verdict(enum tb_rank rank, enum tb_trash_state state);
/* Undo and redo (api_undo.c): POST /boards/:id/undo and POST /boards/:id/redo. tb_undo_verdict is what they answer for the caller's rank and the outcome the database
 * gave ("ok", "empty", "conflict", "purged"; NULL below editor): the error, or TB_E__COUNT for
 * 200. 404 without a rank, 403 below editor, 409 nothing_to_undo / nothing_to_redo for "empty",
 * 409 conflict, 410 gone for "purged"; an unknown outcome is 500 internal. */
/* GET /boards/:id/undo: {"can_undo", "can_redo"} for the caller (any role; false below editor). */
void tb_api_undo_state(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_undo(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_redo(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
enum tb_error_id tb_undo_verdict(enum tb_rank rank, const char *outcome, bool redo);
void tb_api_viewers(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* The items_after cursor "<z>.<id>" of a board page (items_next of the page before, api_boards.c).
 * Absent: true with *zp and *idp NULL; malformed: false; else *zp and *idp point to z and id. */
bool tb_api_items_cursor(struct tb_req *req, char z[24], char id[24], const char **zp, const char **idp);
/* A board's events for a caller who may read them (api_events.c): the stream (Accept:
 * text/event-stream) or a JSON page of the log; link_id 0 for a member, else a public link's
 * guest, who gets them in their public form (tb_stream_serve_guest). */
void tb_api_events_serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id,
                         int64_t link_id);
/* Public read-only links (api_links.c, docs/api.md "Public links"): POST, GET /boards/:id/links and
 * DELETE /boards/:id/links/:id (the board's owner or a team admin: 404 without a role, 403 below
 * admin; at most TB_LINKS_MAX links per board, 409 too_many_links over it), and, with no session,
 * GET /public/boards/:token (the board and its notes) and GET /public/boards/:token/events (404 for
 * a token of no link, or of a board in the trash). */
#define TB_LINKS_MAX 20
void tb_api_links_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_links_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_links_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_public_board(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_public_events(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* Time travel (api_history.c): GET /boards/:id/history?seq=N or ?at=<time>, the board as it was
 * after event N (docs/api.md). tb_history_params reads the query: true when exactly one of seq
 * ("0" or an id-like decimal, no sign or leading zero: *seq, at "") and at (a time that
 * tb_history_parse_at takes: *seq -1) is given; false for both, neither, or a malformed one.
 * tb_history_parse_at takes an ISO 8601 time with its offset, YYYY-MM-DDTHH:MM[:SS[.f{1,6}]]
 * followed by Z or +HH[[:]MM] / -HH[[:]MM] (a space for the '+': an unescaped '+' in a query),
 * a real date and time (no leap second, no 24:00), and writes it out as
 * "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM" for PostgreSQL; false for anything else. */
#define TB_HISTORY_AT_LEN 64
void tb_api_history(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
bool tb_history_params(const char *query, int64_t *seq, char at[TB_HISTORY_AT_LEN]);
bool tb_history_parse_at(const char *s, char out[TB_HISTORY_AT_LEN]);
/* "Restore this version": POST /boards/:id/history/restore {"seq": N} (editor and up) makes the
 * changes that bring the board's notes back to their state after event N, in one transaction: one
 * undo step of the caller, every change an ordinary event. "Since your last visit":
 * GET /boards/:id/visit and POST /boards/:id/visit {"seq": N} (viewer and up), the last seq the
 * caller's browser reported having shown. tb_history_verdict is what they answer for the caller's
 * rank, the rank the route needs (min) and the outcome of board_restore_version() or board_visit()
 * (sql/functions/history.sql: "ok", "beyond", "pruned", "purged", "changed"; NULL below editor):
 * the error, or TB_E__COUNT for 200. 404 without a rank, 403 below min, 400 for "beyond", 410
 * reset for "pruned", 410 gone for "purged", 409 conflict for "changed"; an unknown outcome is
 * 500 internal. */
extern const struct tb_fields tb_api_seq_fields; /* {seq}: the restore's and the visit's body */
void tb_api_history_restore(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_visit_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_visit_report(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
enum tb_error_id tb_history_verdict(enum tb_rank rank, enum tb_rank min, const char *outcome);

/* Invite links (api_invites.c; docs/api.md, "Invite links"): a team admin's POST, GET and DELETE
 * of /teams/:id/invites[/:id]; GET /invites/:token (no session: the team's name and the role) and
 * POST /invites/:token/accept (joins the team). Lookups by token count toward the sign-in
 * throttle (429); an unknown, expired, used up or revoked link is 410 gone. */
void tb_api_invites_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_invites_list(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_invites_revoke(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_invite_show(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_invite_accept(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);

/* Export and import (api_export.c, api_import.c; docs/export-format.md): GET /boards/:id/export
 * (viewers and up: the board, its notes and its whole history as one JSON document, streamed; the
 * notes as CSV for an Accept naming text/csv) and POST /boards/import (a new board of the caller's,
 * or of team ?team_id= for its editors and admins, from such a document of at most max_import
 * bytes). */
#define TB_EXPORT_FORMAT "teamboard-export"
#define TB_EXPORT_VERSION 1
void tb_api_export(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_api_import(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* True when an Accept header lists the media type text/csv (parameters and q ignored). */
bool tb_export_wants_csv(const char *accept);
/* A note of the export from a note's JSON (items.json or an event's "item"): its members in the
 * format's order, author_id replaced by "author" (the name given, or null); members item lacks
 * are left out. Caller puts it. */
struct json_object *tb_export_note(struct json_object *item, const char *author);
/* Appends the note of the export (as tb_export_note, printed) of a note's stored JSON text. With
 * copy, a text as PostgreSQL writes it is copied member by member instead of re-built with
 * json-c: the same bytes (copy false: always json-c, the reference the unit tests compare with). */
void tb_export_note_text(struct tb_buf *out, const char *json, size_t len, const char *author, bool copy);
/* Appends the members an event of the export takes from its stored payload, each as ,"key":value:
 * "item" (a note, author its author's name or NULL), "board", "member", then "changed", "before",
 * "restored", "undo_of", "redo_of", those the payload has. copy as for tb_export_note_text. */
void tb_export_payload(struct tb_buf *out, const char *payload, size_t len, const char *author, bool copy);
/* Appends s as one CSV field (RFC 4180: quoted when it holds a comma, quote, CR or LF, quotes
 * doubled). With guard, a field that a spreadsheet would read as a formula (it begins with =, +,
 * -, @, tab or CR) is quoted with a ' before it (OWASP's CSV injection advice). */
void tb_export_csv_field(struct tb_buf *out, const char *s, bool guard);
/* Appends one CSV line (CRLF) of a note's JSON: text, color, x, y, width, height, author, updated. */
void tb_export_csv_line(struct tb_buf *out, struct json_object *item, const char *author);

#endif
