/* tb_host: the stream host's event loop (see tb_host.h). The choices, measured in the spike of
 * issue 13 and written down in docs/design.md ("Stream host (first slice)"):
 * - one thread, one epoll, the FastCGI records spoken here (tb_fcgi_rec) on non-blocking sockets:
 *   lighttpd opens one backend connection per request (request id 1, no keep-conn) and closes it
 *   instead of sending ABORT, so a connection is a stream and its end is the stream's end;
 * - ONE PostgreSQL connection LISTENs for the process, its socket in the same epoll. Its commands
 *   (LISTEN on a board's first local stream, UNLISTEN on its last) are sent asynchronously one at
 *   a time from a queue, never with a blocking call, and a stream's hello and replay start only
 *   once its board's LISTEN is confirmed (the worker's rule: LISTEN first, then replay);
 * - the streams' own queries (the request's authentication and access check through the same
 *   route table as a worker, the reset decision, the registry row, presence, replay, access
 *   re-checks, the heartbeat's SEEN, the unregistration) run as jobs on a pool of ONE thread with
 *   its own connection, blocking there, with the same tb_db, tb_app and SQL as the worker: the
 *   loop never waits on them, and a host holds 2 PostgreSQL connections whatever its streams;
 * - a board's reads that serve all its streams alike are the board's jobs, once for all: its
 *   guests' events in their public form (a public link's guest is never sent the notification,
 *   which names login names), its members' events when a change was too large for NOTIFY, and
 *   its viewers when a list must be read (a ref; a guest's). Such a read that fails ends the
 *   streams it was for (error), as a worker's stream ends when a query fails;
 * - the streams that end together are unregistered together: those that ended in one wake-up of
 *   the loop are one JOB_CLOSE (one DELETE of their rows, then each board they left announced
 *   once), each of them busy with it until their rows are gone;
 * - a stream has at most one job at a time; live changes that come meanwhile are not written but
 *   replayed from the log once the job is back (the board's highest notified seq says whether
 *   something is missing), so nothing is lost and nothing is written twice; a replay's next batch
 *   is read once the client has taken the last one (flow control: a replay longer than the path
 *   to the client holds would otherwise pass OUT_MAX);
 * - each stream's unwritten output is bounded (OUT_MAX waiting beyond a replay batch that waits
 *   refuses the next write) and has a deadline (write_timeout since it stopped draining): a client
 *   that falls behind is dropped, counted as slow_client, and resumes with Last-Event-ID;
 * - a one-second tick walks the streams for keep-alives (the supervisor's heartbeat window),
 *   lifetimes, owed presence reads and write deadlines. */
#include "tb_host.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tb_api.h"
#include "tb_app.h"
#include "tb_auth.h"
#include "tb_db.h"
#include "tb_fcgi_rec.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_route.h"
#include "tb_sse.h"
#include "tb_stream.h"
#include "tb_stream_core.h"

#define OUT_MAX ((size_t)64 * 1024) /* bytes of a stream's output that may wait: past it the next write drops it */
#define READ_CHUNK 16384            /* bytes read from a connection at a time */
#define BOARD_BUCKETS 1024          /* the boards' hash table */
#define STOP_GRACE_MS 5000          /* how long a stopping host waits for its streams' last writes */
#define PARAMS_NAME_MAX 256         /* a FastCGI parameter's name, bytes */
#define PARAMS_VALUE_MAX 16384      /* and its value (a Cookie header, a long query) */
#define PARAMS_MAX 65536            /* all of a request's parameters */
#define CLOSE_BATCH_MAX 1000        /* streams unregistered by one JOB_CLOSE */

/* What an epoll event's data points at. */
enum watch_kind { W_LISTEN, W_CONN, W_DB, W_JOBS, W_TICK, W_SIGNAL };
struct watch {
	enum watch_kind kind;
};

/* A connection's stage. */
enum conn_state {
	CS_REQUEST,     /* reading the request's records */
	CS_OPENING,     /* its OPEN job runs (authentication, access, registration) */
	CS_WAIT_LISTEN, /* registered, waiting for its board's LISTEN */
	CS_STARTING,    /* its START job runs (hello, replay) */
	CS_LIVE,        /* live notifications are written */
};

struct board;

/* Who a stream is for, which says the form of its events and viewers: a member's (login names) or a
 * public link's guest's (display names only). */
enum audience { AUD_MEMBERS, AUD_GUESTS, AUD__MAX };

struct conn {
	struct watch w; /* first: epoll's data.ptr */
	int fd;         /* -1 once closed */
	enum conn_state state;
	struct tb_fcgi_parser fp;
	struct tb_buf body; /* the request body, at most max_body + 1 bytes */
	struct tb_buf out;  /* FastCGI bytes not yet written, from out_at */
	size_t out_at;
	size_t batch_end;    /* in out: where the last replay batch ends (its bytes are not held to OUT_MAX) */
	int64_t out_since;   /* ms: when the output last stopped draining */
	bool polling_out;    /* EPOLLOUT is on */
	struct board *board; /* while on a board's list */
	struct conn *bnext, *bprev, *next, *prev;
	struct conn *cnext; /* ended: in host->closing or a JOB_CLOSE's list (busy in both) */
	int64_t board_id, user_id, resume, last_seq, last_sent, replay_mark;
	int64_t link_id;              /* a guest's public link (no user); 0: a member's stream */
	char row[24];                 /* the registry row's id */
	int64_t row_id;               /* and as a number */
	unsigned long ticket;         /* when its OPEN job was queued (host->tickets) */
	char *token;                  /* the session token the stream lives on */
	int64_t deadline, last_heard; /* s, monotonic; deadline 0: no lifetime */
	struct tb_presence_throttle presence;
	bool busy, registered, done, dead;
	bool stream; /* accepted as a stream (else a reply written whole: a poll, a refusal) */
	bool want_recheck, want_revoke, want_presence;
	bool want_more;      /* its replay read a full batch: the next one is its next job */
	bool check_owed;     /* its start's access re-check waits for the replay's last batch: until then
	                        no viewers' list nor editing notice (on_notice) */
	bool presence_asked; /* its board's presence read runs for it (presence_pump) */
	bool close_counted;  /* its end was counted (a JOB_CLOSE that failed is tried again) */
	enum tb_stream_close reason;
	int64_t close_by; /* ms: a done connection still writing is closed then */
};

struct board {
	int64_t id;
	long n;           /* local streams */
	long queued;      /* LISTEN/UNLISTEN commands not yet answered */
	bool want_listen; /* what the last queued command asks */
	bool listened;    /* confirmed, and no command pending */
	int64_t max_seq;  /* the highest seq notified */
	long guests;      /* local streams of public links' guests */
	struct {
		bool owed;  /* a change came that this audience must read from the log */
		bool busy;  /* the board's JOB_BOARD_EVENTS for it runs */
	} read[AUD__MAX];   /* by audience: the members' form, the guests' */
	bool presence_busy; /* the board's JOB_PRESENCE runs */
	struct conn *streams;
	struct board *next;
};

/* JOB_SEEN is the process's, not a stream's (job->c NULL): one heartbeat statement for all.
 * JOB_CLOSE too: the streams that ended since the last one, unregistered together (close_pump).
 * JOB_BOARD_EVENTS and JOB_PRESENCE are a board's (job->c NULL too): its new events in one
 * audience's form, read once for all its streams of that audience (every change for the guests,
 * a change too large for NOTIFY for the members); its viewers, read once for all its streams that
 * owe a read (a list too long for NOTIFY, a "ref"; a guest's every presence change). */
enum job_kind { JOB_OPEN, JOB_START, JOB_REPLAY, JOB_RECHECK, JOB_SEEN, JOB_PRESENCE, JOB_CLOSE, JOB_BOARD_EVENTS };

/* One query job: the inputs copied from the connection when it was queued (the pool reads the
 * connection's parser and body too, which do not change while the job runs), the outputs. */
struct job {
	enum job_kind kind;
	struct conn *c;
	struct job *next;
	const struct tb_fcgi_parser *fp;
	const struct tb_buf *body;
	size_t body_at;
	int64_t board_id, user_id, resume, last_seq, last_sent, link_id;
	char row[24];
	const char *token;
	/* JOB_CLOSE: the streams (linked by cnext, each busy with it; the loop's alone), why each
	 * ended, their rows, boards and users as bigint[] literals (NULL for a guest's user) */
	struct conn *conns;
	enum tb_stream_close *reasons;
	struct tb_buf row_ids, board_ids, user_ids;
	bool closed;       /* JOB_CLOSE: the rows were deleted */
	struct tb_buf out; /* OPEN not accepted: the whole response; else event-stream bytes */
	bool accepted, done;
	bool more;                /* START, REPLAY: the batch was full, the log may hold more */
	bool check_last;          /* REPLAY: the access re-check of the start after the last batch */
	enum tb_stream_close end; /* done: why */
	char *token_out;
	uint64_t replayed;
	/* JOB_SEEN: the streams whose OPEN was queued by then (ticket) are judged by the rows found:
	 * ids ascending, and whether each one's session lasts; seen_ok false: the query failed. */
	unsigned long ticket;
	int64_t *ids;
	bool *alive;
	size_t n_ids;
	bool seen_ok;
	/* JOB_BOARD_EVENTS: the events after last_sent (at most 500) in aud's form, each event's seq
	 * and where its frame starts in out (at[n_ids] is out.len); max_seq: the board's when it was
	 * queued; seen_ok false: the read failed. */
	size_t *at;
	int64_t max_seq;
	enum audience aud;
	/* JOB_PRESENCE: which forms to read (the members', the guests'); the members' event is
	 * out[0, split), the guests' out[split, len); failed: that form's read failed. */
	bool for_members, for_guests;
	bool failed[AUD__MAX];
	size_t split;
};

