/* tb_server: FastCGI, CGI and the prefork pool. Nothing here knows a route: requests are turned
 * into struct tb_req, answered by tb_app_handle, and the struct tb_resp is written back. */
#include "tb_server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_auth.h"
#include "tb_log.h"
#include "tb_metrics.h"

static unsigned long next_request_id(void)
{
	static unsigned long n;
	return ((unsigned long)getpid() << 20) + ++n;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time limits of one request (docs/deploy.md, "Limits against hostile clients"): the whole
 * body must have come by body_deadline, and each write or flush may block write_ms in all. A
 * worker never waits on a client without one of them. */
struct limits {
	int64_t body_deadline; /* now_ms() clock */
	int64_t write_ms;
	bool read_timed_out; /* the answer becomes 408 */
	bool write_failed;   /* nothing more is written: the output may end inside a record */
};

static void limits_start(struct limits *lim, const struct tb_config *cfg)
{
	*lim = (struct limits){now_ms() + (int64_t)cfg->body_timeout * 1000, (int64_t)cfg->write_timeout * 1000, false,
	                       false};
}

/* Milliseconds left until deadline; 0 when it has passed. */
static int64_t left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return left > 0 ? left : 0;
}

/* Writes the response head and body through io. False when the client did not read it within
 * write_timeout (the web server in front may still hold this process for a while). */
static bool send_resp(const struct tb_io *io, const struct tb_resp *resp)
{
	if (resp->streamed)
		return true;
	struct tb_buf head = {0};
	tb_resp_head(resp, &head);
	bool timed_out = false;
	if (io->write(io->ctx, head.data, head.len) < 0 ||
	    (resp->body.len && io->write(io->ctx, resp->body.data, resp->body.len) < 0) || io->flush(io->ctx) < 0) {
		timed_out = errno == ETIMEDOUT;
		TB_LOG(TB_LOG_INFO, "%s before the response was written",
		       timed_out ? "the client did not read within write_timeout" : "the client went away");
	}
	tb_buf_free(&head);
	return !timed_out;
}

/* A REST reply over TB_SERVER_LARGE_REPLY may hold this process until the client has read it:
 * Apache + mod_fcgid passes replies on unbuffered (FcgidOutputBufferSize 0, which streams need),
 * and so does CGI. So at most max_large_replies_per_address of them are written at once per
 * client address (an IPv6 one by its /64) on this host, and at most max_large_replies in all,
 * counted in the shared held table; one more is answered 503 busy at once, without its body. The
 * slot's deadline, set now, covers the longest send_resp may take (head, body and flush, each up
 * to write_timeout) and reply_linger after it: were the process killed meanwhile, or
 * its pid reused, the slot still counts until then. True when a slot was claimed (the caller
 * releases it); without the shared table there is no cap. */
static bool claim_large_reply(const struct tb_config *cfg, const struct tb_req *req, struct tb_resp *resp,
                              const struct limits *lim)
{
	if (resp->streamed || resp->body.len <= TB_SERVER_LARGE_REPLY ||
	    (cfg->max_large_replies_per_address <= 0 && cfg->max_large_replies <= 0))
		return false;
	char key[64];
	tb_auth_address_key(req->remote_addr, key, sizeof key);
	enum tb_err err = tb_metrics_hold_reply(key, cfg->max_large_replies_per_address, cfg->max_large_replies,
	                                        3 * lim->write_ms + TB_SERVER_REPLY_LINGER_MS(cfg));
	if (err == TB_ERR_TOO_LARGE) {
		tb_metrics_add(TB_M_LARGE_REPLIES_REFUSED, 1);
		tb_resp_error(resp, 503, "busy",
		              "too many large replies are being sent at once; try again after Retry-After");
		tb_resp_set_header(resp, "Retry-After", "1");
	}
	return err == TB_OK;
}

