/* tb_stream: the stream holder. Order matters for "no gap, no duplicate": LISTEN first, then
 * replay seq > N from the log, then live notifications, dropping any whose seq was already sent.
 * seq order is commit order (sql/002_events.sql), so live events arrive in seq order too. This is
 * the blocking driver (one stream per worker, over the worker's own connection): it runs the
 * queries and the I/O in that order, and asks tb_stream_core what each answer means and which
 * bytes to write. */
#include "tb_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_sse.h"
#include "tb_stream_core.h"

struct audience;

struct stream {
	struct tb_app *app;
	struct tb_req *req;
	const struct audience *aud; /* a member's or a guest's queries */
	int64_t board_id;
	int64_t link_id;                             /* a guest's public link; 0: a member's stream */
	char board[24], user[24], link[24], row[24]; /* decimal texts for query parameters */
	const char *subject;                         /* user (a member) or link (a guest), for access */
	char *token;                                 /* a member's session token: the stream lives on it */
	int64_t last_sent;                           /* highest seq written to the client */
	time_t deadline;                             /* 0: no lifetime */
	time_t last_heard;                           /* last notification or heartbeat from PostgreSQL */
	struct tb_presence_throttle presence;        /* the viewers we read ourselves (a "ref") */
	struct tb_buf out;
	enum tb_stream_close reason;
	bool done;
};

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes and flushes what is buffered; a failure means the client is gone, or did not read in
 * time (the transport gives each write a deadline, write_timeout, and says ETIMEDOUT). */
static bool flush_out(struct stream *s)
{
	int err = 0;
	bool ok = tb_stream_write_all(&s->req->io, s->out.data, s->out.len, &err);
	tb_buf_reset(&s->out);
	if (!ok && !s->done) {
		s->done = true;
		s->reason = err == ETIMEDOUT ? TB_CLOSE_SLOW_CLIENT : TB_CLOSE_CLIENT_GONE;
	}
	return ok;
}

bool tb_stream_write_all(const struct tb_io *io, const char *data, size_t len, int *err)
{
	errno = 0;
	if (len == 0 || (io->write(io->ctx, data, len) >= 0 && io->flush(io->ctx) == 0))
		return true;
	*err = errno;
	return false;
}

static void write_event(struct stream *s, int64_t seq, const char *type, const char *json, size_t len)
{
	tb_sse_event(&s->out, seq, type, json, len);
	if (flush_out(s) && seq > s->last_sent)
		s->last_sent = seq;
}

/* ---- queries ---- */

const char TB_STREAM_SQL_STATE[] =
	"SELECT b.last_seq, (SELECT min(seq) FROM board_events e WHERE e.board_id = b.id),"
	"       (SELECT count(*) FROM board_events e WHERE e.board_id = b.id AND e.seq > $2::bigint)"
	" FROM boards b WHERE b.id = $1::bigint";

/* A worker holds one stream at a time, so a row with our host and pid is left over from a stream
 * whose database went away before it could remove it: drop it first. The limits were checked on
 * the held workers in shared memory (tb_stream_hold): the row is for presence, /viewers and the
 * supervisor, and a row the supervisor deleted while its worker is still held counts on. */
static const char SQL_REGISTER_ROW[] =
	"WITH stale AS (DELETE FROM streams WHERE host = $1 AND pid = $2::int)"
	" INSERT INTO streams (host, pid, backend_pid, board_id, user_id, link_id)"
	" VALUES ($1, $2::int, pg_backend_pid(), $3::bigint, $4::bigint, $5::bigint)"
	" RETURNING id";

/* Without shared memory the registry is the count: SQL_REGISTER runs in a transaction after
 * TB_STREAM_SQL_LOCK_REGISTRY, so its snapshot (taken after the locks) sees every registration that went
 * before it on this host and of this user, and count-then-insert cannot race. */
const char TB_STREAM_SQL_LOCK_REGISTRY[] =
	"SELECT pg_advisory_xact_lock(hashtext('teamboard.streams.host'), hashtext($1::text)),"
	"       pg_advisory_xact_lock(hashtext('teamboard.streams.user'), hashtext(coalesce($2::text, 'guests')))";

/* The guests (user_id NULL) count together, against max_guest_streams ($6). */
static const char SQL_REGISTER[] =
	"WITH stale AS (DELETE FROM streams WHERE host = $1 AND pid = $2::int)"
	" INSERT INTO streams (host, pid, backend_pid, board_id, user_id, link_id)"
	" SELECT $1, $2::int, pg_backend_pid(), $3::bigint, $4::bigint, $7::bigint"
	" WHERE (SELECT count(*) FROM streams WHERE host = $1) < $5::bigint"
	"   AND (SELECT count(*) FROM streams WHERE user_id IS NOT DISTINCT FROM $4::bigint) < $6::bigint"
	" RETURNING id";