struct host {
	const struct tb_config *cfg;
	int ep, listen_fd, jobs_fd, tick_fd, signal_fd, db_fd;
	struct watch w_listen, w_db, w_jobs, w_tick, w_signal;
	struct tb_db ldb;   /* the LISTEN connection */
	char ldb_name[48];  /* its application_name: "teamboard-streamhost listen PID" */
	PGconn *connecting; /* the LISTEN connection while it is being made (listen_connect) */
	int64_t connect_by; /* ms: given up then */
	struct cmd {
		int64_t board;
		bool listen;
	} * cmds;
	size_t n_cmds, cap_cmds;
	bool cmd_sent, cmd_ok;
	struct board *boards[BOARD_BUCKETS];
	struct conn *conns, *dead;
	long n_conns;
	long hb_window;
	unsigned long tickets;               /* OPEN jobs queued so far */
	bool seen_owed;                      /* a heartbeat came: the process's SEEN is owed */
	bool seen_busy;                      /* and runs */
	struct conn *closing, *closing_tail; /* ended and registered, for the next JOB_CLOSE (cnext) */
	bool close_busy;                     /* a JOB_CLOSE runs */
	struct conn *close_failed;           /* their JOB_CLOSE failed: again after a SEEN that works (cnext) */
	bool fanning;                        /* fan_out walks a board: its presence read waits until after */
	bool stopping;
	int64_t stop_by;
	/* the pool */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *finished;
	bool quit;
	struct tb_app papp;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_s(void)
{
	return now_ms() / 1000;
}

/* ====================================================================================== */
/* ---- the pool: jobs run on their own thread and connection ---- */

/* Registers a host's stream: like the worker's SQL_REGISTER, counted in the registry under the
 * advisory locks (across the host processes and workers of this host), but without deleting this
 * pid's other rows: they are this process's other streams. The row is marked in_host (sql/025):
 * its backend_pid is the pool connection's, which the supervisor must never terminate. The polls
 * held on this host ($9 all, $10 the user's, $12 the address's: tb_metrics_held_polls) count too,
 * as a worker's streams and polls count together; $11 max_streams_per_address (0: none) counts
 * the host's streams from address $7. $8: the session token, kept as its hash for the SEEN. A
 * guest's ($4 NULL, $13 its link, no token) count with all guests against $6, max_guest_streams,
 * as in the worker. */
static const char SQL_HOST_REGISTER[] =
	"INSERT INTO streams (host, pid, backend_pid, board_id, user_id, link_id, in_host, address, session_hash)"
	" SELECT $1, $2::int, pg_backend_pid(), $3::bigint, $4::bigint, $13::bigint, true, $7, sha256(decode($8, 'hex'))"
	" WHERE (SELECT count(*) FROM streams WHERE host = $1) + $9::bigint < $5::bigint"
	"   AND (SELECT count(*) FROM streams WHERE user_id IS NOT DISTINCT FROM $4::bigint) + $10::bigint < $6::bigint"
	"   AND ($11::bigint = 0"
	"        OR (SELECT count(*) FROM streams WHERE host = $1 AND address = $7) + $12::bigint < $11::bigint)"
	" RETURNING id";

/* The heartbeat's SEEN for all of this process's streams at once ($1 host, $2 pid): the rows
 * still there (ascending), and whether each one's session lasts. A row the supervisor deleted is
 * missing: that stream ends as recycled. A guest's lasts while its link and its board do (the
 * worker's SEEN of a guest). backend_pid follows the pool connection should it have
 * been made anew, so that the supervisor does not take the rows for dead; it keeps the rows of
 * streams that ended fresh too, so those are this process's to delete (close_done tries again
 * until it does). */
static const char SQL_HOST_SEEN[] =
	"WITH seen AS (UPDATE streams SET last_seen = now(), backend_pid = pg_backend_pid()"
	"               WHERE host = $1 AND pid = $2::int AND in_host RETURNING id, session_hash, link_id)"
	" SELECT id, CASE WHEN link_id IS NULL"
	"                 THEN EXISTS (SELECT 1 FROM sessions x"
	"                               WHERE x.token_hash = seen.session_hash AND x.expires_at > now())"
	"                 ELSE EXISTS (SELECT 1 FROM board_links l JOIN boards b ON b.id = l.board_id"
	"                               WHERE l.id = seen.link_id AND b.deleted_at IS NULL) END"
	"   FROM seen ORDER BY id";

/* Rows of this host and pid: a former process's with our pid, at start; ours, at the end. */
static const char SQL_HOST_CLEAR[] = "DELETE FROM streams WHERE host = $1 AND pid = $2::int";

static void job_end(struct job *j, enum tb_stream_close why)
{
	if (!j->done) {
		j->done = true;
		j->end = why;
	}
}

static ssize_t open_read(void *ctx, char *buf, size_t len)
{
	struct job *j = ctx;
	size_t n = j->body->len - j->body_at < len ? j->body->len - j->body_at : len;
	if (n)
		memcpy(buf, j->body->data + j->body_at, n);
	j->body_at += n;
	return (ssize_t)n;
}

static ssize_t open_write(void *ctx, const char *buf, size_t len)
{
	struct job *j = ctx;
	tb_buf_append(&j->out, buf, len);
	return (ssize_t)len;
}

static int open_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static const char *open_param(void *ctx, const char *name)
{
	const struct job *j = ctx;
	return tb_fcgi_param(j->fp, name);
}

/* The reset decision: true to go on (*last_seq set); false after answering (a reset event, 404
 * for a board gone, a database error). */
static bool open_state(struct tb_app *app, struct job *j, struct tb_resp *resp, const char *board, int64_t *last_seq)
{
	char n[24];
	const char *params[] = {board, tb_i64(n, j->resume < 0 ? 0 : j->resume)};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, TB_STREAM_SQL_STATE, 2, params, &r)))
		return false;
	bool found = PQntuples(r) == 1;
	int64_t min = -1, backlog = 0;
	if (found) {
		*last_seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		min = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		backlog = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	PQclear(r);
	if (!found) {
		tb_resp_error(resp, 404, "not_found", "no such resource"); /* deleted since the access check */
		return false;
	}
	if (tb_stream_needs_reset(j->resume, *last_seq, min, backlog, app->cfg->replay_limit)) {
		resp->streamed = true;
		tb_stream_frame_head(&j->out);
		tb_stream_frame_reset(&j->out, *last_seq);
		return false;
	}
	return true;
}

/* The registry row, counted under the registry's locks with the polls held on this host (read
 * after the locks: a poll in this process claims its slot under them, tb_stream_hold); false after
 * answering 503 or a database error. */
static bool open_register(struct tb_app *app, struct job *j, struct tb_resp *resp, const char *board,
                          const struct tb_req *req)
{
	const struct tb_config *cfg = app->cfg;
	char pid[24], max[24], max_user[24], max_addr[24], user_text[24], link[24], n[3][24], addr[48];
	long polls[3];
	snprintf(addr, sizeof addr, "%s", req->remote_addr ? req->remote_addr : ""); /* as the held table */
	const char *user = j->link_id ? NULL : tb_i64(user_text, req->user_id);      /* NULL: the guests */
	PGresult *r = NULL;
	enum tb_err err = tb_stream_lock_registry(&app->db, cfg->host_name, user);
	if (err == TB_OK) {
		tb_metrics_held_polls(req->user_id, addr, polls);
		const char *params[] = {
			cfg->host_name,
			tb_i64(pid, getpid()),
			board,
			user,
			tb_i64(max, cfg->max_streams),
			tb_i64(max_user, j->link_id ? cfg->max_guest_streams : cfg->max_streams_per_user),
			addr[0] ? addr : NULL,
			j->token_out,
			tb_i64(n[0], polls[0]),
			tb_i64(n[1], polls[1]),
			tb_i64(max_addr, cfg->max_streams_per_address),
			tb_i64(n[2], polls[2]),
			j->link_id ? tb_i64(link, j->link_id) : NULL};
		err = tb_stream_unlock_registry(&app->db, tb_db_query(&app->db, SQL_HOST_REGISTER, 13, params, &r));
	}
	if (tb_resp_db_failed(resp, err)) {
		PQclear(r);
		return false;
	}
	bool ok = PQntuples(r) == 1;
	if (ok)
		snprintf(j->row, sizeof j->row, "%s", PQgetvalue(r, 0, 0));
	else
		tb_stream_refuse(resp);
	PQclear(r);
	return ok;
}

/* app->stream_serve on the pool: what the worker's tb_stream_serve does before it holds the
 * stream (the resume point, the body limit, the reset decision, the registration), answering
 * the refusals as it does; an accepted stream goes back to the loop (job->accepted). A guest's
 * (link_id, tb_stream_serve_guest's) lives on its link, not on a session. */
static void host_open(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id, int64_t link_id)
{
	struct job *j = app->stream_ctx;
	j->link_id = link_id;
	char board[24];
	tb_i64(board, board_id);
	j->resume = tb_stream_resume_point(req->last_event_id, req->query);
	if (j->resume == -2) {
		tb_resp_error(resp, 400, "bad_request", "Last-Event-ID must be a non-negative integer");
		return;
	}
	if (j->body->len > app->cfg->max_body) {
		tb_resp_error(resp, 413, "too_large", "request body is over the size limit");
		return;
	}
	bool by_cookie;
	if (link_id == 0 && tb_auth_request_token(req, &j->token_out, &by_cookie) != TB_OK) {
		tb_resp_db_failed(resp, TB_ERR_DB); /* authenticated by it a moment ago */
		return;
	}
	if (!open_state(app, j, resp, board, &j->last_seq) || !open_register(app, j, resp, board, req))
		return;
	j->accepted = true;
	j->board_id = board_id;
	j->user_id = req->user_id;
	resp->streamed = true;
}

/* The request through the worker's pipeline (route, authentication, CSRF, limits, the route's
 * access check), host_open for a stream; anything else (a JSON poll, a refusal) is answered
 * whole into job->out as a worker's tb_server would write it. */
static void run_open(struct host *h, struct job *j)
{
	struct tb_io io = {j, open_read, open_write, open_flush, -1, 0};
	struct tb_req req;
	struct tb_resp resp;
	memset(&req, 0, sizeof req);
	tb_resp_init(&resp);
	h->papp.stream_ctx = j;
	if (tb_req_init(&req, open_param, j, &io) != TB_OK)
		tb_resp_error(&resp, 400, "bad_request", "REQUEST_METHOD or REQUEST_URI missing");
	else
		tb_app_handle(&h->papp, &req, &resp);
	if (!resp.streamed) {
		if (resp.status != 204 && resp.status != 304) {
			char len[24];
			snprintf(len, sizeof len, "%zu", resp.body.len);
			tb_resp_set_header(&resp, "Content-Length", len);
		}
		tb_resp_head(&resp, &j->out);
		tb_buf_append(&j->out, resp.body.data, resp.body.len);
	}
	if (resp.status >= 500)
		TB_LOG(TB_LOG_WARN, "stream host: %s %s -> %d", req.method_name ? req.method_name : "?",
		       req.path ? req.path : "?", resp.status);
	tb_req_free(&req);
	tb_resp_free(&resp);
}

