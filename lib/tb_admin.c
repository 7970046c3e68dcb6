/* tb_admin: migrations, the runtime role's grants and the account commands for teamboard-admin. Migration
 * and function files are trusted SQL shipped with Teamboard, run with the simple-query protocol
 * (several statements per file); nothing from a user is ever spliced into them (the runtime role's
 * name reaches grant_runtime as a parameter, which quotes it with format('%I')).
 *
 * A migrate run is one transaction: the checksums of applied migrations, the migrations not yet
 * applied, every file of sql/functions/ and the grants commit together or not at all, so that a
 * database never has new tables with old functions, or half of a run (sql/README.md). Only the
 * bookkeeping table itself is made before, in a transaction of its own. */
#include "tb_admin.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_buf.h"
#include "tb_json.h"

/* Any constant will do as long as every teamboard-admin uses the same one. */
#define MIGRATE_LOCK "7436017"
/* sha256 in hex */
#define SUM_LEN 64
#define NOT_REPORTED (-1)

/* One file of the run: a numbered migration or a file of functions/. */
struct file {
	char *name;
	struct tb_buf sql;
	char sum[SUM_LEN + 1];
	bool recorded; /* in schema_migrations already */
	int event;     /* enum tb_migrate_event to report after the commit, or NOT_REPORTED */
};

struct plan {
	struct file *migs, *funcs;
	int n_migs, n_funcs;
};

