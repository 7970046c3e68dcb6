/* tb_admin: what teamboard-admin does: apply the migrations in sql/ and create users. */
#ifndef TB_ADMIN_H
#define TB_ADMIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "tb_err.h"

typedef void (*tb_admin_report_fn)(void *ctx, const char *migration);

/* Applies every NNN_name.sql in dir not yet in teamboard.schema_migrations, in name order, each in
 * its own transaction, under an advisory lock so concurrent runs apply each file once. Calls
 * report for each file applied. On failure the failing file is rolled back and errbuf says which
 * and why. */
enum tb_err tb_admin_migrate(PGconn *conn, const char *dir, tb_admin_report_fn report, void *ctx, char *errbuf,
                             size_t errlen);
/* Creates a user with the same name and password rules as sign-up. TB_ERR_INVALID (errbuf
 * says why), TB_ERR_CONFLICT when the name is taken. */
enum tb_err tb_admin_create_user(PGconn *conn, const char *name, const char *password, char *errbuf,
                                 size_t errlen);

#endif