/* 1: the user lost the board (a guest: its link or the board is gone); 0: not; -1: the query
 * failed. */
static int access_gone(struct tb_db *db, const struct job *j)
{
	char subject[24], board[24];
	const char *params[] = {tb_i64(subject, j->link_id ? j->link_id : j->user_id), tb_i64(board, j->board_id)};
	PGresult *r = NULL;
	if (tb_db_query(db, j->link_id ? TB_STREAM_SQL_LINK_ALIVE : TB_STREAM_SQL_ROLE, 2, params, &r) != TB_OK)
		return -1;
	int gone = PQntuples(r) != 1 || PQgetisnull(r, 0, 0);
	PQclear(r);
	return gone;
}

/* revoked (access removed; a guest's: link deleted) into out when the board is lost; an error
 * ends the stream. */
static void check_access(struct tb_db *db, struct job *j)
{
	int gone = access_gone(db, j);
	if (gone < 0) {
		job_end(j, TB_CLOSE_ERROR);
	} else if (gone) {
		tb_stream_frame_revoked(&j->out, j->link_id ? TB_REVOKE_LINK_DELETED : TB_REVOKE_ACCESS_REMOVED);
		job_end(j, TB_CLOSE_REVOKED);
	}
}

/* One batch of the log after job->last_sent into out; a full one says there may be more (the next
 * batch is the stream's next job, queued behind the others' jobs, so that a long replay delays
 * another stream's start by one batch at most, about 50 ms for 500 events). */
static void run_replay(struct tb_db *db, struct job *j)
{
	char board[24], after[24];
	const char *params[] = {tb_i64(board, j->board_id), tb_i64(after, j->last_sent)};
	PGresult *r = NULL;
	if (tb_db_query(db, j->link_id ? TB_STREAM_SQL_REPLAY_GUEST : TB_STREAM_SQL_REPLAY, 2, params, &r) != TB_OK) {
		job_end(j, TB_CLOSE_ERROR);
		return;
	}
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		j->last_sent = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		tb_sse_event(&j->out, j->last_sent, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		             (size_t)PQgetlength(r, i, 2));
	}
	j->replayed += (uint64_t)n;
	j->more = n == 500;
	PQclear(r);
}

/* A replay job: one batch, then the start's access re-check if it waited for the last one. */
static void run_replay_job(struct tb_db *db, struct job *j)
{
	run_replay(db, j);
	if (!j->done && !j->more && j->check_last)
		check_access(db, j);
}

/* Announces the viewers (params: board, user, that user's streams on it after the change); a
 * guest is one guest more or less, always announced, and shown the public form. */
static enum tb_err presence_changed(struct tb_db *db, const struct job *j, const char *const *params, PGresult **r)
{
	if (j->link_id)
		return tb_db_query(db, TB_STREAM_SQL_PRESENCE_GUEST, 1, params, r);
	return tb_db_query(db, TB_STREAM_SQL_PRESENCE, 3, params, r);
}

/* The stream's start, once its board is listened: the access re-check (a removal that committed
 * before the LISTEN reached no one), presence, the head and hello, the replay, and the access
 * re-check once more (a removal replayed is not notified again), as the worker's run(). */
static void run_start(struct host *h, struct job *j)
{
	struct tb_db *db = &h->papp.db;
	const struct tb_config *cfg = h->cfg;
	tb_stream_frame_head(&j->out);
	check_access(db, j);
	if (j->done)
		return;
	char board[24], user[24];
	const char *params[] = {tb_i64(board, j->board_id), tb_i64(user, j->user_id), "1"};
	PGresult *r = NULL;
	if (presence_changed(db, j, params, &r) != TB_OK) {
		job_end(j, TB_CLOSE_ERROR);
		return;
	}
	j->last_sent = j->resume < 0 ? j->last_seq : j->resume;
	tb_stream_frame_hello(&j->out, j->board_id, j->last_sent, cfg->heartbeat_interval, cfg->stream_max_seconds,
	                      PQgetvalue(r, 0, 0));
	PQclear(r);
	run_replay(db, j);
	if (!j->done && !j->more)
		check_access(db, j); /* else after the last batch (run_replay_job) */
}

/* The heartbeat's SEEN for the whole process (SQL_HOST_SEEN), on the pool. A failure judges no
 * stream: their rows age, and the next heartbeat tries again. */
static void run_seen(struct host *h, struct job *j)
{
	char pid[24];
	const char *params[] = {h->cfg->host_name, tb_i64(pid, getpid())};
	PGresult *r = NULL;
	if (tb_db_query(&h->papp.db, SQL_HOST_SEEN, 2, params, &r) != TB_OK)
		return;
	size_t n = (size_t)PQntuples(r);
	j->ids = tb_xcalloc(n ? n : 1, sizeof *j->ids);
	j->alive = tb_xcalloc(n ? n : 1, sizeof *j->alive);
	for (size_t i = 0; i < n; i++) {
		j->ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		j->alive[i] = strcmp(PQgetvalue(r, (int)i, 1), "t") == 0;
	}
	j->n_ids = n;
	j->seen_ok = true;
	PQclear(r);
}

/* One presence event of the board into out (sql: the members' or the guests' form); false: the
 * query failed (the streams it was for end, presence_done). */
