/* api_import: POST /boards/import (issue 14, item 5; docs/export-format.md). Any signed-in user
 * for a board of their own; with ?team_id=N an editor or admin of team N for a board of the team.
 * The body is an export document (api_export.c) of version TB_EXPORT_VERSION; the answer is the
 * new board (201), with the document's notes and its whole history: the same seqs, types, times
 * and contents, the notes with new ids (increasing in the document's (z, id) order, so that order
 * is kept), every person by name where a user of that name exists here, else null.
 *
 * The body has its own limit, max_import (not max_body), and is never held whole: tb_jscan hands
 * over one member or one note or event at a time (at most PIECE_MAX bytes), each is parsed with
 * json-c, checked strictly, and written in batches of BATCH rows, all in one transaction that a
 * bad piece anywhere rolls back. The history must hold together: seqs consecutive up to the
 * board's last_seq, steps and undo_of / redo_of pointing back, a note created only while it does
 * not exist and changed or deleted only while it does, and the notes exactly what the history
 * leaves (for a history from seq 1; a pruned one is checked as far as it goes). Every refusal is
 * 422 invalid naming the place ("events[12].item.color: ..."); a body json-c cannot read is 400
 * bad_json. The notes log nothing while they are written (teamboard.importing, functions/
 * events.sql): the history is the document's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_jscan.h"

#define PIECE_MAX ((size_t)256 * 1024)
#define BATCH 1000
#define ID_BLOCK 1000

/* ---- field tables ---- */

static bool time_ok(const char *s)
{
	char out[TB_HISTORY_AT_LEN];
	return tb_history_parse_at(s, out);
}

static bool role_ok(const char *s)
{
	return strcmp(s, "viewer") == 0 || strcmp(s, "editor") == 0 || strcmp(s, "admin") == 0;
}

#define TIME_HINT "an ISO 8601 time with its offset"
#define TIME_FIELD(name)                                                      \
	{                                                                     \
		name, TB_FIELD_STRING, 1, 64, true, false, time_ok, TIME_HINT \
	}

static const struct tb_field note_fields[] = {
	{"id", TB_FIELD_ID, 0, 0, true, false, NULL, NULL},
	TB_API_ITEM_FIELDS(true),
	{"author", TB_FIELD_STRING, 1, 64, true, true, NULL, NULL},
	{"version", TB_FIELD_INT, 1, INT64_MAX, true, false, NULL, NULL},
	TIME_FIELD("created_at"),
	TIME_FIELD("updated_at"),
};
static const struct tb_field gone_fields[] = {{"id", TB_FIELD_ID, 0, 0, true, false, NULL, NULL}};
static const struct tb_field board_fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL},
	{"version", TB_FIELD_INT, 1, INT64_MAX, true, false, NULL, NULL},
	{"last_seq", TB_FIELD_INT, 0, INT64_MAX, true, false, NULL, NULL},
	TIME_FIELD("created_at"),
	TIME_FIELD("updated_at"),
};
static const struct tb_field event_board_fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL},
	{"version", TB_FIELD_INT, 1, INT64_MAX, true, false, NULL, NULL},
	TIME_FIELD("created_at"),
	TIME_FIELD("updated_at"),
};
static const struct tb_field board_deleted_fields[] = {
	{"version", TB_FIELD_INT, 1, INT64_MAX, true, false, NULL, NULL}};
static const struct tb_field board_before_fields[] = {{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL}};
static const struct tb_field member_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, true, NULL, NULL},
	{"role", TB_FIELD_STRING, 1, 16, true, true, role_ok, "viewer, editor or admin"},
};

/* What each event type carries besides seq, type, at, actor and step. */
enum { P_ITEM = 1, P_BOARD = 2, P_MEMBER = 4, P_CHANGED = 8, P_BEFORE = 16, P_RESTORED = 32, P_UNDO = 64 };
static const struct event_type {
	const char *name;
	unsigned parts; /* allowed; the first of item, board, member is required */
	const struct tb_field *part;
	size_t n_part;
} event_types[] = {
	{"item.created", P_ITEM | P_RESTORED | P_UNDO, note_fields, sizeof note_fields / sizeof note_fields[0]},
	{"item.updated", P_ITEM | P_CHANGED | P_BEFORE | P_UNDO, note_fields,
         sizeof note_fields / sizeof note_fields[0]},
	{"item.deleted", P_ITEM | P_UNDO, note_fields, sizeof note_fields / sizeof note_fields[0]},
	{"board.updated", P_BOARD | P_CHANGED | P_BEFORE, event_board_fields, 4},
	{"board.deleted", P_BOARD, board_deleted_fields, 1},
	{"board.restored", P_BOARD, event_board_fields, 4},
	{"member.added", P_MEMBER, member_fields, 2},
	{"member.updated", P_MEMBER, member_fields, 2},
	{"member.removed", P_MEMBER, member_fields, 2},
};