/* Announces the viewers when this user's streams on the board number $3 after the change (1
 * after opening the first, 0 after closing the last): the set of people changed only then.
 * Returns {"viewers": [...], "guests": N} for hello. */
const char TB_STREAM_SQL_PRESENCE[] =
	"SELECT jsonb_build_object('viewers',"
	"         CASE WHEN (SELECT count(*) FROM streams WHERE board_id = $1::bigint AND user_id = $2::bigint) = $3::bigint"
	"              THEN announce_presence($1::bigint) ELSE board_viewers($1::bigint) END,"
	"         'guests', board_guests($1::bigint))";

/* A guest's stream is one guest more or less: always announced. Returns what a guest is shown. */
const char TB_STREAM_SQL_PRESENCE_GUEST[] =
	"SELECT CASE WHEN announce_presence($1::bigint) IS NOT NULL THEN public_presence($1::bigint) END";

const char TB_STREAM_SQL_PRESENCE_NOW[] =
	"SELECT jsonb_build_object('type', 'presence', 'board_id', $1::bigint, 'viewers', board_viewers($1::bigint),"
	"                          'guests', board_guests($1::bigint))::text";

const char TB_STREAM_SQL_PRESENCE_NOW_GUEST[] = "SELECT public_presence($1::bigint)::text";

#define EVENT_COLUMNS "(board_id, seq, type, actor_id, created_at, payload)::text"
#define REPLAY_FROM " FROM board_events WHERE board_id = $1::bigint AND seq > $2::bigint ORDER BY seq LIMIT 500"
#define ONE_FROM " FROM board_events WHERE board_id = $1::bigint AND seq = $2::bigint"

const char TB_STREAM_SQL_REPLAY[] = "SELECT seq, type, event_json" EVENT_COLUMNS REPLAY_FROM;
const char TB_STREAM_SQL_REPLAY_GUEST[] = "SELECT seq, type, public_event_json" EVENT_COLUMNS REPLAY_FROM;

/* No row: the supervisor recycled us. false: the session ended (logout, expiry, its user gone). */
const char TB_STREAM_SQL_SEEN[] =
	"UPDATE streams SET last_seen = now() WHERE id = $1::bigint"
	" RETURNING EXISTS (SELECT 1 FROM sessions"
	"                    WHERE token_hash = sha256(decode($2, 'hex')) AND expires_at > now())";

/* A guest's: false when the link was deleted or its board is in the trash. */
static const char SQL_SEEN_GUEST[] =
	"UPDATE streams SET last_seen = now() WHERE id = $1::bigint"
	" RETURNING EXISTS (SELECT 1 FROM board_links l JOIN boards b ON b.id = l.board_id"
	"                    WHERE l.id = $2::bigint AND b.deleted_at IS NULL)";

static const char SQL_ROW[] = "SELECT 1 FROM streams WHERE id = $1::bigint";

const char TB_STREAM_SQL_UNREGISTER[] = "DELETE FROM streams WHERE id = $1::bigint";

const char TB_STREAM_SQL_ROLE[] = "SELECT board_role($1::bigint, $2::bigint)";

/* A guest's access: NULL once the link is deleted or its board is in the trash. */
const char TB_STREAM_SQL_LINK_ALIVE[] =
	"SELECT (SELECT 'guest' FROM board_links l JOIN boards b ON b.id = l.board_id"
	"         WHERE l.id = $1::bigint AND l.board_id = $2::bigint AND b.deleted_at IS NULL)";

/* What a stream reads differs by who follows it: a member (the session's user, whose access is
 * board_role) or a guest (a public link: the events and the presence without login names,
 * sql/functions/links.sql). A guest gets no editing announcements (they name their user). */
struct audience {
	const char *replay, *one;        /* ($1 board, $2 seq): the events after seq / seq itself */
	const char *seen;                /* ($1 row, $2 token or link): no row: recycled; false: revoked */
	const char *access;              /* ($1 subject, $2 board): NULL: access gone */
	const char *presence;            /* ($1 board[, $2 user, $3 streams after]): hello's presence */
	int presence_params;             /* 3 or 1 */
	const char *presence_now;        /* ($1 board): the presence event's text */
	enum tb_stream_revoke seen_gone; /* why seen's false revokes */
	enum tb_stream_revoke lost;      /* why access's NULL revokes */
};