static bool presence_event(struct tb_db *db, const struct job *j, const char *sql, struct tb_buf *out)
{
	char board[24];
	const char *params[] = {tb_i64(board, j->board_id)};
	PGresult *r = NULL;
	if (tb_db_query(db, sql, 1, params, &r) != TB_OK)
		return false;
	if (PQntuples(r) == 1)
		tb_sse_event(out, -1, "presence", PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return true;
}

/* The board's viewers, once for all its streams that owe a read, in the forms they need. */
static void run_presence(struct tb_db *db, struct job *j)
{
	if (j->for_members)
		j->failed[AUD_MEMBERS] = !presence_event(db, j, TB_STREAM_SQL_PRESENCE_NOW, &j->out);
	j->split = j->out.len;
	if (j->for_guests)
		j->failed[AUD_GUESTS] = !presence_event(db, j, TB_STREAM_SQL_PRESENCE_NOW_GUEST, &j->out);
}

/* The rows of this process's streams that ended ($3, ids), one statement for the batch. */
static const char SQL_HOST_UNREGISTER[] =
	"DELETE FROM streams WHERE host = $1 AND pid = $2::int AND id = ANY($3::bigint[])";

/* Then each board's viewers, announced once ($1 boards, $2 users, pairwise): when a guest left it
 * (always announced, as TB_STREAM_SQL_PRESENCE_GUEST) or a user who has no stream left on it (as
 * TB_STREAM_SQL_PRESENCE with 0). */
static const char SQL_HOST_PRESENCE_AFTER[] =
	"SELECT count(announce_presence(g.board_id)) FROM"
	" (SELECT DISTINCT x.board_id FROM unnest($1::bigint[], $2::bigint[]) AS x(board_id, user_id)"
	"   WHERE x.user_id IS NULL OR NOT EXISTS"
	"         (SELECT 1 FROM streams s WHERE s.board_id = x.board_id AND s.user_id = x.user_id)) g";

/* The streams that ended: their rows removed (closed; else close_done keeps them for another
 * try), the viewers of each board they left announced once. */
static void run_close(struct host *h, struct job *j)
{
	struct tb_db *db = &h->papp.db;
	char pid[24];
	const char *params[] = {h->cfg->host_name, tb_i64(pid, getpid()), j->row_ids.data};
	PGresult *r = NULL;
	if (tb_db_query(db, SQL_HOST_UNREGISTER, 3, params, &r) != TB_OK)
		return;
	PQclear(r);
	j->closed = true;
	r = NULL;
	const char *p2[] = {j->board_ids.data, j->user_ids.data};
	if (tb_db_query(db, SQL_HOST_PRESENCE_AFTER, 2, p2, &r) == TB_OK)
		PQclear(r);
}

/* A board's new events for all its streams of one audience at once (JOB_BOARD_EVENTS): those
 * after last_sent in its form (the guests' public one, the members'), one batch, each one's frame
 * built once; the loop writes each stream the part it lacks. A failure reads nothing (seen_ok
 * false): the streams it was for end (board_events_done). */
static void run_board_events(struct tb_db *db, struct job *j)
{
	char board[24], after[24];
	const char *params[] = {tb_i64(board, j->board_id), tb_i64(after, j->last_sent)};
	bool guests = j->aud == AUD_GUESTS;
	PGresult *r = NULL;
	if (tb_db_query(db, guests ? TB_STREAM_SQL_REPLAY_GUEST : TB_STREAM_SQL_REPLAY, 2, params, &r) != TB_OK)
		return;
	size_t n = (size_t)PQntuples(r);
	j->ids = tb_xcalloc(n ? n : 1, sizeof *j->ids);
	j->at = tb_xcalloc(n + 1, sizeof *j->at);
	for (size_t i = 0; i < n; i++) {
		j->ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		j->at[i] = j->out.len;
		tb_sse_event(&j->out, j->ids[i], PQgetvalue(r, (int)i, 1), PQgetvalue(r, (int)i, 2),
		             (size_t)PQgetlength(r, (int)i, 2));
	}
	j->at[n] = j->out.len;
	j->n_ids = n;
	j->seen_ok = true;
	PQclear(r);
	TB_LOG(TB_LOG_DEBUG, "board %" PRId64 ": %zu events read from the log for its %s streams", j->board_id, n,
	       guests ? "guests'" : "members'");
}

static void run_job(struct host *h, struct job *j)
{
	struct tb_db *db = &h->papp.db;
	switch (j->kind) {
	case JOB_OPEN: run_open(h, j); break;
	case JOB_START: run_start(h, j); break;
	case JOB_REPLAY: run_replay_job(db, j); break;
	case JOB_RECHECK: check_access(db, j); break;
	case JOB_SEEN: run_seen(h, j); break;
	case JOB_PRESENCE: run_presence(db, j); break;
	case JOB_CLOSE: run_close(h, j); break;
	case JOB_BOARD_EVENTS: run_board_events(db, j); break;
	}
}

/* This host's and pid's rows: a former process's at the start, ours at the end. */
static void clear_rows(struct host *h)
{
	char pid[24];
	const char *params[] = {h->cfg->host_name, tb_i64(pid, getpid())};
	PGresult *r = NULL;
	if (tb_db_query(&h->papp.db, SQL_HOST_CLEAR, 2, params, &r) == TB_OK)
		PQclear(r);
}

static void *pool_main(void *arg)
{
	struct host *h = arg;
	clear_rows(h);
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->todo == NULL && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		struct job *j = h->todo;
		if (j == NULL)
			break; /* quit, and nothing left to do */
		h->todo = j->next;
		if (h->todo == NULL)
			h->todo_tail = NULL;
		pthread_mutex_unlock(&h->mu);
		run_job(h, j);
		pthread_mutex_lock(&h->mu);
		j->next = h->finished;
		h->finished = j;
		uint64_t one = 1;
		if (write(h->jobs_fd, &one, sizeof one) < 0)
			TB_LOG(TB_LOG_ERROR, "stream host: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&h->mu);
	clear_rows(h);
	return NULL;
}

/* ====================================================================================== */
/* ---- connections: output ---- */

static void conn_events(struct host *h, struct conn *c, bool out)
{
	if (c->fd < 0 || c->polling_out == out)
		return;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c};
	if (epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->polling_out = out;
}

static void conn_close_fd(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	tb_buf_free(&c->out);
	c->out_at = c->batch_end = 0;
}

static void leave_board(struct host *h, struct conn *c);
static void schedule(struct host *h, struct conn *c);

/* The stream is over (reason); its connection is closed now (gone, too slow) or once its last
 * records are written (close_now false). */
static void conn_end(struct host *h, struct conn *c, enum tb_stream_close reason, bool close_now)
{
	if (!c->done) {
		c->done = true;
		c->reason = reason;
	}
	leave_board(h, c);
	if (close_now)
		conn_close_fd(c);
	else if (c->close_by == 0)
		c->close_by = now_ms() + (int64_t)h->cfg->write_timeout * 1000;
}

/* Writes what waits; the client gone (an error) ends the stream. A done stream's connection is
 * closed once everything is written. */
static void conn_flush(struct host *h, struct conn *c)
{
	while (c->fd >= 0 && c->out_at < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_at, c->out.len - c->out_at, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_at += (size_t)n;
			c->out_since = now_ms();
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_events(h, c, true);
			return;
		} else {
			conn_end(h, c, TB_CLOSE_CLIENT_GONE, true);
			return;
		}
	}
	tb_buf_free(&c->out); /* an idle stream keeps no buffer */
	c->out_at = c->batch_end = 0;
	conn_events(h, c, false);
	if (c->done)
		conn_close_fd(c);
}

/* Moves what waits to the front of the buffer once the written part is the larger: a stream whose
 * output never quite drains keeps a buffer of what waits, not of everything it was sent. */
static void conn_compact(struct conn *c)
{
	if (c->out_at < OUT_MAX || c->out_at < c->out.len - c->out_at)
		return;
	memmove(c->out.data, c->out.data + c->out_at, c->out.len - c->out_at + 1); /* with the NUL */
	c->out.len -= c->out_at;
	c->batch_end = c->batch_end > c->out_at ? c->batch_end - c->out_at : 0;
	c->out_at = 0;
}

/* Appends len bytes of the response as STDOUT records and writes what it can. A stream whose
 * client left more than OUT_MAX bytes unread is dropped instead (slow_client): false. A replay
 * batch still waiting is not counted (it is bounded by its 500 events, and the next one waits for
 * it, schedule): a heartbeat or a notice behind it does not end a client that reads. */
static bool conn_send(struct host *h, struct conn *c, const char *data, size_t len)
{
	if (c->fd < 0 || len == 0)
		return c->fd >= 0;
	if (c->out.len - (c->batch_end > c->out_at ? c->batch_end : c->out_at) > OUT_MAX) {
		TB_LOG(TB_LOG_INFO, "stream %s on board %" PRId64 ": the client does not read, dropped", c->row,
		       c->board_id);
		conn_end(h, c, TB_CLOSE_SLOW_CLIENT, true);
		return false;
	}
	if (c->out_at == c->out.len)
		c->out_since = now_ms();
	conn_compact(c);
	tb_fcgi_stdout(&c->out, c->fp.request_id, data, len);
	conn_flush(h, c);
	return c->fd >= 0;
}

static bool conn_send_buf(struct host *h, struct conn *c, struct tb_buf *b)
{
	bool ok = conn_send(h, c, b->data, b->len);
	tb_buf_reset(b);
	return ok;
}

/* The end of the response: the empty STDOUT record and END_REQUEST; closed once written. */
static void conn_finish(struct host *h, struct conn *c, enum tb_stream_close reason)
{
	bool open = c->fd >= 0 && !c->done;
	conn_end(h, c, reason, false);
	if (!open) {
		conn_close_fd(c);
		return;
	}
	if (c->out_at == c->out.len)
		c->out_since = now_ms();
	tb_fcgi_stdout(&c->out, c->fp.request_id, NULL, 0);
	tb_fcgi_end_request(&c->out, c->fp.request_id, 0);
	conn_flush(h, c);
}

static void send_event(struct host *h, struct conn *c, int64_t seq, const char *type, const char *data, size_t len)
{
	struct tb_buf b = {0};
	tb_sse_event(&b, seq, type, data, len);
	if (conn_send_buf(h, c, &b) && seq > c->last_sent)
		c->last_sent = seq;
	tb_buf_free(&b);
}

static void send_comment(struct host *h, struct conn *c, const char *text)
{
	struct tb_buf b = {0};
	tb_sse_comment(&b, text);
	if (conn_send_buf(h, c, &b))
		tb_metrics_add(TB_M_HEARTBEATS, 1);
	tb_buf_free(&b);
}

/* ====================================================================================== */
/* ---- jobs from the loop's side ---- */

static void enqueue(struct host *h, struct job *j);
static struct board **board_slot(struct host *h, int64_t id);
static void maybe_free(struct host *h, struct conn *c);

static void submit(struct host *h, struct conn *c, enum job_kind kind)
{
	struct job *j = tb_xcalloc(1, sizeof *j);
	*j = (struct job){.kind = kind,
	                  .c = c,
	                  .fp = &c->fp,
	                  .body = &c->body,
	                  .board_id = c->board_id,
	                  .user_id = c->user_id,
	                  .resume = c->resume,
	                  .last_seq = c->last_seq,
	                  .last_sent = c->last_sent,
	                  .token = c->token,
	                  .link_id = c->link_id,
	                  .check_last = c->check_owed};
	memcpy(j->row, c->row, sizeof j->row);
	c->busy = true;
	if (kind == JOB_OPEN)
		c->ticket = ++h->tickets;
	enqueue(h, j);
}

/* The process's SEEN, when a heartbeat asked for it and none runs (one at a time: a heartbeat that
 * comes meanwhile runs it once more afterwards, e.g. a logout's, sql/functions/accounts.sql). */
static void seen_pump(struct host *h)
{
	if (!h->seen_owed || h->seen_busy || h->stopping)
		return;
	struct job *j = tb_xcalloc(1, sizeof *j);
	j->kind = JOB_SEEN;
	j->ticket = h->tickets;
	h->seen_owed = false;
	h->seen_busy = true;
	enqueue(h, j);
}

static void enqueue(struct host *h, struct job *j)
{
	pthread_mutex_lock(&h->mu);
	if (h->todo_tail)
		h->todo_tail->next = j;
	else
		h->todo = j;
	h->todo_tail = j;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static enum audience audience(const struct conn *c)
{
	return c->link_id ? AUD_GUESTS : AUD_MEMBERS;
}

static void revoke_stream(struct host *h, struct conn *c, enum tb_stream_revoke why)
{
	struct tb_buf b = {0};
	tb_stream_frame_revoked(&b, why);
	conn_send_buf(h, c, &b);
	tb_buf_free(&b);
	conn_finish(h, c, TB_CLOSE_REVOKED);
}

/* Reads the board's viewers once for all its live streams that owe a read (JOB_PRESENCE), unless a
 * read runs: those that come meanwhile are read for after it (their ref may be newer). */
static void presence_pump(struct host *h, struct board *b)
{
	if (b->presence_busy)
		return;
	struct job *j = NULL;
	int64_t ms = now_ms();
	for (struct conn *c = b->streams; c; c = c->bnext) {
		/* one postponed (a ref within the throttle's interval) is satisfied by this read too */
		if (!(c->want_presence || c->presence.due_ms) || c->state != CS_LIVE || c->done || c->check_owed)
			continue; /* (one whose start is not re-checked yet reads them after: on_notice) */
		if (j == NULL) {
			j = tb_xcalloc(1, sizeof *j);
			j->kind = JOB_PRESENCE;
			j->board_id = b->id;
		}
		c->want_presence = false;
		c->presence_asked = true;
		tb_presence_reading(&c->presence, ms);
		if (c->link_id)
			j->for_guests = true;
		else
			j->for_members = true;
	}
	if (j == NULL)
		return;
	b->presence_busy = true;
	enqueue(h, j);
}

/* The board's viewers came back: each stream they were read for gets its form; if its form's read
 * failed, it ends (error) as a worker's stream does, and its client resumes with Last-Event-ID. */
static void presence_done(struct host *h, const struct job *j)
{
	struct board *b = *board_slot(h, j->board_id);
	if (b == NULL)
		return; /* its last stream left meanwhile */
	b->presence_busy = false;
	for (struct conn *c = b->streams, *next; c; c = next) {
		next = c->bnext; /* c may leave the board (a slow client dropped) */
		if (!c->presence_asked)
			continue;
		c->presence_asked = false;
		size_t from = c->link_id ? j->split : 0, to = c->link_id ? j->out.len : j->split;
		if (!c->done && j->failed[audience(c)]) {
			conn_finish(h, c, TB_CLOSE_ERROR);
			schedule(h, c);
		} else if (!c->done && to > from) {
			conn_send(h, c, j->out.data + from, to - from);
		}
		maybe_free(h, c);
	}
	presence_pump(h, b);
}

/* The stream ended and is registered: it waits (busy) for the next JOB_CLOSE, which the loop
 * queues after its batch of events (close_pump), so that the streams that end together are
 * unregistered together. */
static void close_later(struct host *h, struct conn *c)
{
	c->cnext = NULL;
	if (h->closing_tail)
		h->closing_tail->cnext = c;
	else
		h->closing = c;
	h->closing_tail = c;
	c->busy = true;
}

/* Appends id to a bigint[] literal being built in b ("{1,2,NULL"; NULL for 0 when zero_null). */
static void array_add(struct tb_buf *b, int64_t id, bool zero_null)
{
	char text[24];
	tb_buf_puts(b, b->len ? "," : "{");
	tb_buf_puts(b, zero_null && id == 0 ? "NULL" : tb_i64(text, id));
}

/* One JOB_CLOSE for (at most CLOSE_BATCH_MAX of) the streams waiting, unless one runs: those that
 * end meanwhile go in the next. Each stream's end is counted once, at its first try. */
static void close_pump(struct host *h)
{
	if (h->close_busy || h->closing == NULL)
		return;
	struct job *j = tb_xcalloc(1, sizeof *j);
	j->kind = JOB_CLOSE;
	size_t n = 0;
	for (const struct conn *c = h->closing; c && n < CLOSE_BATCH_MAX; c = c->cnext)
		n++;
	j->reasons = tb_xcalloc(n, sizeof *j->reasons);
	j->conns = h->closing;
	struct conn *last = h->closing;
	for (;;) {
		if (!last->close_counted)
			tb_metrics_add(tb_stream_close_metric(last->reason), 1);
		last->close_counted = true;
		j->reasons[j->n_ids++] = last->reason;
		array_add(&j->row_ids, last->row_id, false);
		array_add(&j->board_ids, last->board_id, false);
		array_add(&j->user_ids, last->link_id ? 0 : last->user_id, true);
		if (last->cnext == NULL || j->n_ids == CLOSE_BATCH_MAX)
			break;
		last = last->cnext;
	}
	h->closing = last->cnext;
	if (h->closing == NULL)
		h->closing_tail = NULL;
	last->cnext = NULL;
	tb_buf_puts(&j->row_ids, "}");
	tb_buf_puts(&j->board_ids, "}");
	tb_buf_puts(&j->user_ids, "}");
	h->close_busy = true;
	enqueue(h, j);
}

/* The streams whose JOB_CLOSE failed go first in line for the next one (a SEEN worked, the host
 * stops). */
static void close_again(struct host *h)
{
	if (h->close_failed == NULL)
		return;
	struct conn *last = h->close_failed;
	while (last->cnext)
		last = last->cnext;
	last->cnext = h->closing;
	if (h->closing == NULL)
		h->closing_tail = last;
	h->closing = h->close_failed;
	h->close_failed = NULL;
	close_pump(h);
}

/* The streams' rows are gone: each one's connection may be freed now. If the statement failed,
 * the streams stay registered and busy until the next heartbeat's SEEN works (close_again: not
 * in a loop while the database is away), since their rows must go: that SEEN keeps them fresh,
 * so the supervisor never removes them while this process lives (with no stream left to hear a
 * heartbeat, no SEEN runs: they age, and its stale clean-up removes them). A stopping host leaves
 * them to its last SQL_HOST_CLEAR. */
static void close_done(struct host *h, const struct job *j)
{
	h->close_busy = false;
	if (!j->closed && !h->stopping) {
		TB_LOG(TB_LOG_WARN, "stream host: %zu streams' rows not removed: again after a heartbeat", j->n_ids);
		struct conn *last = j->conns;
		while (last->cnext)
			last = last->cnext;
		last->cnext = h->close_failed;
		h->close_failed = j->conns;
		close_pump(h);
		return;
	}
	size_t i = 0;
	for (struct conn *c = j->conns, *next; c; c = next, i++) {
		next = c->cnext;
		TB_LOG(TB_LOG_DEBUG, "stream %s on board %" PRId64 " closed: %s", c->row, c->board_id,
		       tb_stream_close_name(j->reasons[i]));
		c->busy = c->registered = false;
		maybe_free(h, c);
	}
	close_pump(h);
}

/* The stream's next job, if it has none: its unregistration once done; else the replay of what
 * its board notified beyond what it sent (at most once per new notification: a board deleted
 * keeps no log; a guest's only when its board's read for the guests did not bring it), a
 * revocation owed, an access re-check, the heartbeat's SEEN, a presence read. */
static void schedule(struct host *h, struct conn *c)
{
	if (c->busy)
		return;
	if (c->done) {
		if (c->registered)
			close_later(h, c);
		return;
	}
	if (c->state != CS_LIVE)
		return;
	struct board *b = c->board;
	/* The board's read for its audience brings the events (events_pump), then the rest; not to a
	 * stream part-way through its replay (events_pump, read_for): its next batch goes on. */
	if (b && b->read[audience(c)].busy && !c->want_more)
		return;
	/* A replay's next batch waits until the client has taken the last one (EPOLLOUT: on_conn): a
	 * slow but reading client is never dropped for a replay longer than its path holds; one that
	 * stops reading meets its write deadline (tick). */
	if (c->want_more && c->out_at < c->out.len)
		return;
	if (c->want_more || (b && b->max_seq > c->last_sent && b->max_seq > c->replay_mark)) {
		c->want_more = false;
		if (b && b->max_seq > c->replay_mark)
			c->replay_mark = b->max_seq;
		submit(h, c, JOB_REPLAY);
	} else if (c->want_revoke) {
		c->want_revoke = false;
		revoke_stream(h, c, TB_REVOKE_BOARD_DELETED);
		schedule(h, c);
	} else if (c->want_recheck) {
		c->want_recheck = false;
		submit(h, c, JOB_RECHECK);
	} else if (c->want_presence && b && !h->fanning) {
		presence_pump(h, b); /* (fan_out reads once for all the streams a notification concerns) */
	}
}

/* A connection closed, with no job and no row left, leaves the list for the dead ones, freed
 * after the epoll batch: a later event of the same batch may still name it. */
static void maybe_free(struct host *h, struct conn *c)
{
	if (c->fd >= 0 || c->busy || c->registered || c->dead)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->n_conns--;
	c->dead = true;
	c->next = h->dead;
	h->dead = c;
}

static void free_dead(struct host *h)
{
	while (h->dead) {
		struct conn *c = h->dead;
		h->dead = c->next;
		tb_fcgi_free(&c->fp);
		tb_buf_free(&c->body);
		tb_buf_free(&c->out);
		free(c->token);
		free(c);
	}
}

static void join_board(struct host *h, struct conn *c);

/* OPEN came back: a stream goes on to its board, anything else was answered whole. */
static void opened(struct host *h, struct conn *c, struct job *j)
{
	if (!j->accepted) { /* not a stream: not registered, not counted, whatever the reason says */
		if (!c->done && conn_send_buf(h, c, &j->out))
			conn_finish(h, c, TB_CLOSE_CLIENT_GONE);
		else
			conn_end(h, c, TB_CLOSE_CLIENT_GONE, true);
		return;
	}
	c->registered = c->stream = true;
	c->token = j->token_out;
	j->token_out = NULL;
	c->user_id = j->user_id;
	c->link_id = j->link_id;
	c->board_id = j->board_id;
	c->resume = j->resume;
	c->last_seq = j->last_seq;
	memcpy(c->row, j->row, sizeof c->row);
	c->row_id = strtoll(c->row, NULL, 10);
	if (c->done)
		return; /* the client left meanwhile: schedule() unregisters */
	tb_metrics_add(TB_M_STREAMS_OPENED, 1);
	join_board(h, c);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The process's SEEN came back: a live stream whose OPEN went before it and whose row it did not
 * find was recycled by the supervisor (its client reconnects with Last-Event-ID); one whose
 * session ended is revoked (a guest's: whose link or board is gone, link_deleted at once since
 * deleting a link notifies a heartbeat). Streams not live yet are judged at the next heartbeat. */
static void seen_done(struct host *h, const struct job *j)
{
	h->seen_busy = false;
	for (struct conn *c = h->conns, *next; c && j->seen_ok; c = next) {
		next = c->next;
		if (c->state != CS_LIVE || c->done || !c->registered || c->ticket > j->ticket)
			continue;
		const int64_t *at = bsearch(&c->row_id, j->ids, j->n_ids, sizeof *j->ids, cmp_id);
		if (at == NULL) {
			TB_LOG(TB_LOG_INFO, "stream %s on board %" PRId64 ": its row is gone: recycled", c->row,
			       c->board_id);
			conn_finish(h, c, TB_CLOSE_RECYCLED);
		} else if (!j->alive[at - j->ids]) {
			revoke_stream(h, c, c->link_id ? TB_REVOKE_LINK_DELETED : TB_REVOKE_SESSION_ENDED);
		}
		schedule(h, c);
		maybe_free(h, c);
	}
	if (j->seen_ok)
		close_again(h);
	seen_pump(h);
}

/* Reads the board's new events for its streams of one audience, once for all of them
 * (JOB_BOARD_EVENTS), when a change came that they must read from the log (a guest every change, a
 * member one too large for NOTIFY) and no read for them runs: from the lowest seq sent among those
 * live without a job of their own or a replay under way (the others replay for themselves). */
static void events_pump(struct host *h, struct board *b, enum audience aud)
{
	if (b->read[aud].busy || !b->read[aud].owed)
		return;
	b->read[aud].owed = false;
	int64_t base = INT64_MAX;
	for (const struct conn *c = b->streams; c; c = c->bnext)
		if (audience(c) == aud && c->state == CS_LIVE && !c->busy && !c->want_more && !c->done &&
		    c->last_sent < b->max_seq && c->last_sent < base)
			base = c->last_sent;
	if (base == INT64_MAX)
		return;
	struct job *j = tb_xcalloc(1, sizeof *j);
	j->kind = JOB_BOARD_EVENTS;
	j->board_id = b->id;
	j->aud = aud;
	j->last_sent = base;
	j->max_seq = b->max_seq;
	b->read[aud].busy = true;
	enqueue(h, j);
}

/* Whether the board's read j was for c: live, of its audience, without a job of its own or a replay
 * under way, with everything up to the read's start but not all it brought. */
static bool read_for(const struct job *j, const struct conn *c)
{
	return audience(c) == j->aud && c->state == CS_LIVE && !c->busy && !c->want_more && !c->done &&
		c->last_sent >= j->last_sent && c->last_sent < j->max_seq;
}

/* The board's events for one audience came back: each stream it was for gets what it lacks (seq
 * order, nothing twice), or ends (error) when the read failed, as a worker's stream does (its
 * client resumes with Last-Event-ID); a batch that was full, or changes notified meanwhile, read
 * again. */
static void board_events_done(struct host *h, const struct job *j)
{
	struct board *b = *board_slot(h, j->board_id);
	if (b == NULL)
		return; /* its last stream left meanwhile */
	b->read[j->aud].busy = false;
	for (struct conn *c = b->streams, *next; c; c = next) {
		next = c->bnext; /* c may leave the board (a slow client dropped) */
		if (!read_for(j, c))
			continue;
		if (!j->seen_ok) { /* it leaves the board: unregistered now, not at the next tick */
			conn_finish(h, c, TB_CLOSE_ERROR);
			schedule(h, c);
			maybe_free(h, c);
			continue;
		}
		size_t i = 0;
		while (i < j->n_ids && j->ids[i] <= c->last_sent)
			i++;
		if (i < j->n_ids && conn_send(h, c, j->out.data + j->at[i], j->at[j->n_ids] - j->at[i])) {
			tb_metrics_add(TB_M_EVENTS_SENT, (uint64_t)(j->n_ids - i));
			c->last_sent = j->ids[j->n_ids - 1];
		}
	}
	if (j->seen_ok && (j->n_ids == 500 || b->max_seq > j->max_seq))
		b->read[j->aud].owed = true;
	events_pump(h, b, j->aud);
	for (struct conn *c = b->streams, *next; c; c = next) {
		next = c->bnext;
		if (audience(c) == j->aud) {
			schedule(h, c);
			maybe_free(h, c);
		}
	}
}

/* A job's output: what it wrote goes to the client, then what it ended. */
static void job_done(struct host *h, struct job *j)
{
	struct conn *c = j->c;
	if (c == NULL && j->kind == JOB_BOARD_EVENTS) {
		board_events_done(h, j);
		return;
	}
	if (c == NULL && j->kind == JOB_PRESENCE) {
		presence_done(h, j);
		return;
	}
	if (j->kind == JOB_CLOSE) {
		close_done(h, j);
		return;
	}
	if (c == NULL) {
		seen_done(h, j);
		return;
	}
	c->busy = false;
	if (j->kind == JOB_OPEN) {
		tb_fcgi_forget_params(&c->fp); /* the request was read: nothing keeps a copy of it */
		tb_buf_free(&c->body);
		opened(h, c, j);
	} else if (!c->done) {
		if (j->kind == JOB_START) {
			c->state = CS_LIVE;
			c->last_heard = now_s();
			c->deadline = h->cfg->stream_max_seconds ? c->last_heard + h->cfg->stream_max_seconds : 0;
		}
		bool batch = j->kind == JOB_START || j->kind == JOB_REPLAY;
		if (conn_send_buf(h, c, &j->out) && j->last_sent > c->last_sent)
			c->last_sent = j->last_sent;
		if (batch && c->out_at < c->out.len)
			c->batch_end = c->out.len;
		if (j->kind == JOB_START)
			c->replay_mark = c->last_sent;
		if (j->kind == JOB_START || j->kind == JOB_REPLAY) { /* a full batch: the next is queued (schedule) */
			c->want_more = j->more && !j->done;
			if (j->kind == JOB_START || !j->more)
				c->check_owed = j->more && !j->done;
		}
		if (j->replayed)
			tb_metrics_add(TB_M_EVENTS_REPLAYED, j->replayed);
		if (j->done)
			conn_finish(h, c, j->end);
	}
	schedule(h, c);
	maybe_free(h, c);
}

static void job_free(struct job *j)
{
	tb_buf_free(&j->out);
	free(j->token_out);
	free(j->ids);
	free(j->alive);
	free(j->at);
	free(j->reasons);
	tb_buf_free(&j->row_ids);
	tb_buf_free(&j->board_ids);
	tb_buf_free(&j->user_ids);
	free(j);
}

static void jobs_ready(struct host *h)
{
	uint64_t n;
	if (read(h->jobs_fd, &n, sizeof n) < 0 && errno != EAGAIN)
		TB_LOG(TB_LOG_ERROR, "stream host: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&h->mu);
	struct job *list = h->finished;
	h->finished = NULL;
	pthread_mutex_unlock(&h->mu);
	struct job *rev = NULL; /* finished is newest first */
	while (list) {
		struct job *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct job *next = rev->next;
		job_done(h, rev);
		job_free(rev);
		rev = next;
	}
}

/* ====================================================================================== */
/* ---- boards and the LISTEN connection ---- */

static struct board **board_slot(struct host *h, int64_t id)
{
	struct board **p = &h->boards[(uint64_t)id % BOARD_BUCKETS];
	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

/* Queues LISTEN or UNLISTEN of board's channel; sent in order, one at a time (cmd_pump). */
static void cmd_push(struct host *h, struct board *b, bool listen)
{
	if (h->n_cmds == h->cap_cmds) {
		h->cap_cmds = h->cap_cmds ? h->cap_cmds * 2 : 64;
		struct cmd *n = realloc(h->cmds, h->cap_cmds * sizeof *n);
		if (n == NULL)
			abort();
		h->cmds = n;
	}
	h->cmds[h->n_cmds++] = (struct cmd){b->id, listen};
	b->queued++;
	b->want_listen = listen;
	b->listened = false;
}

/* "LISTEN <channel>" or "UNLISTEN <channel>" of cmd into sql, the channel quoted by
 * PQescapeIdentifier as listen_board() in tb_stream.c builds it; false when that failed (out of
 * memory, or an encoding it refuses): there is then no command to send. */
static bool cmd_sql(PGconn *conn, const struct cmd *cmd, struct tb_buf *sql)
{
	char channel[TB_STREAM_CHANNEL_MAX];
	tb_stream_channel(channel, cmd->board);
	char *ident = PQescapeIdentifier(conn, channel, strlen(channel));
	if (ident == NULL)
		return false;
	tb_buf_puts(sql, cmd->listen ? "LISTEN " : "UNLISTEN ");
	tb_buf_puts(sql, ident);
	PQfreemem(ident);
	return true;
}

static void cmd_finish(struct host *h, bool ok);

/* Sends the command at the head of the queue, unless one is on its way. One that cannot be built
 * is dropped as if it had failed (cmd_finish). */
static void cmd_pump(struct host *h)
{
	while (!h->cmd_sent && h->n_cmds > 0 && h->ldb.conn != NULL) {
		PGconn *conn = h->ldb.conn;
		struct tb_buf sql = {0};
		if (!cmd_sql(conn, &h->cmds[0], &sql)) {
			TB_LOG(TB_LOG_ERROR, "stream host: cannot quote the channel of board %" PRId64 ": %s",
			       h->cmds[0].board, PQerrorMessage(conn));
			tb_buf_free(&sql);
			cmd_finish(h, false);
			continue;
		}
		h->cmd_sent = PQsendQuery(conn, tb_buf_str(&sql)) == 1;
		h->cmd_ok = true;
		if (!h->cmd_sent)
			TB_LOG(TB_LOG_ERROR, "stream host: %s: %s", tb_buf_str(&sql), PQerrorMessage(conn));
		tb_buf_free(&sql);
		PQflush(conn);
		return;
	}
}

static void start_waiting(struct host *h, struct board *b)
{
	for (struct conn *c = b->streams; c; c = c->bnext)
		if (c->state == CS_WAIT_LISTEN && !c->busy && !c->done) {
			c->state = CS_STARTING;
			submit(h, c, JOB_START);
		}
}

/* The board's LISTEN failed: its streams would hear nothing, so they end (error) and their
 * clients try again. The last one's leaving queues the UNLISTEN. */
static void end_board(struct host *h, struct board *b)
{
	for (struct conn *c = b->streams, *next; c; c = next) {
		next = c->bnext;
		conn_finish(h, c, TB_CLOSE_ERROR);
		schedule(h, c);
		maybe_free(h, c);
	}
}

/* The command at the head of the queue was answered (ok: it succeeded) or dropped. */
static void cmd_finish(struct host *h, bool ok)
{
	struct cmd done = h->cmds[0];
	memmove(h->cmds, h->cmds + 1, --h->n_cmds * sizeof *h->cmds);
	h->cmd_sent = false;
	struct board **p = board_slot(h, done.board), *b = *p;
	if (!ok)
		TB_LOG(TB_LOG_ERROR, "stream host: %s of board %" PRId64 " failed", done.listen ? "LISTEN" : "UNLISTEN",
		       done.board);
	if (b && --b->queued == 0) {
		if (b->want_listen && ok) {
			b->listened = true;
			start_waiting(h, b);
		} else if (b->want_listen) {
			end_board(h, b);
		} else if (b->n == 0) {
			*p = b->next;
			free(b);
		}
	}
}

static void cmd_done(struct host *h)
{
	cmd_finish(h, h->cmd_ok);
	cmd_pump(h);
}

static void join_board(struct host *h, struct conn *c)
{
	struct board **p = board_slot(h, c->board_id), *b = *p;
	if (b == NULL) {
		b = *p = tb_xcalloc(1, sizeof *b);
		b->id = c->board_id;
	}
	c->board = b;
	c->bprev = NULL;
	c->bnext = b->streams;
	if (b->streams)
		b->streams->bprev = c;
	b->streams = c;
	if (c->link_id)
		b->guests++;
	if (b->n++ == 0 && !b->want_listen) {
		cmd_push(h, b, true);
		cmd_pump(h);
	}
	c->state = CS_WAIT_LISTEN;
	if (b->listened)
		start_waiting(h, b);
}

static void leave_board(struct host *h, struct conn *c)
{
	struct board *b = c->board;
	if (b == NULL)
		return;
	if (c->bprev)
		c->bprev->bnext = c->bnext;
	else
		b->streams = c->bnext;
	if (c->bnext)
		c->bnext->bprev = c->bprev;
	c->board = NULL;
	c->bnext = c->bprev = NULL;
	if (c->link_id)
		b->guests--;
	if (--b->n == 0) {
		cmd_push(h, b, false);
		cmd_pump(h);
	}
}

/* One notification for one stream of its board, as the worker's on_notify, but without waiting:
 * what needs the database becomes the stream's next job. */
static void on_change(struct host *h, struct conn *c, const struct tb_stream_notice *n)
{
	if (c->link_id) { /* a guest's events are the log's public form: its board reads them (events_pump) */
		if (tb_stream_plan_change(n->seq, n->type, NULL, c->last_sent, 0) & TB_STEP_REVOKE)
			c->want_revoke = true;
		return;
	}
	unsigned steps = tb_stream_plan_change(n->seq, n->type, n->data, c->last_sent, c->user_id);
	if (steps & TB_STEP_RECHECK)
		c->want_recheck = true;
	if (steps & TB_STEP_REVOKE)
		c->want_revoke = true;
	/* A gap or a job running: the replay brings it (schedule); an event to read from the log: its
	 * board's read for the members (events_pump), or the replay if that cannot bring it. */
	if (c->busy || c->want_more || (steps & (TB_STEP_REPLAY_GAP | TB_STEP_FETCH)) || !(steps & TB_STEP_FORWARD))
		return;
	send_event(h, c, n->seq, n->type, n->data, strlen(n->data));
	if (c->fd >= 0)
		tb_metrics_add(TB_M_EVENTS_SENT, 1);
}

static void on_notice(struct host *h, struct conn *c, const struct tb_stream_notice *n)
{
	c->last_heard = now_s();
	if (c->state != CS_LIVE || c->done)
		return;
	switch (n->kind) {
	case TB_NOTICE_EDITING: /* a guest gets none: they name their user; nor a stream not re-checked */
		if (c->link_id == 0 && !c->check_owed)
			send_event(h, c, -1, n->type, n->data, strlen(n->data));
		break;
	case TB_NOTICE_CHANGE: on_change(h, c, n); break;
	case TB_NOTICE_HEARTBEAT:
		send_comment(h, c, "hb");
		h->seen_owed = true; /* seen_pump, once the notifications are read */
		break;
	case TB_NOTICE_PRESENCE:
		/* A guest's list is read: it names login names. So is that of a stream whose start's access
		 * re-check waits for its replay's last batch (check_owed), after it (presence_pump). */
		if (c->link_id == 0 && !c->check_owed) {
			tb_presence_list_came(&c->presence);
			send_event(h, c, -1, "presence", n->data, strlen(n->data));
			break;
		}
		/* fall through */
	case TB_NOTICE_PRESENCE_REF:
		if (tb_presence_ref_came(&c->presence, now_ms()))
			c->want_presence = true;
		break;
	default: break;
	}
	schedule(h, c);
}

/* One notification: parsed once, then to each stream of its board. */
static void fan_out(struct host *h, const PGnotify *pn)
{
	int64_t id;
	const char *rel = pn->relname;
	if (strncmp(rel, "board_", 6) != 0 || !tb_parse_id(rel + 6, strlen(rel + 6), &id))
		return;
	struct board *b = *board_slot(h, id);
	if (b == NULL)
		return;
	struct tb_stream_notice n;
	tb_stream_notice_parse(pn->extra, &n);
	if (n.kind == TB_NOTICE_MALFORMED || n.kind == TB_NOTICE_NO_SEQ)
		TB_LOG(TB_LOG_WARN, "ignoring a %s notification on board %" PRId64,
		       n.kind == TB_NOTICE_MALFORMED ? "malformed" : "seq-less", id);
	if (n.kind == TB_NOTICE_CHANGE && n.seq > b->max_seq)
		b->max_seq = n.seq;
	/* Before the streams, which wait for it: the board's read for its guests (every change) and
	 * for its members (one too large for NOTIFY, "<seq> <type>": read once, not once a stream). */
	if (n.kind == TB_NOTICE_CHANGE && b->guests > 0) {
		b->read[AUD_GUESTS].owed = true;
		events_pump(h, b, AUD_GUESTS);
	}
	if (n.kind == TB_NOTICE_CHANGE && n.data == NULL && b->n > b->guests) {
		b->read[AUD_MEMBERS].owed = true;
		events_pump(h, b, AUD_MEMBERS);
	}
	h->fanning = true;
	for (struct conn *c = b->streams, *next; c; c = next) {
		next = c->bnext; /* c may leave the board (a slow client dropped) */
		on_notice(h, c, &n);
		maybe_free(h, c);
	}
	h->fanning = false;
	if ((b = *board_slot(h, id)) != NULL) /* still there: a board may go when its last stream leaves */
		presence_pump(h, b);
	tb_stream_notice_free(&n);
}

static void end_all(struct host *h, enum tb_stream_close reason)
{
	for (struct conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == CS_REQUEST)
			conn_end(h, c, reason, true);
		else
			conn_finish(h, c, reason);
		schedule(h, c);
		maybe_free(h, c);
	}
}

/* The LISTEN connection broke (PostgreSQL restarted, or the connection was killed): what was
 * notified meanwhile is lost to these streams, so they end and their clients resume from the
 * log; the loop connects again on its tick. */
static void listen_lost(struct host *h)
{
	TB_LOG(TB_LOG_WARN, "stream host: the LISTEN connection broke: %s",
	       h->ldb.conn ? PQerrorMessage(h->ldb.conn) : "not connected");
	if (h->db_fd >= 0)
		epoll_ctl(h->ep, EPOLL_CTL_DEL, h->db_fd, NULL);
	h->db_fd = -1;
	tb_db_disconnect(&h->ldb);
	end_all(h, TB_CLOSE_ERROR);
	h->n_cmds = 0;
	h->cmd_sent = false;
	for (size_t i = 0; i < BOARD_BUCKETS; i++)
		while (h->boards[i]) {
			struct board *b = h->boards[i];
			h->boards[i] = b->next;
			free(b);
		}
}

/* Watches the database socket fd for events (it may be new: libpq can change it while it connects,
 * and a closed one left the epoll by itself); false after logging. */
static bool db_watch(struct host *h, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = &h->w_db};
	if (fd != h->db_fd && h->db_fd >= 0)
		epoll_ctl(h->ep, EPOLL_CTL_DEL, h->db_fd, NULL); /* ENOENT, EBADF: closed already */
	h->db_fd = fd;
	if (epoll_ctl(h->ep, EPOLL_CTL_MOD, fd, &ev) == 0 ||
	    (errno == ENOENT && epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == 0))
		return true;
	TB_LOG(TB_LOG_ERROR, "stream host: epoll: %s", strerror(errno));
	return false;
}

static void connect_abandon(struct host *h, const char *why)
{
	TB_LOG(TB_LOG_ERROR, "stream host: cannot connect the LISTEN connection: %s", why);
	if (h->db_fd >= 0)
		epoll_ctl(h->ep, EPOLL_CTL_DEL, h->db_fd, NULL);
	h->db_fd = -1;
	PQfinish(h->connecting);
	h->connecting = NULL;
}

/* One step of the connection's making, when its socket is ready (libpq's PQconnectPoll loop):
 * connected, it becomes the LISTEN connection and the queued commands go out. */
static void connect_step(struct host *h)
{
	PGconn *conn = h->connecting;
	PostgresPollingStatusType st = PQconnectPoll(conn);
	if (st == PGRES_POLLING_FAILED) {
		connect_abandon(h, PQerrorMessage(conn));
	} else if (st == PGRES_POLLING_OK) {
		h->connecting = NULL;
		h->ldb.conn = conn;
		h->ldb.n_stmts = 0;
		PQsetnonblocking(conn, 1);
		if (!db_watch(h, PQsocket(conn), EPOLLIN))
			listen_lost(h);
		cmd_pump(h);
	} else if (!db_watch(h, PQsocket(conn), st == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT)) {
		connect_abandon(h, "epoll");
	}
}

/* Starts making the LISTEN connection, at most once a second, without blocking the loop: libpq's
 * PQconnectStartParams, then connect_step whenever its socket is ready, given up after 3 s (the
 * connect_timeout tb_db gives a blocking connect). The keywords are tb_db_ensure's; the session
 * needs none of its settings (LISTEN and UNLISTEN name no schema object). */
static void listen_connect(struct host *h)
{
	time_t now = time(NULL);
	if (h->ldb.conn || h->connecting || h->ldb.last_attempt == now)
		return;
	h->ldb.last_attempt = now;
	const char *const keys[] = {"application_name", "dbname", NULL};
	const char *const vals[] = {h->ldb.application_name, h->ldb.conninfo, NULL};
	h->connecting = PQconnectStartParams(keys, vals, 1);
	h->connect_by = now_ms() + 3000;
	if (h->connecting == NULL || PQstatus(h->connecting) == CONNECTION_BAD) {
		connect_abandon(h, h->connecting ? PQerrorMessage(h->connecting) : "out of memory");
		return;
	}
	/* Before the first PQconnectPoll libpq's loop waits as if it had said "writing". */
	if (!db_watch(h, PQsocket(h->connecting), EPOLLOUT))
		connect_abandon(h, "epoll");
}

static void on_db_readable(struct host *h)
{
	PGconn *conn = h->ldb.conn;
	if (conn == NULL)
		return;
	if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
		listen_lost(h);
		return;
	}
	while (!PQisBusy(conn)) {
		PGresult *r = PQgetResult(conn);
		if (r == NULL && !h->cmd_sent)
			break;
		if (r == NULL) {
			cmd_done(h);
			continue;
		}
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			h->cmd_ok = false;
			TB_LOG(TB_LOG_ERROR, "stream host: %s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	PGnotify *n;
	while (h->ldb.conn && (n = PQnotifies(h->ldb.conn)) != NULL) {
		fan_out(h, n);
		PQfreemem(n);
	}
	seen_pump(h);
}

/* ====================================================================================== */
/* ---- connections: input ---- */

/* One thing the parser found; false when the connection ended. */
static bool on_record(struct host *h, struct conn *c, const struct tb_fcgi_event *ev)
{
	switch (ev->kind) {
	case TB_FCGI_STDIN_DATA:
		if (c->body.len <= h->cfg->max_body) /* max_body + 1 bytes tell "over" */
			tb_buf_append(&c->body, ev->data, ev->len);
		return true;
	case TB_FCGI_STDIN_END:
		c->state = CS_OPENING;
		submit(h, c, JOB_OPEN);
		return true;
	case TB_FCGI_ABORT: conn_end(h, c, TB_CLOSE_CLIENT_GONE, true); return false;
	case TB_FCGI_ERROR:
		TB_LOG(TB_LOG_WARN, "stream host: FastCGI protocol error (%s): connection closed",
		       tb_fcgi_error_name(ev->error));
		conn_end(h, c, TB_CLOSE_CLIENT_GONE, true);
		return false;
	default: return true;
	}
}

/* Reads what the web server sent. After the request's end it sends nothing more (lighttpd closes
 * the connection when the client left), so anything then, or EOF, ends the stream. */
static void conn_read(struct host *h, struct conn *c)
{
	char buf[READ_CHUNK];
	while (c->fd >= 0) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->done)
				conn_close_fd(c);
			else
				conn_end(h, c, TB_CLOSE_CLIENT_GONE, true);
			return;
		}
		size_t used = 0;
		struct tb_fcgi_event ev;
		do {
			used += tb_fcgi_feed(&c->fp, buf + used, (size_t)n - used, &ev);
			if (!on_record(h, c, &ev))
				return;
		} while (used < (size_t)n || ev.kind != TB_FCGI_NONE);
	}
}

static void on_conn(struct host *h, struct conn *c, uint32_t events)
{
	if (events & EPOLLOUT)
		conn_flush(h, c);
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		conn_read(h, c);
	schedule(h, c);
	maybe_free(h, c);
}

static void accept_all(struct host *h)
{
	for (int i = 0; i < 256 && !h->stopping; i++) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				TB_LOG(TB_LOG_ERROR, "stream host: accept: %s", strerror(errno));
			return;
		}
		struct conn *c = tb_xcalloc(1, sizeof *c);
		c->w.kind = W_CONN;
		c->fd = fd;
		const struct tb_fcgi_limits lim = {PARAMS_NAME_MAX, PARAMS_VALUE_MAX, PARAMS_MAX};
		tb_fcgi_init(&c->fp, &lim);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			TB_LOG(TB_LOG_ERROR, "stream host: epoll: %s", strerror(errno));
			close(fd);
			tb_fcgi_free(&c->fp);
			free(c);
			continue;
		}
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = c;
		h->conns = c;
		h->n_conns++;
	}
}