static bool type_ok(const char *s)
{
	for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++) {
		if (strcmp(event_types[i].name, s) == 0)
			return true;
	}
	return false;
}

static const struct tb_field event_fields[] = {
	{"seq", TB_FIELD_INT, 1, INT64_MAX, true, false, NULL, NULL},
	{"type", TB_FIELD_STRING, 1, 32, true, false, type_ok, "a known event type"},
	TIME_FIELD("at"),
	{"actor", TB_FIELD_STRING, 1, 64, true, true, NULL, NULL},
	{"step", TB_FIELD_INT, 1, INT64_MAX, true, true, NULL, NULL},
	{"item", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
	{"board", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
	{"member", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
	{"before", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
	{"restored", TB_FIELD_BOOL, 0, 0, false, false, NULL, NULL},
	{"undo_of", TB_FIELD_INT, 1, INT64_MAX, false, false, NULL, NULL},
	{"redo_of", TB_FIELD_INT, 1, INT64_MAX, false, false, NULL, NULL},
};

/* ---- the notes met so far: old id -> new id and what the history says of them ---- */

struct note {
	int64_t old_id, new_id;
	uint64_t note_hash, last_hash; /* of the note in "notes", of its last event's item */
	bool in_notes, seen, live;
};

struct notes {
	struct note *v;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct note *notes_find(struct notes *m, int64_t old_id, bool add)
{
	if (add && (m->n + 1) * 2 > m->cap) {
		struct notes grown = {tb_xcalloc(m->cap ? m->cap * 2 : 1024, sizeof(struct note)),
		                      m->cap ? m->cap * 2 : 1024, 0};
		for (size_t i = 0; i < m->cap; i++) {
			if (m->v[i].old_id)
				*notes_find(&grown, m->v[i].old_id, true) = m->v[i];
		}
		free(m->v);
		*m = grown;
	}
	if (m->cap == 0)
		return NULL;
	size_t i = (size_t)(((uint64_t)old_id * 0x9E3779B97F4A7C15ULL) >> 24) & (m->cap - 1);
	for (; m->v[i].old_id; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].old_id == old_id)
			return &m->v[i];
	}
	if (!add)
		return NULL;
	m->n++;
	m->v[i].old_id = old_id;
	return &m->v[i];
}

/* ---- the import ---- */

/* The document's members, in the order they must come, and those read element by element. */
static const char *const members[] = {"format", "version", "exported_at", "board", "notes", "events", NULL};
static const char *const arrays[] = {"notes", "events", NULL};

struct import {
	struct tb_app *app;
	char uid[24], team[24], bid[24]; /* team "": a personal board */
	int64_t user_id, team_id;        /* team_id 0: a personal board */
	int stage;                       /* members[stage] comes next */
	enum tb_error_id err;            /* TB_E__COUNT: none */
	enum tb_err db_err;              /* a database failure (answered as such) */
	char msg[256];
	int64_t board_id, last_seq;
	int64_t next_seq;  /* the seq the next event must have; 0 before the first */
	bool full;         /* the history starts at seq 1 */
	int64_t prev_step; /* the previous event's step, 0 when it had none */
	struct notes notes;
	int64_t ids[ID_BLOCK]; /* new note ids, taken from the sequence a block at a time */
	size_t n_ids, next_id;
	struct json_object *batch; /* rows for the next INSERT */
	const char *batch_sql;
	const char *pending; /* the statement of a batch sent and not yet waited for (settle), or NULL */
	long n_notes, n_events;
};

static const char SQL_TEAM_ROLE[] = "SELECT team_role_for_board($1::bigint, $2::bigint)";
static const char SQL_BOARD[] =
	"INSERT INTO boards (owner_id, team_id, title, version, last_seq, created_at, updated_at)"
	" VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5::bigint, $6::timestamptz, $7::timestamptz)"
	" RETURNING id, set_config('teamboard.importing', id::text, true)";
static const char SQL_IDS[] = "SELECT nextval('items_id_seq') FROM generate_series(1, 1000) ORDER BY 1";
static const char SQL_NOTES[] =
	"INSERT INTO items (id, board_id, text, color, x, y, w, h, z, author_id, version, created_at, updated_at)"
	" OVERRIDING SYSTEM VALUE SELECT (n ->> 'id')::bigint, $1::bigint, n ->> 'text', n ->> 'color', (n ->> 'x')::int, (n ->> 'y')::int,"
	"        (n ->> 'width')::int, (n ->> 'height')::int, (n ->> 'z')::int,"
	"        (SELECT u.id FROM users u WHERE lower(u.name) = lower(n ->> 'author')),"
	"        (n ->> 'version')::bigint, (n ->> 'created_at')::timestamptz, (n ->> 'updated_at')::timestamptz"
	" FROM jsonb_array_elements($2::jsonb) n";
/* A note's author goes into the payload as author_id, found by name. */
static const char SQL_EVENTS[] =
	"INSERT INTO board_events (board_id, seq, type, actor_id, payload, created_at, step, item_id, undo_of, redo_of)"
	" SELECT $1::bigint, (e ->> 'seq')::bigint, e ->> 'type',"
	"        (SELECT u.id FROM users u WHERE lower(u.name) = lower(e ->> 'actor')),"
	"        CASE WHEN e -> 'payload' -> 'item' ? 'author'"
	"             THEN jsonb_set(e -> 'payload', '{item}', (e -> 'payload' -> 'item') - 'author'"
	"                  || jsonb_build_object('author_id', (SELECT u.id FROM users u"
	"                                           WHERE lower(u.name) = lower(e -> 'payload' -> 'item' ->> 'author'))))"
	"             ELSE e -> 'payload' END,"
	"        (e ->> 'at')::timestamptz, (e ->> 'step')::bigint, (e ->> 'item_id')::bigint,"
	"        (e ->> 'undo_of')::bigint, (e ->> 'redo_of')::bigint"
	" FROM jsonb_array_elements($2::jsonb) e";
static const char SQL_ANSWER[] =
	"SELECT (board_json(b, board_role($1::bigint, b.id))"
	"        || jsonb_build_object('imported', jsonb_build_object('notes', $3::bigint, 'events', $4::bigint)))::text"
	" FROM boards b WHERE b.id = $2::bigint";

/* Refuses the document: 422 invalid with "<where><msg>". Returns false (the scan stops). */
static bool refuse(struct import *im, const char *where, const char *msg)
{
	if (im->err == TB_E__COUNT && im->db_err == TB_OK) {
		im->err = TB_E_INVALID;
		snprintf(im->msg, sizeof im->msg, "%.100s%.150s", where, msg);
	}
	return false;
}

static bool db_failed(struct import *im, enum tb_err err)
{
	if (err && im->db_err == TB_OK && im->err == TB_E__COUNT)
		im->db_err = err;
	return err != TB_OK;
}

/* Waits for the batch sent last, if one is on its way. False when it failed. */
static bool settle(struct import *im)
{
	if (im->pending == NULL)
		return true;
	PGresult *r = NULL;
	enum tb_err err = tb_db_wait(&im->app->db, im->pending, &r);
	PQclear(r);
	im->pending = NULL;
	return !db_failed(im, err);
}

static bool db(struct import *im, const char *sql, int n, const char *const *params, PGresult **out)
{
	return settle(im) && !db_failed(im, tb_db_query(&im->app->db, sql, n, params, out));
}

/* Sends the rows gathered so far and returns without waiting: PostgreSQL writes them while the
 * worker reads and checks the next batch (settle collects the answer before the next statement). */
static bool flush(struct import *im)
{
	if (im->batch == NULL)
		return true;
	const char *params[] = {im->bid, json_object_to_json_string_ext(im->batch, JSON_C_TO_STRING_PLAIN)};
	bool ok = settle(im) && !db_failed(im, tb_db_send(&im->app->db, im->batch_sql, 2, params));
	if (ok)
		im->pending = im->batch_sql;
	json_object_put(im->batch);
	im->batch = NULL;
	return ok;
}

static bool add_row(struct import *im, const char *sql, struct json_object *row)
{
	if (im->batch && im->batch_sql != sql && !flush(im)) {
		json_object_put(row);
		return false;
	}
	if (im->batch == NULL) {
		im->batch = json_object_new_array();
		im->batch_sql = sql;
	}
	json_object_array_add(im->batch, row);
	return json_object_array_length(im->batch) < BATCH || flush(im);
}

/* A new note id (in increasing order), or 0 after a database failure. */
static int64_t new_id(struct import *im)
{
	if (im->next_id == im->n_ids) {
		PGresult *r = NULL;
		if (!db(im, SQL_IDS, 0, NULL, &r))
			return 0;
		im->n_ids = (size_t)PQntuples(r);
		for (size_t i = 0; i < im->n_ids && i < ID_BLOCK; i++)
			im->ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		im->next_id = 0;
		PQclear(r);
	}
	return im->ids[im->next_id++];
}

/* The hash of a full note in the order of note_fields, whatever its members' order. */
static uint64_t note_hash(struct json_object *note)
{
	struct json_object *canon = json_object_new_object();
	for (size_t i = 0; i < sizeof note_fields / sizeof note_fields[0]; i++) {
		struct json_object *v = NULL;
		json_object_object_get_ex(note, note_fields[i].name, &v);
		json_object_object_add(canon, note_fields[i].name, json_object_get(v));
	}
	uint64_t h = fnv(json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN));
	json_object_put(canon);
	return h;
}

static bool check(struct import *im, const char *where, const struct tb_field *f, size_t n, struct json_object *obj,
                  bool require)
{
	char msg[200];
	if (tb_json_validate(f, n, obj, require, msg, sizeof msg) == TB_OK)
		return true;
	if (strncmp(msg, "body:", 5) == 0)
		return refuse(im, where, ": must be an object");
	char dotted[96];
	snprintf(dotted, sizeof dotted, "%s.", where);
	return refuse(im, dotted, msg);
}

#define CHECK(im, where, table, obj) check(im, where, table, sizeof(table) / sizeof((table)[0]), obj, true)

/* The board member: the new board, in the team when one was given. */
static bool board_member(struct import *im, struct json_object *b)
{
	if (!CHECK(im, "board", board_fields, b))
		return false;
	int64_t version = 0, last_seq = 0;
	const char *title = NULL, *created = NULL, *updated = NULL;
	tb_json_str(b, "title", &title);
	tb_json_int(b, "version", &version);
	tb_json_int(b, "last_seq", &last_seq);
	tb_json_str(b, "created_at", &created);
	tb_json_str(b, "updated_at", &updated);
	char v[24], ls[24];
	const char *params[] = {
		im->uid, im->team[0] ? im->team : NULL, title, tb_i64(v, version), tb_i64(ls, last_seq), created,
		updated};
	PGresult *r = NULL;
	if (!db(im, SQL_BOARD, 7, params, &r))
		return false;
	im->board_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	tb_i64(im->bid, im->board_id);
	im->last_seq = last_seq;
	im->full = last_seq == 0;
	PQclear(r);
	return true;
}

/* A member other than notes and events (whose "[" only opens them). */
static bool member(struct import *im, const char *key, const char *text, size_t len)
{
	bool array = strcmp(key, "notes") == 0 || strcmp(key, "events") == 0;
	if (array && !(len == 1 && text[0] == '['))
		return refuse(im, key, ": must be an array");
	if (array)
		return flush(im);
	struct json_object *v = NULL;
	if (tb_json_parse(text, len, TB_JSON_MAX_DEPTH, &v) != TB_OK) {
		im->err = TB_E_BAD_JSON;
		return false;
	}
	bool ok = true;
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if (strcmp(key, "format") == 0 && strcmp(s, TB_EXPORT_FORMAT) != 0)
		ok = refuse(im, "format", ": must be \"" TB_EXPORT_FORMAT "\"");
	else if (strcmp(key, "version") == 0 &&
	         (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != TB_EXPORT_VERSION))
		ok = refuse(im, "version", ": this server reads version 1 of the export format only");
	else if (strcmp(key, "exported_at") == 0 && !time_ok(s))
		ok = refuse(im, "exported_at", ": must be " TIME_HINT);
	else if (strcmp(key, "board") == 0)
		ok = board_member(im, v);
	json_object_put(v);
	return ok;
}

/* One element of "notes": inserted with a new id at once. */
static bool note(struct import *im, long index, struct json_object *n)
{
	char where[48];
	snprintf(where, sizeof where, "notes[%ld]", index);
	if (!CHECK(im, where, note_fields, n))
		return false;
	int64_t old_id = 0;
	tb_json_int(n, "id", &old_id);
	struct note *e = notes_find(&im->notes, old_id, true);
	if (e->in_notes)
		return refuse(im, where, ".id: the same note twice");
	e->in_notes = true;
	e->note_hash = note_hash(n);
	if ((e->new_id = new_id(im)) == 0)
		return false;
	struct json_object *row = json_object_get(n);
	json_object_object_add(row, "id", json_object_new_int64(e->new_id));
	im->n_notes++;
	return add_row(im, SQL_NOTES, row);
}

static const struct event_type *event_type(const char *name)
{
	for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++) {
		if (strcmp(event_types[i].name, name) == 0)
			return &event_types[i];
	}
	return NULL;
}

/* "changed": the names of the fields the change changed, each once. */
static bool changed_ok(struct import *im, const char *where, struct json_object *changed, bool item)
{
	size_t n = json_object_is_type(changed, json_type_array) ? json_object_array_length(changed) : 0;
	if (!json_object_is_type(changed, json_type_array))
		return refuse(im, where, ".changed: must be an array");
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(changed, i);
		const char *s = json_object_is_type(f, json_type_string) ? json_object_get_string(f) : "";
		bool known = !item && strcmp(s, "title") == 0;
		for (size_t k = 0; item && k < tb_api_item_fields.n; k++)
			known = known || strcmp(s, tb_api_item_fields.v[k].name) == 0;
		for (size_t k = 0; known && k < i; k++)
			known = strcmp(s, json_object_get_string(json_object_array_get_idx(changed, k))) != 0;
		if (!known)
			return refuse(im, where, ".changed: must list the changed fields, each once");
	}
	return true;
}

