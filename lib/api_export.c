/* api_export: GET /boards/:id/export (issue 14, item 5; docs/export-format.md). Viewers and up.
 * The answer is one JSON document in the export format, version TB_EXPORT_VERSION: the board,
 * its notes in (z, id) order and its whole history (the event log, in seq order), with every
 * person named by name instead of id, so that POST /boards/import (api_import.c) can make the
 * same board on another server. With an Accept naming text/csv it is the notes as CSV instead
 * (RFC 4180, formula-guarded: tb_export_csv_field).
 *
 * The document is streamed: one REPEATABLE READ, READ ONLY transaction (so the notes and the log
 * are one snapshot) pages through the notes and then the log with a keyset cursor, EXPORT_PAGE
 * rows a query, and each row becomes one json-c object written out at once; the worker holds a
 * page and EXPORT_FLUSH bytes of output, whatever the size of the board. Once the head is written
 * the status cannot change: a database failure after it ends the document short (no closing
 * brace), which no JSON reader takes for a whole export. A large reply counts against
 * max_large_replies* as a buffered one does (tb_server.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_server.h"

#define EXPORT_PAGE 1000
#define EXPORT_FLUSH 65536
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* (role, title, version, last_seq, created_at, updated_at, now): role NULL for a board the caller
 * cannot see or one in the trash. Times as their JSON (ISO 8601 with offset). */
static const char SQL_BOARD[] =
	"SELECT board_role($1::bigint, b.id), b.title, b.version, b.last_seq, to_json(b.created_at) #>> '{}',"
	" to_json(b.updated_at) #>> '{}', to_json(now()) #>> '{}' FROM boards b WHERE b.id = $2::bigint";

/* A page of notes after the cursor (z, id) ($2, $3; NULL: from the first): (json, author name, z, id). */
static const char SQL_NOTES[] =
	"SELECT i.json, u.name, i.z, i.id FROM items i LEFT JOIN users u ON u.id = i.author_id"
	" WHERE i.board_id = $1::bigint AND ($2::int IS NULL OR (i.z, i.id) > ($2::int, $3::bigint))"
	" ORDER BY i.z, i.id LIMIT 1000";

/* A page of the log after seq $2: (seq, type, at, actor name, payload, step, the name of the
 * author of the payload's note). The page is taken first, by the primary key (board_id, seq), so
 * that no plan joins or sorts the whole log for each page. */
static const char SQL_EVENTS[] =
	"SELECT e.seq, e.type, to_json(e.created_at) #>> '{}', u.name, e.payload::text, e.step, a.name"
	" FROM (SELECT * FROM board_events WHERE board_id = $1::bigint AND seq > $2::bigint ORDER BY seq LIMIT 1000) e"
	" LEFT JOIN users u ON u.id = e.actor_id"
	" LEFT JOIN users a ON a.id = (e.payload -> 'item' ->> 'author_id')::bigint ORDER BY e.seq";

/* The output: bytes gathered up to EXPORT_FLUSH, then written through the transport. */
struct out {
	const struct tb_io *io;
	struct tb_buf buf;
	bool failed; /* a write failed: nothing more is written */
	bool timed_out;
};

static void out_flush(struct out *o)
{
	if (!o->failed && o->buf.len && o->io->write(o->io->ctx, o->buf.data, o->buf.len) < 0) {
		o->failed = true;
		o->timed_out = errno == ETIMEDOUT;
	}
	tb_buf_reset(&o->buf);
}

static void out_put(struct out *o, const char *s, size_t len)
{
	tb_buf_append(&o->buf, s, len);
	if (o->buf.len >= EXPORT_FLUSH)
		out_flush(o);
}

static void out_json(struct out *o, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_FLAGS, &len);
	out_put(o, s, len);
}

/* Parses JSON the database wrote (a payload, items.json): json-c's tokener, kept for the process,
 * without tb_json_parse's checks of a client's text (a third of an export's time). NULL if it is
 * not JSON, which the copies below read as an object without members. */
static struct json_object *stored_json(const char *text, int len)
{
	static struct json_tokener *tok;
	if (tok == NULL)
		tok = json_tokener_new_ex(TB_JSON_MAX_DEPTH);
	json_tokener_reset(tok);
	struct json_object *v = json_tokener_parse_ex(tok, text, len);
	return json_tokener_get_error(tok) == json_tokener_success ? v : (json_object_put(v), NULL);
}

