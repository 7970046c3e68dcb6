/* test_stream_core: the decisions and frames of lib/tb_stream_core.c, without a database or a
 * transport: the resume point (header and ?last_event_id=), the reset decision, the classification
 * of a notification, the steps a change asks for (dedupe, gap, read from the log, revoke, access
 * re-check), the presence throttle, the frames' bytes, and the close reasons' metric and log names.
 * The driver that runs them against PostgreSQL and a web server is tested in
 * tests/integration/test_stream_*.py. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tb_buf.h"
#include "tb_metrics.h"
#include "tb_stream_core.h"
#include "tb_test.h"

/* ---- the resume point ---- */

static const struct {
	int line;
	const char *header, *query;
	int64_t want;
} resume_cases[] = {
	{__LINE__, NULL, NULL, -1},
	{__LINE__, NULL, "", -1},
	{__LINE__, NULL, "after=3&x=1", -1},
	{__LINE__, NULL, "last_event_id=0", 0},
	{__LINE__, NULL, "last_event_id=5", 5},
	{__LINE__, NULL, "a=1&last_event_id=42&b=2", 42},
	{__LINE__, NULL, "last_event_id=%35", 5},
	{__LINE__, NULL, "last_event_id=9223372036854775807", INT64_MAX},
	{__LINE__, NULL, "last_event_id=9223372036854775808", -2},
	{__LINE__, NULL, "last_event_id=", -2},
	{__LINE__, NULL, "last_event_id", -2},
	{__LINE__, NULL, "last_event_id=%zz", -2}, /* a bad escape is not an absent one */
	{__LINE__, NULL, "last_event_id=-1", -2},
	{__LINE__, NULL, "last_event_id=+1", -2},
	{__LINE__, NULL, "last_event_id=01", -2},
	{__LINE__, NULL, "last_event_id=00", -2},
	{__LINE__, NULL, "last_event_id=1x", -2},
	{__LINE__, "0", NULL, 0},
	{__LINE__, "7", NULL, 7},
	{__LINE__, "7", "last_event_id=9", 7},   /* the header first */
	{__LINE__, "7", "last_event_id=%zz", 7}, /* the query is not read then */
	{__LINE__, "", "last_event_id=9", -2},   /* an empty header is a malformed one */
	{__LINE__, "abc", NULL, -2},
	{__LINE__, " 5", NULL, -2},
	{__LINE__, "5 ", NULL, -2},
	{__LINE__, "-1", NULL, -2},
	{__LINE__, "9223372036854775808", NULL, -2},
};

static void test_resume_point(void)
{
	for (size_t i = 0; i < N_ELEMS(resume_cases); i++) {
		tb_case(__FILE__, resume_cases[i].line, "tb_stream_resume_point(%s, %s)", tb_q(resume_cases[i].header),
		        tb_q(resume_cases[i].query));
		tb_check_int("resume", tb_stream_resume_point(resume_cases[i].header, resume_cases[i].query),
		             resume_cases[i].want);
		tb_end();
	}
}

/* ---- the reset decision ---- */

static const struct {
	int line;
	int64_t resume, last_seq, min_seq, backlog;
	long limit;
	bool want;
} reset_cases[] = {
	{__LINE__, -1, 10, 1, 10, 100, false}, /* no resume point: from last_seq */
	{__LINE__, -1, 10, 9, 500, 1, false},  /* whatever the log holds */
	{__LINE__, -2, 10, 9, 500, 1, false},
	{__LINE__, 0, 0, -1, 0, 100, false},  /* a new board: nothing to replay */
	{__LINE__, 0, 10, 1, 10, 100, false}, /* the whole log, from its first event */
	{__LINE__, 0, 10, 2, 9, 100, true},   /* the first event is gone */
	{__LINE__, 5, 10, 6, 5, 100, false},  /* oldest kept = resume + 1 */
	{__LINE__, 5, 10, 5, 5, 100, false},
	{__LINE__, 5, 10, 7, 4, 100, true},    /* oldest kept = resume + 2: a hole */
	{__LINE__, 10, 10, -1, 0, 100, false}, /* at the head, the log pruned empty */
	{__LINE__, 10, 10, 11, 0, 100, false},
	{__LINE__, 9, 10, -1, 0, 100, true}, /* behind, the log empty */
	{__LINE__, 11, 10, 1, 0, 100, true}, /* ahead of the board */
	{__LINE__, INT64_MAX, 10, 1, 0, 100, true},
	{__LINE__, 0, 100, 1, 100, 100, false}, /* backlog = replay_limit */
	{__LINE__, 0, 101, 1, 101, 100, true},  /* backlog = replay_limit + 1 */
	{__LINE__, 10, 10, 1, 0, 0, false},     /* replay_limit 0, nothing behind */
	{__LINE__, 9, 10, 1, 1, 0, true},       /* replay_limit 0, one behind */
};

