/* teamboard-admin: the command-line tool for administrators: apply migrations (as the database's
 * owner role, giving the runtime role its privileges), and the accounts: create users, set a
 * password or print a reset link, list, disable and enable users (docs/operations.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_admin.h"
#include "tb_config.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: teamboard-admin [--config FILE] [--database CONNINFO] COMMAND\n"
	        "  --database CONNINFO  connect with this libpq connection string instead of the config's\n"
	        "                       database (migrate: as the owner role; no password= here, it would\n"
	        "                       show in ps: use peer authentication, ~/.pgpass or PGPASSWORD)\n"
	        "commands:\n"
	        "  migrate [--sql-dir DIR] [--runtime-role ROLE] [--accept-edited FILE]...\n"
	        "      in one transaction: apply the new migrations of DIR, run the function files of\n"
	        "      DIR/functions again, and give the runtime role its privileges: ROLE, else the user\n"
	        "      of the config's database (none when that is the role migrate connects as: one\n"
	        "      role for everything). DIR: $TEAMBOARD_SQL_DIR, else\n"
	        "      %s\n"
	        "      An applied migration whose file changed is refused; --accept-edited FILE (an\n"
	        "      emergency: the edit changes nothing applied) records its new checksum instead\n"
	        "  create-user NAME         create a user; the password is read from the first line of stdin\n"
	        "  reset-password NAME      with a password on the first line of stdin: set it; with nothing\n"
	        "                           on stdin (empty, or a terminal): print a one-time link, valid\n"
	        "                           for 1 hour, that lets the user choose one. Either way every\n"
	        "                           session of the user ends\n"
	        "  list-users               name, created, disabled, open sessions; one user a line\n"
	        "  disable-user NAME        refuse the user's sign-in and end their sessions and streams\n"
	        "  enable-user NAME         allow the user's sign-in again\n",
	        TB_SQLDIR);
}

/* What a run did, as it is printed (functions: counted, one line at the end). */
static void report(void *ctx, enum tb_migrate_event what, const char *file)
{
	static const struct {
		const char *before, *after;
	} lines[] = {
		[TB_MIGRATE_APPLIED] = {"applied ", ""},
		[TB_MIGRATE_ADOPTED] = {"recorded the checksum of ", " (applied before migrate kept checksums)"},
		[TB_MIGRATE_ACCEPTED] = {"accepted the edited ",
	                                 ": its new checksum is recorded (it did not run again)"},
	};
	if (what == TB_MIGRATE_FUNCTIONS)
		++*(int *)ctx;
	else
		printf("%s%s%s\n", lines[what].before, file, lines[what].after);
}

/* The runtime role into out: --runtime-role, else the user the workers' database setting names, else
 * (when migrate connects with that very setting) "": the connection's own user, one role. */
static bool runtime_role(const char *option, const struct tb_config *cfg, bool own_database, char *out, size_t outlen)
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

/* Names given with --accept-edited. */
#define MAX_ACCEPT 32
struct accept_list {
	const char *names[MAX_ACCEPT];
	size_t n;
};

