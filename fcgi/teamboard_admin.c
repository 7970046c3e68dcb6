/* teamboard-admin: the command-line tool for administrators: apply migrations (as the database's
 * owner role, giving the runtime role its privileges), create users. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_admin.h"
#include "tb_config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: teamboard-admin [--config FILE] [--database CONNINFO] COMMAND\n"
	           "  --database CONNINFO  connect with this libpq connection string instead of the config's\n"
	           "                       database (migrate: as the owner role; no password= here, it would\n"
	           "                       show in ps: use peer authentication, ~/.pgpass or PGPASSWORD)\n"
	           "commands:\n"
	           "  migrate [--sql-dir DIR] [--runtime-role ROLE]\n"
	           "      apply the database migrations (default DIR: $TEAMBOARD_SQL_DIR, else %s), then\n"
	           "      give the runtime role its privileges: ROLE, else the user of the config's database\n"
	           "      (none when that is the role migrate connects as: one role for everything)\n"
	           "  create-user NAME         create a user; the password is read from the first line of stdin\n",
	        TB_SQLDIR);
}

static void report(void *ctx, const char *name)
{
	(void)ctx;
	printf("applied %s\n", name);
}

/* The runtime role into out: --runtime-role, else the user the workers' database setting names, else
 * (when migrate connects with that very setting) "": the connection's own user, one role. */
static bool runtime_role(const char *option, const struct tb_config *cfg, bool own_database, char *out,
                         size_t outlen)
{
	char err[512] = "";
	if (option != NULL) {
		if (*option == '\0' || strlen(option) >= outlen)
			snprintf(err, sizeof err, "--runtime-role: empty or too long");
		else
			snprintf(out, outlen, "%s", option);
	} else if (tb_admin_conninfo_user(cfg->database, out, outlen, err, sizeof err) == TB_ERR_NOT_FOUND) {
		if (own_database)
			*out = '\0';
		else
			snprintf(err, sizeof err, "the config's database names no user: give --runtime-role ROLE");
	}
	if (*err != '\0') {
		fprintf(stderr, "teamboard-admin: migrate: %s\n", err);
		return false;
	}
	return true;
}

static int migrate(PGconn *conn, const char *dir, const char *role)
{
	char err[1024];
	const char *user = PQuser(conn);
	bool single = *role == '\0' || (user != NULL && strcmp(role, user) == 0);
	if (tb_admin_migrate(conn, dir, single ? NULL : role, report, NULL, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: migrate: %s\n", err);
		return 1;
	}
	if (single)
		printf("one role, %s, owns the schema and runs Teamboard: no runtime role to grant to\n",
		       user ? user : "?");
	else
		printf("runtime role %s: privileges granted\n", role);
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
		{"database", required_argument, NULL, 'd'},
		{"runtime-role", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf = getenv("TEAMBOARD_CONF"), *sql_dir = getenv("TEAMBOARD_SQL_DIR");
	const char *database = NULL, *role_option = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+c:s:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': sql_dir = optarg; break;
		case 'd': database = optarg; break;
		case 'r': role_option = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* Options may also follow the command ("migrate --sql-dir DIR"). */
	const char *cmd = optind < argc ? argv[optind++] : NULL;
	while ((c = getopt_long(argc, argv, "c:s:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': sql_dir = optarg; break;
		case 'd': database = optarg; break;
		case 'r': role_option = optarg; break;
		default: usage(stderr); return 2;
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
	bool is_migrate = strcmp(cmd, "migrate") == 0 && arg == NULL;
	char role[256] = "";
	if (role_option != NULL && !is_migrate) {
		usage(stderr);
		tb_config_free(&cfg);
		return 2;
	}
	if (is_migrate && !runtime_role(role_option, &cfg, database == NULL, role, sizeof role)) {
		tb_config_free(&cfg);
		return 1;
	}
	PGconn *conn = PQconnectdb(database ? database : cfg.database);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "teamboard-admin: cannot connect to the database: %s", PQerrorMessage(conn));
		rc = 1;
	} else if (is_migrate) {
		rc = migrate(conn, sql_dir, role);
	} else if (strcmp(cmd, "create-user") == 0 && arg != NULL) {
		rc = create_user(conn, arg);
	} else {
		usage(stderr);
	}
	PQfinish(conn);
	tb_config_free(&cfg);
	return rc;
}