/* The parts of an event of type t: which it may and must carry, and their fields. */
static bool event_parts(struct import *im, const char *where, const struct event_type *t, struct json_object *ev,
                        struct json_object *changed)
{
	static const struct {
		const char *key;
		unsigned bit;
	} parts[] = {{"item", P_ITEM},         {"board", P_BOARD},  {"member", P_MEMBER}, {"before", P_BEFORE},
	             {"restored", P_RESTORED}, {"undo_of", P_UNDO}, {"redo_of", P_UNDO}};
	char sub[96];
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		bool has = json_object_object_get_ex(ev, parts[i].key, NULL);
		const char *wrong = has && !(t->parts & parts[i].bit) ? "not part of this type of event"
			: !has && (t->parts & 7) == parts[i].bit      ? "is required"
								      : NULL;
		snprintf(sub, sizeof sub, ".%s: %s", parts[i].key, wrong ? wrong : "");
		if (wrong)
			return refuse(im, where, sub);
	}
	if (changed && !(t->parts & P_CHANGED))
		return refuse(im, where, ".changed: not part of this type of event");
	struct json_object *v;
	bool item = t->parts & P_ITEM;
	if (changed && !changed_ok(im, where, changed, item))
		return false;
	snprintf(sub, sizeof sub, "%s.before", where);
	if (json_object_object_get_ex(ev, "before", &v) &&
	    !(item ? check(im, sub, tb_api_item_fields.v, tb_api_item_fields.n, v, false)
	           : check(im, sub, board_before_fields, 1, v, false)))
		return false;
	if (json_object_object_get_ex(ev, "restored", &v) && !json_object_get_boolean(v))
		return refuse(im, where, ".restored: must be true when given");
	const char *key = item ? "item" : t->parts & P_BOARD ? "board" : "member";
	json_object_object_get_ex(ev, key, &v);
	snprintf(sub, sizeof sub, "%s.%s", where, key);
	if (item && strcmp(t->name, "item.deleted") == 0 && json_object_object_length(v) == 1)
		return check(im, sub, gone_fields, 1, v, true); /* logged before deletions carried the note */
	return check(im, sub, t->part, t->n_part, v, true);
}