static int migrate(PGconn *conn, const char *dir, const char *role, const struct accept_list *accept)
{
	char err[4096];
	const char *user = PQuser(conn);
	bool single = *role == '\0' || (user != NULL && strcmp(role, user) == 0);
	int functions = 0;
	struct tb_migrate_opts opts = {
		.dir = dir,
		.runtime_role = single ? NULL : role,
		.accept_edited = accept->names,
		.n_accept_edited = accept->n,
		.report = report,
		.ctx = &functions,
	};
	if (tb_admin_migrate(conn, &opts, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: migrate: %s\n", err);
		return 1;
	}
	printf("functions and triggers: the %d files of %s/functions run again\n", functions, dir);
	if (single)
		printf("one role, %s, owns the schema and runs Teamboard: no runtime role to grant to\n",
		       user ? user : "?");
	else
		printf("runtime role %s: privileges granted\n", role);
	printf("database is up to date\n");
	return 0;
}

static int create_user(PGconn *conn, const char *name, const struct tb_config *cfg)
{
	char line[2048];
	if (fgets(line, sizeof line, stdin) == NULL) {
		fprintf(stderr, "teamboard-admin: create-user: no password on stdin\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	char err[512];
	enum tb_err e = tb_admin_create_user(conn, name, line, cfg->password_cost, err, sizeof err);
	explicit_bzero(line, sizeof line);
	if (e != TB_OK) {
		fprintf(stderr, "teamboard-admin: create-user: %s\n", err);
		return 1;
	}
	printf("created user %s\n", name);
	return 0;
}

/* The first line of stdin into line, without its end: false when there is none (a terminal,
 * end of file, or an empty line). */
static bool stdin_line(char *line, size_t len)
{
	if (isatty(STDIN_FILENO) || fgets(line, (int)len, stdin) == NULL)
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return line[0] != '\0';
}

static int reset_password(PGconn *conn, const char *name, const struct tb_config *cfg)
{
	char line[2048], err[512];
	if (stdin_line(line, sizeof line)) {
		enum tb_err e = tb_admin_set_password(conn, name, line, cfg->password_cost, err, sizeof err);
		explicit_bzero(line, sizeof line);
		if (e != TB_OK) {
			fprintf(stderr, "teamboard-admin: reset-password: %s\n", err);
			return 1;
		}
		printf("password of %s set; every session of %s ended\n", name, name);
		return 0;
	}
	char token[65], expires[64];
	if (tb_admin_reset_link(conn, name, token, expires, sizeof expires, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: reset-password: %s\n", err);
		return 1;
	}
	/* The site's address: the first of allowed_origins, else the user's browser must add it. */
	const char *site = cfg->n_allowed_origins > 0 ? cfg->allowed_origins[0] : "";
	printf("one-time reset link for %s, valid until %s:\n%s/#/reset-password/%s\n", name, expires, site, token);
	if (*site == '\0')
		printf("(allowed_origins names no site: put the site's address before the link)\n");
	explicit_bzero(token, sizeof token);
	return 0;
}

static int list_users(PGconn *conn, const char *unused, const struct tb_config *cfg)
{
	char err[512];
	(void)unused, (void)cfg;
	if (tb_admin_list_users(conn, stdout, err, sizeof err) == TB_OK)
		return 0;
	fprintf(stderr, "teamboard-admin: list-users: %s\n", err);
	return 1;
}

static int set_disabled(PGconn *conn, const char *name, bool disabled)
{
	char err[512];
	if (tb_admin_set_disabled(conn, name, disabled, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: %s-user: %s\n", disabled ? "disable" : "enable", err);
		return 1;
	}
	if (disabled)
		printf("disabled %s; every session of %s ended\n", name, name);
	else
		printf("enabled %s\n", name);
	return 0;
}

static int disable_user(PGconn *conn, const char *name, const struct tb_config *cfg)
{
	(void)cfg;
	return set_disabled(conn, name, true);
}

static int enable_user(PGconn *conn, const char *name, const struct tb_config *cfg)
{
	(void)cfg;
	return set_disabled(conn, name, false);
}

static int create_user_cmd(PGconn *conn, const char *name, const struct tb_config *cfg)
{
	return create_user(conn, name, cfg);
}

/* The account commands: name, whether it takes a NAME, what runs it. */
static const struct {
	const char *name;
	bool takes_name;
	int (*run)(PGconn *conn, const char *arg, const struct tb_config *cfg);
} account_commands[] = {
	{"create-user", true, create_user_cmd}, {"reset-password", true, reset_password},
	{"list-users", false, list_users},      {"disable-user", true, disable_user},
	{"enable-user", true, enable_user},
};

/* An account command: its exit status, or 2 (usage printed) when cmd and arg are none of them. */
static int account_command(PGconn *conn, const char *cmd, const char *arg, const struct tb_config *cfg)
{
	for (size_t i = 0; i < sizeof account_commands / sizeof account_commands[0]; i++) {
		if (strcmp(cmd, account_commands[i].name) != 0 || account_commands[i].takes_name != (arg != NULL))
			continue;
		PGresult *r = PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'teamboard', false)");
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		if (!ok) {
			fprintf(stderr, "teamboard-admin: %s: %s", cmd, PQerrorMessage(conn));
			return 1;
		}
		return account_commands[i].run(conn, arg, cfg);
	}
	usage(stderr);
	return 2;
}

/* The command line's options; each may come before or after the command. */
struct args {
	const char *conf, *sql_dir, *database, *role_option;
	struct accept_list accept;
};

/* Reads options until the first non-option (optstring "+...") or the end. 0 when fine, 1 after
 * --help (printed), 2 on a bad option (usage printed). */
static int parse_options(int argc, char **argv, const char *optstring, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"sql-dir", required_argument, NULL, 's'},
		{"database", required_argument, NULL, 'd'},
		{"runtime-role", required_argument, NULL, 'r'},
		{"accept-edited", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->conf = optarg; break;
		case 's': a->sql_dir = optarg; break;
		case 'd': a->database = optarg; break;
		case 'r': a->role_option = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'a':
			if (a->accept.n < MAX_ACCEPT) {
				a->accept.names[a->accept.n++] = optarg;
				break;
			}
			fprintf(stderr, "teamboard-admin: at most %d --accept-edited\n", MAX_ACCEPT);
			return 2;
		default: usage(stderr); return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {.conf = getenv("TEAMBOARD_CONF"), .sql_dir = getenv("TEAMBOARD_SQL_DIR")};
	int rc = parse_options(argc, argv, "+c:s:d:r:a:h", &a);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	/* Options may also follow the command ("migrate --sql-dir DIR"). */
	const char *cmd = optind < argc ? argv[optind++] : NULL;
	rc = parse_options(argc, argv, "c:s:d:r:a:h", &a);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	const char *arg = optind < argc ? argv[optind++] : NULL;
	if (cmd == NULL || optind < argc) {
		usage(stderr);
		return 2;
	}
	if (a.conf == NULL || *a.conf == '\0')
		a.conf = TB_SYSCONFDIR "/teamboard.conf";
	if (a.sql_dir == NULL || *a.sql_dir == '\0')
		a.sql_dir = TB_SQLDIR;

	struct tb_config cfg;
	char err[512];
	if (tb_config_load(&cfg, a.conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-admin: %s\n", err);
		tb_config_free(&cfg);
		return 1;
	}
	bool is_migrate = strcmp(cmd, "migrate") == 0 && arg == NULL;
	char role[256] = "";
	if ((a.role_option != NULL || a.accept.n > 0) && !is_migrate) {
		usage(stderr);
		tb_config_free(&cfg);
		return 2;
	}
	if (is_migrate && !runtime_role(a.role_option, &cfg, a.database == NULL, role, sizeof role)) {
		tb_config_free(&cfg);
		return 1;
	}
	PGconn *conn = PQconnectdb(a.database ? a.database : cfg.database);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "teamboard-admin: cannot connect to the database: %s", PQerrorMessage(conn));
		rc = 1;
	} else if (is_migrate) {
		rc = migrate(conn, a.sql_dir, role, &a.accept);
	} else {
		rc = account_command(conn, cmd, arg, &cfg);
	}
	PQfinish(conn);
	tb_config_free(&cfg);
	return rc;
}
