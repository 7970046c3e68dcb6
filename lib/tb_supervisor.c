/* tb_supervisor: leader election by pg_try_advisory_lock and the leader's work each interval
 * (heartbeats, recycling, dead rows, presence, retention, status). Owns its own database connection:
 * the lock lives and dies with it, so a dropped connection means "no longer leader" and the next
 * cycle competes again. Also the supervisor = auto candidate that a worker forks. */
#include "tb_supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tb_buf.h"
#include "tb_log.h"
#include "tb_metrics.h"

/* Rows deleted per retention rule and cycle: a large backlog is worked off over several cycles
 * instead of in one long transaction. */
#define PRUNE_BATCH 50000
/* Boards purged from the trash per cycle: each deletes its notes and its log with it. */
#define PURGE_BOARDS_BATCH 100

/* $1 lock key, $2 our interval. held: we already hold the lock on this session
 * (pg_try_advisory_lock would stack another); have: we hold it now (CASE fixes the order: try only
 * when not held); the time now; since when heartbeats have gone out without a gap: the previous
 * leader's value when it reported within its interval + 2 s, else now. */
static const char SQL_LOCK[] =
	"SELECT held, CASE WHEN held THEN true ELSE pg_try_advisory_lock($1::bigint) END, now()::text,"
	"       coalesce((SELECT report ->> 'heartbeats_since' FROM supervisor_status"
	"                  WHERE report ->> 'heartbeats_since' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} '"
	"                    AND last_run > now() - make_interval(secs => 2 + coalesce("
	"                          CASE WHEN jsonb_typeof(report -> 'interval') = 'number'"
	"                               THEN (report ->> 'interval')::double precision END,"
	"                          $2::double precision))),"
	"                now()::text)"
	"  FROM (SELECT EXISTS (SELECT 1 FROM pg_locks"
	"                        WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
	"                          AND classid = ($1::bigint >> 32)::oid"
	"                          AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1) AS held) h";

/* One NOTIFY per board with an open stream; pg_notify is volatile, so the subquery is not
 * optimised away. */
static const char SQL_HEARTBEAT[] =
	"SELECT count(*) FROM (SELECT pg_notify(board_channel(b.board_id), '{\"type\":\"hb\"}')"
	"                        FROM (SELECT DISTINCT board_id FROM streams) b) n";

/* $1: seconds without a heartbeat answer after which a holder is recycled; $2: since when
 * heartbeats have gone out. A holder can only have missed heartbeats that were sent: after a time
 * without a supervisor, every holder first gets those seconds to answer. The backend to terminate
 * is a worker's only: a stream host's row (in_host, sql/025) names the pool connection all of its
 * streams share, so its row is only deleted, and the host ends that stream (recycled) at its next
 * heartbeat, when the row is not among those its process's SEEN finds (lib/tb_host.c). */
static const char SQL_STALE[] =
	"DELETE FROM streams WHERE last_seen < now() - make_interval(secs => $1::double precision)"
	"                      AND $2::timestamptz < now() - make_interval(secs => $1::double precision)"
	" RETURNING board_id, user_id, CASE WHEN NOT in_host THEN backend_pid END, opened_at";

/* Ends a recycled holder's backend, but only that one: a backend of this database that already
 * existed when the row was opened (a pid reused since, or a backend of another database, is left
 * alone; so are backends whose start we may not see, which we could not terminate anyway). */
static const char SQL_TERMINATE[] =
	"SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a"
	" WHERE a.pid = $1::integer AND a.datname = current_database() AND a.pid <> pg_backend_pid()"
	"   AND a.backend_start <= $2::timestamptz";

static const char SQL_LOCAL_ROWS[] = "SELECT id, pid FROM streams WHERE host = $1";

/* $1: ids of this host's rows whose worker process is gone. */
static const char SQL_DEAD[] =
	"DELETE FROM streams s"
	" WHERE s.id = ANY ($1::bigint[])"
	"    OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
	"                    WHERE a.pid = s.backend_pid AND a.datname = current_database())"
	" RETURNING board_id, user_id";

/* $1, $2: board and user of each removed row. A board's viewers changed when a removed user has no
 * stream left on it: announce_presence (sql/functions/presence.sql) tells them, as a stream's own
 * opening and closing do. */
