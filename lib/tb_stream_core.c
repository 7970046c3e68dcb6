/* tb_stream_core: the decisions and frames of a live stream, free of transport and database (see
 * tb_stream_core.h). Moved out of tb_stream.c unchanged in what they decide and write: the blocking
 * worker there calls them in the same order as before, and a stream host can call them too. */
#include "tb_stream_core.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tb_json.h"
#include "tb_request.h"
#include "tb_resp.h"
#include "tb_sse.h"

/* ---- the resume point ---- */

int64_t tb_stream_resume_point(const char *last_event_id, const char *query)
{
	char *q = NULL;
	const char *v = last_event_id;
	if (v == NULL) {
		enum tb_err err = tb_query_get(query, "last_event_id", &q);
		if (err != TB_OK && err != TB_ERR_NOT_FOUND)
			return -2;
		v = q;
	}
	int64_t n = -1;
	if (v && strcmp(v, "0") == 0)
		n = 0;
	else if (v && !tb_parse_id(v, strlen(v), &n))
		n = -2;
	free(q);
	return n;
}

bool tb_stream_needs_reset(int64_t resume, int64_t last_seq, int64_t min_seq, int64_t backlog, long replay_limit)
{
	if (resume < 0)
		return false;
	return resume > last_seq || (resume < last_seq && (min_seq < 0 || min_seq > resume + 1)) ||
		backlog > replay_limit;
}

/* ---- notifications ---- */

