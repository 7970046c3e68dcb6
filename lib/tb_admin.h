/* tb_admin: what teamboard-admin does: apply the migrations in sql/, give the runtime role its
 * privileges, and create users. */
#ifndef TB_ADMIN_H
#define TB_ADMIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "tb_err.h"

typedef void (*tb_admin_report_fn)(void *ctx, const char *migration);

/* Applies every NNN_name.sql in dir not yet in teamboard.schema_migrations, in name order, each in
 * its own transaction, under an advisory lock so concurrent runs apply each file once. Calls
 * report for each file applied. With a runtime_role other than the connection's own user, also
 * calls teamboard.grant_runtime(runtime_role) (sql/013) in each applied file's transaction once the
 * function exists, and in a transaction of its own at the end, so that every table is covered
 * (NULL: one role owns and runs everything, nothing is granted). On failure the failing file (or
 * the grants) is rolled back and errbuf says which and why. */
enum tb_err tb_admin_migrate(PGconn *conn, const char *dir, const char *runtime_role, tb_admin_report_fn report,
                             void *ctx, char *errbuf, size_t errlen);
/* The user named by a libpq connection string (user=, or the user of a postgresql:// URI) into
 * out. TB_ERR_NOT_FOUND when it names none (libpq then uses the OS user), TB_ERR_INVALID (errbuf
 * says why) when it does not parse or the name does not fit. */
enum tb_err tb_admin_conninfo_user(const char *conninfo, char *out, size_t outlen, char *errbuf, size_t errlen);
/* Creates a user with the same name and password rules as sign-up. TB_ERR_INVALID (errbuf
 * says why), TB_ERR_CONFLICT when the name is taken. */
enum tb_err tb_admin_create_user(PGconn *conn, const char *name, const char *password, char *errbuf,
                                 size_t errlen);

#endif