static const char SQL_PRESENCE[] =
	"SELECT count(*) FROM ("
	"  SELECT announce_presence(c.b)"
	"    FROM (SELECT DISTINCT r.b FROM unnest($1::bigint[], $2::bigint[]) AS r (b, u)"
	"           WHERE NOT EXISTS (SELECT 1 FROM streams s WHERE s.board_id = r.b AND s.user_id = r.u)) c) n";

/* $1 days (0: events are kept for the board's life), $2 batch. */
static const char SQL_PRUNE_AGE[] =
	"WITH gone AS (DELETE FROM board_events WHERE (board_id, seq) IN"
	"                (SELECT board_id, seq FROM board_events"
	"                  WHERE $1::integer > 0 AND created_at < now() - make_interval(days => $1::integer)"
	"                  LIMIT $2::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 events kept per board (seq > last_seq - cap; 0: no cap), $2 batch. */
static const char SQL_PRUNE_CAP[] =
	"WITH gone AS (DELETE FROM board_events WHERE (board_id, seq) IN"
	"                (SELECT e.board_id, e.seq FROM boards b"
	"                   JOIN board_events e ON e.board_id = b.id AND e.seq <= b.last_seq - $1::bigint"
	"                  WHERE $1::bigint > 0 AND b.last_seq > $1::bigint LIMIT $2::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 trash_days (0: never), $2 batch: boards in the trash for longer are deleted with their notes,
 * trash and log (cascades), leaving a tombstone that answers a restore 410 (sql/016). A board a
 * restore holds is skipped this cycle. */
static const char SQL_PURGE_BOARDS[] =
	"WITH p AS (SELECT id, owner_id, team_id, deleted_at FROM boards"
	"            WHERE $1::integer > 0 AND deleted_at < now() - make_interval(days => $1::integer)"
	"            ORDER BY deleted_at LIMIT $2::integer FOR UPDATE SKIP LOCKED),"
	"     t AS (INSERT INTO board_tombstones (board_id, owner_id, team_id, deleted_at)"
	"           SELECT id, owner_id, team_id, deleted_at FROM p ON CONFLICT DO NOTHING),"
	"     gone AS (DELETE FROM boards b USING p WHERE b.id = p.id RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 trash_days (0: never), $2 batch: notes in the trash for longer lose their content; the row
 * stays as a tombstone (item NULL) that answers a restore 410, until its board goes (sql/016). */
static const char SQL_PURGE_NOTES[] =
	"WITH gone AS (UPDATE items_trash SET item = NULL, purged_at = now() WHERE item_id IN"
	"                (SELECT item_id FROM items_trash"
	"                  WHERE $1::integer > 0 AND purged_at IS NULL"
	"                    AND deleted_at < now() - make_interval(days => $1::integer) LIMIT $2::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 login_window: sign-in throttle rows whose window and block both ran out (sql/012); a
 * leftover row would be reset by its next attempt anyway, so this only keeps the table small. */
static const char SQL_PRUNE_THROTTLE[] =
	"WITH gone AS (DELETE FROM login_throttle WHERE (kind, key) IN"
	"                (SELECT kind, key FROM login_throttle"
	"                  WHERE greatest(window_start, blocked_until) < now() - make_interval(secs => $1::integer)"
	"                  LIMIT $2::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 batch: Idempotency-Key rows are kept 24 hours (docs/api.md, sql/014). */
static const char SQL_PRUNE_IDEMPOTENCY[] =
	"WITH gone AS (DELETE FROM idempotency_keys WHERE (user_id, board_id, key) IN"
	"                (SELECT user_id, board_id, key FROM idempotency_keys"
	"                  WHERE created_at < now() - interval '24 hours' LIMIT $1::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 batch: editing announcements' rate state, long past any badge's 30 s (sql/014). */
static const char SQL_PRUNE_EDITING[] =
	"WITH gone AS (DELETE FROM editing_announcements WHERE (user_id, item_id) IN"
	"                (SELECT user_id, item_id FROM editing_announcements"
	"                  WHERE sent_at < now() - interval '1 hour' LIMIT $1::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 batch: invite links that expired or were used up (sql/020; revoking one deletes it at once).
 * Such a link answers 410 gone as an unknown token does (GET /invites/:token, accept_invite), the
 * team's list shows open links only and nothing else reads the row, so it goes at the next cycle
 * rather than after a grace period: deleting it changes no answer. */
