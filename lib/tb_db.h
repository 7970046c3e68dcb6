/* tb_db: a worker's one PostgreSQL connection. It connects lazily and again after a failure (at most
 * once a second), fixes search_path, time zone and application_name on connect, and prepares each
 * statement on first use (the SQL string's address keys the cache, so pass static strings). */
#ifndef TB_DB_H
#define TB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

#include "tb_err.h"

#define TB_DB_MAX_STMTS 128

struct tb_db {
	PGconn *conn;
	char *conninfo;
	const char *application_name;
	time_t last_attempt;
	const char *stmts[TB_DB_MAX_STMTS]; /* prepared on this connection, named "s<index>" */
	size_t n_stmts;
	char sqlstate[6]; /* of the last failed query, "" otherwise */
	bool pinned;      /* never reconnect: the session holds state (LISTEN) */
};

/* Sets db up for conninfo (copied); does not connect yet. */
void tb_db_init(struct tb_db *db, const char *conninfo, const char *application_name);
/* Connects when not connected or the connection broke. TB_ERR_DB_DOWN when it cannot, and
 * whenever db->pinned is set and the connection is gone or broke: a new session would silently
 * lack what the old one held (a stream's LISTEN), so its owner must end instead. */
enum tb_err tb_db_ensure(struct tb_db *db);
/* Runs sql with n text parameters (NULL = SQL NULL) as a prepared statement. On TB_OK *out holds a
 * PGresult with tuples or a command status (caller PQclears). TB_ERR_CONFLICT for a unique
 * violation, TB_ERR_DB for other errors (logged with the server's message), TB_ERR_DB_DOWN when
 * the connection is gone (it is dropped and reopened on the next call). */
enum tb_err tb_db_query(struct tb_db *db, const char *sql, int n, const char *const *params, PGresult **out);
/* Like tb_db_query but without preparing (for one-off statements, e.g. LISTEN). */
enum tb_err tb_db_exec(struct tb_db *db, const char *sql, int n, const char *const *params, PGresult **out);
/* Sends sql as tb_db_query does but returns without waiting for the answer, so that the caller
 * can work while the server runs it (an export prepares its next page meanwhile). TB_OK: the
 * next call on db must be tb_db_wait(db, the same sql), which answers as tb_db_query would. */
enum tb_err tb_db_send(struct tb_db *db, const char *sql, int n, const char *const *params);
enum tb_err tb_db_wait(struct tb_db *db, const char *sql, PGresult **out);
/* Drops the connection (the next call reconnects). */
void tb_db_disconnect(struct tb_db *db);
void tb_db_free(struct tb_db *db);

#endif
