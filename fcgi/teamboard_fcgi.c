/* teamboard.fcgi: the worker. Spawned by a web server it serves FastCGI on fd 0; with --listen it
 * runs its own prefork pool on a Unix socket; started as a plain CGI program it answers one
 * request. Everything but choosing among these lives in lib/. */
#include <fcgiapp.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tb_app.h"
#include "tb_config.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_server.h"
#include "tb_supervisor.h"

static const char *env_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: teamboard.fcgi [--config FILE] [--listen SOCKET --workers N]\n"
	           "  --config FILE   configuration (default: $TEAMBOARD_CONF, else %s/teamboard.conf)\n"
	           "  --listen SOCKET run a prefork FastCGI pool on this Unix socket\n"
	           "  --workers N     number of workers in the pool (default 4)\n",
	        TB_SYSCONFDIR);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"workers", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf = getenv("TEAMBOARD_CONF"), *listen_path = NULL;
	int workers = 4, c;
	while ((c = getopt_long(argc, argv, "c:l:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'l': listen_path = optarg; break;
		case 'w':
			workers = atoi(optarg);
			if (workers < 1 || workers > 10000) {
				fprintf(stderr, "teamboard.fcgi: --workers must be 1 to 10000\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (conf == NULL || *conf == '\0')
		conf = TB_SYSCONFDIR "/teamboard.conf";

	struct tb_config cfg;
	char err[512];
	if (tb_config_load(&cfg, conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard.fcgi: %s\n", err);
		tb_config_free(&cfg);
		return 1;
	}
	tb_log_set_level(cfg.log_level);
	tb_metrics_open(&cfg);
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
		if (tb_server_prefork(listen_path, workers, &fd) != TB_OK) {
			tb_config_free(&cfg);
			return 1;
		}
		if (fd < 0) { /* the pool's parent, after shutdown */
			tb_config_free(&cfg);
			return 0;
		}
	}
	bool cgi = !listen_path && FCGX_IsCGI();
	/* One candidate per worker; they queue on a flock, so one per host connects. Not as CGI:
	 * the process ends after one request. Before tb_app_init: the child must not share our
	 * database connection. */
	if (cfg.supervisor == TB_SUPERVISOR_AUTO && !cgi)
		tb_supervisor_auto_start(&cfg, fd);
	struct tb_app app;
	tb_app_init(&app, &cfg);
	if (cgi)
		tb_server_cgi_once(&app, env_param, NULL, STDIN_FILENO, STDOUT_FILENO);
	else
		tb_server_fcgi_loop(&app, fd);
	tb_app_free(&app);
	tb_config_free(&cfg);
	return 0;
}
