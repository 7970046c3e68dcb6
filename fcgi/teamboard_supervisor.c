/* teamboard-supervisor: the supervisor as its own daemon (one active per database; start one or
 * more, e.g. one per web host, and the others stand by). Everything but option parsing and signal
 * set-up lives in lib/tb_supervisor.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tb_config.h"
#include "tb_log.h"
#include "tb_supervisor.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: teamboard-supervisor [--config FILE] [--once]\n"
	        "  --config FILE   configuration (default: $TEAMBOARD_CONF, else %s/teamboard.conf)\n"
	        "  --once          run one cycle and exit: 0 done as leader, 3 another supervisor leads,\n"
	        "                  1 database error\n",
	        TB_SYSCONFDIR);
}

static int run_once(const struct tb_config *cfg)
{
	struct tb_supervisor sv;
	struct tb_supervisor_report rep;
	tb_supervisor_init(&sv, cfg);
	enum tb_err err = tb_supervisor_cycle(&sv, &rep);
	tb_supervisor_free(&sv);
	if (err)
		return 1;
	return rep.leader ? 0 : 3;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf = getenv("TEAMBOARD_CONF");
	int once = 0, c;
	while ((c = getopt_long(argc, argv, "c:oh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'o': once = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (conf == NULL || *conf == '\0')
		conf = TB_SYSCONFDIR "/teamboard.conf";

	struct tb_config cfg;
	char err[512];
	tb_log_set_program("teamboard-supervisor");
	if (tb_config_load(&cfg, conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-supervisor: %s\n", err);
		if (cfg.log_file && tb_log_open_file(cfg.log_file))
			TB_LOG(TB_LOG_ERROR, "%s", err);
		tb_config_free(&cfg);
		return 1;
	}
	tb_log_set_level(cfg.log_level);
	if (cfg.log_file)
		tb_log_open_file(cfg.log_file);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int rc = 0;
	if (once)
		rc = run_once(&cfg);
	else
		tb_supervisor_run(&cfg, &stop);
	tb_config_free(&cfg);
	return rc;
}
