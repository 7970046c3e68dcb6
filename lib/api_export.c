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

/* ---- The copy: an export's note or event from the stored JSON text without json-c ----
 * PostgreSQL writes that text (jsonb's output, json_build_object's for items.json) with ": " and
 * ", " between members, escapes as json-c does (\" \\ \b \f \n \r \t, \u00xx for the other
 * control characters, nothing else), integers as digits and no key twice. So the export's bytes
 * come from copying its members in the format's order without the spaces: about a tenth of
 * json-c's parse, re-build and print. Whatever is not that plain (another escape, a number that is
 * not an int64's digits, more members than expected) is re-built with json-c as before, so the
 * bytes are json-c's either way (tests/unit/test_export.c compares the two). */

#define MAX_MEMBERS 24

/* A member of an object's text: its key (between the quotes, as written) and its value's text. */
struct member {
	const char *key, *val;
	size_t key_len, val_len;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* The \u escape at p (its u) as json-c writes one: \u00xx of a control character that has no
 * short escape (\b \t \n \f \r), not NUL. */
static bool plain_u_escape(const char *p, const char *end)
{
	if (end - p < 5 || p[1] != '0' || p[2] != '0' || (p[3] != '0' && p[3] != '1') || p[4] == '\0' ||
	    !strchr("0123456789abcdef", p[4]))
		return false;
	return p[3] == '1' || !strchr("089acd", p[4]);
}

/* The end of the string whose quote is at p, or NULL. *plain false for an escape json-c would
 * print otherwise (\/, \u of a character past the control characters or NUL) or a raw control
 * character. */
static const char *scan_string(const char *p, const char *end, bool *plain)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if ((unsigned char)*p < 0x20) {
			*plain = false;
		} else if (*p == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u')
				*plain = *plain && plain_u_escape(p, end);
			else if (!strchr("\"\\bfnrt", *p) || *p == '\0')
				*plain = false;
		}
	}
	return NULL;
}

/* A literal or a number: *plain false unless true, false, null or an int64's plain digits. */
static const char *scan_scalar(const char *p, const char *end, bool *plain)
{
	const char *s = p;
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
		p++;
	size_t n = (size_t)(p - s);
	if ((n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
	    (n == 5 && memcmp(s, "false", 5) == 0))
		return p;
	const char *d = s + (n > 0 && *s == '-');
	size_t digits = (size_t)(p - d), i = 0;
	while (i < digits && d[i] >= '0' && d[i] <= '9')
		i++;
	if (digits == 0 || i < digits || digits > 18 || (*d == '0' && (digits > 1 || d != s)))
		*plain = false;
	return p;
}

/* The end of the value at p (up to end), or NULL when it is not JSON as PostgreSQL writes it. */
static const char *scan_value(const char *p, const char *end, int depth, bool *plain)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return scan_string(p, end, plain);
	if (*p != '{' && *p != '[')
		return scan_scalar(p, end, plain);
	char close = *p == '{' ? '}' : ']';
	if (depth >= TB_JSON_MAX_DEPTH)
		return NULL;
	p = skip_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p >= end || *p != '"' || (p = scan_string(p, end, plain)) == NULL)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_ws(p + 1, end);
		}
		if ((p = scan_value(p, end, depth + 1, plain)) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return p < end && *p == close ? p + 1 : NULL;
		p = skip_ws(p + 1, end);
	}
}

/* The members of the object whose text is [p, end) into m: how many, or -1 when it is not an
 * object of at most MAX_MEMBERS distinct keys. */
static int members(const char *p, const char *end, struct member *m, bool *plain)
{
	int n = 0;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return skip_ws(p + 1, end) == end ? 0 : -1;
	for (;;) {
		if (n == MAX_MEMBERS || p >= end || *p != '"')
			return -1;
		m[n].key = p + 1;
		if ((p = scan_string(p, end, plain)) == NULL)
			return -1;
		m[n].key_len = (size_t)(p - 1 - m[n].key);
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return -1;
		m[n].val = p = skip_ws(p + 1, end);
		if ((p = scan_value(p, end, 1, plain)) == NULL)
			return -1;
		m[n].val_len = (size_t)(p - m[n].val);
		for (int i = 0; i < n; i++)
			if (m[i].key_len == m[n].key_len && memcmp(m[i].key, m[n].key, m[n].key_len) == 0)
				return -1;
		n++;
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return p < end && *p == '}' && skip_ws(p + 1, end) == end ? n : -1;
		p = skip_ws(p + 1, end);
	}
}