/* ====================================================================================== */
/* ---- the tick, once a second ---- */

static void tick_conn(struct host *h, struct conn *c, int64_t ms)
{
	int64_t s = ms / 1000;
	bool stuck = c->out_at < c->out.len && ms - c->out_since > (int64_t)h->cfg->write_timeout * 1000;
	if (c->fd >= 0 && (stuck || (c->close_by && ms >= c->close_by))) {
		if (!c->done)
			TB_LOG(TB_LOG_INFO,
			       "stream %s on board %" PRId64 ": nothing written for write_timeout, dropped", c->row,
			       c->board_id);
		if (stuck && !c->stream)
			tb_metrics_add(TB_M_CLOSED_SLOW_CLIENT, 1); /* a poll's reply, as tb_server counts it */
		conn_end(h, c, TB_CLOSE_SLOW_CLIENT, true);
	}
	if (c->state != CS_LIVE || c->done)
		return;
	if (c->deadline && s >= c->deadline) {
		struct tb_buf b = {0};
		tb_stream_frame_bye(&b);
		conn_send_buf(h, c, &b);
		tb_buf_free(&b);
		conn_finish(h, c, TB_CLOSE_LIFETIME);
	} else if (s >= c->last_heard + h->hb_window) {
		send_comment(h, c, "keep-alive"); /* our own when the supervisor is silent */
		c->last_heard = s;
	}
	if (!c->done && tb_presence_due(&c->presence, ms))
		c->want_presence = true;
}

