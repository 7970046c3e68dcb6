/* tb_admin: migrations, the runtime role's grants and user creation for teamboard-admin. Migration
 * files are trusted SQL shipped with Teamboard, run with the simple-query protocol (several
 * statements per file); nothing from a user is ever spliced into them (the runtime role's name
 * reaches grant_runtime as a parameter, which quotes it with format('%I')). */
#include "tb_admin.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_buf.h"
#include "tb_json.h"

/* Any constant will do as long as every teamboard-admin uses the same one. */
#define MIGRATE_LOCK "7436017"

static bool run(PGconn *conn, const char *sql, int n, const char *const *params, char *errbuf, size_t errlen,
                const char *what)
{
	PGresult *r = n ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

static bool migration_name(const char *s)
{
	size_t len = strlen(s);
	if (len < 9 || strcmp(s + len - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return s[3] == '_';
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int filter(const struct dirent *d)
{
	return migration_name(d->d_name);
}

static bool applied(PGconn *conn, const char *version, bool *out, char *errbuf, size_t errlen)
{
	const char *params[] = {version};
	PGresult *r = PQexecParams(conn, "SELECT 1 FROM teamboard.schema_migrations WHERE version = $1", 1, NULL,
	                           params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok)
		*out = PQntuples(r) > 0;
	else
		snprintf(errbuf, errlen, "schema_migrations: %s", PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

static bool read_file(const char *path, struct tb_buf *out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tb_buf_append(out, chunk, n);
	bool ok = !ferror(f);
	fclose(f);
	return ok;
}

/* Gives the runtime role its privileges in the open transaction, once a migration has defined
 * grant_runtime (sql/013; before that there is nothing to grant with, unless must). */
static bool grant(PGconn *conn, const char *role, bool must, char *errbuf, size_t errlen, const char *what)
{
	if (role == NULL)
		return true;
	PGresult *r = PQexec(conn, "SELECT to_regprocedure('teamboard.grant_runtime(name)') IS NOT NULL");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	bool defined = ok && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (!ok)
		snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	if (ok && !defined && must) {
		snprintf(errbuf, errlen, "%s: the migrations define no teamboard.grant_runtime(name)", what);
		ok = false;
	}
	const char *params[] = {role};
	return ok && (!defined || run(conn, "SELECT teamboard.grant_runtime($1)", 1, params, errbuf, errlen, what));
}

/* Applies one file in its own transaction, with the runtime role's grants; false (rolled back) on
 * any error. */
static bool apply(PGconn *conn, const char *dir, const char *file, const char *role, char *errbuf,
                  size_t errlen)
{
	struct tb_buf path = {0}, sql = {0};
	tb_buf_printf(&path, "%s/%s", dir, file);
	bool ok = read_file(tb_buf_str(&path), &sql);
	if (!ok)
		snprintf(errbuf, errlen, "%s: cannot read", tb_buf_str(&path));
	const char *params[] = {file};
	ok = ok && run(conn, "BEGIN", 0, NULL, errbuf, errlen, file) &&
	     run(conn, "SET LOCAL search_path = teamboard", 0, NULL, errbuf, errlen, file) &&
	     run(conn, tb_buf_str(&sql), 0, NULL, errbuf, errlen, file) &&
	     run(conn, "INSERT INTO teamboard.schema_migrations (version) VALUES ($1)", 1, params, errbuf, errlen,
	         file) &&
	     grant(conn, role, false, errbuf, errlen, file) && run(conn, "COMMIT", 0, NULL, errbuf, errlen, file);
	if (!ok) {
		PGresult *r = PQexec(conn, "ROLLBACK");
		PQclear(r);
	}
	tb_buf_free(&path);
	tb_buf_free(&sql);
	return ok;
}

/* The runtime role's grants in a transaction of their own: a run that applied nothing still
 * brings them up to date (a new runtime role, an installation that had one role). */
static bool regrant(PGconn *conn, const char *role, char *errbuf, size_t errlen)
{
	const char *what = "grants";
	bool ok = run(conn, "BEGIN", 0, NULL, errbuf, errlen, what) &&
	          run(conn, "SET LOCAL search_path = teamboard", 0, NULL, errbuf, errlen, what) &&
	          grant(conn, role, true, errbuf, errlen, what) && run(conn, "COMMIT", 0, NULL, errbuf, errlen, what);
	if (!ok) {
		PGresult *r = PQexec(conn, "ROLLBACK");
		PQclear(r);
	}
	return ok;
}

enum tb_err tb_admin_migrate(PGconn *conn, const char *dir, const char *runtime_role, tb_admin_report_fn report,
                             void *ctx, char *errbuf, size_t errlen)
{
	const char *user = PQuser(conn);
	if (runtime_role != NULL && user != NULL && strcmp(runtime_role, user) == 0)
		runtime_role = NULL;
	struct dirent **files = NULL;
	int n = -1;
	enum tb_err err = TB_ERR_DB;
	if (!run(conn, "SET client_min_messages = warning", 0, NULL, errbuf, errlen, "set-up") ||
	    !run(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", 0, NULL, errbuf, errlen, "lock"))
		return TB_ERR_DB;
	if (!run(conn,
	         "CREATE SCHEMA IF NOT EXISTS teamboard;"
	         " CREATE TABLE IF NOT EXISTS teamboard.schema_migrations ("
	         "   version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	         0, NULL, errbuf, errlen, "schema_migrations"))
		goto out;
	n = scandir(dir, &files, filter, by_name);
	if (n < 0) {
		snprintf(errbuf, errlen, "%s: cannot read the directory", dir);
		err = TB_ERR_NOT_FOUND;
		goto out;
	}
	err = TB_OK;
	for (int i = 0; i < n && err == TB_OK; i++) {
		bool done = false;
		if (!applied(conn, files[i]->d_name, &done, errbuf, errlen) ||
		    (!done && !apply(conn, dir, files[i]->d_name, runtime_role, errbuf, errlen)))
			err = TB_ERR_DB;
		else if (!done && report)
			report(ctx, files[i]->d_name);
	}
	if (err == TB_OK && runtime_role != NULL && !regrant(conn, runtime_role, errbuf, errlen))
		err = TB_ERR_DB;
out:
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
	char ignored[256];
	run(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", 0, NULL, ignored, sizeof ignored, "unlock");
	return err;
}

enum tb_err tb_admin_conninfo_user(const char *conninfo, char *out, size_t outlen, char *errbuf, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	if (opts == NULL) {
		snprintf(errbuf, errlen, "database: %s", perr ? perr : "out of memory");
		PQfreemem(perr);
		return TB_ERR_INVALID;
	}
	enum tb_err err = TB_ERR_NOT_FOUND;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "user") != 0 || o->val == NULL || *o->val == '\0')
			continue;
		if (strlen(o->val) >= outlen) {
			snprintf(errbuf, errlen, "database: the user name is too long");
			err = TB_ERR_INVALID;
		} else {
			memcpy(out, o->val, strlen(o->val) + 1);
			err = TB_OK;
		}
	}
	PQconninfoFree(opts);
	return err;
}

enum tb_err tb_admin_create_user(PGconn *conn, const char *name, const char *password, char *errbuf,
                                 size_t errlen)
{
	/* The same field rules as sign-up, applied to the same JSON shape. */
	struct json_object *obj = json_object_new_object();
	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(obj, "password", json_object_new_string(password));
	size_t n_fields;
	const struct tb_field *fields = tb_api_credential_fields(&n_fields);
	enum tb_err err = tb_json_validate(fields, n_fields, obj, true, errbuf, errlen);
	json_object_put(obj);
	if (err)
		return err;
	char hash[TB_PASSWORD_HASH_MAX];
	if (tb_auth_hash_password(password, hash, sizeof hash) != TB_OK) {
		snprintf(errbuf, errlen, "could not hash the password");
		return TB_ERR_INVALID;
	}
	const char *params[] = {name, hash};
	PGresult *r = PQexecParams(conn, "INSERT INTO teamboard.users (name, password_hash) VALUES ($1, $2)", 2,
	                           NULL, params, NULL, NULL, 0);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		err = TB_OK;
	else if (state && strcmp(state, "23505") == 0) {
		snprintf(errbuf, errlen, "name: that name is taken");
		err = TB_ERR_CONFLICT;
	} else {
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(r));
		err = TB_ERR_DB;
	}
	PQclear(r);
	return err;
}