static const char SQL_PRUNE_INVITES[] =
	"WITH gone AS (DELETE FROM team_invites WHERE id IN"
	"                (SELECT id FROM team_invites"
	"                  WHERE expires_at <= now() OR uses >= max_uses LIMIT $1::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 batch: password reset links that were used or expired (sql/017). As for invites, such a link
 * answers 410 gone as an unknown token does (use_password_reset) and nothing else reads it. */
static const char SQL_PRUNE_RESETS[] =
	"WITH gone AS (DELETE FROM password_resets WHERE token_hash IN"
	"                (SELECT token_hash FROM password_resets"
	"                  WHERE used_at IS NOT NULL OR expires_at <= now() LIMIT $1::integer)"
	"              RETURNING 1)"
	"SELECT count(*) FROM gone";

/* $1 host, $2 pid, $3 since, $4 report. */
static const char SQL_STATUS[] =
	"INSERT INTO supervisor_status (id, host, pid, since, last_run, report)"
	" VALUES (1, $1, $2::integer, $3::timestamptz, now(), $4::jsonb)"
	" ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, since = EXCLUDED.since,"
	"                                last_run = EXCLUDED.last_run, report = EXCLUDED.report";

void tb_supervisor_init(struct tb_supervisor *sv, const struct tb_config *cfg)
{
	memset(sv, 0, sizeof *sv);
	sv->cfg = cfg;
	tb_db_init(&sv->db, cfg->database, "teamboard-supervisor");
}

void tb_supervisor_free(struct tb_supervisor *sv)
{
	tb_db_free(&sv->db);
	sv->leader = false;
}

/* Runs sql and reads column 0 of row 0 as a number into *n (when n is not NULL). */
static enum tb_err query_count(struct tb_supervisor *sv, const char *sql, int np, const char *const *params, long *n)
{
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&sv->db, sql, np, params, &r);
	if (err)
		return err;
	if (n)
		*n = PQntuples(r) > 0 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return TB_OK;
}

/* Appends row's board_id and user_id (columns 0 and 1) to the "{...}" array texts. */
static void collect(PGresult *r, int row, struct tb_buf *boards, struct tb_buf *users)
{
	tb_buf_printf(boards, "%s%s", boards->len > 1 ? "," : "", PQgetvalue(r, row, 0));
	tb_buf_printf(users, "%s%s", users->len > 1 ? "," : "", PQgetvalue(r, row, 1));
}

/* Server notices (e.g. the FATAL a shutting-down server sends) as log lines, not libpq's raw
 * stderr output. */
static void log_notice(void *arg, const char *message)
{
	(void)arg;
	TB_LOG(TB_LOG_WARN, "supervisor: server says: %s", message);
}

/* Who leads. Sets rep->leader / became_leader and keeps sv->since. */
static enum tb_err elect(struct tb_supervisor *sv, struct tb_supervisor_report *rep)
{
	char key[24], interval[24];
	snprintf(key, sizeof key, "%" PRId64, TB_SUPERVISOR_LOCK_KEY);
	snprintf(interval, sizeof interval, "%ld", sv->cfg->heartbeat_interval);
	const char *params[] = {key, interval};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&sv->db, SQL_LOCK, 2, params, &r);
	if (err)
		return err;
	PQsetNoticeProcessor(sv->db.conn, log_notice, NULL); /* cheap; the connection may be new */
	bool held = strcmp(PQgetvalue(r, 0, 0), "t") == 0, have = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	if (have && !held) {
		/* Also after a silent reconnect: the lock is new, so is the term. */
		snprintf(sv->since, sizeof sv->since, "%s", PQgetvalue(r, 0, 2));
		snprintf(sv->heartbeats_since, sizeof sv->heartbeats_since, "%s", PQgetvalue(r, 0, 3));
		rep->became_leader = true;
		TB_LOG(TB_LOG_INFO, "supervisor: leader now (host %s, interval %ld s)", sv->cfg->host_name,
		       sv->cfg->heartbeat_interval);
	} else if (!have && sv->leader) {
		TB_LOG(TB_LOG_WARN, "supervisor: lost the lock (the connection was reset); standing by");
	} else if (!have && !sv->standby_logged) {
		TB_LOG(TB_LOG_INFO, "supervisor: standing by (another supervisor holds the lock)");
	}
	sv->standby_logged = !have;
	rep->leader = sv->leader = have;
	PQclear(r);
	return TB_OK;
}