static void on_tick(struct host *h)
{
	uint64_t n;
	if (read(h->tick_fd, &n, sizeof n) < 0 && errno != EAGAIN)
		TB_LOG(TB_LOG_ERROR, "stream host: timerfd: %s", strerror(errno));
	int64_t ms = now_ms();
	for (struct conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		tick_conn(h, c, ms);
		schedule(h, c);
		maybe_free(h, c);
	}
	if (h->connecting && ms > h->connect_by)
		connect_abandon(h, "timeout");
	if (h->ldb.conn == NULL && !h->stopping)
		listen_connect(h);
}

/* SIGTERM or SIGINT: no new streams; every stream ends (recycled: its client reconnects to
 * another host process) and the loop ends when they are gone or after STOP_GRACE_MS. */
static void on_signal(struct host *h)
{
	struct signalfd_siginfo si;
	if (read(h->signal_fd, &si, sizeof si) < 0 && errno != EAGAIN)
		return;
	if (h->stopping)
		return;
	TB_LOG(TB_LOG_INFO, "stream host: signal %u: ending %ld streams", si.ssi_signo, h->n_conns);
	h->stopping = true;
	h->stop_by = now_ms() + STOP_GRACE_MS;
	epoll_ctl(h->ep, EPOLL_CTL_DEL, h->listen_fd, NULL);
	end_all(h, TB_CLOSE_RECYCLED);
	close_again(h); /* once more; then close_done frees them */
}

