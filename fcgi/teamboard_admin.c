/* teamboard-admin: the command-line tool for administrators: apply migrations, create users. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_admin.h"
#include "tb_config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: teamboard-admin [--config FILE] COMMAND\n"
	           "commands:\n"
	           "  migrate [--sql-dir DIR]  apply the database migrations (default DIR: $TEAMBOARD_SQL_DIR, else %s)\n"
	           "  create-user NAME         create a user; the password is read from the first line of stdin\n",
	        TB_SQLDIR);
}

static void report(void *ctx, const char *name)
{
	(void)ctx;
	printf("applied %s\n", name);
}

static int migrate(PGconn *conn, const char *dir)
{
	char err[1024];
	if (tb_admin_migrate(conn, dir, report, NULL, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: migrate: %s\n", err);
		return 1;
	}
	printf("database is up to date\n");
	return 0;
}

static int create_user(PGconn *conn, const char *name)
{
	char line[2048];
	if (fgets(line, sizeof line, stdin) == NULL) {
		fprintf(stderr, "teamboard-admin: create-user: no password on stdin\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	char err[512];
	enum tb_err e = tb_admin_create_user(conn, name, line, err, sizeof err);
	explicit_bzero(line, sizeof line);
	if (e != TB_OK) {
		fprintf(stderr, "teamboard-admin: create-user: %s\n", err);
		return 1;
	}
	printf("created user %s\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"sql-dir", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf = getenv("TEAMBOARD_CONF"), *sql_dir = getenv("TEAMBOARD_SQL_DIR");
	int c;
	while ((c = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': sql_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* Options may also follow the command ("migrate --sql-dir DIR"). */
	const char *cmd = optind < argc ? argv[optind++] : NULL;
	while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		if (c == 'c')
			conf = optarg;
		else if (c == 's')
			sql_dir = optarg;
		else {
			usage(stderr);
			return 2;
		}
	}
	const char *arg = optind < argc ? argv[optind++] : NULL;
	if (cmd == NULL || optind < argc) {
		usage(stderr);
		return 2;
	}
	if (conf == NULL || *conf == '\0')
		conf = TB_SYSCONFDIR "/teamboard.conf";
	if (sql_dir == NULL || *sql_dir == '\0')
		sql_dir = TB_SQLDIR;

	struct tb_config cfg;
	char err[512];
	if (tb_config_load(&cfg, conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: %s\n", err);
		tb_config_free(&cfg);
		return 1;
	}
	int rc = 2;
	PGconn *conn = PQconnectdb(cfg.database);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "teamboard-admin: cannot connect to the database: %s", PQerrorMessage(conn));
		rc = 1;
	} else if (strcmp(cmd, "migrate") == 0 && arg == NULL) {
		rc = migrate(conn, sql_dir);
	} else if (strcmp(cmd, "create-user") == 0 && arg != NULL) {
		rc = create_user(conn, arg);
	} else {
		usage(stderr);
	}
	PQfinish(conn);
	tb_config_free(&cfg);
	return rc;
}
