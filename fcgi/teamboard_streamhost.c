/* teamboard-streamhost: the stream host (issue 13), a program of its own beside teamboard.fcgi.
 * It holds many live streams of GET /api/v1/boards/N/events in one process (lib/tb_host.c: an
 * epoll loop speaking FastCGI itself, one LISTEN connection, one query connection) on the stream
 * socket a web server reaches as an external FastCGI backend (lighttpd: "socket" without
 * "bin-path"; Apache: mod_proxy_fcgi). A program of its own rather than teamboard.fcgi
 * --stream-host: the worker stays exactly what mod_fcgid, the .htaccess web space and CGI run
 * (libfcgi's accept loop, one request at a time, no threads), and the host's process is told
 * apart by its name in ps, the logs and a systemd unit. It reads teamboard.conf as the worker
 * does. Several may share one socket (--fd N: a socket inherited from a parent or systemd);
 * each accepts with EPOLLEXCLUSIVE, so a connection wakes one of them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tb_config.h"
#include "tb_host.h"
#include "tb_log.h"
#include "tb_metrics.h"

/* An inherited socket (--fd) as the loop needs it: a listening socket, non-blocking. systemd
 * passes a blocking one unless the unit says NonBlocking=yes; with it the loop's accept4() after
 * a connection another process took (EPOLLEXCLUSIVE wakes one or more of them) would block the
 * whole process, and its streams with it. O_NONBLOCK is shared by every process holding the
 * socket, which is what they all need. */
static bool inherited_ready(int fd)
{
	int listening = 0;
	socklen_t len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
		fprintf(stderr, "teamboard-streamhost: --fd %d is not a listening socket\n", fd);
		return false;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "teamboard-streamhost: --fd %d: %s\n", fd, strerror(errno));
		return false;
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: teamboard-streamhost [--config FILE] (--listen SOCKET | --fd N)\n"
	        "  --config FILE   configuration (default: $TEAMBOARD_CONF, else %s/teamboard.conf)\n"
	        "  --listen SOCKET create this Unix socket and serve streams on it\n"
	        "  --fd N          serve streams on the listening socket N (inherited)\n",
	        TB_SYSCONFDIR);
}

struct args {
	const char *conf, *listen_path;
	int fd;
};

/* Parses the options into a; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"fd", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*a = (struct args){.conf = getenv("TEAMBOARD_CONF"), .fd = -1};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "c:l:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->conf = optarg; break;
		case 'l': a->listen_path = optarg; break;
		case 'f':
			errno = 0;
			a->fd = (int)strtol(optarg, &end, 10);
			if (errno || *end || a->fd < 0 || end == optarg) {
				fprintf(stderr, "teamboard-streamhost: --fd must be a descriptor number\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (a->listen_path == NULL) == (a->fd < 0)) {
		usage(stderr);
		return 2;
	}
	if (a->conf == NULL || *a->conf == '\0')
		a->conf = TB_SYSCONFDIR "/teamboard.conf";
	return -1;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	struct tb_config cfg;
	char err[512];
	tb_log_set_program("teamboard-streamhost");
	if (tb_config_load(&cfg, a.conf, err, sizeof err) != TB_OK) {
		fprintf(stderr, "teamboard-streamhost: %s\n", err);
		tb_config_free(&cfg);
		return 1;
	}
	tb_log_set_level(cfg.log_level);
	if (cfg.log_file)
		tb_log_open_file(cfg.log_file);
	tb_metrics_open(&cfg);
	signal(SIGPIPE, SIG_IGN);
	int fd = a.fd;
	bool ready = a.listen_path ? tb_host_listen(a.listen_path, &fd) == TB_OK : inherited_ready(fd);
	rc = ready ? tb_host_run(&cfg, fd) : 1;
	if (fd >= 0)
		close(fd);
	tb_config_free(&cfg);
	return rc;
}