/* ====================================================================================== */
/* ---- set-up and the loop ---- */

static void dispatch(struct host *h, const struct epoll_event *ev)
{
	const struct watch *w = ev->data.ptr;
	switch (w->kind) {
	case W_LISTEN: accept_all(h); break;
	case W_CONN:
		if (!((struct conn *)ev->data.ptr)->dead)
			on_conn(h, (struct conn *)ev->data.ptr, ev->events);
		break;
	case W_DB:
		if (h->connecting)
			connect_step(h);
		else
			on_db_readable(h);
		break;
	case W_JOBS: jobs_ready(h); break;
	case W_TICK: on_tick(h); break;
	case W_SIGNAL: on_signal(h); break;
	}
}

static bool watch_fd(struct host *h, int fd, struct watch *w, enum watch_kind kind, uint32_t events)
{
	w->kind = kind;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return fd >= 0 && epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == 0;
}

/* The descriptors of the loop; false after logging why not. */
static bool host_open_fds(struct host *h)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL); /* before the pool thread starts: it inherits the mask */
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->jobs_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->signal_fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	const struct itimerspec every_second = {{1, 0}, {1, 0}};
	bool ok = h->ep >= 0 && timerfd_settime(h->tick_fd, 0, &every_second, NULL) == 0 &&
		watch_fd(h, h->listen_fd, &h->w_listen, W_LISTEN, EPOLLIN | EPOLLEXCLUSIVE) &&
		watch_fd(h, h->jobs_fd, &h->w_jobs, W_JOBS, EPOLLIN) &&
		watch_fd(h, h->tick_fd, &h->w_tick, W_TICK, EPOLLIN) &&
		watch_fd(h, h->signal_fd, &h->w_signal, W_SIGNAL, EPOLLIN);
	h->w_db.kind = W_DB;
	if (!ok)
		TB_LOG(TB_LOG_ERROR, "stream host: cannot set up its event loop: %s", strerror(errno));
	return ok;
}