static const struct audience MEMBER = {
	TB_STREAM_SQL_REPLAY,       "SELECT event_json" EVENT_COLUMNS ONE_FROM,
	TB_STREAM_SQL_SEEN,         TB_STREAM_SQL_ROLE,
	TB_STREAM_SQL_PRESENCE,     3,
	TB_STREAM_SQL_PRESENCE_NOW, TB_REVOKE_SESSION_ENDED,
	TB_REVOKE_ACCESS_REMOVED,
};

static const struct audience GUEST = {
	TB_STREAM_SQL_REPLAY_GUEST,
	"SELECT public_event_json" EVENT_COLUMNS ONE_FROM,
	SQL_SEEN_GUEST,
	TB_STREAM_SQL_LINK_ALIVE,
	TB_STREAM_SQL_PRESENCE_GUEST,
	1,
	TB_STREAM_SQL_PRESENCE_NOW_GUEST,
	TB_REVOKE_LINK_DELETED,
	TB_REVOKE_LINK_DELETED, /* a guest has no access but its link's */
};

/* Runs a query for the stream; on failure ends the stream (error) and returns NULL. */
static PGresult *query(struct stream *s, const char *sql, int n, const char *const *params)
{
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&s->app->db, sql, n, params, &r);
	if (err) {
		s->done = true;
		s->reason = TB_CLOSE_ERROR;
		return NULL;
	}
	return r;
}