static bool run(PGconn *conn, const char *sql, int n, const char *const *params, char *errbuf, size_t errlen,
                const char *what)
{
	PGresult *r = n ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	/* a file of comments only is an empty query */
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
	if (!ok)
		snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

static bool ends_with_sql(const char *s, size_t len)
{
	return len > 4 && strcmp(s + len - 4, ".sql") == 0;
}

/* NNN_name.sql, but not 000_*: that number is the fence that stops an older teamboard-admin. */
static int migration_filter(const struct dirent *d)
{
	const char *s = d->d_name;
	size_t len = strlen(s);
	if (len < 9 || !ends_with_sql(s, len) || strncmp(s, "000_", 4) == 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return s[3] == '_';
}

static int function_filter(const struct dirent *d)
{
	return d->d_name[0] != '.' && ends_with_sql(d->d_name, strlen(d->d_name));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
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

/* The files of dir that filter takes, in name order, with their text, into *out. */
static enum tb_err load_dir(const char *dir, int (*filter)(const struct dirent *), struct file **out, int *n,
                            char *errbuf, size_t errlen)
{
	struct dirent **ents = NULL;
	int count = scandir(dir, &ents, filter, by_name);
	if (count < 0) {
		snprintf(errbuf, errlen, "%s: cannot read the directory", dir);
		return TB_ERR_NOT_FOUND;
	}
	*out = tb_xcalloc((size_t)count + 1, sizeof **out);
	*n = count;
	enum tb_err err = TB_OK;
	for (int i = 0; i < count; i++) {
		struct file *f = &(*out)[i];
		f->name = tb_xstrdup(ents[i]->d_name);
		f->event = NOT_REPORTED;
		struct tb_buf path = {0};
		tb_buf_printf(&path, "%s/%s", dir, f->name);
		if (err == TB_OK && !read_file(tb_buf_str(&path), &f->sql)) {
			snprintf(errbuf, errlen, "%s: cannot read", tb_buf_str(&path));
			err = TB_ERR_NOT_FOUND;
		}
		tb_buf_free(&path);
		free(ents[i]);
	}
	free(ents);
	return err;
}

static void free_files(struct file *files, int n)
{
	for (int i = 0; i < n; i++) {
		free(files[i].name);
		tb_buf_free(&files[i].sql);
	}
	free(files);
}

/* The sha256 of each migration file, in hex, computed by the server (the bytes as they are). */
static bool checksums(PGconn *conn, struct plan *p, char *errbuf, size_t errlen)
{
	for (int i = 0; i < p->n_migs; i++) {
		struct file *f = &p->migs[i];
		const char *values[] = {f->sql.len ? f->sql.data : ""};
		int lengths[] = {(int)f->sql.len}, formats[] = {1};
		PGresult *r = PQexecParams(conn, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL, values, lengths,
		                           formats, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			strlen(PQgetvalue(r, 0, 0)) == SUM_LEN;
		if (ok)
			memcpy(f->sum, PQgetvalue(r, 0, 0), SUM_LEN + 1);
		else
			snprintf(errbuf, errlen, "%s: checksum: %s", f->name, PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			return false;
	}
	return true;
}

static struct file *find(struct plan *p, const char *name)
{
	for (int i = 0; i < p->n_migs; i++) {
		if (strcmp(p->migs[i].name, name) == 0)
			return &p->migs[i];
	}
	return NULL;
}

static bool accepted(const struct tb_migrate_opts *o, const char *name)
{
	for (size_t i = 0; i < o->n_accept_edited; i++) {
		if (strcmp(o->accept_edited[i], name) == 0)
			return true;
	}
	return false;
}

/* Records f's checksum for its applied migration; event: why (adopted or accepted). */
static bool record_sum(PGconn *conn, struct file *f, int event, char *errbuf, size_t errlen)
{
	const char *params[] = {f->name, f->sum};
	f->event = event;
	return run(conn, "UPDATE teamboard.schema_migrations SET checksum = $2 WHERE version = $1", 2, params, errbuf,
	           errlen, f->name);
}

/* Each --accept-edited name must be an applied migration whose file had changed. */
static bool all_accepted_used(const struct tb_migrate_opts *o, struct plan *p, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < o->n_accept_edited; i++) {
		const struct file *f = find(p, o->accept_edited[i]);
		if (f == NULL || f->event != TB_MIGRATE_ACCEPTED) {
			snprintf(errbuf, errlen, "--accept-edited %s: not an applied migration whose file has changed",
			         o->accept_edited[i]);
			return false;
		}
	}
	return true;
}

/* The refusal of applied migrations that DIR lacks (missing) or whose files changed (edited). */
static void refusal(const struct tb_buf *missing, const struct tb_buf *edited, const char *dir, char *errbuf,
                    size_t errlen)
{
	if (missing->len)
		snprintf(errbuf, errlen,
		         "the database has applied %s, which %s does not have: this sql/ directory is older than the "
		         "database (use the one of the Teamboard that migrated it, or a newer one)",
		         tb_buf_str(missing), dir);
	else
		snprintf(errbuf, errlen,
		         "%s changed after it was applied (the checksum recorded then is not the file's): an applied "
		         "migration never runs again, so the edit would not reach this database. Undo the edit and "
		         "put the change in a new migration (sql/README.md); if the edit changes nothing that was "
		         "applied (a comment), --accept-edited NAME records the file as it is now",
		         tb_buf_str(edited));
}

/* Compares schema_migrations with the files: adopts a row without a checksum (applied before
 * migrate kept them) with its file's, accepts or refuses an edited file, refuses a row whose file
 * is gone. Marks the files already applied. */
static enum tb_err check_applied(PGconn *conn, const struct tb_migrate_opts *o, struct plan *p, char *errbuf,
                                 size_t errlen)
{
	PGresult *r = PQexec(conn, "SELECT version, checksum FROM teamboard.schema_migrations ORDER BY version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "schema_migrations: %s", PQresultErrorMessage(r));
		PQclear(r);
		return TB_ERR_DB;
	}
	struct tb_buf missing = {0}, edited = {0};
	bool ok = true;
	for (int i = 0; i < PQntuples(r) && ok; i++) {
		struct file *f = find(p, PQgetvalue(r, i, 0));
		if (f == NULL) {
			tb_buf_printf(&missing, "%s%s", missing.len ? ", " : "", PQgetvalue(r, i, 0));
			continue;
		}
		f->recorded = true;
		if (PQgetisnull(r, i, 1))
			ok = record_sum(conn, f, TB_MIGRATE_ADOPTED, errbuf, errlen);
		else if (strcmp(PQgetvalue(r, i, 1), f->sum) == 0)
			continue;
		else if (accepted(o, f->name))
			ok = record_sum(conn, f, TB_MIGRATE_ACCEPTED, errbuf, errlen);
		else
			tb_buf_printf(&edited, "%s%s", edited.len ? ", " : "", f->name);
	}
	PQclear(r);
	enum tb_err err = ok ? TB_OK : TB_ERR_DB;
	if (err == TB_OK && (missing.len || edited.len)) {
		refusal(&missing, &edited, o->dir, errbuf, errlen);
		err = TB_ERR_CONFLICT;
	}
	if (err == TB_OK && !all_accepted_used(o, p, errbuf, errlen))
		err = TB_ERR_INVALID;
	tb_buf_free(&missing);
	tb_buf_free(&edited);
	return err;
}

/* Applies the migrations not yet recorded, in name order, and records them with their checksums. */
static bool apply_new(PGconn *conn, struct plan *p, char *errbuf, size_t errlen)
{
	for (int i = 0; i < p->n_migs; i++) {
		struct file *f = &p->migs[i];
		const char *params[] = {f->name, f->sum};
		if (f->recorded)
			continue;
		if (!run(conn, tb_buf_str(&f->sql), 0, NULL, errbuf, errlen, f->name) ||
		    !run(conn, "INSERT INTO teamboard.schema_migrations (version, checksum) VALUES ($1, $2)", 2, params,
		         errbuf, errlen, f->name))
			return false;
		f->event = TB_MIGRATE_APPLIED;
	}
	return true;
}

/* Runs every file of functions/ (CREATE OR REPLACE: the same result each run). */
static bool apply_functions(PGconn *conn, struct plan *p, char *errbuf, size_t errlen)
{
	for (int i = 0; i < p->n_funcs; i++) {
		struct file *f = &p->funcs[i];
		char what[300];
		snprintf(what, sizeof what, "functions/%s", f->name);
		if (!run(conn, tb_buf_str(&f->sql), 0, NULL, errbuf, errlen, what))
			return false;
		f->event = TB_MIGRATE_FUNCTIONS;
	}
	return true;
}

/* Gives the runtime role its privileges in the open transaction (sql/functions/runtime_role.sql). */
static bool grant(PGconn *conn, const char *role, char *errbuf, size_t errlen)
{
	const char *params[] = {role};
	if (role == NULL)
		return true;
	PGresult *r = PQexec(conn, "SELECT to_regprocedure('teamboard.grant_runtime(name)') IS NOT NULL");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	bool defined = ok && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (!ok)
		snprintf(errbuf, errlen, "grants: %s", PQresultErrorMessage(r));
	else if (!defined)
		snprintf(errbuf, errlen, "grants: sql/functions/ defines no teamboard.grant_runtime(name)");
	PQclear(r);
	return defined && run(conn, "SELECT teamboard.grant_runtime($1)", 1, params, errbuf, errlen, "grants");
}

/* migrate's bookkeeping table, in a transaction of its own: a refused or failed run leaves it. */
static bool bookkeeping(PGconn *conn, char *errbuf, size_t errlen)
{
	return run(conn,
	           "BEGIN;"
	           " CREATE SCHEMA IF NOT EXISTS teamboard;"
	           " CREATE TABLE IF NOT EXISTS teamboard.schema_migrations ("
	           "   version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
	           " ALTER TABLE teamboard.schema_migrations ADD COLUMN IF NOT EXISTS checksum text;"
	           " COMMIT",
	           0, NULL, errbuf, errlen, "schema_migrations");
}

/* Appends to errbuf that the run was rolled back, and which migrations it was to apply. */
static void rolled_back(const struct plan *p, char *errbuf, size_t errlen)
{
	struct tb_buf b = {0};
	tb_buf_printf(&b, "%s\nrolled back: this run changed nothing", errbuf);
	int n = 0;
	for (int i = 0; i < p->n_migs; i++) {
		if (!p->migs[i].recorded)
			tb_buf_printf(&b, "%s%s", n++ ? ", " : " (it was to apply ", p->migs[i].name);
	}
	tb_buf_puts(&b, n ? ")" : "");
	snprintf(errbuf, errlen, "%s", tb_buf_str(&b));
	tb_buf_free(&b);
}

/* The run's one transaction; not TB_OK (errbuf says why) when it must be rolled back. */
static enum tb_err transaction(PGconn *conn, const struct tb_migrate_opts *o, struct plan *p, char *errbuf,
                               size_t errlen)
{
	if (!run(conn, "BEGIN", 0, NULL, errbuf, errlen, "begin") ||
	    !run(conn, "SET LOCAL search_path = teamboard", 0, NULL, errbuf, errlen, "set-up") ||
	    !checksums(conn, p, errbuf, errlen))
		return TB_ERR_DB;
	enum tb_err err = check_applied(conn, o, p, errbuf, errlen);
	if (err != TB_OK)
		return err;
	bool ok = run(conn, "ALTER TABLE teamboard.schema_migrations ALTER COLUMN checksum SET NOT NULL", 0, NULL,
	              errbuf, errlen, "schema_migrations") &&
		apply_new(conn, p, errbuf, errlen) && apply_functions(conn, p, errbuf, errlen) &&
		grant(conn, o->runtime_role, errbuf, errlen) && run(conn, "COMMIT", 0, NULL, errbuf, errlen, "commit");
	return ok ? TB_OK : TB_ERR_DB;
}

static void report_all(const struct tb_migrate_opts *o, const struct plan *p)
{
	for (int i = 0; o->report && i < p->n_migs; i++) {
		if (p->migs[i].event != NOT_REPORTED)
			o->report(o->ctx, (enum tb_migrate_event)p->migs[i].event, p->migs[i].name);
	}
	for (int i = 0; o->report && i < p->n_funcs; i++)
		o->report(o->ctx, TB_MIGRATE_FUNCTIONS, p->funcs[i].name);
}

enum tb_err tb_admin_migrate(PGconn *conn, const struct tb_migrate_opts *opts, char *errbuf, size_t errlen)
{
	struct tb_migrate_opts o = *opts;
	const char *user = PQuser(conn);
	if (o.runtime_role != NULL && user != NULL && strcmp(o.runtime_role, user) == 0)
		o.runtime_role = NULL;
	struct plan p = {0};
	struct tb_buf fdir = {0};
	tb_buf_printf(&fdir, "%s/functions", o.dir);
	/* Both directories first: a sql/ from before sql/functions/ changes nothing. */
	enum tb_err err = load_dir(o.dir, migration_filter, &p.migs, &p.n_migs, errbuf, errlen);
	if (err == TB_OK)
		err = load_dir(tb_buf_str(&fdir), function_filter, &p.funcs, &p.n_funcs, errbuf, errlen);
	if (err != TB_OK && p.funcs == NULL && p.migs != NULL) {
		size_t len = strlen(errbuf);
		snprintf(errbuf + len, errlen - len,
		         " (a sql/ directory older than this teamboard-admin? give it "
		         "the sql/ of its own tree)");
	}
	tb_buf_free(&fdir);
	if (err == TB_OK &&
	    (!run(conn, "SET client_min_messages = warning", 0, NULL, errbuf, errlen, "set-up") ||
	     !run(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", 0, NULL, errbuf, errlen, "lock")))
		err = TB_ERR_DB;
	else if (err == TB_OK) {
		err = bookkeeping(conn, errbuf, errlen) ? transaction(conn, &o, &p, errbuf, errlen) : TB_ERR_DB;
		if (err != TB_OK) {
			PGresult *r = PQexec(conn, "ROLLBACK");
			PQclear(r);
			rolled_back(&p, errbuf, errlen);
		} else {
			report_all(&o, &p);
		}
		char ignored[256];
		run(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", 0, NULL, ignored, sizeof ignored, "unlock");
	}
	free_files(p.migs, p.n_migs);
	free_files(p.funcs, p.n_funcs);
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

/* Checks obj (the command's fields in sign-up's JSON shape; freed here) against n of sign-up's field
 * rules, then hashes password into hash (TB_PASSWORD_HASH_MAX bytes). */
static enum tb_err checked_hash(struct json_object *obj, const struct tb_field *fields, size_t n, const char *password,
                                long cost, char *hash, char *errbuf, size_t errlen)
{
	enum tb_err err = tb_json_validate(fields, n, obj, true, errbuf, errlen);
	json_object_put(obj);
	if (err)
		return err;
	if (tb_auth_hash_password(password, cost, hash, TB_PASSWORD_HASH_MAX) != TB_OK) {
		snprintf(errbuf, errlen, "could not hash the password");
		return TB_ERR_INVALID;
	}
	return TB_OK;
}

enum tb_err tb_admin_create_user(PGconn *conn, const char *name, const char *password, long cost, char *errbuf,
                                 size_t errlen)
{
	/* The same field rules as sign-up, applied to the same JSON shape. */
	struct json_object *obj = json_object_new_object();
	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(obj, "password", json_object_new_string(password));
	size_t n_fields;
	const struct tb_field *fields = tb_api_credential_fields(&n_fields);
	char hash[TB_PASSWORD_HASH_MAX];
	enum tb_err err = checked_hash(obj, fields, n_fields, password, cost, hash, errbuf, errlen);
	if (err)
		return err;
	const char *params[] = {name, hash};
	PGresult *r = PQexecParams(conn, "INSERT INTO teamboard.users (name, password_hash) VALUES ($1, $2)", 2, NULL,
	                           params, NULL, NULL, 0);
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

/* ---- account commands ---- */

/* Runs sql with params; on failure errbuf gets the database's message and TB_ERR_DB. *out (when
 * not NULL) gets the result of a query that returned rows. A statement that matched no user
 * (no row, or a first column that is NULL) is TB_ERR_NOT_FOUND. */
static enum tb_err user_query(PGconn *conn, const char *sql, int n, const char *const *params, const char *name,
                              PGresult **out, char *errbuf, size_t errlen)
{
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	enum tb_err err = TB_OK;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(r));
		err = TB_ERR_DB;
	} else if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
		snprintf(errbuf, errlen, "no user named %s", name);
		err = TB_ERR_NOT_FOUND;
	}
	if (err == TB_OK && out)
		*out = r;
	else
		PQclear(r);
	return err;
}

enum tb_err tb_admin_set_password(PGconn *conn, const char *name, const char *password, long cost, char *errbuf,
                                  size_t errlen)
{
	/* sign-up's password rule (the name is checked by the look-up) */
	size_t n_fields;
	const struct tb_field *fields = tb_api_credential_fields(&n_fields);
	struct json_object *obj = json_object_new_object();
	json_object_object_add(obj, "password", json_object_new_string(password));
	char hash[TB_PASSWORD_HASH_MAX];
	enum tb_err err = checked_hash(obj, fields + 1, 1, password, cost, hash, errbuf, errlen);
	if (err)
		return err;
	const char *params[] = {name, hash};
	return user_query(conn,
	                  "WITH u AS (UPDATE users SET password_hash = $2 WHERE lower(name) = lower($1) RETURNING id)"
	                  " SELECT end_sessions(u.id, NULL) FROM u",
	                  2, params, name, NULL, errbuf, errlen);
}

enum tb_err tb_admin_reset_link(PGconn *conn, const char *name, char token[65], char *expires, size_t expires_len,
                                char *errbuf, size_t errlen)
{
	if (tb_auth_new_token(token) != TB_OK) {
		snprintf(errbuf, errlen, "could not make a token");
		return TB_ERR_IO;
	}
	const char *params[] = {name, token};
	PGresult *r = NULL;
	enum tb_err err = user_query(
		conn,
		"WITH u AS (SELECT id FROM users WHERE lower(name) = lower($1)),"
		" old AS (DELETE FROM password_resets WHERE user_id IN (SELECT id FROM u))"
		" INSERT INTO password_resets (token_hash, user_id, expires_at)"
		" SELECT sha256(decode($2::text, 'hex')), u.id, now() + interval '1 hour' FROM u RETURNING expires_at",
		2, params, name, &r, errbuf, errlen);
	if (err == TB_OK) {
		snprintf(expires, expires_len, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return err;
}

enum tb_err tb_admin_list_users(PGconn *conn, FILE *out, char *errbuf, size_t errlen)
{
	PGresult *r = PQexec(conn,
	                     "SELECT u.name, u.created_at, coalesce(u.disabled_at::text, '-'),"
	                     " (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now())"
	                     " FROM users u ORDER BY lower(u.name)");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		return TB_ERR_DB;
	}
	fprintf(out, "name\tcreated\tdisabled\tsessions\n");
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(out, "%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		        PQgetvalue(r, i, 3));
	PQclear(r);
	return TB_OK;
}

enum tb_err tb_admin_set_disabled(PGconn *conn, const char *name, bool disabled, char *errbuf, size_t errlen)
{
	const char *params[] = {name, disabled ? "t" : "f"};
	/* An account disabled before keeps the time it was disabled. */
	return user_query(conn,
	                  "WITH u AS (UPDATE users SET disabled_at = CASE WHEN $2::boolean"
	                  "                                          THEN coalesce(disabled_at, now()) END"
	                  "            WHERE lower(name) = lower($1) RETURNING id)"
	                  " SELECT CASE WHEN $2::boolean THEN end_sessions(u.id, NULL) ELSE 0 END FROM u",
	                  2, params, name, NULL, errbuf, errlen);
}
