/* tb_stream_core: what a live stream decides and writes, without a transport or a database. A
 * driver holds the connections and runs the queries (today lib/tb_stream.c, one blocking worker per
 * stream; later a stream host with many streams in one event loop, issue 13) and asks this module
 * what to do with them: the resume point of a request, whether the log can serve it or the client
 * gets a reset, what a notification from the board's channel is and what it asks of the stream
 * (forward, replay a gap first, read the event from the log, drop a duplicate, re-check access,
 * revoke), when a viewers list too large for NOTIFY is read, and the bytes of the frames (the
 * stream's head, hello, revoked, bye, reset). Close reasons and their metric and log names live
 * here too. Nothing here reads a clock, a socket or a database: the caller passes what it knows, so
 * every decision is one tested function (tests/unit/test_stream_core.c). */
#ifndef TB_STREAM_CORE_H
#define TB_STREAM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_buf.h"
#include "tb_metrics.h"

struct json_object;

/* ---- the resume point ---- */

/* The resume point from the Last-Event-ID header (NULL: none) and the request's query string
 * (NULL or "": none), the header first: the decimal id it names (0 and the ids of tb_parse_id);
 * -1 when neither names one; -2 when the one that counts is malformed, a bad %-escape in
 * ?last_event_id= included (the answer is then 400). A malformed query is not read when the header
 * is there. */
int64_t tb_stream_resume_point(const char *last_event_id, const char *query);

/* Whether the log cannot bring a client at resume up to date, so that it gets a reset event
 * instead of a stream: resume >= 0 and either ahead of the board (> last_seq), or behind it with
 * the events after it no longer kept (min_seq, the oldest kept seq, -1 for an empty log, beyond
 * resume + 1), or more than replay_limit events behind (backlog: the number of events after
 * resume). Never for resume < 0 (no resume point: the stream starts at last_seq). */
bool tb_stream_needs_reset(int64_t resume, int64_t last_seq, int64_t min_seq, int64_t backlog, long replay_limit);

/* ---- notifications ---- */

/* The longest event type a notification may name ("member.removed" and the like). */
#define TB_STREAM_TYPE_MAX 32

/* Reads the header a change's NOTIFY starts with (sql/009_notify_header.sql): "<seq> <type> <event
 * JSON>", or "<seq> <type>" when the event was too large and must be read from the log. seq is a
 * positive decimal int64, type is "<word>.<word>" of a-z and '_' (at most TB_STREAM_TYPE_MAX
 * bytes). On success sets *seq, type (NUL-terminated) and *json (NULL for the read-from-log form,
 * else the rest of the payload, not parsed) and returns true; false for anything else. */
bool tb_stream_notify_header(const char *payload, int64_t *seq, char type[TB_STREAM_TYPE_MAX + 1], const char **json);

/* What a notification on a board's channel is. */
enum tb_stream_notice_kind {
	TB_NOTICE_MALFORMED,    /* neither form below, or JSON without a string "type": logged, ignored */
	TB_NOTICE_NO_SEQ,       /* a JSON change without an integer "seq": logged, ignored */
	TB_NOTICE_EDITING,      /* "editing {..}" or "editing.end {..}": forwarded without id: */
	TB_NOTICE_CHANGE,       /* a change: the header form, or JSON from a record_event older than 009 */
	TB_NOTICE_HEARTBEAT,    /* {"type":"hb"} from the supervisor */
	TB_NOTICE_PRESENCE,     /* {"type":"presence",..}: the viewers, forwarded as they came */
	TB_NOTICE_PRESENCE_REF, /* presence with a "ref" key: the list was too large, read it */
};

/* One classified notification. Pointers point into the payload, into type_buf or into ev: valid
 * while the payload is and until tb_stream_notice_free. */
struct tb_stream_notice {
	enum tb_stream_notice_kind kind;
	int64_t seq;      /* CHANGE */
	const char *type; /* CHANGE and EDITING: the event type */
	const char *data; /* CHANGE: the event JSON, NULL when it must be read from the log;
	                    * EDITING: the JSON to forward; PRESENCE: the whole payload */
	char type_buf[TB_STREAM_TYPE_MAX + 1];
	struct json_object *ev; /* the parsed JSON form, owned */
};

/* Classifies payload as the worker's on_notify always has: an editing announcement first, then
 * the header form (anything not starting with '{'), then a JSON object: "hb", "presence", or a
 * change with its "seq" (a "ref" key: read it from the log). Only the JSON form is parsed. Free
 * with tb_stream_notice_free. */
void tb_stream_notice_parse(const char *payload, struct tb_stream_notice *n);
void tb_stream_notice_free(struct tb_stream_notice *n);

/* Whether a member.* event may concern user_id: when it names them as member.user_id, or when the
 * event is not at hand (json NULL, too large for NOTIFY: one access check costs less than reading
 * it from the log) or does not parse. */
bool tb_stream_member_concerns(const char *json, int64_t user_id);