static void serve(struct tb_app *app, tb_param_fn get, void *ctx, const struct tb_io *io, struct limits *lim)
{
	tb_log_set_request(next_request_id());
	tb_metrics_unhold(); /* a large reply's lingering slot: the web server gave us a new request */
	limits_start(lim, app->cfg);
	struct tb_req req;
	struct tb_resp resp;
	tb_resp_init(&resp);
	if (tb_req_init(&req, get, ctx, io) != TB_OK)
		tb_resp_error(&resp, 400, "bad_request", "REQUEST_METHOD or REQUEST_URI missing");
	else
		tb_app_handle(app, &req, &resp);
	if (lim->read_timed_out && !resp.streamed) {
		/* Whatever the handler made of the cut-off body: the transport's deadline passed. */
		tb_resp_error(&resp, 408, "timeout", "the request body did not arrive within body_timeout");
		tb_resp_set_header(&resp, "Connection", "close");
	}
	bool large = claim_large_reply(app->cfg, &req, &resp, lim);
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
	bool written = send_resp(io, &resp);
	if (large && !written)
		tb_metrics_linger(TB_SERVER_REPLY_LINGER_MS(app->cfg)); /* Apache holds the client until its Timeout */
	else if (large)
		tb_metrics_unhold(); /* taken whole, or the client is gone */
	tb_resp_free(&resp);
	tb_req_free(&req);
	tb_log_set_request(0);
}

/* ---- FastCGI ----
 * libfcgi reads and writes its connection with plain blocking read() and write(), inside
 * FCGX_GetStr and FCGX_PutStr/FCGX_FFlush. A non-blocking descriptor would turn EAGAIN into a
 * broken stream, so every libfcgi call that may reach a syscall gets at most one syscall's worth
 * of work, with SO_RCVTIMEO / SO_SNDTIMEO set just before it to the time left:
 * - reads: what libfcgi has buffered is taken without a syscall; otherwise FCGX_GetStr asks for ONE
 *   byte, so it reads only until a record brings content (asking for more would make it read on
 *   while a trickling client keeps every single read() short of the timeout);
 * - writes: data goes into libfcgi's buffer only as far as it has room, and a full buffer is sent
 *   with FCGX_FFlush, one record of at most 8 KB: on a Unix socket one skb, which is sent whole
 *   or not at all within the timeout.
 * After a timeout the stream is broken: SO_SNDTIMEO drops to 10 ms, so the end-of-request records
 * FCGX_Finish_r still tries to send fail at once instead of blocking on the full socket. */

struct fcgi_io {
	FCGX_Request *r;
	struct limits lim;
};

static void set_timeout(int fd, int opt, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) != 0)
		TB_LOG(TB_LOG_WARN, "setsockopt(SO_%sTIMEO): %s", opt == SO_RCVTIMEO ? "RCV" : "SND", strerror(errno));
}

static const char *fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((struct fcgi_io *)ctx)->r->envp);
}

static ssize_t fcgi_read(void *ctx, char *buf, size_t len)
{
	struct fcgi_io *f = ctx;
	FCGX_Stream *in = f->r->in;
	if (len > 65536)
		len = 65536;
	size_t buffered = (size_t)(in->stop - in->rdNext);
	if (buffered && !in->isClosed)
		return FCGX_GetStr(buf, (int)(len < buffered ? len : buffered), in);
	int64_t left = left_ms(f->lim.body_deadline);
	if (left == 0 || f->lim.read_timed_out) {
		f->lim.read_timed_out = true;
		errno = ETIMEDOUT;
		return -1;
	}
	set_timeout(f->r->ipcFd, SO_RCVTIMEO, left);
	int n = FCGX_GetStr(buf, 1, in);
	if (n == 1) {
		buffered = (size_t)(in->stop - in->rdNext);
		if (len > 1 && buffered)
			n += FCGX_GetStr(buf + 1, (int)(len - 1 < buffered ? len - 1 : buffered), in);
		return n;
	}
	int err = FCGX_GetError(in);
	if (err == EAGAIN || err == EWOULDBLOCK) {
		f->lim.read_timed_out = true;
		errno = ETIMEDOUT;
		return -1;
	}
	if (err > 0) {
		errno = err;
		return -1;
	}
	return 0; /* the end of the input (or the web server broke it off: a short body) */
}

/* Sends one full buffer of libfcgi's within the time left; false (errno set) when it failed. */
static bool fcgi_send_buffer(struct fcgi_io *f, int64_t deadline)
{
	FCGX_Stream *out = f->r->out;
	int64_t left = left_ms(deadline);
	if (left == 0) {
		errno = ETIMEDOUT;
		return false;
	}
	set_timeout(f->r->ipcFd, SO_SNDTIMEO, left);
	if (FCGX_FFlush(out) == 0 && !out->isClosed)
		return true;
	int err = FCGX_GetError(out); /* an errno value, or a negative FCGX_ code */
	errno = err == EAGAIN || err == EWOULDBLOCK ? ETIMEDOUT : err > 0 ? err : EPIPE;
	return false;
}