/* Replays the log after last_sent (in batches) until it is exhausted. */
static void replay(struct stream *s)
{
	while (!s->done) {
		char after[24];
		const char *params[] = {s->board, tb_i64(after, s->last_sent)};
		PGresult *r = query(s, s->aud->replay, 2, params);
		if (r == NULL)
			return;
		int n = PQntuples(r);
		for (int i = 0; i < n && !s->done; i++) {
			tb_sse_event(&s->out, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
			             PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
			s->last_sent = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		}
		PQclear(r);
		if (n > 0 && flush_out(s))
			tb_metrics_add(TB_M_EVENTS_REPLAYED, (uint64_t)n);
		if (n < 500)
			return;
	}
}

/* ---- live notifications ---- */

static void revoke_stream(struct stream *s, enum tb_stream_revoke why)
{
	tb_stream_frame_revoked(&s->out, why);
	flush_out(s);
	if (!s->done) {
		s->done = true;
		s->reason = TB_CLOSE_REVOKED;
	}
}

/* Whether the user has lost the board (false too when the query failed: that ends the stream). */
static bool access_gone(struct stream *s)
{
	const char *params[] = {s->subject, s->board};
	PGresult *r = query(s, s->aud->access, 2, params);
	if (r == NULL)
		return false;
	bool gone = PQntuples(r) != 1 || PQgetisnull(r, 0, 0);
	PQclear(r);
	return gone;
}

/* Still allowed to see the board? Checked when a membership of this user changed. */
static void recheck_access(struct stream *s)
{
	if (access_gone(s))
		revoke_stream(s, s->aud->lost);
}

static void heartbeat(struct stream *s)
{
	tb_sse_comment(&s->out, "hb");
	if (!flush_out(s))
		return;
	tb_metrics_add(TB_M_HEARTBEATS, 1);
	const char *params[] = {s->row, s->link_id ? s->link : s->token};
	PGresult *r = query(s, s->aud->seen, 2, params);
	if (r && PQntuples(r) == 0) {
		/* Our registry row is gone: the supervisor took us for dead. Let the client reconnect. */
		s->done = true;
		s->reason = TB_CLOSE_RECYCLED;
	} else if (r && strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		PQclear(r);
		revoke_stream(s, s->aud->seen_gone);
		return;
	}
	PQclear(r);
}

/* Reads the viewers afresh and sends them (the answer to a "ref"). */
static void presence_read(struct stream *s)
{
	tb_presence_reading(&s->presence, now_ms());
	const char *params[] = {s->board};
	PGresult *r = query(s, s->aud->presence_now, 1, params);
	if (r && PQntuples(r) == 1) {
		tb_sse_event(&s->out, -1, "presence", PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
		flush_out(s);
	}
	PQclear(r);
}

/* Forwards a presence change; a list too long for NOTIFY ("ref") is read here, at most once per
 * TB_PRESENCE_READ_INTERVAL_MS (live() reads a postponed one when it is due). */
static void presence(struct stream *s, const char *payload, bool ref)
{
	if (!ref && s->link_id == 0) {               /* a member's: the list as it came; a guest's is read (no names) */
		tb_presence_list_came(&s->presence); /* newer than any list we still owe */
		tb_sse_event(&s->out, -1, "presence", payload, strlen(payload));
		flush_out(s);
		return;
	}
	if (tb_presence_ref_came(&s->presence, now_ms()))
		presence_read(s);
}

/* Reads one change from the log (its NOTIFY had no room for it) and writes it. */
static void fetch_one(struct stream *s, int64_t seq, const char *type)
{
	char n[24];
	const char *params[] = {s->board, tb_i64(n, seq)};
	PGresult *r = query(s, s->aud->one, 2, params);
	if (r && PQntuples(r) == 1)
		write_event(s, seq, type, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
}

/* One change event: json as it came in the notification, or NULL when it has to be read from the
 * log (too large for NOTIFY). The steps and their order are tb_stream_plan_change's: a member.*
 * event about this user re-checks access even when its seq was sent already (the replay may have
 * sent it before the removal's own notification came); a gap is replayed before the event. */
static void on_event(struct stream *s, int64_t seq, const char *type, const char *json)
{
	/* A guest's events are read from the log in their public form; no member event concerns it. */
	unsigned steps = tb_stream_plan_change(seq, type, s->link_id ? NULL : json, s->last_sent, s->req->user_id);
	if (s->link_id)
		steps &= ~(unsigned)TB_STEP_RECHECK;
	if (steps & TB_STEP_REPLAY_GAP)
		replay(s);
	if (!s->done && (steps & (TB_STEP_FORWARD | TB_STEP_FETCH)) && tb_stream_is_new(seq, s->last_sent)) {
		if (steps & TB_STEP_FETCH)
			fetch_one(s, seq, type);
		else
			write_event(s, seq, type, json, strlen(json));
		if (!s->done)
			tb_metrics_add(TB_M_EVENTS_SENT, 1);
	}
	if (!s->done && (steps & TB_STEP_REVOKE))
		revoke_stream(s, TB_REVOKE_BOARD_DELETED);
	else if (!s->done && (steps & TB_STEP_RECHECK))
		recheck_access(s);
}

/* Handles one notification payload from the board's channel, as tb_stream_notice_parse reads it:
 * a change with its header (forwarded without being parsed: with hundreds of holders per board
 * that parse was most of their work), an editing announcement, or a JSON object: a heartbeat,
 * presence, or a change from a record_event older than sql/009. */
static void on_notify(struct stream *s, const char *payload)
{
	struct tb_stream_notice n;
	tb_stream_notice_parse(payload, &n);
	switch (n.kind) {
	case TB_NOTICE_MALFORMED: TB_LOG(TB_LOG_WARN, "ignoring a malformed notification on board %s", s->board); break;
	case TB_NOTICE_NO_SEQ: TB_LOG(TB_LOG_WARN, "ignoring a notification without seq on board %s", s->board); break;
	case TB_NOTICE_EDITING:
		if (s->link_id == 0) { /* a guest gets none: they name their user */
			tb_sse_event(&s->out, -1, n.type, n.data, strlen(n.data));
			flush_out(s);
		}
		break;
	case TB_NOTICE_CHANGE: on_event(s, n.seq, n.type, n.data); break;
	case TB_NOTICE_HEARTBEAT: heartbeat(s); break;
	case TB_NOTICE_PRESENCE:
	case TB_NOTICE_PRESENCE_REF: presence(s, n.data, n.kind == TB_NOTICE_PRESENCE_REF); break;
	}
	tb_stream_notice_free(&n);
}

/* After losing the connection: the supervisor recycled us (pg_terminate_backend) when the
 * database is still there but our registry row is not. A restarting database reads as the same
 * "administrator command", so the row is what tells them apart. */
static bool was_recycled(struct stream *s)
{
	const char *params[] = {s->row};
	PGresult *r = NULL;
	if (tb_db_query(&s->app->db, SQL_ROW, 1, params, &r) != TB_OK)
		return false;
	bool gone = PQntuples(r) == 0;
	PQclear(r);
	return gone;
}

/* Handles the notifications libpq has queued. Any query (replay, heartbeat) may queue more
 * without the socket staying readable, so this runs before every poll() too. */
static void drain(struct stream *s)
{
	PGnotify *n;
	while (!s->done && s->app->db.conn && (n = PQnotifies(s->app->db.conn)) != NULL) {
		s->last_heard = now_s();
		on_notify(s, n->extra);
		PQfreemem(n);
	}
}

/* Reads what PostgreSQL sent; a broken connection ends the stream. */
static void on_db_readable(struct stream *s)
{
	PGconn *conn = s->app->db.conn;
	s->last_heard = now_s();
	if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
		/* pg_terminate_backend() by the supervisor reads as "terminating connection due to
		 * administrator command"; anything else is an error. */
		TB_LOG(TB_LOG_INFO, "stream on board %s: database connection lost: %s", s->board, PQerrorMessage(conn));
		tb_db_disconnect(&s->app->db);
		s->app->db.pinned = false; /* ending: a new connection may ask about our row */
		s->done = true;
		s->reason = was_recycled(s) ? TB_CLOSE_RECYCLED : TB_CLOSE_ERROR;
		return;
	}
	drain(s);
}

/* True when the web server dropped the request: EOF (or anything) on its connection. Under
 * FastCGI nothing else arrives on it once the empty FCGI_STDIN record has been read. */
static bool client_gone(struct stream *s, short revents)
{
	if (revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP) || !(s->req->io.client_events & POLLIN))
		return true;
	char b[16];
	ssize_t n = recv(s->req->io.client_fd, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void live(struct stream *s)
{
	long hb_window = tb_heartbeat_window(s->app->cfg);
	int cfd = s->req->io.client_fd;
	while (!s->done) {
		drain(s);
		if (s->done)
			break;
		time_t now = now_s();
		time_t wake = s->last_heard + hb_window; /* our own keep-alive when the supervisor is silent */
		if (s->deadline && s->deadline < wake)
			wake = s->deadline;
		int timeout = wake > now ? (int)(wake - now) * 1000 : 0;
		timeout = tb_presence_timeout(&s->presence, now_ms(), timeout);
		struct pollfd p[2] = {{PQsocket(s->app->db.conn), POLLIN, 0}, {cfd, s->req->io.client_events, 0}};
		int rc = poll(p, cfd >= 0 ? 2 : 1, timeout);
		if (rc < 0 && errno != EINTR) {
			s->done = true;
			s->reason = TB_CLOSE_ERROR;
			break;
		}
		if (rc > 0 && p[1].revents && client_gone(s, p[1].revents)) {
			s->done = true;
			s->reason = TB_CLOSE_CLIENT_GONE;
			break;
		}
		if (rc > 0 && p[0].revents)
			on_db_readable(s);
		if (!s->done && tb_presence_due(&s->presence, now_ms()))
			presence_read(s);
		now = now_s();
		if (!s->done && s->deadline && now >= s->deadline) {
			tb_stream_frame_bye(&s->out);
			flush_out(s);
			s->done = true;
			s->reason = TB_CLOSE_LIFETIME;
		} else if (!s->done && now >= s->last_heard + hb_window) {
			tb_sse_comment(&s->out, "keep-alive");
			if (flush_out(s))
				tb_metrics_add(TB_M_HEARTBEATS, 1);
			s->last_heard = now;
		}
	}
}

/* ---- set-up and tear-down ---- */

void tb_stream_channel(char out[TB_STREAM_CHANNEL_MAX], int64_t board_id)
{
	snprintf(out, TB_STREAM_CHANNEL_MAX, "board_%" PRId64, board_id);
}

/* LISTEN on the board's channel, the identifier quoted by libpq. */
static bool listen_board(struct stream *s, bool on)
{
	struct tb_buf sql = {0};
	if (on) {
		char channel[TB_STREAM_CHANNEL_MAX];
		tb_stream_channel(channel, s->board_id);
		char *ident = PQescapeIdentifier(s->app->db.conn, channel, strlen(channel));
		if (ident == NULL)
			return false;
		tb_buf_puts(&sql, "LISTEN ");
		tb_buf_puts(&sql, ident);
		PQfreemem(ident);
	} else {
		tb_buf_puts(&sql, "UNLISTEN *");
	}
	PGresult *r = NULL;
	enum tb_err err = tb_db_exec(&s->app->db, tb_buf_str(&sql), 0, NULL, &r);
	PQclear(r);
	tb_buf_free(&sql);
	return err == TB_OK;
}

/* Sends `reset` (the client must reload the board) when the log cannot bring it up to date. */
static bool needs_reset(struct stream *s, int64_t resume, int64_t *last_seq)
{
	char n[24];
	const char *params[] = {s->board, tb_i64(n, resume < 0 ? 0 : resume)};
	PGresult *r = query(s, TB_STREAM_SQL_STATE, 2, params);
	if (r == NULL || PQntuples(r) != 1) {
		s->done = true;
		s->reason = r ? TB_CLOSE_REVOKED : TB_CLOSE_ERROR; /* no row: deleted since the access check */
		PQclear(r);
		return false;
	}
	*last_seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	int64_t min = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	int64_t backlog = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return tb_stream_needs_reset(resume, *last_seq, min, backlog, s->app->cfg->replay_limit);
}

static void unregister(struct stream *s)
{
	tb_metrics_add(tb_stream_close_metric(s->reason), 1);
	/* After a lost connection this reconnects; if the database is still away, the row goes
	 * with this worker's next stream, or the supervisor's next round. */
	s->app->db.pinned = false;
	listen_board(s, false);
	/* What arrived after the last poll belongs to this stream only: drop it. */
	PGnotify *n;
	while ((n = PQnotifies(s->app->db.conn)) != NULL)
		PQfreemem(n);
	const char *params[] = {s->row};
	PGresult *r = NULL;
	if (tb_db_query(&s->app->db, TB_STREAM_SQL_UNREGISTER, 1, params, &r) == TB_OK) {
		PQclear(r);
		r = NULL;
		const char *p2[] = {s->board, s->user, "0"};
		if (tb_db_query(&s->app->db, s->aud->presence, s->aud->presence_params, p2, &r) == TB_OK)
			PQclear(r);
	}
	TB_LOG(TB_LOG_DEBUG, "stream on board %s closed: %s", s->board, tb_stream_close_name(s->reason));
}

/* A stream request has no body, but one may come (Apache passes a GET's on; the shipped Apache
 * set-ups refuse one over max_body themselves): over max the answer is 413, as on every route,
 * and a smaller one is read and dropped. Under FastCGI the request's input is read to its end,
 * past Content-Length, so that afterwards nothing but the server dropping the request makes the
 * connection readable: an input record left unread would keep it readable, and client_gone()
 * would never see the end. */
static bool read_body_to_end(struct tb_req *req, struct tb_resp *resp, size_t max)
{
	enum tb_err err = tb_req_read_body(req, max);
	if (err == TB_ERR_TOO_LARGE) {
		tb_resp_error(resp, 413, "too_large", "request body is over the size limit");
		return false;
	}
	size_t extra = 0;
	ssize_t n = 0;
	char b[4096];
	while (err == TB_OK && (req->io.client_events & POLLIN) && (n = req->io.read(req->io.ctx, b, sizeof b)) > 0)
		if ((extra += (size_t)n) > max)
			break;
	if (err || n != 0) {
		tb_resp_error(resp, 400, "bad_request", "the request body could not be read");
		return false;
	}
	return true;
}

void tb_stream_refuse(struct tb_resp *resp)
{
	tb_metrics_add(TB_M_STREAMS_REFUSED, 1);
	tb_resp_set_header(resp, "Retry-After", "10");
	tb_resp_error(resp, 503, "too_many_streams",
	              "too many open streams and polls on this server, for this user or from this address; "
	              "try again after Retry-After");
}

/* $1 host, $2 user (NULL: a guest), $3 address: a stream host's streams (sql/025) of this host,
 * of this user on it and from this address. */
static const char SQL_HOST_STREAMS[] =
	"SELECT count(*), count(*) FILTER (WHERE user_id IS NOT DISTINCT FROM $2::bigint),"
	"       count(*) FILTER (WHERE address = $3)"
	"  FROM streams WHERE host = $1 AND in_host";

/* A poll in a stream host: the host's streams are registry rows, not held slots, so they are read
 * under the registry's locks and taken off the limits, and the poll's slot is claimed before the
 * locks go; a host's registration counts the held polls under the same locks (tb_host.c), so a
 * poll and a stream cannot both take the last place. If the database does not answer, the slots
 * alone count (the poll's own query fails anyway). */
static enum tb_err hold_in_host(struct tb_app *app, const struct tb_req *req, int64_t board_id,
                                struct tb_hold_limits lim)
{
	char user[24];
	const char *u = req->user_id ? tb_i64(user, req->user_id) : NULL;
	const char *params[] = {app->cfg->host_name, u, req->remote_addr ? req->remote_addr : ""};
	PGresult *r = NULL;
	enum tb_err err = tb_stream_lock_registry(&app->db, params[0], u);
	bool locked = err == TB_OK;
	if (locked)
		err = tb_db_query(&app->db, SQL_HOST_STREAMS, 3, params, &r);
	bool full = false;
	if (err == TB_OK && PQntuples(r) == 1) {
		long n_host = strtol(PQgetvalue(r, 0, 0), NULL, 10), n_user = strtol(PQgetvalue(r, 0, 1), NULL, 10);
		long n_addr = strtol(PQgetvalue(r, 0, 2), NULL, 10);
		lim.per_host = lim.per_host > n_host ? lim.per_host - n_host : 0;
		lim.per_user = lim.per_user > n_user ? lim.per_user - n_user : 0;
		full = lim.per_address > 0 && n_addr >= lim.per_address; /* 0 would read as no limit */
		if (lim.per_address > 0)
			lim.per_address -= n_addr;
	}
	PQclear(r);
	enum tb_err held =
		full ? TB_ERR_TOO_LARGE : tb_metrics_hold(TB_HOLD_POLL, req->user_id, req->remote_addr, board_id, &lim);
	if (locked) /* after the claim: the locks keep a registration waiting until it is visible */
		tb_stream_unlock_registry(&app->db, err);
	return held;
}

bool tb_stream_hold(struct tb_app *app, const struct tb_req *req, enum tb_hold_kind kind, int64_t board_id,
                    struct tb_resp *resp, bool *counted)
{
	const struct tb_config *cfg = app->cfg;
	/* A poll may take one place more than a stream: a client refused a stream falls back to
	 * polling, and that must still find room. Polls stay counted, so non-reading polls cannot
	 * fill the pool: beyond the streams, one at a time per host, user and address. */
	long extra = kind == TB_HOLD_POLL ? 1 : 0;
	/* Guests (no user: user_id 0) count together as one user, against max_guest_streams. */
	long per_user = req->user_id ? cfg->max_streams_per_user : cfg->max_guest_streams;
	const struct tb_hold_limits lim = {cfg->max_streams + extra, per_user + extra,
	                                   cfg->max_streams_per_address ? cfg->max_streams_per_address + extra : 0};
	enum tb_err err = kind == TB_HOLD_POLL && app->stream_serve
		? hold_in_host(app, req, board_id, lim)
		: tb_metrics_hold(kind, req->user_id, req->remote_addr, board_id, &lim);
	*counted = err != TB_ERR_IO;
	if (err == TB_ERR_TOO_LARGE) {
		tb_stream_refuse(resp);
		return false;
	}
	return true;
}

enum tb_err tb_stream_lock_registry(struct tb_db *db, const char *host, const char *user)
{
	PGresult *r = NULL;
	enum tb_err err = tb_db_exec(db, "BEGIN", 0, NULL, &r);
	PQclear(r);
	r = NULL;
	if (err)
		return err;
	const char *keys[] = {host, user};
	err = tb_db_query(db, TB_STREAM_SQL_LOCK_REGISTRY, 2, keys, &r);
	PQclear(r);
	if (err)
		tb_stream_unlock_registry(db, err);
	return err;
}

enum tb_err tb_stream_unlock_registry(struct tb_db *db, enum tb_err err)
{
	PGresult *end = NULL;
	enum tb_err end_err = tb_db_exec(db, err ? "ROLLBACK" : "COMMIT", 0, NULL, &end);
	PQclear(end);
	return err ? err : end_err;
}

/* The registration without shared memory (tb_stream.h). */
enum tb_err tb_stream_register_locked(struct tb_db *db, const char *sql, int n, const char *const *params,
                                      PGresult **out)
{
	PGresult *r = NULL;
	enum tb_err err = tb_stream_lock_registry(db, params[0], params[3]);
	if (err)
		return err;
	err = tb_stream_unlock_registry(db, tb_db_query(db, sql, n, params, &r));
	if (err) {
		PQclear(r);
		return err;
	}
	*out = r;
	return TB_OK;
}

/* Inserts the registry row (counted: the limits were checked in shared memory; else within the
 * limits, counted in the registry); false after answering 503 or an error. */
static bool register_stream(struct stream *s, struct tb_resp *resp, bool counted)
{
	const struct tb_config *cfg = s->app->cfg;
	char pid[24], max[24], max_user[24];
	bool guest = s->link_id != 0;
	const char *params[] = {cfg->host_name,
	                        tb_i64(pid, getpid()),
	                        s->board,
	                        guest ? NULL : s->user,
	                        tb_i64(max, cfg->max_streams),
	                        tb_i64(max_user, guest ? cfg->max_guest_streams : cfg->max_streams_per_user),
	                        guest ? s->link : NULL};
	const char *row_params[] = {params[0], params[1], params[2], params[3], params[6]};
	PGresult *r = NULL;
	enum tb_err err = counted ? tb_db_query(&s->app->db, SQL_REGISTER_ROW, 5, row_params, &r)
				  : tb_stream_register_locked(&s->app->db, SQL_REGISTER, 7, params, &r);
	if (tb_resp_db_failed(resp, err))
		return false;
	bool ok = PQntuples(r) == 1;
	if (ok)
		snprintf(s->row, sizeof s->row, "%s", PQgetvalue(r, 0, 0));
	else
		tb_stream_refuse(resp);
	PQclear(r);
	return ok;
}

/* Before the stream holds a worker: the resume point, the body, the token, and the answers that
 * need no worker held (400, a reset, 404 for a board gone, a database error). True to go on with
 * *resume and *last_seq set; false after answering. */
static bool prepare(struct stream *s, struct tb_resp *resp, int64_t *resume, int64_t *last_seq)
{
	*resume = tb_stream_resume_point(s->req->last_event_id, s->req->query);
	if (*resume == -2) {
		tb_resp_error(resp, 400, "bad_request", "Last-Event-ID must be a non-negative integer");
		return false;
	}
	if (!read_body_to_end(s->req, resp, s->app->cfg->max_body))
		return false;
	bool by_cookie;
	if (s->link_id == 0 && tb_auth_request_token(s->req, &s->token, &by_cookie) != TB_OK) {
		tb_resp_db_failed(resp, TB_ERR_DB); /* authenticated by it a moment ago */
		return false;
	}
	if (needs_reset(s, *resume, last_seq)) {
		resp->streamed = true;
		tb_stream_frame_head(&s->out);
		tb_stream_frame_reset(&s->out, *last_seq);
		flush_out(s);
		return false;
	}
	if (s->done) {
		if (s->reason == TB_CLOSE_REVOKED)
			tb_resp_error(resp, 404, "not_found", "no such resource");
		else
			tb_resp_db_failed(resp, s->app->db.conn ? TB_ERR_DB : TB_ERR_DB_DOWN);
		return false;
	}
	return true;
}

/* The registered stream: LISTEN, the access re-check, hello, replay, then live until it ends;
 * its registry row is gone afterwards. */
static void run(struct stream *s, int64_t resume, int64_t last_seq)
{
	/* From LISTEN on, a reconnect inside a query would leave the stream deaf: it ends instead. */
	s->app->db.pinned = true;
	if (!listen_board(s, true)) {
		s->done = true;
		s->reason = TB_CLOSE_ERROR;
	}
	/* The request's access check ran before the LISTEN: a removal that committed in between
	 * reached no one, so look again now that any later one will arrive as an event. */
	bool gone = !s->done && access_gone(s);
	const char *params[] = {s->board, s->user, "1"};
	PGresult *r = s->done || gone ? NULL : query(s, s->aud->presence, s->aud->presence_params, params);
	tb_stream_frame_head(&s->out);
	if (gone) {
		revoke_stream(s, s->aud->lost);
	} else if (r != NULL) {
		s->last_sent = resume < 0 ? last_seq : resume;
		const struct tb_config *cfg = s->app->cfg;
		tb_stream_frame_hello(&s->out, s->board_id, s->last_sent, cfg->heartbeat_interval,
		                      cfg->stream_max_seconds, PQgetvalue(r, 0, 0));
		PQclear(r);
		if (flush_out(s))
			replay(s);
		/* A removal that committed after the check above may have been replayed, and its
		 * notification is then a duplicate: look once more, now that the replay is done. */
		if (!s->done && access_gone(s))
			revoke_stream(s, s->aud->lost);
		long max = s->app->cfg->stream_max_seconds;
		s->last_heard = now_s();
		s->deadline = max ? s->last_heard + max : 0;
		live(s);
	} else {
		flush_out(s);
	}
	unregister(s);
}

/* A member's stream (link_id 0) or a guest's. */
static void serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id, int64_t link_id)
{
	struct stream s = {.app = app, .req = req, .board_id = board_id, .link_id = link_id};
	s.aud = link_id ? &GUEST : &MEMBER;
	tb_i64(s.board, board_id);
	tb_i64(s.user, req->user_id);
	tb_i64(s.link, link_id);
	s.subject = link_id ? s.link : s.user;
	int64_t resume, last_seq = 0;
	bool counted;
	/* One exit: whatever was taken is given back below, in reverse order. */
	if (prepare(&s, resp, &resume, &last_seq) &&
	    tb_stream_hold(app, req, TB_HOLD_STREAM, board_id, resp, &counted)) {
		if (register_stream(&s, resp, counted)) {
			resp->streamed = true;
			tb_metrics_add(TB_M_STREAMS_OPENED, 1);
			run(&s, resume, last_seq);
		}
		tb_metrics_unhold();
	}
	tb_buf_free(&s.out);
	free(s.token);
}

void tb_stream_serve(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id)
{
	serve(app, req, resp, board_id, 0);
}

void tb_stream_serve_guest(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id,
                           int64_t link_id)
{
	serve(app, req, resp, board_id, link_id);
}