/* Step b: recycles holders that did not answer the last two heartbeats. */
static enum tb_err recycle(struct tb_supervisor *sv, struct tb_supervisor_report *rep, struct tb_buf *boards,
                           struct tb_buf *users)
{
	char secs[32];
	snprintf(secs, sizeof secs, "%ld", tb_heartbeat_window(sv->cfg) + 2);
	const char *params[] = {secs, sv->heartbeats_since};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&sv->db, SQL_STALE, 2, params, &r);
	if (err)
		return err;
	int n = PQntuples(r);
	rep->recycled = n;
	for (int i = 0; i < n && err != TB_ERR_DB_DOWN; i++) {
		collect(r, i, boards, users);
		if (PQgetisnull(r, i, 2))
			continue; /* a stream host's row: deleting it was all */
		const char *tp[] = {PQgetvalue(r, i, 2), PQgetvalue(r, i, 3)};
		PGresult *t = NULL;
		/* A refused termination (permissions) is logged by tb_db; the row is gone either way. */
		err = tb_db_query(&sv->db, SQL_TERMINATE, 2, tp, &t);
		if (err == TB_OK) {
			if (PQntuples(t) == 1 && strcmp(PQgetvalue(t, 0, 0), "t") == 0)
				rep->terminated++;
			PQclear(t);
		}
	}
	PQclear(r);
	return err == TB_ERR_DB_DOWN ? err : TB_OK;
}

/* The ids (a "{...}" array text) of this host's rows whose worker process no longer exists. */
static enum tb_err local_dead(struct tb_supervisor *sv, struct tb_buf *ids)
{
	const char *params[] = {sv->cfg->host_name};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&sv->db, SQL_LOCAL_ROWS, 1, params, &r);
	if (err)
		return err;
	tb_buf_puts(ids, "{");
	for (int i = 0; i < PQntuples(r); i++) {
		long pid = strtol(PQgetvalue(r, i, 1), NULL, 10);
		/* EPERM means it exists (another user's process): only ESRCH proves it gone. */
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			tb_buf_printf(ids, "%s%s", ids->len > 1 ? "," : "", PQgetvalue(r, i, 0));
	}
	tb_buf_puts(ids, "}");
	PQclear(r);
	return TB_OK;
}

/* Step c: removes rows whose backend is gone, and this host's rows whose worker is gone. */
static enum tb_err remove_dead(struct tb_supervisor *sv, struct tb_supervisor_report *rep, struct tb_buf *boards,
                               struct tb_buf *users)
{
	struct tb_buf ids = {0};
	PGresult *r = NULL;
	enum tb_err err = local_dead(sv, &ids);
	if (err)
		goto out;
	const char *params[] = {tb_buf_str(&ids)};
	err = tb_db_query(&sv->db, SQL_DEAD, 1, params, &r);
	if (err)
		goto out;
	rep->dead = PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++)
		collect(r, i, boards, users);
out:
	PQclear(r);
	tb_buf_free(&ids);
	return err;
}

/* Steps b, c and d: the registry, then presence on the boards whose viewers changed. */
static enum tb_err clean_registry(struct tb_supervisor *sv, struct tb_supervisor_report *rep)
{
	struct tb_buf boards = {0}, users = {0};
	tb_buf_puts(&boards, "{");
	tb_buf_puts(&users, "{");
	enum tb_err err = recycle(sv, rep, &boards, &users);
	enum tb_err err2 = err == TB_ERR_DB_DOWN ? err : remove_dead(sv, rep, &boards, &users);
	if (err == TB_OK)
		err = err2;
	if (err != TB_ERR_DB_DOWN && boards.len > 1) {
		tb_buf_puts(&boards, "}");
		tb_buf_puts(&users, "}");
		const char *params[] = {tb_buf_str(&boards), tb_buf_str(&users)};
		enum tb_err err3 = query_count(sv, SQL_PRESENCE, 2, params, &rep->presence);
		if (err == TB_OK)
			err = err3;
	}
	tb_buf_free(&boards);
	tb_buf_free(&users);
	return err;
}

