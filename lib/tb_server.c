/* tb_server: FastCGI, CGI and the prefork pool. Nothing here knows a route: requests are turned
 * into struct tb_req, answered by tb_app_handle, and the struct tb_resp is written back. */
#include "tb_server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_log.h"

static unsigned long next_request_id(void)
{
	static unsigned long n;
	return ((unsigned long)getpid() << 20) + ++n;
}

/* Writes the response head and body through io. */
static void send_resp(const struct tb_io *io, const struct tb_resp *resp)
{
	if (resp->streamed)
		return;
	struct tb_buf head = {0};
	tb_resp_head(resp, &head);
	if (io->write(io->ctx, head.data, head.len) < 0 ||
	    (resp->body.len && io->write(io->ctx, resp->body.data, resp->body.len) < 0))
		TB_LOG(TB_LOG_INFO, "client went away before the response was written");
	else
		io->flush(io->ctx);
	tb_buf_free(&head);
}

static void serve(struct tb_app *app, tb_param_fn get, void *ctx, const struct tb_io *io)
{
	tb_log_set_request(next_request_id());
	struct tb_req req;
	struct tb_resp resp;
	tb_resp_init(&resp);
	if (tb_req_init(&req, get, ctx, io) != TB_OK)
		tb_resp_error(&resp, 400, "bad_request", "REQUEST_METHOD or REQUEST_URI missing");
	else
		tb_app_handle(app, &req, &resp);
	if (resp.status >= 500)
		TB_LOG(TB_LOG_WARN, "%s %s -> %d", req.method_name ? req.method_name : "?", req.path ? req.path : "?",
		       resp.status);
	else
		TB_LOG(TB_LOG_DEBUG, "%s %s -> %d", req.method_name, req.path, resp.status);
	if (!resp.streamed && resp.status != 204 && resp.status != 304) {
		/* A length lets the web server pass the body on whole instead of chunked. */
		char len[24];
		snprintf(len, sizeof len, "%zu", resp.body.len);
		tb_resp_set_header(&resp, "Content-Length", len);
	}
	send_resp(io, &resp);
	tb_resp_free(&resp);
	tb_req_free(&req);
	tb_log_set_request(0);
}

/* ---- FastCGI ---- */

static const char *fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static ssize_t fcgi_read(void *ctx, char *buf, size_t len)
{
	FCGX_Request *r = ctx;
	int n = FCGX_GetStr(buf, (int)(len > 65536 ? 65536 : len), r->in);
	return n < 0 ? -1 : n;
}

static ssize_t fcgi_write(void *ctx, const char *buf, size_t len)
{
	FCGX_Request *r = ctx;
	int n = FCGX_PutStr(buf, (int)len, r->out);
	return n < 0 || (size_t)n != len ? -1 : n;
}

static int fcgi_flush(void *ctx)
{
	return FCGX_FFlush(((FCGX_Request *)ctx)->out) < 0 ? -1 : 0;
}

void tb_server_fcgi_loop(struct tb_app *app, int listen_fd)
{
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		TB_LOG(TB_LOG_ERROR, "FCGX_InitRequest failed");
		return;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		struct tb_io io = {&fr, fcgi_read, fcgi_write, fcgi_flush, fr.ipcFd, POLLIN | POLLRDHUP};
		serve(app, fcgi_param, &fr, &io);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
}

/* ---- CGI ---- */

struct cgi_io {
	int in, out;
};

static ssize_t cgi_read(void *ctx, char *buf, size_t len)
{
	ssize_t n;
	do
		n = read(((struct cgi_io *)ctx)->in, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static ssize_t cgi_write(void *ctx, const char *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(((struct cgi_io *)ctx)->out, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

static int cgi_flush(void *ctx)
{
	(void)ctx;
	return 0; /* writes go straight to the descriptor */
}

/* Reads what is left of the request body (at most 16 MiB, 2 s of silence ends it). Under
 * mod_cgid the body and the answer share one socket, and closing it with unread bytes makes Linux
 * reset it: the answer to a refused request (401, 413, ...) would be lost. */
static void cgi_drain(int fd)
{
	char buf[8192];
	size_t total = 0;
	while (total < ((size_t)16 << 20)) {
		struct pollfd p = {fd, POLLIN, 0};
		int rc = poll(&p, 1, 2000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

void tb_server_cgi_once(struct tb_app *app, tb_param_fn get, void *ctx, int in_fd, int out_fd)
{
	struct cgi_io cio = {in_fd, out_fd};
	struct tb_io io = {&cio, cgi_read, cgi_write, cgi_flush, out_fd, 0};
	serve(app, get, ctx, &io);
	cgi_drain(in_fd);
}

/* ---- prefork pool ---- */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static pid_t spawn(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
	}
	return pid;
}

enum tb_err tb_server_prefork(const char *path, int workers, int *child_fd)
{
	*child_fd = -1;
	unlink(path); /* a socket left by a pool that did not stop cleanly */
	mode_t old = umask(0117);
	int fd = FCGX_OpenSocket(path, 1024);
	umask(old);
	if (fd < 0) {
		TB_LOG(TB_LOG_ERROR, "cannot listen on %s", path);
		return TB_ERR_IO;
	}
	pid_t *pids = tb_xcalloc((size_t)workers, sizeof *pids);
	struct sigaction sa = {0};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	TB_LOG(TB_LOG_INFO, "pool of %d workers listening on %s", workers, path);
	time_t last_spawn_failure = 0;
	while (!stopping) {
		for (int i = 0; i < workers && !stopping; i++) {
			if (pids[i] > 0)
				continue;
			pid_t pid = spawn();
			if (pid == 0) {
				free(pids);
				*child_fd = fd;
				return TB_OK;
			}
			if (pid < 0 && time(NULL) != last_spawn_failure) {
				last_spawn_failure = time(NULL);
				TB_LOG(TB_LOG_ERROR, "fork failed: %s", strerror(errno));
			}
			pids[i] = pid;
		}
		int status;
		pid_t dead = waitpid(-1, &status, 0);
		if (dead < 0) {
			if (errno != EINTR)
				sleep(1); /* nothing to wait for: a fork failed; try again */
			continue;
		}
		for (int i = 0; i < workers; i++) {
			if (pids[i] == dead) {
				pids[i] = 0;
				if (!stopping && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)) {
					TB_LOG(TB_LOG_WARN, "worker %ld ended (%s %d); starting another", (long)dead,
					       WIFSIGNALED(status) ? "signal" : "status",
					       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
					sleep(1); /* no tight crash loop */
				}
			}
		}
	}
	for (int i = 0; i < workers; i++) {
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	}
	for (int i = 0; i < workers; i++) {
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	}
	free(pids);
	close(fd);
	unlink(path);
	TB_LOG(TB_LOG_INFO, "pool stopped");
	return TB_OK;
}
