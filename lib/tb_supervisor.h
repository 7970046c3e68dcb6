/* tb_supervisor: the one process per database that keeps live boards healthy. It holds a
 * PostgreSQL advisory lock on its own connection (the others stand by and retry each interval) and,
 * every heartbeat_interval, NOTIFYs a heartbeat on each board with open streams, recycles holders
 * that missed the last heartbeats, removes registry rows of workers that are gone, announces the
 * presence changes that caused, prunes the event log, expired sign-in throttle rows, Idempotency-Key
 * rows older than 24 hours, old editing announcements' rate rows and the invite and password reset
 * links that no longer work, and records itself in supervisor_status.
 * Runs as teamboard-supervisor, or inside a worker with supervisor = auto (a forked child). */
#ifndef TB_SUPERVISOR_H
#define TB_SUPERVISOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "tb_config.h"
#include "tb_db.h"
#include "tb_err.h"

/* The advisory lock key ("TBSUPERV"); pg_locks shows it as classid 0x54425355, objid 0x50455256,
 * objsubid 1. */
#define TB_SUPERVISOR_LOCK_KEY INT64_C(0x5442535550455256)

struct tb_supervisor {
	const struct tb_config *cfg; /* borrowed; must outlive the supervisor */
	struct tb_db db;
	bool leader;               /* held the lock at the end of the last cycle */
	bool standby_logged;       /* "standing by" was logged since we last led */
	char since[64];            /* when it last became leader (PostgreSQL timestamptz text) */
	char heartbeats_since[64]; /* since when heartbeats have gone out without a gap (ditto) */
};

/* What one cycle did (all zero for a standby). */
struct tb_supervisor_report {
	bool leader;
	bool became_leader;
	long heartbeats;         /* boards that got a heartbeat NOTIFY */
	long recycled;           /* rows of holders that missed the heartbeats: removed, backend terminated */
	long terminated;         /* of their backends, those pg_terminate_backend signalled */
	long dead;               /* rows whose backend or (this host's) worker process was gone */
	long presence;           /* boards that got a presence NOTIFY */
	long pruned_age;         /* events older than event_retention_days (0: none) */
	long pruned_cap;         /* events past event_retention_per_board (0: none) */
	long pruned_throttle;    /* sign-in throttle rows past login_window (sql/012) */
	long pruned_idempotency; /* Idempotency-Key rows older than 24 hours (sql/014) */
	long pruned_editing;     /* editing announcements' rate rows older than an hour (sql/014) */
	long pruned_invites;     /* invite links expired or used up (sql/020) */
	long pruned_resets;      /* password reset links used or expired (sql/017) */
	long purged_boards;      /* boards in the trash for longer than trash_days, deleted (sql/016) */
	long purged_notes;       /* notes in the trash for longer than trash_days, emptied (sql/016) */
};

/* Sets sv up for cfg (borrowed); does not connect yet. */
void tb_supervisor_init(struct tb_supervisor *sv, const struct tb_config *cfg);
/* Closes the connection, which releases the lock. */
void tb_supervisor_free(struct tb_supervisor *sv);
/* Runs one cycle: (re)connects when needed, tries the lock, and as leader does the work above.
 * Fills *rep (also on failure, with what was done). TB_ERR_DB_DOWN when the database cannot be
 * reached (sv is then no longer leader), TB_ERR_DB when a statement failed. */
enum tb_err tb_supervisor_cycle(struct tb_supervisor *sv, struct tb_supervisor_report *rep);
/* Runs cycles every cfg->heartbeat_interval seconds until *stop is set (by a SIGTERM or SIGINT
 * handler of the caller). SIGTERM and SIGINT are blocked except while it sleeps (ppoll), so a
 * stop request ends it within a cycle. Closes its connection before returning. */
void tb_supervisor_run(const struct tb_config *cfg, volatile sig_atomic_t *stop);
/* supervisor = auto: forks a candidate and returns at once in the caller. The child puts
 * /dev/null in place of close_fd (the FastCGI listen socket; -1: none), dies with its parent
 * (PR_SET_PDEATHSIG), waits for a flock in the private directory /tmp/teamboard-<euid>-<instance
 * id> (0700; when that is not ours alone, it goes without) so that one candidate per host
 * connects, then runs tb_supervisor_run until SIGTERM and ends with _exit(0), never returning.
 * The caller's children no longer become zombies (SIGCHLD gets SA_NOCLDWAIT): a worker waits for
 * no child of its own. cfg must be loaded; the child keeps using its copy. Call before opening a
 * database connection. */
void tb_supervisor_auto_start(const struct tb_config *cfg, int close_fd);

#endif