/* Step e: retention by age and by the per-board cap (both off by default: the log is the board's
 * history), the purge of the trash after trash_days; expired sign-in throttle rows, Idempotency-Key
 * rows, editing announcements' rate state, and invite and reset links that no longer work. Each is
 * its own statement; a failed one is logged by query_count and the others still run, a lost
 * connection ends the step. Boards are purged 100 at a time (each takes its notes and log with it),
 * everything else PRUNE_BATCH rows at a time. */
static enum tb_err prune(struct tb_supervisor *sv, struct tb_supervisor_report *rep)
{
	char days[24], cap[24], trash[24], batch[24], boards[24], window[24];
	snprintf(days, sizeof days, "%ld", sv->cfg->event_retention_days);
	snprintf(cap, sizeof cap, "%ld", sv->cfg->event_retention_per_board);
	snprintf(trash, sizeof trash, "%ld", sv->cfg->trash_days);
	snprintf(batch, sizeof batch, "%d", PRUNE_BATCH);
	snprintf(boards, sizeof boards, "%d", PURGE_BOARDS_BATCH);
	snprintf(window, sizeof window, "%ld", sv->cfg->login_window);
	const struct {
		const char *sql;
		int n;
		const char *params[2];
		long *out;
	} steps[] = {
		{SQL_PRUNE_AGE, 2, {days, batch}, &rep->pruned_age},
		{SQL_PRUNE_CAP, 2, {cap, batch}, &rep->pruned_cap},
		{SQL_PURGE_BOARDS, 2, {trash, boards}, &rep->purged_boards},
		{SQL_PURGE_NOTES, 2, {trash, batch}, &rep->purged_notes},
		{SQL_PRUNE_THROTTLE, 2, {window, batch}, &rep->pruned_throttle},
		{SQL_PRUNE_IDEMPOTENCY, 1, {batch}, &rep->pruned_idempotency},
		{SQL_PRUNE_EDITING, 1, {batch}, &rep->pruned_editing},
		{SQL_PRUNE_INVITES, 1, {batch}, &rep->pruned_invites},
		{SQL_PRUNE_RESETS, 1, {batch}, &rep->pruned_resets},
	};
	enum tb_err first = TB_OK;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		enum tb_err err = query_count(sv, steps[i].sql, steps[i].n, steps[i].params, steps[i].out);
		if (err == TB_ERR_DB_DOWN)
			return err;
		if (first == TB_OK)
			first = err;
	}
	return first;
}

/* Step f: supervisor_status row 1 says who leads, since when, and what the last cycle did. */
static enum tb_err record_status(struct tb_supervisor *sv, const struct tb_supervisor_report *rep)
{
	char pid[24], report[1024];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	/* heartbeats_since is a timestamptz text from PostgreSQL: digits, '-', ':', '.', '+', ' ' */
	snprintf(report, sizeof report,
	         "{\"interval\":%ld,\"heartbeats_since\":\"%s\",\"heartbeats\":%ld,\"recycled\":%ld,"
	         "\"terminated\":%ld,\"dead\":%ld,\"presence\":%ld,\"pruned_age\":%ld,\"pruned_cap\":%ld,"
	         "\"pruned_throttle\":%ld,\"pruned_idempotency\":%ld,\"pruned_editing\":%ld,"
	         "\"pruned_invites\":%ld,\"pruned_resets\":%ld,\"purged_boards\":%ld,\"purged_notes\":%ld}",
	         sv->cfg->heartbeat_interval, sv->heartbeats_since, rep->heartbeats, rep->recycled, rep->terminated,
	         rep->dead, rep->presence, rep->pruned_age, rep->pruned_cap, rep->pruned_throttle,
	         rep->pruned_idempotency, rep->pruned_editing, rep->pruned_invites, rep->pruned_resets,
	         rep->purged_boards, rep->purged_notes);
	const char *params[] = {sv->cfg->host_name, pid, sv->since, report};
	return query_count(sv, SQL_STATUS, 4, params, NULL);
}