static void test_needs_reset(void)
{
	for (size_t i = 0; i < N_ELEMS(reset_cases); i++) {
		tb_case(__FILE__, reset_cases[i].line, "tb_stream_needs_reset(%lld, %lld, %lld, %lld, %ld)",
		        (long long)reset_cases[i].resume, (long long)reset_cases[i].last_seq,
		        (long long)reset_cases[i].min_seq, (long long)reset_cases[i].backlog, reset_cases[i].limit);
		tb_check_bool("reset",
		              tb_stream_needs_reset(reset_cases[i].resume, reset_cases[i].last_seq,
		                                    reset_cases[i].min_seq, reset_cases[i].backlog,
		                                    reset_cases[i].limit),
		              reset_cases[i].want);
		tb_end();
	}
}

/* ---- notifications ---- */

#define PRES "{\"type\":\"presence\",\"board_id\":1,\"viewers\":[]}"
#define PRES_REF "{\"type\":\"presence\",\"board_id\":1,\"ref\":true}"
#define OLD_CHANGE "{\"type\":\"item.created\",\"seq\":3,\"board_id\":1}"

static const struct {
	int line;
	const char *in;
	enum tb_stream_notice_kind kind;
	int64_t seq;
	const char *type, *data;
} notice_cases[] = {
	{__LINE__, "1 item.created {\"seq\":1}", TB_NOTICE_CHANGE, 1, "item.created", "{\"seq\":1}"},
	{__LINE__, "2 item.updated", TB_NOTICE_CHANGE, 2, "item.updated", NULL},
	{__LINE__, "7 board.deleted {}", TB_NOTICE_CHANGE, 7, "board.deleted", "{}"},
	{__LINE__, "x item.created {}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "0 item.created {}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "editing {\"item_id\":1}", TB_NOTICE_EDITING, 0, "editing", "{\"item_id\":1}"},
	{__LINE__, "editing.end {\"item_id\":1}", TB_NOTICE_EDITING, 0, "editing.end", "{\"item_id\":1}"},
	{__LINE__, "editing {", TB_NOTICE_EDITING, 0, "editing", "{"},
	{__LINE__, "editing x", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "editing", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "editing ", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "editingx {}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "editing.start {}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "{\"type\":\"hb\"}", TB_NOTICE_HEARTBEAT, 0, NULL, NULL},
	{__LINE__, PRES, TB_NOTICE_PRESENCE, 0, NULL, PRES},
	{__LINE__, PRES_REF, TB_NOTICE_PRESENCE_REF, 0, NULL, PRES_REF},
	{__LINE__, "{\"type\":\"presence\",\"ref\":false}", TB_NOTICE_PRESENCE_REF, 0, NULL,
         "{\"type\":\"presence\",\"ref\":false}"}, /* the key counts, not its value */
	{__LINE__, OLD_CHANGE, TB_NOTICE_CHANGE, 3, "item.created", OLD_CHANGE},
	{__LINE__, "{\"type\":\"item.created\",\"seq\":4,\"ref\":true}", TB_NOTICE_CHANGE, 4, "item.created", NULL},
	{__LINE__, "{\"type\":\"item.created\"}", TB_NOTICE_NO_SEQ, 0, NULL, NULL},
	{__LINE__, "{\"seq\":3}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "{\"type\":7}", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "{not json", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "{\"type\":\"hb\"", TB_NOTICE_MALFORMED, 0, NULL, NULL},
	{__LINE__, "[1]", TB_NOTICE_MALFORMED, 0, NULL, NULL},
};

static void test_notice(void)
{
	for (size_t i = 0; i < N_ELEMS(notice_cases); i++) {
		tb_case(__FILE__, notice_cases[i].line, "tb_stream_notice_parse(%s)", tb_q(notice_cases[i].in));
		struct tb_stream_notice n;
		tb_stream_notice_parse(notice_cases[i].in, &n);
		tb_check_int("kind", n.kind, notice_cases[i].kind);
		if (n.kind == TB_NOTICE_CHANGE)
			tb_check_int("seq", n.seq, notice_cases[i].seq);
		if (n.kind == TB_NOTICE_CHANGE || n.kind == TB_NOTICE_EDITING)
			tb_check_str("type", n.type, notice_cases[i].type);
		if (n.kind != TB_NOTICE_MALFORMED && n.kind != TB_NOTICE_HEARTBEAT && n.kind != TB_NOTICE_NO_SEQ)
			tb_check_str("data", n.data, notice_cases[i].data);
		tb_stream_notice_free(&n);
		tb_check(n.ev == NULL, "ev left after tb_stream_notice_free");
		tb_end();
	}
}

#define MINE "{\"member\":{\"user_id\":5}}"
#define OTHERS "{\"member\":{\"user_id\":6}}"

static const struct {
	int line;
	const char *json;
	int64_t user_id;
	bool want;
} concerns_cases[] = {
	{__LINE__, NULL, 5, true}, /* not at hand: checked */
	{__LINE__, MINE, 5, true},
	{__LINE__, OTHERS, 5, false},
	{__LINE__, "{\"member\":{\"user_id\":\"5\"}}", 5, false},
	{__LINE__, "{\"member\":5}", 5, false},
	{__LINE__, "{}", 5, false},
	{__LINE__, "not json", 5, true}, /* cannot tell: checked */
	{__LINE__, "{\"member\":", 5, true},
};

static void test_member_concerns(void)
{
	for (size_t i = 0; i < N_ELEMS(concerns_cases); i++) {
		tb_case(__FILE__, concerns_cases[i].line, "tb_stream_member_concerns(%s, %lld)",
		        tb_q(concerns_cases[i].json), (long long)concerns_cases[i].user_id);
		tb_check_bool("concerns", tb_stream_member_concerns(concerns_cases[i].json, concerns_cases[i].user_id),
		              concerns_cases[i].want);
		tb_end();
	}
}

enum {
	GAP = TB_STEP_REPLAY_GAP,
	FWD = TB_STEP_FORWARD,
	FETCH = TB_STEP_FETCH,
	REVOKE = TB_STEP_REVOKE,
	RECHECK = TB_STEP_RECHECK,
};

static const struct {
	int line;
	int64_t seq;
	const char *type, *json;
	int64_t last_sent;
	unsigned want;
} plan_cases[] = {
	{__LINE__, 5, "item.created", "{}", 4, FWD},          /* the next one */
	{__LINE__, 5, "item.created", NULL, 4, FETCH},        /* the next one, read from the log */
	{__LINE__, 4, "item.created", "{}", 4, TB_STEP_DROP}, /* sent already: equal */
	{__LINE__, 3, "item.created", "{}", 4, TB_STEP_DROP}, /* sent already: older */
	{__LINE__, 3, "item.created", NULL, 4, TB_STEP_DROP},
	{__LINE__, 6, "item.created", "{}", 4, GAP | FWD}, /* one missing */
	{__LINE__, 60, "item.created", NULL, 4, GAP | FETCH},
	{__LINE__, 1, "item.created", "{}", 0, FWD},
	{__LINE__, 2, "item.created", "{}", 0, GAP | FWD},
	{__LINE__, INT64_MAX, "item.created", "{}", INT64_MAX - 1, FWD},
	{__LINE__, INT64_MAX, "item.created", "{}", INT64_MAX, TB_STEP_DROP},
	{__LINE__, 5, "board.deleted", "{}", 4, FWD | REVOKE},
	{__LINE__, 9, "board.deleted", "{}", 4, FWD | REVOKE}, /* no replay of a gap */
	{__LINE__, 9, "board.deleted", NULL, 4, FETCH | REVOKE},
	{__LINE__, 4, "board.deleted", "{}", 4, TB_STEP_DROP}, /* a duplicate: no revoke */
	{__LINE__, 5, "member.removed", MINE, 4, FWD | RECHECK},
	{__LINE__, 5, "member.removed", OTHERS, 4, FWD},
	{__LINE__, 5, "member.removed", NULL, 4, FETCH | RECHECK},
	{__LINE__, 7, "member.role_changed", MINE, 4, GAP | FWD | RECHECK},
	{__LINE__, 4, "member.removed", MINE, 4, RECHECK}, /* a duplicate still re-checks */
	{__LINE__, 2, "member.added", NULL, 4, RECHECK},
	{__LINE__, 4, "member.removed", OTHERS, 4, TB_STEP_DROP},
	{__LINE__, 5, "members.x", MINE, 4, FWD}, /* not "member." */
	{__LINE__, 5, "item.member", MINE, 4, FWD},
};

static void test_plan_change(void)
{
	for (size_t i = 0; i < N_ELEMS(plan_cases); i++) {
		tb_case(__FILE__, plan_cases[i].line, "tb_stream_plan_change(%lld, %s, %s, last_sent %lld)",
		        (long long)plan_cases[i].seq, plan_cases[i].type, tb_q(plan_cases[i].json),
		        (long long)plan_cases[i].last_sent);
		tb_check_uint("steps",
		              tb_stream_plan_change(plan_cases[i].seq, plan_cases[i].type, plan_cases[i].json,
		                                    plan_cases[i].last_sent, 5),
		              plan_cases[i].want);
		tb_end();
	}
	static const struct {
		int line;
		int64_t seq, last_sent;
		bool want;
	} is_new[] = {{__LINE__, 5, 4, true}, {__LINE__, 4, 4, false}, {__LINE__, 3, 4, false}, {__LINE__, 1, 0, true}};
	for (size_t i = 0; i < N_ELEMS(is_new); i++) {
		tb_case(__FILE__, is_new[i].line, "tb_stream_is_new(%lld, %lld)", (long long)is_new[i].seq,
		        (long long)is_new[i].last_sent);
		tb_check_bool("new", tb_stream_is_new(is_new[i].seq, is_new[i].last_sent), is_new[i].want);
		tb_end();
	}
}

/* ---- the presence throttle: one stream's history, step by step ---- */

enum presence_op { P_REF, P_LIST, P_READ, P_DUE, P_TIMEOUT };

static const struct {
	int line;
	enum presence_op op;
	int64_t now;
	int arg;        /* P_TIMEOUT: the timeout passed in */
	int want;       /* P_REF, P_DUE: bool; P_TIMEOUT: the timeout */
	int64_t due_ms; /* the owed read afterwards */
} presence_steps[] = {
	{__LINE__, P_DUE, 100, 0, false, 0},
	{__LINE__, P_TIMEOUT, 100, 30000, 30000, 0}, /* nothing owed: unchanged */
	{__LINE__, P_REF, 5000, 0, true, 0},         /* the first ref: read now */
	{__LINE__, P_READ, 5000, 0, 0, 0},
	{__LINE__, P_REF, 5500, 0, false, 6000}, /* within the interval: owed at its end */
	{__LINE__, P_REF, 5800, 0, false, 6000}, /* one read owed for both */
	{__LINE__, P_TIMEOUT, 5500, 30000, 500, 6000},
	{__LINE__, P_TIMEOUT, 5500, 200, 200, 6000}, /* a shorter timeout stays */
	{__LINE__, P_TIMEOUT, 6500, 30000, 0, 6000}, /* overdue: never below 0 */
	{__LINE__, P_DUE, 5999, 0, false, 6000},
	{__LINE__, P_DUE, 6000, 0, true, 6000},
	{__LINE__, P_READ, 6000, 0, 0, 0},
	{__LINE__, P_REF, 6999, 0, false, 7000},
	{__LINE__, P_LIST, 6999, 0, 0, 0}, /* a list came: nothing owed */
	{__LINE__, P_DUE, 8000, 0, false, 0},
	{__LINE__, P_REF, 7000, 0, true, 0}, /* read_ms + interval exactly */
	{__LINE__, P_READ, 7000, 0, 0, 0},
};

static void test_presence_throttle(void)
{
	static const char *const names[] = {"ref", "list", "read", "due", "timeout"};
	struct tb_presence_throttle t = {0, 0};
	for (size_t i = 0; i < N_ELEMS(presence_steps); i++) {
		tb_case(__FILE__, presence_steps[i].line, "presence throttle: %s at %lld", names[presence_steps[i].op],
		        (long long)presence_steps[i].now);
		int64_t now = presence_steps[i].now;
		switch (presence_steps[i].op) {
		case P_REF: tb_check_bool("read now", tb_presence_ref_came(&t, now), presence_steps[i].want); break;
		case P_LIST: tb_presence_list_came(&t); break;
		case P_READ:
			tb_presence_reading(&t, now);
			tb_check_int("read_ms", t.read_ms, now);
			break;
		case P_DUE: tb_check_bool("due", tb_presence_due(&t, now), presence_steps[i].want); break;
		case P_TIMEOUT:
			tb_check_int("timeout", tb_presence_timeout(&t, now, presence_steps[i].arg),
			             presence_steps[i].want);
			break;
		}
		tb_check_int("due_ms", t.due_ms, presence_steps[i].due_ms);
		tb_end();
	}
}

/* ---- frames ---- */

static void check_frame(int line, const char *what, struct tb_buf *b, const char *want)
{
	tb_case(__FILE__, line, "%s", what);
	tb_check_mem("bytes", b->data, b->len, want, strlen(want));
	tb_end();
	tb_buf_free(b);
}

/* Public links (issue 15 item 2): hello with a presence object (viewers and guests), and a guest's
 * revoked when its link is deleted. */
static void test_frames_guests(void)
{
	struct tb_buf b = {0};
	tb_stream_frame_hello(&b, 3, 7, 30, 3600, "{\"viewers\":[{\"user_id\":1}],\"guests\":2,\"type\":\"presence\"}");
	check_frame(__LINE__, "tb_stream_frame_hello(presence object)", &b,
	            "id: 7\nevent: hello\ndata: {\"board_id\":3,\"last_event_id\":7,\"heartbeat\":30,\"lifetime\":3600,"
	            "\"viewers\":[{\"user_id\":1}],\"guests\":2}\n\n");
	tb_stream_frame_revoked(&b, TB_REVOKE_LINK_DELETED);
	check_frame(__LINE__, "tb_stream_frame_revoked(link_deleted)", &b,
	            "event: revoked\ndata: {\"reason\":\"link_deleted\"}\n\n");
	tb_buf_free(&b);
}

static void test_frames(void)
{
	struct tb_buf b = {0};
	tb_stream_frame_head(&b);
	check_frame(__LINE__, "tb_stream_frame_head", &b,
	            "Status: 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n"
	            "X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 2000\n\n");
	tb_stream_frame_hello(&b, 3, 7, 30, 3600, "[{\"user_id\":1,\"name\":\"a\"}]");
	check_frame(__LINE__, "tb_stream_frame_hello", &b,
	            "id: 7\nevent: hello\ndata: {\"board_id\":3,\"last_event_id\":7,\"heartbeat\":30,\"lifetime\":3600,"
	            "\"viewers\":[{\"user_id\":1,\"name\":\"a\"}]}\n\n");
	tb_stream_frame_hello(&b, 3, 0, 15, 0, "not json");
	check_frame(__LINE__, "tb_stream_frame_hello(resume 0, viewers not JSON)", &b,
	            "id: 0\nevent: hello\ndata: {\"board_id\":3,\"last_event_id\":0,\"heartbeat\":15,\"lifetime\":0,"
	            "\"viewers\":null}\n\n");
	tb_stream_frame_revoked(&b, TB_REVOKE_ACCESS_REMOVED);
	check_frame(__LINE__, "tb_stream_frame_revoked(access_removed)", &b,
	            "event: revoked\ndata: {\"reason\":\"access_removed\"}\n\n");
	tb_stream_frame_revoked(&b, TB_REVOKE_BOARD_DELETED);
	check_frame(__LINE__, "tb_stream_frame_revoked(board_deleted)", &b,
	            "event: revoked\ndata: {\"reason\":\"board_deleted\"}\n\n");
	tb_stream_frame_revoked(&b, TB_REVOKE_SESSION_ENDED);
	check_frame(__LINE__, "tb_stream_frame_revoked(session_ended)", &b,
	            "event: revoked\ndata: {\"reason\":\"session_ended\"}\n\n");
	tb_stream_frame_bye(&b);
	check_frame(__LINE__, "tb_stream_frame_bye", &b, "event: bye\ndata: {\"reason\":\"lifetime\"}\n\n");
	tb_stream_frame_reset(&b, 0);
	check_frame(__LINE__, "tb_stream_frame_reset(0)", &b, "event: reset\ndata: {\"last_event_id\":0}\n\n");
	tb_stream_frame_reset(&b, INT64_MAX);
	check_frame(__LINE__, "tb_stream_frame_reset(INT64_MAX)", &b,
	            "event: reset\ndata: {\"last_event_id\":9223372036854775807}\n\n");
}

/* ---- close reasons ---- */

static const struct {
	int line;
	enum tb_stream_close reason;
	const char *name;
	enum tb_metric metric;
} close_cases[] = {
	{__LINE__, TB_CLOSE_CLIENT_GONE, "client_gone", TB_M_CLOSED_CLIENT_GONE},
	{__LINE__, TB_CLOSE_LIFETIME, "lifetime", TB_M_CLOSED_LIFETIME},
	{__LINE__, TB_CLOSE_REVOKED, "revoked", TB_M_CLOSED_REVOKED},
	{__LINE__, TB_CLOSE_RECYCLED, "recycled", TB_M_CLOSED_RECYCLED},
	{__LINE__, TB_CLOSE_ERROR, "error", TB_M_CLOSED_ERROR},
	{__LINE__, TB_CLOSE_SLOW_CLIENT, "slow_client", TB_M_CLOSED_SLOW_CLIENT},
};

static void test_close_reasons(void)
{
	tb_case(__FILE__, __LINE__, "every close reason has a row");
	tb_check_uint("rows", N_ELEMS(close_cases), TB_CLOSE__MAX);
	tb_end();
	for (size_t i = 0; i < N_ELEMS(close_cases); i++) {
		tb_case(__FILE__, close_cases[i].line, "close reason %s", close_cases[i].name);
		tb_check_str("name", tb_stream_close_name(close_cases[i].reason), close_cases[i].name);
		tb_check_int("metric", tb_stream_close_metric(close_cases[i].reason), close_cases[i].metric);
		/* The log's name is the metric's label. */
		char label[64];
		snprintf(label, sizeof label, "{reason=\"%s\"}", close_cases[i].name);
		tb_check_contains("metric name", tb_metrics_name(tb_stream_close_metric(close_cases[i].reason)), label);
		tb_end();
	}
}

int main(void)
{
	test_resume_point();
	test_needs_reset();
	test_notice();
	test_member_concerns();
	test_plan_change();
	test_presence_throttle();
	test_frames();
	test_frames_guests();
	test_close_reasons();
	return tb_done();
}
