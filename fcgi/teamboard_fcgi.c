/* teamboard.fcgi: the worker. Spawned by a web server it serves FastCGI on fd 0; with --listen it
 * runs its own prefork pool on a Unix socket; started as a plain CGI program it answers one
 * request; with --check-config FILE it checks a configuration and prints the settings in effect.
 * Everything but choosing among these lives in lib/. */
#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tb_api.h"
#include "tb_app.h"
#include "tb_config.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_route.h"
#include "tb_server.h"
#include "tb_supervisor.h"

static const char *env_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: teamboard.fcgi [--config FILE] [--listen SOCKET --workers N]\n"
	        "       teamboard.fcgi --check-config FILE\n"
	        "  --config FILE   configuration (default: $TEAMBOARD_CONF, else %s/teamboard.conf)\n"
	        "  --listen SOCKET run a prefork FastCGI pool on this Unix socket\n"
	        "  --workers N     number of workers in the pool, 1 to 10000 (default 4)\n"
	        "  --check-config FILE  check FILE, print the settings in effect (passwords masked)\n"
	        "                  and exit: 0 valid, 1 not (file:line: message on stderr)\n",
	        TB_SYSCONFDIR);
}

/* A whole decimal number in [min, max], nothing before or after it. */
static bool parse_int(const char *s, long min, long max, int *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* --check-config: every key in the table's order, as "key = value"; a key without a value as a
 * comment, so that the output is itself a valid teamboard.conf (less the password). */
static int check_config(const char *path)
{
	struct tb_config cfg;
	char err[512], buf[4096];
	if (tb_config_load(&cfg, path, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard.fcgi: %s\n", err);
		tb_config_free(&cfg);
		return 1;
	}
	printf("# %s: valid; the settings in effect (defaults included)\n", path);
	for (size_t i = 0; i < tb_config_key_count(); i++) {
		const char *key = tb_config_key_name(i);
		const char *v = tb_config_show(&cfg, key, true, buf, sizeof buf);
		if (v && *v)
			printf("%s = %s\n", key, v);
		else
			printf("# %s = (not set)\n", key);
	}
	tb_config_free(&cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The command line. */
struct args {
	const char *conf, *listen_path, *check;
	int workers;
};

/* Parses the options into a; -1 to go on, else the exit status (after --help or a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},  {"listen", required_argument, NULL, 'l'},
		{"workers", required_argument, NULL, 'w'}, {"check-config", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	*a = (struct args){.conf = getenv("TEAMBOARD_CONF"), .workers = 4};
	int c;
	while ((c = getopt_long(argc, argv, "c:l:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->conf = optarg; break;
		case 'l': a->listen_path = optarg; break;
		case 'w':
			if (!parse_int(optarg, 1, 10000, &a->workers)) {
				fprintf(stderr, "teamboard.fcgi: --workers must be a whole number from 1 to 10000\n");
				return 2;
			}
			break;
		case 'k': a->check = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (a->conf == NULL || *a->conf == '\0')
		a->conf = TB_SYSCONFDIR "/teamboard.conf";
	return -1;
}

/* Loads the configuration and opens the log and the shared counters; false after saying why. */
static bool load_config(struct tb_config *cfg, const char *conf)
{
	char err[512];
	tb_log_set_program("teamboard.fcgi");
	if (tb_config_load(cfg, conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard.fcgi: %s\n", err);
		/* The lines before the bad one may have named the log file: the error goes there too. */
		if (cfg->log_file && tb_log_open_file(cfg->log_file))
			TB_LOG(TB_LOG_ERROR, "%s", err);
		tb_config_free(cfg);
		return false;
	}
	tb_log_set_level(cfg->log_level);
	if (cfg->log_file)
		tb_log_open_file(cfg->log_file);
	tb_metrics_open(cfg);
	return true;
}

/* Serves requests as a pool (listen_path), one FastCGI process, or one CGI request; the exit
 * status. */
static int serve(struct tb_config *cfg, const char *listen_path, int workers)
{
	/* A client that leaves turns our next write into EPIPE, never into a fatal signal. */
	signal(SIGPIPE, SIG_IGN);
	if (listen_path) {
		/* FCGX_Init installs a SIGTERM handler that only flags a shutdown: a SIGTERM to a pool
		 * starting up would be swallowed. Blocked, it waits for tb_server_prefork to take it. */
		sigset_t stop;
		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigprocmask(SIG_BLOCK, &stop, NULL);
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "teamboard.fcgi: FCGX_Init failed\n");
		return 1;
	}
	int fd = 0;
	if (listen_path) {
		if (tb_server_prefork(listen_path, workers, &fd) != TB_OK)
			return 1;
		if (fd < 0) /* the pool's parent, after shutdown */
			return 0;
	}
	bool cgi = !listen_path && FCGX_IsCGI();
	/* One candidate per worker; they queue on a flock, so one per host connects. Not as CGI:
	 * the process ends after one request. Before tb_app_init: the child must not share our
	 * database connection. */
	if (cfg->supervisor == TB_SUPERVISOR_AUTO && !cgi)
		tb_supervisor_auto_start(cfg, fd);
	struct tb_app app;
	size_t n_routes;
	const struct tb_route *routes = tb_api_routes(&n_routes);
	tb_app_init(&app, cfg, routes, n_routes);
	if (cgi)
		tb_server_cgi_once(&app, env_param, NULL, STDIN_FILENO, STDOUT_FILENO);
	else
		tb_server_fcgi_loop(&app, fd);
	tb_app_free(&app);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.check)
		return check_config(a.check);
	struct tb_config cfg;
	if (!load_config(&cfg, a.conf))
		return 1;
	rc = serve(&cfg, a.listen_path, a.workers);
	tb_config_free(&cfg);
	return rc;
}