bool tb_stream_notify_header(const char *payload, int64_t *seq, char type[TB_STREAM_TYPE_MAX + 1], const char **json)
{
	size_t k = strcspn(payload, " ");
	int64_t v;
	if (payload[k] != ' ' || !tb_parse_id(payload, k, &v))
		return false; /* seq is an id: no sign, no leading zero, fits int64_t */
	const char *p = payload + k + 1;
	size_t n = 0, dot = 0;
	for (; p[n] != '\0' && p[n] != ' '; n++) {
		if (n >= TB_STREAM_TYPE_MAX)
			return false;
		if (p[n] == '.' && dot == 0 && n > 0)
			dot = n;
		else if (!((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_'))
			return false;
	}
	if (dot == 0 || dot + 1 == n || (p[n] == ' ' && p[n + 1] == '\0'))
		return false; /* "<word>.<word>", and a space only before JSON */
	memcpy(type, p, n);
	type[n] = '\0';
	*seq = v;
	*json = p[n] == ' ' ? p + n + 1 : NULL;
	return true;
}

/* An editing announcement (api_items.c) comes as the NOTIFY "<type> <JSON>" and is forwarded as it
 * came, without id: (it is not a resume point, never in the log, never replayed), to every stream
 * of the board: the announcer's access was checked when it was sent, and this stream's access is
 * its own. True when payload was one. */
static bool editing(const char *payload, struct tb_stream_notice *n)
{
	static const char *const types[] = {"editing", "editing.end"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t len = strlen(types[i]);
		if (strncmp(payload, types[i], len) == 0 && payload[len] == ' ' && payload[len + 1] == '{') {
			n->kind = TB_NOTICE_EDITING;
			n->type = types[i];
			n->data = payload + len + 1;
			return true;
		}
	}
	return false;
}

/* The JSON form: a heartbeat, presence, or a change from a record_event older than sql/009. */
static void json_notice(const char *payload, struct tb_stream_notice *n)
{
	struct json_object *v;
	const char *type = NULL;
	n->ev = json_tokener_parse(payload);
	if (n->ev == NULL || !tb_json_str(n->ev, "type", &type)) {
		n->kind = TB_NOTICE_MALFORMED;
	} else if (strcmp(type, "hb") == 0) {
		n->kind = TB_NOTICE_HEARTBEAT;
	} else if (strcmp(type, "presence") == 0) {
		n->kind = json_object_object_get_ex(n->ev, "ref", &v) ? TB_NOTICE_PRESENCE_REF : TB_NOTICE_PRESENCE;
		n->data = payload;
	} else if (!tb_json_int(n->ev, "seq", &n->seq)) {
		n->kind = TB_NOTICE_NO_SEQ;
	} else {
		n->kind = TB_NOTICE_CHANGE;
		n->type = type;
		n->data = json_object_object_get_ex(n->ev, "ref", &v) ? NULL : payload;
	}
}

void tb_stream_notice_parse(const char *payload, struct tb_stream_notice *n)
{
	memset(n, 0, sizeof *n);
	n->kind = TB_NOTICE_MALFORMED;
	if (editing(payload, n))
		return;
	if (payload[0] == '{') {
		json_notice(payload, n);
		return;
	}
	if (tb_stream_notify_header(payload, &n->seq, n->type_buf, &n->data)) {
		n->kind = TB_NOTICE_CHANGE;
		n->type = n->type_buf;
	} else {
		n->seq = 0;
		n->data = NULL;
	}
}

void tb_stream_notice_free(struct tb_stream_notice *n)
{
	json_object_put(n->ev);
	n->ev = NULL;
}

static int64_t member_user(struct json_object *ev)
{
	struct json_object *m, *u;
	if (json_object_object_get_ex(ev, "member", &m) && json_object_object_get_ex(m, "user_id", &u) &&
	    json_object_is_type(u, json_type_int))
		return json_object_get_int64(u);
	return 0;
}

/* Parsed here, as the only events a holder parses: membership changes are rare. */
bool tb_stream_member_concerns(const char *json, int64_t user_id)
{
	if (json == NULL)
		return true;
	struct json_object *ev = json_tokener_parse(json);
	bool mine = ev == NULL || member_user(ev) == user_id;
	json_object_put(ev);
	return mine;
}

static bool is_member_event(const char *type)
{
	return strncmp(type, "member.", 7) == 0;
}

bool tb_stream_is_new(int64_t seq, int64_t last_sent)
{
	return seq > last_sent;
}

unsigned tb_stream_plan_change(int64_t seq, const char *type, const char *json, int64_t last_sent, int64_t user_id)
{
	bool recheck = is_member_event(type) && tb_stream_member_concerns(json, user_id);
	if (!tb_stream_is_new(seq, last_sent))
		return recheck ? TB_STEP_RECHECK : TB_STEP_DROP;
	unsigned steps = json == NULL ? TB_STEP_FETCH : TB_STEP_FORWARD;
	if (strcmp(type, "board.deleted") == 0)
		return steps | TB_STEP_REVOKE; /* even after a gap: the board is in the trash or gone */
	if (seq > last_sent + 1)
		steps |= TB_STEP_REPLAY_GAP; /* never a gap: fetch what is missing from the log first */
	return recheck ? steps | TB_STEP_RECHECK : steps;
}

/* ---- presence lists too large for NOTIFY ---- */

void tb_presence_list_came(struct tb_presence_throttle *t)
{
	t->due_ms = 0;
}

bool tb_presence_ref_came(struct tb_presence_throttle *t, int64_t now_ms)
{
	int64_t next = t->read_ms + TB_PRESENCE_READ_INTERVAL_MS;
	if (t->read_ms == 0 || now_ms >= next)
		return true;
	if (t->due_ms == 0)
		t->due_ms = next;
	return false;
}

void tb_presence_reading(struct tb_presence_throttle *t, int64_t now_ms)
{
	t->due_ms = 0;
	t->read_ms = now_ms;
}

bool tb_presence_due(const struct tb_presence_throttle *t, int64_t now_ms)
{
	return t->due_ms != 0 && now_ms >= t->due_ms;
}

int tb_presence_timeout(const struct tb_presence_throttle *t, int64_t now_ms, int timeout_ms)
{
	if (t->due_ms == 0)
		return timeout_ms;
	int64_t left = t->due_ms - now_ms;
	if (left < timeout_ms)
		return left > 0 ? (int)left : 0;
	return timeout_ms;
}

/* ---- frames ---- */

void tb_stream_frame_head(struct tb_buf *out)
{
	struct tb_resp head;
	tb_resp_init(&head);
	head.status = 200;
	tb_resp_header(&head, "Content-Type", "text/event-stream; charset=utf-8");
	tb_resp_header(&head, "Cache-Control", "no-store");
	tb_resp_header(&head, "X-Accel-Buffering", "no");
	tb_resp_header(&head, "X-Content-Type-Options", "nosniff");
	tb_resp_head(&head, out);
	tb_resp_free(&head);
	tb_sse_retry(out, 2000);
}

void tb_stream_frame_hello(struct tb_buf *out, int64_t board_id, int64_t resume, long heartbeat, long lifetime,
                           const char *viewers)
{
	struct json_object *h = json_object_new_object();
	json_object_object_add(h, "board_id", json_object_new_int64(board_id));
	json_object_object_add(h, "last_event_id", json_object_new_int64(resume));
	json_object_object_add(h, "heartbeat", json_object_new_int64(heartbeat));
	json_object_object_add(h, "lifetime", json_object_new_int64(lifetime));
	struct json_object *v = json_tokener_parse(viewers), *list = NULL, *guests = NULL;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_get_ex(v, "viewers", &list);
		json_object_object_get_ex(v, "guests", &guests);
		json_object_object_add(h, "viewers", json_object_get(list));
		json_object_object_add(h, "guests", json_object_get(guests));
		json_object_put(v);
	} else {
		json_object_object_add(h, "viewers", v);
	}
	size_t len;
	const char *text = json_object_to_json_string_length(h, JSON_C_TO_STRING_PLAIN, &len);
	tb_sse_event(out, resume, "hello", text, len);
	json_object_put(h);
}

void tb_stream_frame_revoked(struct tb_buf *out, enum tb_stream_revoke why)
{
	static const char *const names[] = {
		[TB_REVOKE_ACCESS_REMOVED] = "access_removed",
		[TB_REVOKE_BOARD_DELETED] = "board_deleted",
		[TB_REVOKE_SESSION_ENDED] = "session_ended",
		[TB_REVOKE_LINK_DELETED] = "link_deleted",
	};
	struct tb_buf data = {0};
	tb_buf_printf(&data, "{\"reason\":\"%s\"}", names[why]);
	tb_sse_event(out, -1, "revoked", data.data, data.len);
	tb_buf_free(&data);
}

void tb_stream_frame_bye(struct tb_buf *out)
{
	static const char data[] = "{\"reason\":\"lifetime\"}";
	tb_sse_event(out, -1, "bye", data, sizeof data - 1);
}

void tb_stream_frame_reset(struct tb_buf *out, int64_t last_seq)
{
	char data[64];
	snprintf(data, sizeof data, "{\"last_event_id\":%" PRId64 "}", last_seq);
	tb_sse_event(out, -1, "reset", data, strlen(data));
}

/* ---- the end ---- */

static const struct {
	enum tb_metric metric;
	const char *name;
} close_reasons[TB_CLOSE__MAX] = {
	[TB_CLOSE_CLIENT_GONE] = {TB_M_CLOSED_CLIENT_GONE, "client_gone"},
	[TB_CLOSE_LIFETIME] = {TB_M_CLOSED_LIFETIME, "lifetime"},
	[TB_CLOSE_REVOKED] = {TB_M_CLOSED_REVOKED, "revoked"},
	[TB_CLOSE_RECYCLED] = {TB_M_CLOSED_RECYCLED, "recycled"},
	[TB_CLOSE_ERROR] = {TB_M_CLOSED_ERROR, "error"},
	[TB_CLOSE_SLOW_CLIENT] = {TB_M_CLOSED_SLOW_CLIENT, "slow_client"},
};

enum tb_metric tb_stream_close_metric(enum tb_stream_close reason)
{
	return close_reasons[reason].metric;
}

const char *tb_stream_close_name(enum tb_stream_close reason)
{
	return close_reasons[reason].name;
}