/* seq, step, undo_of and redo_of against the events before. */
static bool event_order(struct import *im, const char *where, struct json_object *ev)
{
	int64_t seq = 0, step = 0, back = 0;
	tb_json_int(ev, "seq", &seq);
	char msg[96];
	if (im->next_seq == 0) {
		im->full = seq == 1;
	} else if (seq != im->next_seq) {
		snprintf(msg, sizeof msg, ".seq: must be %lld (the seqs of a history are consecutive)",
		         (long long)im->next_seq);
		return refuse(im, where, msg);
	}
	if (seq > im->last_seq)
		return refuse(im, where, ".seq: must not pass board.last_seq");
	im->next_seq = seq + 1;
	bool has_step = tb_json_int(ev, "step", &step);
	if (has_step && step != seq && step != im->prev_step)
		return refuse(im, where, ".step: must be this event's seq or the step of the event before");
	im->prev_step = has_step ? step : 0;
	if ((tb_json_int(ev, "undo_of", &back) && back >= seq) || (tb_json_int(ev, "redo_of", &back) && back >= seq))
		return refuse(im, where, ".undo_of/redo_of: must be an earlier seq");
	return true;
}

/* A note event against what the history said of its note before; *e gets the note. */
static bool note_history(struct import *im, const char *where, const char *type, struct json_object *item,
                         struct note **out)
{
	int64_t old_id = 0;
	tb_json_int(item, "id", &old_id);
	struct note *e = notes_find(&im->notes, old_id, true);
	bool created = strcmp(type, "item.created") == 0;
	if (created && e->live)
		return refuse(im, where, ".item.id: a note created while it exists");
	if (!created && !e->live && (e->seen || im->full))
		return refuse(im, where, ".item.id: a note changed or deleted while it does not exist");
	if (e->new_id == 0 && (e->new_id = new_id(im)) == 0)
		return false;
	e->seen = true;
	e->live = strcmp(type, "item.deleted") != 0;
	if (e->live)
		e->last_hash = note_hash(item);
	*out = e;
	return true;
}

