/* tb_db: the worker's PostgreSQL connection and its prepared statements. A broken connection is
 * dropped; the next call reconnects (not more than once a second), so a restarted database is
 * picked up without restarting workers; a pinned one (a stream's) is not reconnected. */
#include "tb_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_buf.h"
#include "tb_log.h"

void tb_db_init(struct tb_db *db, const char *conninfo, const char *application_name)
{
	memset(db, 0, sizeof *db);
	db->conninfo = tb_xstrdup(conninfo);
	db->application_name = application_name;
}

void tb_db_disconnect(struct tb_db *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->n_stmts = 0;
}

void tb_db_free(struct tb_db *db)
{
	tb_db_disconnect(db);
	free(db->conninfo);
	db->conninfo = NULL;
}

static bool setup_session(PGconn *conn)
{
	PGresult *r = PQexec(conn,
	                     "SELECT pg_catalog.set_config('search_path', 'teamboard', false),"
	                     " pg_catalog.set_config('TimeZone', 'UTC', false)");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		TB_LOG(TB_LOG_ERROR, "session set-up failed: %s", PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

/* Reads what the server sent while we were idle, so that a shut-down server's goodbye shows as a
 * bad connection before a query is sent on it. The goodbye takes two reads: its FATAL message
 * (parsed by PQisBusy, which hands it to the notice processor), then the end of the connection.
 * Notifications stay queued for a stream holder to read (PQnotifies). */
static bool still_connected(PGconn *conn)
{
	for (int i = 0; i < 2; i++) {
		if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
			return false;
		(void)PQisBusy(conn);
	}
	return PQstatus(conn) == CONNECTION_OK;
}

enum tb_err tb_db_ensure(struct tb_db *db)
{
	if (db->conn) {
		if (still_connected(db->conn))
			return TB_OK;
		TB_LOG(TB_LOG_WARN, "database connection lost: %s", PQerrorMessage(db->conn));
		tb_db_disconnect(db);
	}
	if (db->pinned)
		return TB_ERR_DB_DOWN;
	time_t now = time(NULL);
	if (db->last_attempt == now)
		return TB_ERR_DB_DOWN;
	db->last_attempt = now;
	/* Earlier keywords are overridden by what the conninfo says (it is expanded last). */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"3", db->application_name ? db->application_name : "teamboard", db->conninfo, NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		TB_LOG(TB_LOG_ERROR, "cannot connect to the database: %s",
		       conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return TB_ERR_DB_DOWN;
	}
	if (!setup_session(conn)) {
		PQfinish(conn);
		return TB_ERR_DB_DOWN;
	}
	db->conn = conn;
	db->n_stmts = 0;
	return TB_OK;
}

/* Classifies a finished result; on success hands it to *out, else clears it. */
static enum tb_err finish(struct tb_db *db, PGresult *r, const char *sql, PGresult **out)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		db->sqlstate[0] = '\0';
		*out = r;
		return TB_OK;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
	if (PQstatus(db->conn) != CONNECTION_OK || r == NULL || strncmp(db->sqlstate, "08", 2) == 0 ||
	    strncmp(db->sqlstate, "57P", 3) == 0) {
		TB_LOG(TB_LOG_WARN, "database connection lost: %s", PQerrorMessage(db->conn));
		PQclear(r);
		tb_db_disconnect(db);
		return TB_ERR_DB_DOWN;
	}
	/* 23505: unique violation; TB409: a rule of ours (sql/) refused the change. */
	bool conflict = strcmp(db->sqlstate, "23505") == 0 || strcmp(db->sqlstate, "TB409") == 0;
	enum tb_err err = conflict ? TB_ERR_CONFLICT : TB_ERR_DB;
	if (err == TB_ERR_DB)
		TB_LOG(TB_LOG_ERROR, "query failed (%s): %s [%.60s]", db->sqlstate, PQresultErrorMessage(r), sql);
	PQclear(r);
	return err;
}

/* A prepared statement's name on its connection: "s<index>" (its slot in db->stmts). */
static void stmt_name(char name[16], size_t idx)
{
	snprintf(name, 16, "s%zu", idx);
}

static int stmt_index(struct tb_db *db, const char *sql, int n)
{
	for (size_t i = 0; i < db->n_stmts; i++) {
		if (db->stmts[i] == sql)
			return (int)i;
	}
	if (db->n_stmts == TB_DB_MAX_STMTS)
		return -1;
	char name[16];
	stmt_name(name, db->n_stmts);
	PGresult *r = PQprepare(db->conn, name, sql, n, NULL);
	PGresult *ok = NULL;
	if (finish(db, r, sql, &ok) != TB_OK)
		return -2;
	PQclear(ok);
	db->stmts[db->n_stmts] = sql;
	return (int)db->n_stmts++;
}

/* Connects if need be and finds or prepares sql's statement. Writes its name to name, or "" when
 * every slot is taken and the caller must send sql unprepared. */
static enum tb_err prepared_name(struct tb_db *db, const char *sql, int n, char name[16])
{
	enum tb_err err = tb_db_ensure(db);
	if (err)
		return err;
	int idx = stmt_index(db, sql, n);
	if (idx == -2)
		return db->conn ? TB_ERR_DB : TB_ERR_DB_DOWN;
	if (idx < 0)
		name[0] = '\0';
	else
		stmt_name(name, (size_t)idx);
	return TB_OK;
}

enum tb_err tb_db_query(struct tb_db *db, const char *sql, int n, const char *const *params, PGresult **out)
{
	char name[16];
	enum tb_err err = prepared_name(db, sql, n, name);
	if (err)
		return err;
	if (name[0] == '\0')
		return tb_db_exec(db, sql, n, params, out);
	return finish(db, PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0), sql, out);
}

enum tb_err tb_db_exec(struct tb_db *db, const char *sql, int n, const char *const *params, PGresult **out)
{
	enum tb_err err = tb_db_ensure(db);
	if (err)
		return err;
	return finish(db, PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0), sql, out);
}

enum tb_err tb_db_send(struct tb_db *db, const char *sql, int n, const char *const *params)
{
	char name[16];
	enum tb_err err = prepared_name(db, sql, n, name);
	if (err)
		return err;
	int sent = name[0] == '\0' ? PQsendQueryParams(db->conn, sql, n, NULL, params, NULL, NULL, 0)
				   : PQsendQueryPrepared(db->conn, name, n, params, NULL, NULL, 0);
	if (sent)
		return TB_OK;
	TB_LOG(TB_LOG_WARN, "database connection lost: %s", PQerrorMessage(db->conn));
	tb_db_disconnect(db);
	return TB_ERR_DB_DOWN;
}

enum tb_err tb_db_wait(struct tb_db *db, const char *sql, PGresult **out)
{
	PGresult *r = PQgetResult(db->conn), *more;
	while ((more = PQgetResult(db->conn)) != NULL) /* the query's end: the connection is idle again */
		PQclear(more);
	return finish(db, r, sql, out);
}