static void log_cycle(const struct tb_supervisor_report *rep)
{
	bool busy = rep->recycled || rep->dead || rep->presence || rep->pruned_age || rep->pruned_cap ||
		rep->pruned_throttle || rep->pruned_idempotency || rep->pruned_editing || rep->pruned_invites ||
		rep->pruned_resets || rep->purged_boards || rep->purged_notes;
	TB_LOG(busy ? TB_LOG_INFO : TB_LOG_DEBUG,
	       "supervisor: heartbeat to %ld boards; recycled %ld holders (%ld backends terminated); removed %ld dead rows; "
	       "presence to %ld boards; pruned %ld events by age, %ld by per-board cap, %ld sign-in throttle rows, "
	       "%ld idempotency keys, %ld editing rows, %ld invite links, %ld reset links; purged %ld boards and %ld "
	       "notes from the trash%s",
	       rep->heartbeats, rep->recycled, rep->terminated, rep->dead, rep->presence, rep->pruned_age,
	       rep->pruned_cap, rep->pruned_throttle, rep->pruned_idempotency, rep->pruned_editing, rep->pruned_invites,
	       rep->pruned_resets, rep->purged_boards, rep->purged_notes,
	       rep->pruned_age == PRUNE_BATCH || rep->pruned_cap == PRUNE_BATCH ? " (more next cycle)" : "");
}

enum tb_err tb_supervisor_cycle(struct tb_supervisor *sv, struct tb_supervisor_report *rep)
{
	memset(rep, 0, sizeof *rep);
	bool was_leader = sv->leader;
	enum tb_err err = elect(sv, rep), first = TB_OK;
	if (err || !rep->leader)
		goto out;
	/* A failed step is logged and the others still run; a lost connection ends the cycle. */
	err = query_count(sv, SQL_HEARTBEAT, 0, NULL, &rep->heartbeats);
	first = err;
	if (err != TB_ERR_DB_DOWN) {
		err = clean_registry(sv, rep);
		first = first ? first : err;
	}
	if (err != TB_ERR_DB_DOWN) {
		err = prune(sv, rep);
		first = first ? first : err;
	}
	if (err != TB_ERR_DB_DOWN) {
		err = record_status(sv, rep);
		first = first ? first : err;
	}
	if (err != TB_ERR_DB_DOWN)
		err = first;
	log_cycle(rep);
out:
	if (err == TB_ERR_DB_DOWN) {
		/* The lock went with the connection; the next cycle reconnects and competes again. */
		if (was_leader)
			TB_LOG(TB_LOG_WARN, "supervisor: no longer leader (database connection lost)");
		sv->leader = rep->leader = false;
		tb_db_disconnect(&sv->db);
	}
	return err;
}