/* The row of SQL_EVENTS for a checked event: its payload with this server's ids. */
static struct json_object *event_row(struct import *im, struct json_object *ev, struct json_object *changed,
                                     const struct note *e)
{
	static const char *const copied[] = {"seq", "type", "at", "actor", NULL};
	static const char *const tail[] = {"before", "restored", "undo_of", "redo_of", NULL};
	struct json_object *row = json_object_new_object(), *payload = json_object_new_object(), *v;
	for (size_t i = 0; copied[i]; i++) {
		json_object_object_get_ex(ev, copied[i], &v);
		json_object_object_add(row, copied[i], json_object_get(v));
	}
	int64_t step = 0;
	json_object_object_add(row, "step", tb_json_int(ev, "step", &step) ? json_object_new_int64(-step) : NULL);
	json_object_object_add(row, "item_id", e ? json_object_new_int64(e->new_id) : NULL);
	for (size_t i = 2; tail[i]; i++) { /* undo_of, redo_of: columns too */
		if (json_object_object_get_ex(ev, tail[i], &v))
			json_object_object_add(row, tail[i], json_object_get(v));
	}
	if (json_object_object_get_ex(ev, "item", &v)) {
		struct json_object *item = json_object_new_object();
		json_object_object_add(item, "id", json_object_new_int64(e->new_id));
		json_object_object_add(item, "board_id", json_object_new_int64(im->board_id));
		json_object_object_foreach(v, key, val)
		{
			if (strcmp(key, "id") != 0)
				json_object_object_add(item, key, json_object_get(val));
		}
		json_object_object_add(payload, "item", item);
	} else if (json_object_object_get_ex(ev, "board", &v)) {
		struct json_object *board = json_object_new_object();
		json_object_object_add(board, "id", json_object_new_int64(im->board_id));
		if (json_object_object_length(v) > 1) {
			json_object_object_add(board, "team_id",
			                       im->team_id ? json_object_new_int64(im->team_id) : NULL);
			json_object_object_add(board, "owner_id", json_object_new_int64(im->user_id));
		}
		json_object_object_foreach(v, key, val)
		{
			json_object_object_add(board, key, json_object_get(val));
		}
		json_object_object_add(payload, "board", board);
	} else if (json_object_object_get_ex(ev, "member", &v)) {
		json_object_object_add(payload, "member", json_object_get(v));
	}
	if (changed)
		json_object_object_add(payload, "changed", json_object_get(changed));
	for (size_t i = 0; tail[i]; i++) {
		if (json_object_object_get_ex(ev, tail[i], &v))
			json_object_object_add(payload, tail[i], json_object_get(v));
	}
	json_object_object_add(row, "payload", payload);
	return row;
}

