/* tb_admin: what teamboard-admin does: apply the migrations in sql/, re-create the functions of
 * sql/functions/, give the runtime role its privileges, and manage accounts (create, set a
 * password or make a reset link, list, disable, enable). sql/README.md describes
 * the layout. */
#ifndef TB_ADMIN_H
#define TB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "tb_err.h"

/* What a migrate run did, reported file by file once it has committed. */
enum tb_migrate_event {
	TB_MIGRATE_APPLIED,   /* a numbered migration applied in this run */
	TB_MIGRATE_ADOPTED,   /* an applied migration without a checksum: its file's checksum recorded */
	TB_MIGRATE_ACCEPTED,  /* an edited applied migration: its new checksum recorded (accept_edited) */
	TB_MIGRATE_FUNCTIONS, /* a file of DIR/functions run again */
};

typedef void (*tb_admin_report_fn)(void *ctx, enum tb_migrate_event what, const char *file);

struct tb_migrate_opts {
	const char *dir;                  /* NNN_name.sql here, function files in dir/functions */
	const char *runtime_role;         /* NULL: one role owns and runs everything, nothing is granted */
	const char *const *accept_edited; /* names of applied migrations whose edit is accepted */
	size_t n_accept_edited;
	tb_admin_report_fn report; /* may be NULL */
	void *ctx;
};

/* One migrate run, in ONE transaction, under an advisory lock so that concurrent runs queue:
 * adds teamboard.schema_migrations (and its checksum column) when missing and records the sha256 of
 * the file of each applied migration that has none yet; refuses (TB_ERR_CONFLICT, errbuf names
 * the files) an applied migration whose file has changed unless its name is in accept_edited (then
 * records the new checksum; it is not run again), or that DIR no longer has; applies every
 * NNN_name.sql not yet recorded, in name order, but 000_*.sql (the fence that stops an older
 * teamboard-admin); runs every DIR/functions/\*.sql in name order; then, with a runtime_role other
 * than the connection's own user, calls teamboard.grant_runtime(runtime_role). On any failure
 * everything is rolled back and errbuf says where and why; report is called only after the
 * commit. TB_ERR_NOT_FOUND: DIR or DIR/functions cannot be read; TB_ERR_DB otherwise. */
enum tb_err tb_admin_migrate(PGconn *conn, const struct tb_migrate_opts *opts, char *errbuf, size_t errlen);
/* The user named by a libpq connection string (user=, or the user of a postgresql:// URI) into
 * out. TB_ERR_NOT_FOUND when it names none (libpq then uses the OS user), TB_ERR_INVALID (errbuf
 * says why) when it does not parse or the name does not fit. */
enum tb_err tb_admin_conninfo_user(const char *conninfo, char *out, size_t outlen, char *errbuf, size_t errlen);
/* Creates a user with the same name and password rules as sign-up, the hash of yescrypt cost cost
 * (the config's password_cost). TB_ERR_INVALID (errbuf says why), TB_ERR_CONFLICT when the name is
 * taken. */
enum tb_err tb_admin_create_user(PGconn *conn, const char *name, const char *password, long cost, char *errbuf,
                                 size_t errlen);

/* The account commands below run on a connection whose search_path is teamboard (the functions of
 * sql/functions/accounts.sql name their tables without a schema). Each returns TB_ERR_NOT_FOUND
 * (errbuf says so) when no user has that name (any case), TB_ERR_DB with the database's message. */

/* Sets the password of the user name (sign-up's rules: TB_ERR_INVALID and why; a hash of yescrypt
 * cost cost) and ends all the user's sessions; their open streams end at once with revoked
 * session_ended. */
enum tb_err tb_admin_set_password(PGconn *conn, const char *name, const char *password, long cost, char *errbuf,
                                  size_t errlen);
/* Makes a one-time reset link for the user name, valid for an hour: its token (64 hex digits,
 * stored only as its SHA-256) into token and its expiry into expires (expires_len bytes). The
 * user's older links stop working. */
enum tb_err tb_admin_reset_link(PGconn *conn, const char *name, char token[65], char *expires, size_t expires_len,
                                char *errbuf, size_t errlen);
/* Writes one line per user to out, by name: name, created, disabled (the time or "-"), the number
 * of unexpired sessions; tab-separated under a header line. */
enum tb_err tb_admin_list_users(PGconn *conn, FILE *out, char *errbuf, size_t errlen);
/* Disables (disabled true: no sign-in, every session ends, streams at once) or enables the user. */
enum tb_err tb_admin_set_disabled(PGconn *conn, const char *name, bool disabled, char *errbuf, size_t errlen);

#endif