static void fcgi_broken(struct fcgi_io *f)
{
	int saved = errno;
	f->lim.write_failed = true;
	set_timeout(f->r->ipcFd, SO_SNDTIMEO, 10);
	errno = saved;
}

static ssize_t fcgi_write(void *ctx, const char *buf, size_t len)
{
	struct fcgi_io *f = ctx;
	FCGX_Stream *out = f->r->out;
	if (f->lim.write_failed || out->isClosed) {
		errno = EPIPE;
		return -1;
	}
	int64_t deadline = now_ms() + f->lim.write_ms;
	size_t done = 0;
	while (done < len) {
		size_t room = (size_t)(out->stop - out->wrNext);
		if (room == 0) {
			if (!fcgi_send_buffer(f, deadline)) {
				fcgi_broken(f);
				return -1;
			}
			continue;
		}
		size_t n = len - done < room ? len - done : room;
		if (FCGX_PutStr(buf + done, (int)n, out) != (int)n) {
			errno = EPIPE;
			fcgi_broken(f);
			return -1;
		}
		done += n;
	}
	return (ssize_t)len;
}

static int fcgi_flush(void *ctx)
{
	struct fcgi_io *f = ctx;
	if (f->lim.write_failed || f->r->out->isClosed) {
		errno = EPIPE;
		return -1;
	}
	if (!fcgi_send_buffer(f, now_ms() + f->lim.write_ms)) {
		fcgi_broken(f);
		return -1;
	}
	return 0;
}

void tb_server_fcgi_loop(struct tb_app *app, int listen_fd)
{
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		TB_LOG(TB_LOG_ERROR, "FCGX_InitRequest failed");
		return;
	}
	struct fcgi_io f = {&fr, {0}};
	while (FCGX_Accept_r(&fr) >= 0) {
		struct tb_io io = {&f, fcgi_read, fcgi_write, fcgi_flush, fr.ipcFd, POLLIN | POLLRDHUP};
		serve(app, fcgi_param, &f, &io, &f.lim);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
}

/* ---- CGI ----
 * stdin and stdout are a pipe or a socket (mod_cgid: one socket for both). Reads wait in poll()
 * for the time left of the body deadline; writes are non-blocking (send with MSG_DONTWAIT on a
 * socket, O_NONBLOCK on a pipe, restored before returning) and wait in poll() for write_timeout. */

struct cgi_io {
	int in, out;
	bool out_is_socket;
	struct limits lim;
};

/* poll() on fd for events until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = left_ms(deadline);
		if (left == 0)
			return 0;
		struct pollfd p = {fd, events, 0};
		int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		return rc < 0 ? -1 : rc > 0;
	}
}

static ssize_t cgi_read(void *ctx, char *buf, size_t len)
{
	struct cgi_io *c = ctx;
	for (;;) {
		int rc = wait_fd(c->in, POLLIN, c->lim.body_deadline);
		if (rc == 0) {
			c->lim.read_timed_out = true;
			errno = ETIMEDOUT;
		}
		if (rc <= 0)
			return -1;
		ssize_t n = read(c->in, buf, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		return n;
	}
}

static ssize_t cgi_write(void *ctx, const char *buf, size_t len)
{
	struct cgi_io *c = ctx;
	if (c->lim.write_failed) {
		errno = EPIPE;
		return -1;
	}
	int64_t deadline = now_ms() + c->lim.write_ms;
	size_t done = 0;
	while (done < len) {
		ssize_t n = c->out_is_socket ? send(c->out, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL)
					     : write(c->out, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(c->out, POLLOUT, deadline);
			if (rc > 0)
				continue;
			if (rc == 0)
				errno = ETIMEDOUT;
		}
		c->lim.write_failed = true;
		return -1;
	}
	return (ssize_t)len;
}

static int cgi_flush(void *ctx)
{
	(void)ctx;
	return 0; /* writes go straight to the descriptor */
}

/* Reads what is left of the request body (at most 16 MiB, 2 s of silence or 5 s in all end it).
 * Under mod_cgid the body and the answer share one socket, and closing it with unread bytes makes
 * Linux reset it: the answer to a refused request (401, 413, ...) would be lost. */