/* One element of "events": checked, then written in its batch. */
static bool event(struct import *im, long index, struct json_object *ev)
{
	char where[48];
	snprintf(where, sizeof where, "events[%ld]", index);
	struct json_object *changed = NULL;
	if (json_object_is_type(ev, json_type_object) && json_object_object_get_ex(ev, "changed", &changed)) {
		json_object_get(changed);
		json_object_object_del(ev, "changed");
	}
	bool ok = check(im, where, event_fields, sizeof event_fields / sizeof event_fields[0], ev, true);
	const char *type = NULL;
	tb_json_str(ev, "type", &type);
	const struct event_type *t = ok ? event_type(type) : NULL;
	struct note *e = NULL;
	struct json_object *item = NULL;
	ok = ok && event_parts(im, where, t, ev, changed) && event_order(im, where, ev);
	if (ok && json_object_object_get_ex(ev, "item", &item))
		ok = note_history(im, where, type, item, &e);
	if (ok) {
		im->n_events++;
		ok = add_row(im, SQL_EVENTS, event_row(im, ev, changed, e));
	}
	json_object_put(changed);
	return ok;
}

/* tb_jscan's callback: the members in their order, then each note and event. */
static bool piece(void *ctx, const char *key, long index, const char *text, size_t len)
{
	struct import *im = ctx;
	if (index < 0) {
		int at = 0;
		while (members[at] && strcmp(members[at], key) != 0)
			at++;
		if (members[at] == NULL)
			return refuse(im, key, ": unknown member");
		if (at < im->stage)
			return refuse(im, key, ": given twice or out of order");
		if (at > im->stage) {
			char msg[96];
			snprintf(msg, sizeof msg, ": must come before \"%s\"", key);
			return refuse(im, members[im->stage], msg);
		}
		im->stage++;
		return member(im, key, text, len);
	}
	struct json_object *v = NULL;
	if (tb_json_parse(text, len, TB_JSON_MAX_DEPTH, &v) != TB_OK) {
		im->err = TB_E_BAD_JSON;
		return false;
	}
	bool ok = strcmp(key, "notes") == 0 ? note(im, index, v) : event(im, index, v);
	json_object_put(v);
	return ok;
}