/* The steps a change asks of a stream, in this order (a bit set, tb_stream_plan_change). */
enum tb_stream_step {
	TB_STEP_DROP = 0,            /* seq was sent already (dedupe): nothing else */
	TB_STEP_REPLAY_GAP = 1 << 0, /* seq beyond last_sent + 1: replay the log after last_sent first */
	TB_STEP_FORWARD = 1 << 1,    /* write the JSON as it came, if still new (tb_stream_is_new) */
	TB_STEP_FETCH = 1 << 2,      /* no JSON: read the event from the log and write it, if still new */
	TB_STEP_REVOKE = 1 << 3,     /* board.deleted: then revoked (board_deleted), the end */
	TB_STEP_RECHECK = 1 << 4,    /* member.* concerning the user: then access is checked again */
};

/* What the change seq/type/json (json NULL: read it from the log) asks of a stream that has sent
 * up to last_sent to user_id. A duplicate (seq <= last_sent) is dropped, but a member.* one about
 * the user still asks for the re-check: the replay may have sent it before the removal's own
 * notification came. board.deleted never replays a gap and is followed by revoked; any other
 * change beyond the next seq replays the gap first. The write steps hold only while
 * tb_stream_is_new(seq, last_sent) after the replay; REVOKE and RECHECK only while the stream
 * lasts. */
unsigned tb_stream_plan_change(int64_t seq, const char *type, const char *json, int64_t last_sent, int64_t user_id);

/* Whether seq has not been sent yet (seq > last_sent). */
bool tb_stream_is_new(int64_t seq, int64_t last_sent);

/* ---- presence lists too large for NOTIFY ---- */

/* A viewers list too long for NOTIFY ("ref") is read from the database by every holder of the
 * board, once per change: when hundreds of people open a board at once that is a query per holder
 * per arrival, and the holders fall behind their heartbeats (measured with bench/: 500 viewers
 * joining at 20/s recycled 400 streams). So a holder reads the list at most once per this many
 * milliseconds; changes within the interval are answered by one read at its end, which sees them all. */
#define TB_PRESENCE_READ_INTERVAL_MS 1000

/* A stream's presence throttle, zeroed at the start; times in monotonic milliseconds. */
struct tb_presence_throttle {
	int64_t read_ms; /* when the viewers were last read by this stream (0: never) */
	int64_t due_ms;  /* 0, or when the stream owes the client the viewers read afresh */
};

/* A list came in a notification: it is newer than any read still owed, which is dropped. */
void tb_presence_list_came(struct tb_presence_throttle *t);
/* A "ref" came at now_ms: true when the list is read now (the first read, or the interval since
 * the last has passed); else false, with a read owed at the interval's end (an owed one stays). */
bool tb_presence_ref_came(struct tb_presence_throttle *t, int64_t now_ms);
/* The caller reads the list at now_ms: nothing is owed any more. */
void tb_presence_reading(struct tb_presence_throttle *t, int64_t now_ms);
/* Whether an owed read is due at now_ms. */
bool tb_presence_due(const struct tb_presence_throttle *t, int64_t now_ms);
/* timeout_ms (a poll() timeout) shortened to the owed read, if one is owed: never below 0. */
int tb_presence_timeout(const struct tb_presence_throttle *t, int64_t now_ms, int timeout_ms);

/* ---- frames ---- */

/* The stream's head, 200 text/event-stream (no caching, no buffering, nosniff), then the retry
 * hint (2000 ms), appended to out. */
void tb_stream_frame_head(struct tb_buf *out);

/* hello, with id: resume (so that a browser that drops before the first event still resumes from
 * there), and its JSON {"board_id","last_event_id","heartbeat","lifetime","viewers"[,"guests"]};
 * viewers is the JSON text of the list, or of an object whose "viewers" and "guests" are copied
 * (viewers null when it does not parse). */
void tb_stream_frame_hello(struct tb_buf *out, int64_t board_id, int64_t resume, long heartbeat, long lifetime,
                           const char *viewers);

/* Why access ended. */
enum tb_stream_revoke {
	TB_REVOKE_ACCESS_REMOVED, /* board_role says the user has lost the board */
	TB_REVOKE_BOARD_DELETED,  /* board.deleted came */
	TB_REVOKE_SESSION_ENDED,  /* the session behind the stream is gone */
	TB_REVOKE_LINK_DELETED,   /* a guest's public link was deleted (or its board went to the trash) */
};
/* event: revoked, {"reason":"<why>"}. */
void tb_stream_frame_revoked(struct tb_buf *out, enum tb_stream_revoke why);
/* event: bye, {"reason":"lifetime"}: the stream reached stream_max_seconds. */
void tb_stream_frame_bye(struct tb_buf *out);
/* event: reset, {"last_event_id":<last_seq>}: reload the board, then stream from last_seq. */
void tb_stream_frame_reset(struct tb_buf *out, int64_t last_seq);

/* ---- the end ---- */

/* Why a stream ended. */
enum tb_stream_close {
	TB_CLOSE_CLIENT_GONE,
	TB_CLOSE_LIFETIME,
	TB_CLOSE_REVOKED,
	TB_CLOSE_RECYCLED,
	TB_CLOSE_ERROR,
	TB_CLOSE_SLOW_CLIENT, /* a write did not drain within write_timeout (the transport's ETIMEDOUT) */
	TB_CLOSE__MAX
};
/* The counter of teamboard_streams_closed_total{reason} for reason. */
enum tb_metric tb_stream_close_metric(enum tb_stream_close reason);
/* The reason's name in the log ("client_gone", "slow_client"), as in the metric's label. */
const char *tb_stream_close_name(enum tb_stream_close reason);

#endif