static void cgi_drain(int fd)
{
	char buf[8192];
	size_t total = 0;
	int64_t end = now_ms() + 5000;
	while (total < ((size_t)16 << 20)) {
		int64_t silence = now_ms() + 2000;
		if (wait_fd(fd, POLLIN, silence < end ? silence : end) <= 0)
			return;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

void tb_server_cgi_once(struct tb_app *app, tb_param_fn get, void *ctx, int in_fd, int out_fd)
{
	struct stat st;
	struct cgi_io cio = {in_fd, out_fd, fstat(out_fd, &st) == 0 && S_ISSOCK(st.st_mode), {0}};
	/* A pipe has no per-call MSG_DONTWAIT. Its flags are shared with whoever else holds it (the
	 * wrapper script), so they are restored below. */
	int flags = cio.out_is_socket ? -1 : fcntl(out_fd, F_GETFL);
	if (flags >= 0)
		fcntl(out_fd, F_SETFL, flags | O_NONBLOCK);
	struct tb_io io = {&cio, cgi_read, cgi_write, cgi_flush, out_fd, 0};
	serve(app, get, ctx, &io, &cio.lim);
	if (flags >= 0)
		fcntl(out_fd, F_SETFL, flags);
	cgi_drain(in_fd);
}

/* ---- prefork pool ----
 * The parent keeps SIGTERM, SIGINT and SIGCHLD blocked and takes them with sigtimedwait(), so a
 * signal that comes between its checks and its wait stays pending and ends the wait: it cannot be
 * missed (with a handler and a blocking waitpid() a SIGTERM there was lost until the next child
 * died). teamboard.fcgi blocks SIGTERM and SIGINT before FCGX_Init, whose own SIGTERM handler would
 * otherwise take a SIGTERM sent during start-up. */

static void on_child(int sig)
{
	(void)sig; /* a handler, not SIG_IGN: with SIG_IGN the kernel would reap the children itself */
}

static pid_t spawn(const sigset_t *set)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* SIG_DFL also drops libfcgi's SIGTERM handler (FCGX_Init's), which only flags a shutdown
		 * and would leave a worker waiting in accept() */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, set, NULL);
	}
	return pid;
}

/* Forgets a reaped worker (a pid that is not one of them is ignored). */
static void reaped(pid_t *pids, int workers, pid_t dead, int status, bool stopping)
{
	for (int i = 0; i < workers; i++) {
		if (pids[i] != dead)
			continue;
		pids[i] = 0;
		if (!stopping && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)) {
			TB_LOG(TB_LOG_WARN, "worker %ld ended (%s %d); starting another", (long)dead,
			       WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			sleep(1); /* no tight crash loop (signals stay pending meanwhile) */
		}
	}
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
	sigset_t set, old_mask;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	struct sigaction sa = {0}, old_chld;
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old_chld);
	TB_LOG(TB_LOG_INFO, "pool of %d workers listening on %s", workers, path);
	time_t last_spawn_failure = 0;
	bool stopping = false;
	while (!stopping) {
		int status;
		pid_t dead;
		while ((dead = waitpid(-1, &status, WNOHANG)) > 0)
			reaped(pids, workers, dead, status, false);
		bool fork_failed = false;
		for (int i = 0; i < workers; i++) {
			if (pids[i] > 0)
				continue;
			pid_t pid = spawn(&set);
			if (pid == 0) {
				free(pids);
				*child_fd = fd;
				return TB_OK;
			}
			if (pid < 0) {
				fork_failed = true;
				if (time(NULL) != last_spawn_failure) {
					last_spawn_failure = time(NULL);
					TB_LOG(TB_LOG_ERROR, "fork failed: %s", strerror(errno));
				}
			}
			pids[i] = pid > 0 ? pid : 0;
		}
		/* Wait for a signal; after a failed fork, at most a second before trying again. */
		struct timespec retry = {1, 0};
		int sig = sigtimedwait(&set, NULL, fork_failed ? &retry : NULL);
		stopping = sig == SIGTERM || sig == SIGINT;
	}
	for (int i = 0; i < workers; i++) {
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	}
	for (int i = 0; i < workers; i++) {
		while (pids[i] > 0 && waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0) /* anything else that ended */
		;
	free(pids);
	close(fd);
	unlink(path);
	sigaction(SIGCHLD, &old_chld, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	TB_LOG(TB_LOG_INFO, "pool stopped");
	return TB_OK;
}