/* After the last piece: every member came, the history reaches board.last_seq and leaves exactly
 * the notes of "notes". */
static bool finish(struct import *im)
{
	if (members[im->stage])
		return refuse(im, members[im->stage], ": is required");
	if (!flush(im))
		return false;
	if (im->next_seq != 0 && im->next_seq - 1 != im->last_seq)
		return refuse(im, "events", ": the last event's seq must be board.last_seq");
	for (size_t i = 0; i < im->notes.cap; i++) {
		const struct note *e = &im->notes.v[i];
		char msg[128];
		const char *wrong = NULL;
		if (e->old_id == 0)
			continue;
		if (e->seen && e->live && !e->in_notes)
			wrong = "is left by the history but missing";
		else if (e->seen && !e->live && e->in_notes)
			wrong = "is deleted by the history";
		else if (e->seen && e->live && e->last_hash != e->note_hash)
			wrong = "differs from its last event";
		else if (!e->seen && im->full)
			wrong = "has no history";
		if (wrong) {
			snprintf(msg, sizeof msg, ": note %lld %s", (long long)e->old_id, wrong);
			return refuse(im, "notes", msg);
		}
	}
	return true;
}

/* Answers a scan that stopped: the import's own reason, or the scanner's. */
static void answer_failure(struct import *im, struct tb_jscan *scan, enum tb_err err, struct tb_resp *resp)
{
	char msg[160];
	if (im->db_err) {
		tb_resp_db_failed(resp, im->db_err);
	} else if (im->err == TB_E_INVALID) {
		tb_resp_fail_msg(resp, TB_E_INVALID, im->msg);
	} else if (im->err != TB_E__COUNT) {
		tb_resp_fail(resp, im->err);
	} else if (err == TB_ERR_RANGE) {
		if (scan->index >= 0)
			snprintf(msg, sizeof msg, "%s[%ld]: must be at most %zu bytes", scan->key, scan->index,
			         PIECE_MAX);
		else
			snprintf(msg, sizeof msg, "%s: must be at most %zu bytes", scan->key, PIECE_MAX);
		tb_resp_fail_msg(resp, TB_E_INVALID, msg);
	} else {
		tb_resp_fail(resp,
		             err == TB_ERR_TOO_LARGE         ? TB_E_TOO_LARGE
		                     : err == TB_ERR_TIMEOUT ? TB_E_TIMEOUT
		                     : err == TB_ERR_IO      ? TB_E_BODY_UNREADABLE
		                                             : TB_E_BAD_JSON);
	}
}