static struct timespec ts_add(struct timespec t, long sec)
{
	t.tv_sec += sec;
	return t;
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

void tb_supervisor_run(const struct tb_config *cfg, volatile sig_atomic_t *stop)
{
	sigset_t block, old, sleep_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* Blocked while working, unblocked only inside ppoll: a stop request cannot slip in between
	 * checking *stop and going to sleep. */
	sigprocmask(SIG_BLOCK, &block, &old);
	sleep_mask = old;
	sigdelset(&sleep_mask, SIGTERM);
	sigdelset(&sleep_mask, SIGINT);
	struct tb_supervisor sv;
	tb_supervisor_init(&sv, cfg);
	TB_LOG(TB_LOG_INFO, "supervisor: started (host %s, pid %ld, interval %ld s)", cfg->host_name, (long)getpid(),
	       cfg->heartbeat_interval);
	while (!*stop) {
		struct timespec start, now;
		clock_gettime(CLOCK_MONOTONIC, &start);
		struct tb_supervisor_report rep;
		tb_supervisor_cycle(&sv, &rep);
		struct timespec next = ts_add(start, cfg->heartbeat_interval);
		while (!*stop && (clock_gettime(CLOCK_MONOTONIC, &now), ts_before(now, next))) {
			struct timespec left = {next.tv_sec - now.tv_sec, next.tv_nsec - now.tv_nsec};
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			ppoll(NULL, 0, &left, &sleep_mask);
		}
	}
	bool was_leader = sv.leader;
	tb_supervisor_free(&sv); /* closing the connection releases the lock at once */
	TB_LOG(TB_LOG_INFO, "supervisor: stopped%s", was_leader ? " (lock released)" : "");
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- supervisor = auto ---- */

static volatile sig_atomic_t auto_stop;

static void on_auto_stop(int sig)
{
	(void)sig;
	auto_stop = 1;
}

/* The candidates' private directory, /tmp/teamboard-<euid>-<instance id>: made 0700 when missing,
 * and used only when it is a real directory (not a link) of ours that nobody else may enter. A
 * name in /tmp could be taken first by any local user (a file of theirs, a link), and then no
 * candidate would ever run; here a squatter only costs the flock (see open_candidate_lock). */
static bool private_dir(const char *id, char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/teamboard-%lu-%s", (unsigned long)geteuid(), id);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	struct stat st;
	if (lstat(dir, &st) != 0)
		return false;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		errno = EPERM;
		return false;
	}
	return true;
}

/* The per-user, per-installation lock file every candidate on this host waits on, in private_dir.
 * -1 when there is none to be had: the caller then goes without the flock, and every candidate
 * competes for the database's advisory lock itself (one connection per worker, not per host). */
static int open_candidate_lock(const struct tb_config *cfg)
{
	char id[17], dir[64], path[128];
	tb_metrics_instance_id(cfg, id);
	int fd = -1;
	if (private_dir(id, dir, sizeof dir)) {
		snprintf(path, sizeof path, "%s/supervisor.lock", dir);
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
			close(fd);
			fd = -1;
			errno = EPERM;
		}
	} else {
		snprintf(path, sizeof path, "%s", dir);
	}
	if (fd < 0)
		TB_LOG(TB_LOG_WARN,
		       "supervisor = auto: cannot use %s (%s): this candidate competes for the database lock without "
		       "waiting on a lock file",
		       path, strerror(errno));
	return fd;
}

/* The forked candidate: never returns. _exit, not exit: this is a copy of the worker, whose
 * atexit handlers and stdio buffers belong to the worker. */
static void candidate(const struct tb_config *cfg, int close_fd, pid_t parent) __attribute__((noreturn));

static void candidate(const struct tb_config *cfg, int close_fd, pid_t parent)
{
	if (close_fd >= 0) {
		/* The web server must see only the workers accept on its socket. */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0 && nul != close_fd) {
			dup2(nul, close_fd);
			close(nul);
		} else if (nul < 0) {
			close(close_fd);
		}
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_auto_stop; /* no SA_RESTART: flock and ppoll return on a stop request */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Whatever mask the worker had (a pool's parent blocks these while it starts): a stop request
	 * must reach the flock wait. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	/* The parent may have died before prctl took effect: then nobody would send the signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(0);
	int fd = open_candidate_lock(cfg);
	while (fd >= 0 && !auto_stop && flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			TB_LOG(TB_LOG_ERROR, "supervisor = auto: flock: %s", strerror(errno));
			_exit(1);
		}
	}
	if (!auto_stop) {
		TB_LOG(TB_LOG_INFO, "supervisor = auto: candidate of worker %ld runs the supervisor on this host",
		       (long)parent);
		tb_supervisor_run(cfg, &auto_stop);
	}
	_exit(0);
}

void tb_supervisor_auto_start(const struct tb_config *cfg, int close_fd)
{
	/* Nothing in a worker waits for its candidate: without this, one that ended (a stop
	 * request, an error) would stay a zombie as long as the worker lives. Set before the fork, so
	 * even a candidate that ends at once is never one. SIG_DFL: no signal interrupts the worker. */
	struct sigaction sa = {0}, old;
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		TB_LOG(TB_LOG_WARN, "supervisor = auto: fork failed: %s", strerror(errno));
		sigaction(SIGCHLD, &old, NULL);
		return;
	}
	if (pid == 0) {
		sigaction(SIGCHLD, &old, NULL);
		candidate(cfg, close_fd, parent);
	}
}