static const struct member *find(const struct member *m, int n, const char *key)
{
	size_t len = strlen(key);
	for (int i = 0; i < n; i++)
		if (m[i].key_len == len && memcmp(m[i].key, key, len) == 0)
			return &m[i];
	return NULL;
}

/* Appends a value's text without the white space outside its strings. */
static void put_compact(struct tb_buf *out, const char *p, size_t len)
{
	const char *end = p + len;
	bool plain = true;
	while (p < end) {
		const char *s = p;
		if (*p == '"')
			p = scan_string(p, end, &plain);
		else
			while (p < end && *p != '"' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
				p++;
		tb_buf_append(out, s, (size_t)(p - s));
		p = skip_ws(p, end);
	}
}

/* Appends ,"key":value for each of keys[] that m has; *comma false: the first without its comma. */
static void put_keys(struct tb_buf *out, const struct member *m, int n, const char *const *keys, bool *comma)
{
	for (size_t i = 0; keys[i]; i++) {
		const struct member *v = find(m, n, keys[i]);
		if (v == NULL)
			continue;
		tb_buf_append(out, *comma ? ",\"" : "\"", *comma ? 2 : 1);
		tb_buf_append(out, keys[i], strlen(keys[i]));
		tb_buf_append(out, "\":", 2);
		put_compact(out, v->val, v->val_len);
		*comma = true;
	}
}

/* Appends s as a JSON string escaped as json-c and PostgreSQL escape it, or null for NULL. */
static void put_string(struct tb_buf *out, const char *s)
{
	static const char special[] =
		"\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";
	if (s == NULL) {
		tb_buf_append(out, "null", 4);
		return;
	}
	tb_buf_append(out, "\"", 1);
	for (;;) {
		size_t run = strcspn(s, special);
		tb_buf_append(out, s, run);
		s += run;
		if (*s == '\0')
			break;
		const char *e = *s == '"' ? "\\\""
			: *s == '\\'      ? "\\\\"
			: *s == '\b'      ? "\\b"
			: *s == '\f'      ? "\\f"
			: *s == '\n'      ? "\\n"
			: *s == '\r'      ? "\\r"
			: *s == '\t'      ? "\\t"
					  : NULL;
		if (e)
			tb_buf_append(out, e, 2);
		else
			tb_buf_printf(out, "\\u00%c%c", "0123456789abcdef"[(unsigned char)*s >> 4],
			              "0123456789abcdef"[(unsigned char)*s & 15]);
		s++;
	}
	tb_buf_append(out, "\"", 1);
}

/* Appends v in decimal, as json-c prints an int64 (without printf: an export prints 200,000). */
static void put_int(struct tb_buf *out, int64_t v)
{
	char d[24], *p = d + sizeof d;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	tb_buf_append(out, p, (size_t)(d + sizeof d - p));
}

static const char *const NOTE_HEAD[] = {"id", "text", "color", "x", "y", "width", "height", "z", NULL};
static const char *const NOTE_TAIL[] = {"version", "created_at", "updated_at", NULL};

/* A note of the export from the members of a note's JSON (tb_export_note's order). */
static void put_note(struct tb_buf *out, const struct member *m, int n, const char *author)
{
	bool comma = false;
	tb_buf_append(out, "{", 1);
	put_keys(out, m, n, NOTE_HEAD, &comma);
	if (find(m, n, "author_id")) {
		tb_buf_append(out, comma ? ",\"author\":" : "\"author\":", comma ? 10 : 9);
		put_string(out, author);
		comma = true;
	}
	put_keys(out, m, n, NOTE_TAIL, &comma);
	tb_buf_append(out, "}", 1);
}

/* The board of a board.* event or the member of a member.* one (export_part), copied. */
static bool put_part(struct tb_buf *out, const struct member *v, const char *const *keys)
{
	struct member m[MAX_MEMBERS];
	bool plain = true, comma = false;
	int n = members(v->val, v->val + v->val_len, m, &plain);
	if (n < 0 || !plain)
		return false;
	tb_buf_append(out, "{", 1);
	put_keys(out, m, n, keys, &comma);
	tb_buf_append(out, "}", 1);
	return true;
}

/* Appends ,"item":...,"board":...,... of a payload by copying; false (out as it was) when the
 * payload is not plain enough to copy. */
static bool payload_copied(struct tb_buf *out, const char *payload, size_t len, const char *author)
{
	static const char *const board[] = {"title", "version", "created_at", "updated_at", NULL};
	static const char *const member[] = {"name", "role", NULL};
	static const char *const rest[] = {"changed", "before", "restored", "undo_of", "redo_of", NULL};
	struct member m[MAX_MEMBERS], im[MAX_MEMBERS];
	bool plain = true, comma = true;
	size_t was = out->len;
	int n = members(payload, payload + len, m, &plain);
	const struct member *item = n >= 0 ? find(m, n, "item") : NULL, *v;
	int k = item ? members(item->val, item->val + item->val_len, im, &plain) : 0;
	if (n < 0 || k < 0 || !plain)
		return false;
	if (item) {
		tb_buf_append(out, ",\"item\":", 8);
		put_note(out, im, k, author);
	}
	bool ok = true;
	if ((v = find(m, n, "board")) != NULL) {
		tb_buf_append(out, ",\"board\":", 9);
		ok = put_part(out, v, board);
	}
	if (ok && (v = find(m, n, "member")) != NULL) {
		tb_buf_append(out, ",\"member\":", 10);
		ok = put_part(out, v, member);
	}
	put_keys(out, m, n, rest, &comma);
	if (!ok)
		out->len = was;
	return ok;
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

/* The members an event takes from its payload, built with json-c: the reference the copy below
 * must equal, and the way for a payload the copy does not take. */
static void payload_rebuilt(struct tb_buf *out, const char *payload, size_t len, const char *author)
{
	static const char *const rest[] = {"changed", "before", "restored", "undo_of", "redo_of", NULL};
	struct json_object *ev = json_object_new_object(), *v;
	struct json_object *p = stored_json(payload, (int)len);
	if (json_object_object_get_ex(p, "item", &v))
		json_object_object_add(ev, "item", tb_export_note(v, author));
	if (json_object_object_get_ex(p, "board", &v))
		json_object_object_add(ev, "board", export_part("board", v));
	if (json_object_object_get_ex(p, "member", &v))
		json_object_object_add(ev, "member", export_part("member", v));
	copy_keys(ev, p, rest);
	json_object_put(p);
	size_t n;
	const char *s = json_object_to_json_string_length(ev, JSON_FLAGS, &n);
	if (n > 2) { /* {"item":...} becomes ,"item":... */
		tb_buf_append(out, ",", 1);
		tb_buf_append(out, s + 1, n - 2);
	}
	json_object_put(ev);
}

void tb_export_payload(struct tb_buf *out, const char *payload, size_t len, const char *author, bool copy)
{
	if (!copy || !payload_copied(out, payload, len, author))
		payload_rebuilt(out, payload, len, author);
}

void tb_export_note_text(struct tb_buf *out, const char *json, size_t len, const char *author, bool copy)
{
	struct member m[MAX_MEMBERS];
	bool plain = true;
	int n = members(json, json + len, m, &plain);
	if (copy && n >= 0 && plain) {
		put_note(out, m, n, author);
		return;
	}
	struct json_object *item = stored_json(json, (int)len);
	struct json_object *note = tb_export_note(item, author);
	size_t k;
	const char *s = json_object_to_json_string_length(note, JSON_FLAGS, &k);
	tb_buf_append(out, s, k);
	json_object_put(note);
	json_object_put(item);
}

/* One row of SQL_EVENTS as an event of the export. *step_raw / *step_first: the previous event's
 * step and the seq that step began at (a step's events are consecutive: its board row is locked to
 * its commit), so "step" names a step by its first seq, which means the same after an import. */
static void put_event(struct tb_buf *out, PGresult *r, int row, int64_t *step_raw, int64_t *step_first)
{
	int64_t seq = strtoll(PQgetvalue(r, row, 0), NULL, 10);
	tb_buf_append(out, "{\"seq\":", 7);
	put_int(out, seq);
	tb_buf_append(out, ",\"type\":", 8);
	put_string(out, PQgetvalue(r, row, 1));
	tb_buf_append(out, ",\"at\":", 6);
	put_string(out, PQgetvalue(r, row, 2));
	tb_buf_append(out, ",\"actor\":", 9);
	put_string(out, PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3));
	if (!PQgetisnull(r, row, 5)) {
		int64_t raw = strtoll(PQgetvalue(r, row, 5), NULL, 10);
		if (*step_first == 0 || raw != *step_raw)
			*step_first = seq;
		*step_raw = raw;
		tb_buf_append(out, ",\"step\":", 8);
		put_int(out, *step_first);
	} else {
		*step_first = 0;
		tb_buf_append(out, ",\"step\":null", 12);
	}
	tb_export_payload(out, PQgetvalue(r, row, 4), (size_t)PQgetlength(r, row, 4),
	                  PQgetisnull(r, row, 6) ? NULL : PQgetvalue(r, row, 6), true);
	tb_buf_append(out, "}", 1);
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
			const char *author = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
			if (csv) {
				struct json_object *item = stored_json(PQgetvalue(r, i, 0), PQgetlength(r, i, 0));
				tb_export_csv_line(&o->buf, item, author);
				json_object_put(item);
			} else {
				tb_buf_append(&o->buf, first ? "\n" : ",\n", first ? 1 : 2);
				tb_export_note_text(&o->buf, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), author,
				                    true);
			}
			out_put(o, "", 0);
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

/* The log, page by page: the query of the next page is sent before the rows of this one are
 * written, so PostgreSQL reads and prints it meanwhile. False on a database failure. */
static bool write_events(struct tb_app *app, const char *bid, struct out *o)
{
	int64_t step_raw = 0, step_first = 0;
	char seq[24] = "0";
	const char *params[] = {bid, seq};
	bool first = true, sent = tb_db_send(&app->db, SQL_EVENTS, 2, params) == TB_OK;
	while (sent) {
		PGresult *r = NULL;
		if (tb_db_wait(&app->db, SQL_EVENTS, &r) != TB_OK)
			return false;
		int n = PQntuples(r);
		if (n == EXPORT_PAGE) {
			snprintf(seq, sizeof seq, "%s", PQgetvalue(r, n - 1, 0));
			if (tb_db_send(&app->db, SQL_EVENTS, 2, params) != TB_OK)
				n = -1; /* the rows of this page are not written: the document stays unfinished */
		}
		for (int i = 0; i < n && !o->failed; i++) {
			tb_buf_append(&o->buf, first ? "\n" : ",\n", first ? 1 : 2);
			put_event(&o->buf, r, i, &step_raw, &step_first);
			out_put(o, "", 0);
			first = false;
		}
		PQclear(r);
		if (n != EXPORT_PAGE)
			return n >= 0;
		if (o->failed) { /* the client is gone: the sent page is read and dropped */
			if (tb_db_wait(&app->db, SQL_EVENTS, &r) == TB_OK)
				PQclear(r);
			return true;
		}
	}
	return false;
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
	bool cut = ok && o.failed; /* a write to the client failed */
	if (!o.failed && req->io.flush(req->io.ctx) < 0) {
		cut = true;
		o.timed_out = errno == ETIMEDOUT;
	}
	if (cut)
		TB_LOG(TB_LOG_INFO, "export of board %s cut short: %s", bid,
		       o.timed_out ? "the client did not read within write_timeout" : "the client went away");
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