/* Copies the members keys[] of from into to, in that order, those that from has. */
static void copy_keys(struct json_object *to, struct json_object *from, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++) {
		struct json_object *v;
		if (json_object_object_get_ex(from, keys[i], &v))
			json_object_object_add(to, keys[i], json_object_get(v));
	}
}

static struct json_object *name_or_null(const char *name)
{
	return name ? json_object_new_string(name) : NULL;
}

struct json_object *tb_export_note(struct json_object *item, const char *author)
{
	static const char *const head[] = {"id", "text", "color", "x", "y", "width", "height", "z", NULL};
	static const char *const tail[] = {"version", "created_at", "updated_at", NULL};
	struct json_object *note = json_object_new_object();
	copy_keys(note, item, head);
	if (json_object_object_get_ex(item, "author_id", NULL))
		json_object_object_add(note, "author", name_or_null(author));
	copy_keys(note, item, tail);
	return note;
}

/* The board of a board.* event, or the member of a member.* one, without ids. */
static struct json_object *export_part(const char *key, struct json_object *part)
{
	static const char *const board[] = {"title", "version", "created_at", "updated_at", NULL};
	static const char *const member[] = {"name", "role", NULL};
	struct json_object *o = json_object_new_object();
	copy_keys(o, part, strcmp(key, "board") == 0 ? board : member);
	return o;
}

/* One row of SQL_EVENTS as an event of the export. *step_raw / *step_first: the previous event's
 * step and the seq that step began at (a step's events are consecutive: its board row is locked to
 * its commit), so "step" names a step by its first seq, which means the same after an import. */
static struct json_object *export_event(PGresult *r, int row, int64_t *step_raw, int64_t *step_first)
{
	static const char *const rest[] = {"changed", "before", "restored", "undo_of", "redo_of", NULL};
	int64_t seq = strtoll(PQgetvalue(r, row, 0), NULL, 10);
	struct json_object *ev = json_object_new_object(), *payload = NULL, *v;
	json_object_object_add(ev, "seq", json_object_new_int64(seq));
	json_object_object_add(ev, "type", json_object_new_string(PQgetvalue(r, row, 1)));
	json_object_object_add(ev, "at", json_object_new_string(PQgetvalue(r, row, 2)));
	json_object_object_add(ev, "actor", name_or_null(PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3)));
	struct json_object *step = NULL;
	if (!PQgetisnull(r, row, 5)) {
		int64_t raw = strtoll(PQgetvalue(r, row, 5), NULL, 10);
		if (*step_first == 0 || raw != *step_raw)
			*step_first = seq;
		*step_raw = raw;
		step = json_object_new_int64(*step_first);
	} else {
		*step_first = 0;
	}
	json_object_object_add(ev, "step", step);
	payload = stored_json(PQgetvalue(r, row, 4), PQgetlength(r, row, 4));
	if (json_object_object_get_ex(payload, "item", &v))
		json_object_object_add(ev, "item",
		                       tb_export_note(v, PQgetisnull(r, row, 6) ? NULL : PQgetvalue(r, row, 6)));
	if (json_object_object_get_ex(payload, "board", &v))
		json_object_object_add(ev, "board", export_part("board", v));
	if (json_object_object_get_ex(payload, "member", &v))
		json_object_object_add(ev, "member", export_part("member", v));
	copy_keys(ev, payload, rest);
	json_object_put(payload);
	return ev;
}

void tb_export_csv_field(struct tb_buf *out, const char *s, bool guard)
{
	bool formula = guard && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		tb_buf_append(out, formula ? "\"'" : "\"", formula ? 2 : 1);
	for (const char *p = s; *p; p++) {
		size_t run = strcspn(p, "\"");
		tb_buf_append(out, p, run);
		p += run;
		if (*p == '\0')
			break;
		tb_buf_append(out, "\"\"", 2);
	}
	if (quote)
		tb_buf_append(out, "\"", 1);
}