/* The request before its body: length, type, and the team (the transaction is open). False after
 * answering. */
static bool admit(struct import *im, struct tb_req *req, struct tb_resp *resp)
{
	char *team = NULL;
	int64_t team_id = 0;
	enum tb_err qerr = tb_query_get(req->query, "team_id", &team);
	bool team_bad = qerr == TB_ERR_INVALID || (qerr == TB_OK && !tb_parse_id(team, strlen(team), &team_id));
	free(team);
	if (req->content_length_bad) {
		tb_resp_fail(resp, TB_E_BAD_LENGTH);
	} else if (req->has_content_length && req->content_length > im->app->cfg->max_import) {
		tb_resp_fail(resp, TB_E_TOO_LARGE);
	} else if (!tb_content_type_is_json(req->content_type)) {
		tb_resp_fail(resp, TB_E_UNSUPPORTED_MEDIA_TYPE);
	} else if (team_bad) {
		tb_resp_fail_msg(resp, TB_E_INVALID, "team_id: must be a positive integer id");
	} else {
		if (team_id)
			tb_i64(im->team, team_id);
		im->team_id = team_id;
		return true;
	}
	return false;
}

static bool team_allows(struct import *im, struct tb_resp *resp)
{
	if (im->team[0] == '\0')
		return true;
	const char *params[] = {im->uid, im->team};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&im->app->db, SQL_TEAM_ROLE, 2, params, &r)))
		return false;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	PQclear(r);
	if (rank == TB_RANK_NONE)
		tb_resp_fail(resp, TB_E_NO_SUCH_TEAM);
	else if (rank < TB_RANK_EDITOR)
		tb_resp_fail(resp, TB_E_VIEWER_CREATES_BOARD);
	return rank >= TB_RANK_EDITOR;
}

/* The new board, 201 with Location; false after answering a failure. */
static bool answer(struct import *im, struct tb_resp *resp)
{
	char n[24], e[24];
	const char *params[] = {im->uid, im->bid, tb_i64(n, im->n_notes), tb_i64(e, im->n_events)};
	PGresult *r = NULL, *c = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&im->app->db, SQL_ANSWER, 4, params, &r)))
		return false;
	bool ok = !tb_resp_db_failed(resp, tb_db_exec(&im->app->db, "COMMIT", 0, NULL, &c));
	if (ok) {
		tb_api_reply_row(resp, 201, r, 0, -1);
		char loc[64];
		snprintf(loc, sizeof loc, TB_API_PREFIX "/boards/%s", im->bid);
		tb_resp_set_header(resp, "Location", loc);
	}
	PQclear(c);
	PQclear(r);
	return ok;
}

void tb_api_import(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	struct import *im = tb_xcalloc(1, sizeof *im);
	im->app = app;
	im->err = TB_E__COUNT;
	tb_i64(im->uid, req->user_id);
	im->user_id = req->user_id;
	PGresult *r = NULL;
	if (!admit(im, req, resp) || tb_resp_db_failed(resp, tb_db_exec(&app->db, "BEGIN", 0, NULL, &r))) {
		free(im);
		return;
	}
	PQclear(r);
	bool done = false;
	if (team_allows(im, resp)) {
		struct tb_jscan scan;
		tb_jscan_init(&scan, req, app->cfg->max_import, PIECE_MAX, arrays);
		enum tb_err err = tb_jscan_run(&scan, piece, im);
		bool whole = err == TB_OK && finish(im);
		if (settle(im) && whole)
			done = answer(im, resp);
		else
			answer_failure(im, &scan, err, resp);
		tb_jscan_free(&scan);
	}
	if (!done) {
		r = NULL;
		tb_db_exec(&app->db, "ROLLBACK", 0, NULL, &r);
		PQclear(r);
	}
	json_object_put(im->batch);
	free(im->notes.v);
	free(im);
}