static void host_close_fds(struct host *h)
{
	int fds[] = {h->ep, h->jobs_fd, h->tick_fd, h->signal_fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* After the pool ended (it removed this process's rows): what is left is freed. */
static void release_all(struct host *h)
{
	while (h->finished) {
		struct job *j = h->finished;
		h->finished = j->next;
		job_free(j);
	}
	h->closing = h->closing_tail = h->close_failed = NULL; /* all of them are among h->conns */
	for (struct conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		conn_close_fd(c);
		c->busy = c->registered = false;
		maybe_free(h, c);
	}
	free_dead(h);
	for (size_t i = 0; i < BOARD_BUCKETS; i++)
		while (h->boards[i]) {
			struct board *b = h->boards[i];
			h->boards[i] = b->next;
			free(b);
		}
}

static void loop(struct host *h)
{
	struct epoll_event evs[256];
	while (!h->stopping || (h->n_conns > 0 && now_ms() < h->stop_by)) {
		int n = epoll_wait(h->ep, evs, 256, 1000);
		if (n < 0 && errno != EINTR) {
			TB_LOG(TB_LOG_ERROR, "stream host: epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++)
			dispatch(h, &evs[i]);
		close_pump(h);
		free_dead(h);
	}
}

int tb_host_run(const struct tb_config *cfg, int listen_fd)
{
	struct host *h = tb_xcalloc(1, sizeof *h);
	h->cfg = cfg;
	h->listen_fd = listen_fd;
	h->db_fd = -1;
	h->hb_window = tb_heartbeat_window(cfg);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	size_t n_routes;
	const struct tb_route *routes = tb_api_routes(&n_routes);
	tb_app_init(&h->papp, cfg, routes, n_routes);
	tb_db_free(&h->papp.db); /* both connections named for pg_stat_activity, the LISTEN one with its process */
	tb_db_init(&h->papp.db, cfg->database, "teamboard-streamhost");
	h->papp.stream_serve = host_open;
	snprintf(h->ldb_name, sizeof h->ldb_name, "teamboard-streamhost listen %d", (int)getpid());
	tb_db_init(&h->ldb, cfg->database, h->ldb_name);
	int rc = 1;
	if (host_open_fds(h) && pthread_create(&h->thread, NULL, pool_main, h) == 0) {
		listen_connect(h);
		TB_LOG(TB_LOG_INFO, "stream host: serving (pid %d)", (int)getpid());
		loop(h);
		pthread_mutex_lock(&h->mu);
		h->quit = true;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
		release_all(h);
		rc = 0;
	}
	host_close_fds(h);
	PQfinish(h->connecting);
	tb_db_free(&h->ldb);
	tb_app_free(&h->papp);
	free(h->cmds);
	free(h);
	return rc;
}

enum tb_err tb_host_listen(const char *path, int *fd)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		TB_LOG(TB_LOG_ERROR, "stream host: socket path too long: %s", path);
		return TB_ERR_INVALID;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	mode_t old = umask(0117); /* the web server's group may connect */
	bool ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4096) == 0;
	umask(old);
	if (!ok) {
		TB_LOG(TB_LOG_ERROR, "stream host: cannot listen on %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return TB_ERR_IO;
	}
	*fd = s;
	return TB_OK;
}