void tb_export_csv_line(struct tb_buf *out, struct json_object *item, const char *author)
{
	/* text, color, x, y, width, height, author, updated; texts guarded, numbers as they are */
	static const struct {
		const char *key;
		bool text;
	} cols[] = {{"text", true},   {"color", true},   {"x", false}, {"y", false},
	            {"width", false}, {"height", false}, {NULL, true}, {"updated_at", true}};
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		struct json_object *v = NULL;
		const char *s = cols[i].key == NULL                        ? (author ? author : "")
			: json_object_object_get_ex(item, cols[i].key, &v) ? json_object_get_string(v)
									   : "";
		if (i > 0)
			tb_buf_append(out, ",", 1);
		tb_export_csv_field(out, s, cols[i].text);
	}
	tb_buf_append(out, "\r\n", 2);
}

/* The notes, page by page, each as json (csv false) or a CSV line. False on a database failure. */
static bool write_notes(struct tb_app *app, const char *bid, struct out *o, bool csv)
{
	char z[24] = "", id[24] = "";
	bool first = true;
	for (;;) {
		const char *params[] = {bid, z[0] ? z : NULL, z[0] ? id : NULL};
		PGresult *r = NULL;
		if (tb_db_query(&app->db, SQL_NOTES, 3, params, &r) != TB_OK)
			return false;
		int n = PQntuples(r);
		for (int i = 0; i < n && !o->failed; i++) {
			struct json_object *item = NULL;
			item = stored_json(PQgetvalue(r, i, 0), PQgetlength(r, i, 0));
			const char *author = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
			if (csv) {
				tb_export_csv_line(&o->buf, item, author);
				out_put(o, "", 0);
			} else {
				out_put(o, first ? "\n" : ",\n", first ? 1 : 2);
				struct json_object *note = tb_export_note(item, author);
				out_json(o, note);
				json_object_put(note);
			}
			json_object_put(item);
			first = false;
		}
		if (n > 0) {
			snprintf(z, sizeof z, "%s", PQgetvalue(r, n - 1, 2));
			snprintf(id, sizeof id, "%s", PQgetvalue(r, n - 1, 3));
		}
		PQclear(r);
		if (n < EXPORT_PAGE || o->failed)
			return true;
	}
}

/* The log, page by page. False on a database failure. */
static bool write_events(struct tb_app *app, const char *bid, struct out *o)
{
	int64_t after = 0, step_raw = 0, step_first = 0;
	bool first = true;
	for (;;) {
		char seq[24];
		const char *params[] = {bid, tb_i64(seq, after)};
		PGresult *r = NULL;
		if (tb_db_query(&app->db, SQL_EVENTS, 2, params, &r) != TB_OK)
			return false;
		int n = PQntuples(r);
		for (int i = 0; i < n && !o->failed; i++) {
			out_put(o, first ? "\n" : ",\n", first ? 1 : 2);
			struct json_object *ev = export_event(r, i, &step_raw, &step_first);
			out_json(o, ev);
			json_object_put(ev);
			first = false;
		}
		if (n > 0)
			after = strtoll(PQgetvalue(r, n - 1, 0), NULL, 10);
		PQclear(r);
		if (n < EXPORT_PAGE || o->failed)
			return true;
	}
}

/* The document's head: {"format", "version", "exported_at", "board", then "notes": [ open. */
static void write_head(struct out *o, PGresult *b)
{
	struct json_object *board = json_object_new_object();
	json_object_object_add(board, "title", json_object_new_string(PQgetvalue(b, 0, 1)));
	json_object_object_add(board, "version", json_object_new_int64(strtoll(PQgetvalue(b, 0, 2), NULL, 10)));
	json_object_object_add(board, "last_seq", json_object_new_int64(strtoll(PQgetvalue(b, 0, 3), NULL, 10)));
	json_object_object_add(board, "created_at", json_object_new_string(PQgetvalue(b, 0, 4)));
	json_object_object_add(board, "updated_at", json_object_new_string(PQgetvalue(b, 0, 5)));
	struct json_object *format = json_object_new_string(TB_EXPORT_FORMAT);
	struct json_object *at = json_object_new_string(PQgetvalue(b, 0, 6));
	out_put(o, "{\"format\":", 10);
	out_json(o, format);
	tb_buf_printf(&o->buf, ",\"version\":%d,\"exported_at\":", TB_EXPORT_VERSION);
	out_json(o, at);
	out_put(o, ",\n\"board\":", 10);
	out_json(o, board);
	out_put(o, ",\n\"notes\":[", 11);
	json_object_put(format);
	json_object_put(at);
	json_object_put(board);
}

bool tb_export_wants_csv(const char *accept)
{
	for (const char *p = accept ? accept : ""; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t len = strcspn(p, ",;");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 8 && strncasecmp(p, "text/csv", 8) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* Claims a large reply's slot (tb_server.c's claim_large_reply: an export is nearly always over
 * TB_SERVER_LARGE_REPLY): false after answering 503 busy. *held: a slot was claimed. */
static bool claim_slot(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, bool *held)
{
	const struct tb_config *cfg = app->cfg;
	*held = false;
	if (cfg->max_large_replies_per_address <= 0 && cfg->max_large_replies <= 0)
		return true;
	char key[64];
	tb_auth_address_key(req->remote_addr, key, sizeof key);
	int64_t hold_ms = 10 * (int64_t)cfg->write_timeout * 1000 + TB_SERVER_REPLY_LINGER_MS(cfg);
	enum tb_err err =
		tb_metrics_hold_reply(key, cfg->max_large_replies_per_address, cfg->max_large_replies, hold_ms);
	if (err == TB_ERR_TOO_LARGE) {
		tb_metrics_add(TB_M_LARGE_REPLIES_REFUSED, 1);
		tb_resp_error(resp, 503, "busy",
		              "too many large replies are being sent at once; try again after Retry-After");
		tb_resp_set_header(resp, "Retry-After", "1");
		return false;
	}
	*held = err == TB_OK;
	return true;
}

/* Writes the head of the answer and the document (or the CSV) inside the snapshot. True when the
 * client did not read it within write_timeout (the web server may hold this process a while). */
static bool stream(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, PGresult *b, bool csv)
{
	char bid[24], disposition[80];
	tb_i64(bid, req->ids[0]);
	resp->status = 200;
	tb_resp_set_header(resp, "Content-Type",
	                   csv ? "text/csv; charset=utf-8; header=present" : "application/json; charset=utf-8");
	snprintf(disposition, sizeof disposition, "attachment; filename=\"board-%s.%s\"", bid, csv ? "csv" : "json");
	tb_resp_set_header(resp, "Content-Disposition", disposition);
	struct out o = {&req->io, {0}, false, false};
	tb_resp_head(resp, &o.buf);
	resp->streamed = true;
	bool ok;
	if (csv) {
		tb_buf_puts(&o.buf, "text,color,x,y,width,height,author,updated\r\n");
		ok = write_notes(app, bid, &o, true);
	} else {
		write_head(&o, b);
		ok = write_notes(app, bid, &o, false);
		out_put(&o, "\n],\n\"events\":[", 14);
		ok = ok && write_events(app, bid, &o);
		out_put(&o, "\n]}\n", 4);
	}
	if (!ok) {
		TB_LOG(TB_LOG_WARN, "export of board %s cut short: database failure", bid);
		o.failed = true; /* the document stays unfinished */
	}
	out_flush(&o);
	if (!o.failed && req->io.flush(req->io.ctx) < 0)
		o.timed_out = errno == ETIMEDOUT;
	tb_buf_free(&o.buf);
	return o.timed_out;
}

void tb_api_export(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char uid[24], bid[24];
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0])};
	PGresult *r = NULL, *end = NULL;
	if (tb_resp_db_failed(resp,
	                      tb_db_exec(&app->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, &r)))
		return;
	PQclear(r);
	r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_BOARD, 2, params, &r);
	bool held = false;
	if (tb_resp_db_failed(resp, err)) {
		/* answered */
	} else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	} else if (claim_slot(app, req, resp, &held)) {
		bool lingers = stream(app, req, resp, r, tb_export_wants_csv(req->accept));
		if (held && lingers) /* Apache holds the client until its Timeout */
			tb_metrics_linger(TB_SERVER_REPLY_LINGER_MS(app->cfg));
		else if (held)
			tb_metrics_unhold();
	}
	PQclear(r);
	if (err != TB_ERR_DB_DOWN) {
		tb_db_exec(&app->db, "ROLLBACK", 0, NULL, &end);
		PQclear(end);
	}
}
