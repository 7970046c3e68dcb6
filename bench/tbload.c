/* tbload: Teamboard's load generator. One thread and one epoll set hold thousands of Server-Sent
 * Events streams (HTTP/1.1 with chunked bodies, or HTTP/2 over cleartext with prior knowledge),
 * a small pool of keep-alive writer connections, and stdin, on which bench/tbbench.py sends one
 * command per line. Each command answers with one JSON line on stdout when it is done.
 *
 *   target HOST PORT                       where the web server listens (loopback only)
 *   load FILE                              "board token" pairs, one a line: the streams' plan
 *   open G FROM N PROTO RATE TIMEOUT_MS [RETRIES]
 *                                          open streams for pairs FROM..FROM+N-1 into group G,
 *                                          RATE per second (0: at once), PROTO h1 or h2; a stream
 *                                          refused with 503 is tried again 2 s later, RETRIES times
 *                                          (default 0); done when each has its hello or failed
 *   settle MAX_MS QUIET_MS                 run until no event arrived for QUIET_MS (or MAX_MS)
 *   write G FILE INTERVAL_MS CONC TAG WAIT_MS LIVE_MS
 *                                          one POST /boards/B/items {"text":"TAG-k"} per line
 *                                          "board token" of FILE, INTERVAL_MS apart (0: as fast as
 *                                          CONC connections go); every stream of G on board B
 *                                          that had its hello before write k was sent expects
 *                                          the event; waits WAIT_MS after the last write at most;
 *                                          latencies from the write's sending (p50_ms...) and from
 *                                          its answer (ans_p50_ms...; < 0: the event came first);
 *                                          streams_missing: streams that lack one of theirs,
 *                                          streams_unexpected: streams no write was for
 *   close G MODE                           close, rst (TCP RST) or h2rst (RST_STREAM, the TCP
 *                                          connection stays until "drop")
 *   drop G                                 close whatever is left of group G
 *   resume BOARD TOKEN LAST_ID N TIMEOUT_MS PROTO
 *                                          one stream with Last-Event-ID: time until the N events
 *                                          after LAST_ID have been parsed, missed, duplicated
 *   pids G                                 (nothing to do with processes: counts per state)
 *   quit
 * Times are CLOCK_MONOTONIC milliseconds, the clock Python's time.monotonic() reads.
 * Every wait is bounded by the command's own timeout; the program ends on EOF of stdin. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 20000
#define MAX_WRITERS 64

enum kind { K_STREAM, K_WRITER };
enum proto { H1, H2 };
enum state { S_CONNECTING, S_HEAD, S_BODY, S_IDLE, S_RESET, S_DONE, S_FAILED };

struct buf {
	char *p;
	size_t len, cap;
};

struct conn {
	int fd;
	enum kind kind;
	enum proto proto;
	enum state state;
	int group; /* -1: none */
	int64_t board;
	const char *token;
	int64_t last_event_id; /* -1: none */
	struct buf out, in;
	/* HTTP/1.1 response */
	int status;
	bool chunked;
	long long body_left;  /* writer: Content-Length still to read; -1 unknown */
	long long chunk_left; /* -1: expecting a size line; -2: expecting the CRLF after data */
	/* SSE */
	struct buf line, data;
	char ev_type[64];
	int64_t ev_id;
	bool ev_has_id;
	/* times (ms) */
	double t_open, t_hello;
	int64_t hello_id;
	char fail[48];
	/* write expectations: latency per write of the running write command (-1: none) */
	float *lat;
	int dups;
	/* resume */
	bool resume;
	int64_t r_last;
	int r_got, r_dup, r_missed;
	double t_last;
	/* writer */
	int w_idx; /* write in flight, -1 none */
	double t_sent;
};

static int ep;
static char host[64] = "127.0.0.1";
static int port = 8080;
static struct conn *conns[MAX_CONNS];
static int n_conns;
static struct {
	int64_t *board;
	char **token;
	int n;
} plan;
static long events_seen;
static double last_event_t;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "tbload: out of memory\n");
		abort();
	}
	return p;
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	if (b->p)
		b->p[b->len] = '\0';
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* ---- the running write command ---- */

static struct {
	bool active;
	int group, n, next, conc, done_resp;
	int64_t *board;
	char **token;
	double *sent, *resp;
	int *status;
	char tag[32];
	size_t taglen;
	double t0, interval, last_sent_t, wait, live;
	struct conn *writers[MAX_WRITERS];
	int n_writers;
} W;

/* ---- connections ---- */

static void set_events(struct conn *c)
{
	struct epoll_event e = {.events =
	                                EPOLLIN | EPOLLRDHUP | (c->out.len || c->state == S_CONNECTING ? EPOLLOUT : 0),
	                        .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_fail(struct conn *c, const char *why)
{
	if (c->state != S_FAILED && c->state != S_DONE) {
		snprintf(c->fail, sizeof c->fail, "%s", why);
		c->state = S_FAILED;
	}
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	buf_free(&c->out);
	buf_free(&c->in);
}

static struct conn *conn_new(enum kind kind, enum proto proto, int group)
{
	if (n_conns >= MAX_CONNS)
		return NULL;
	struct conn *c = calloc(1, sizeof *c);
	c->kind = kind;
	c->proto = proto;
	c->group = group;
	c->fd = -1;
	c->last_event_id = -1;
	c->chunk_left = -1;
	c->w_idx = -1;
	c->t_open = now_ms();
	conns[n_conns++] = c;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(c->fail, sizeof c->fail, "socket_%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
		c->state = S_FAILED;
		return c;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &a.sin_addr);
	c->fd = fd;
	c->state = S_CONNECTING;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
		char why[48];
		snprintf(why, sizeof why, "connect_%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
		close(fd);
		c->fd = -1;
		conn_fail(c, why);
		return c;
	}
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	return c;
}

static void conn_send(struct conn *c, const void *p, size_t n)
{
	buf_add(&c->out, p, n);
	if (c->state != S_CONNECTING && c->fd >= 0) {
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
		else if (w < 0 && errno != EAGAIN) {
			conn_fail(c, "send");
			return;
		}
		set_events(c);
	}
}

/* ---- HTTP/2 (cleartext, prior knowledge): just enough for one GET stream per connection ---- */

static void h2_frame(struct conn *c, int type, int flags, uint32_t stream, const void *payload, size_t n)
{
	unsigned char h[9] = {
		(unsigned char)(n >> 16),      (unsigned char)(n >> 8),      (unsigned char)n,
		(unsigned char)type,           (unsigned char)flags,         (unsigned char)(stream >> 24),
		(unsigned char)(stream >> 16), (unsigned char)(stream >> 8), (unsigned char)stream};
	buf_add(&c->out, h, 9);
	if (n)
		buf_add(&c->out, payload, n);
}

/* HPACK integer with an n-bit prefix (RFC 7541 5.1). */
static void hp_int(struct buf *b, unsigned first, int bits, size_t v)
{
	size_t max = (1u << bits) - 1;
	unsigned char ch;
	if (v < max) {
		ch = (unsigned char)(first | v);
		buf_add(b, &ch, 1);
		return;
	}
	ch = (unsigned char)(first | max);
	buf_add(b, &ch, 1);
	v -= max;
	while (v >= 128) {
		ch = (unsigned char)((v & 127) | 128);
		buf_add(b, &ch, 1);
		v >>= 7;
	}
	ch = (unsigned char)v;
	buf_add(b, &ch, 1);
}

static void hp_str(struct buf *b, const char *s)
{
	hp_int(b, 0, 7, strlen(s));
	buf_add(b, s, strlen(s));
}

/* Literal header field without indexing, name from the static table (index) or new (0). */
static void hp_field(struct buf *b, size_t index, const char *name, const char *value)
{
	hp_int(b, 0, 4, index);
	if (index == 0)
		hp_str(b, name);
	hp_str(b, value);
}

static void h2_start(struct conn *c, const char *path, const char *token, int64_t last_id)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	buf_add(&c->out, preface, sizeof preface - 1);
	unsigned char settings[] = {0, 2, 0, 0, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff};
	h2_frame(c, 4, 0, 0, settings, sizeof settings);
	uint32_t inc = 0x7fffffffu - 65535u;
	unsigned char wu[4] = {(unsigned char)(inc >> 24), (unsigned char)(inc >> 16), (unsigned char)(inc >> 8),
	                       (unsigned char)inc};
	h2_frame(c, 8, 0, 0, wu, 4);
	struct buf hb = {0};
	unsigned char fixed[] = {0x82, 0x86}; /* :method GET, :scheme http */
	buf_add(&hb, fixed, 2);
	char auth[96], bearer[160], lid[32];
	snprintf(auth, sizeof auth, "%s:%d", host, port);
	hp_field(&hb, 4, NULL, path);                 /* :path */
	hp_field(&hb, 1, NULL, auth);                 /* :authority */
	hp_field(&hb, 19, NULL, "text/event-stream"); /* accept */
	snprintf(bearer, sizeof bearer, "Bearer %s", token);
	hp_field(&hb, 23, NULL, bearer); /* authorization */
	if (last_id >= 0) {
		snprintf(lid, sizeof lid, "%" PRId64, last_id);
		hp_field(&hb, 0, "last-event-id", lid);
	}
	h2_frame(c, 1, 0x5, 1, hb.p, hb.len); /* END_STREAM | END_HEADERS */
	buf_free(&hb);
}

/* ---- SSE ---- */

static void dispatch(struct conn *c)
{
	double t = now_ms();
	const char *type = c->ev_type[0] ? c->ev_type : "message";
	events_seen++;
	last_event_t = t;
	if (strcmp(type, "hello") == 0) {
		if (c->t_hello == 0) {
			c->t_hello = t;
			c->hello_id = c->ev_has_id ? c->ev_id : -1;
		}
	} else if (c->resume && c->ev_has_id) {
		int64_t seq = c->ev_id;
		if (seq <= c->r_last)
			c->r_dup++;
		else {
			c->r_missed += (int)(seq - c->r_last - 1);
			c->r_last = seq;
			c->r_got++;
			c->t_last = t;
		}
	} else if (W.active && c->group == W.group && c->lat && strcmp(type, "item.created") == 0 && c->data.p) {
		const char *p = strstr(c->data.p, W.tag);
		if (p) {
			int k = atoi(p + W.taglen);
			if (k >= 0 && k < W.n && W.board[k] == c->board) {
				if (c->lat[k] >= 0)
					c->dups++;
				else
					c->lat[k] = W.sent[k] > 0 ? (float)(t - W.sent[k]) : 0;
			}
		}
	}
	c->ev_type[0] = '\0';
	c->ev_has_id = false;
	c->data.len = 0;
	if (c->data.p)
		c->data.p[0] = '\0';
}

static void sse_line(struct conn *c, const char *l, size_t n)
{
	if (n && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		if (c->data.len || c->ev_type[0])
			dispatch(c);
		return;
	}
	if (l[0] == ':')
		return;
	const char *colon = memchr(l, ':', n);
	size_t fl = colon ? (size_t)(colon - l) : n;
	const char *v = colon ? colon + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	size_t vl = (size_t)(l + n - v);
	if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (c->data.len)
			buf_add(&c->data, "\n", 1);
		buf_add(&c->data, v, vl);
	} else if (fl == 5 && memcmp(l, "event", 5) == 0) {
		size_t m = vl < sizeof c->ev_type - 1 ? vl : sizeof c->ev_type - 1;
		memcpy(c->ev_type, v, m);
		c->ev_type[m] = '\0';
	} else if (fl == 2 && memcmp(l, "id", 2) == 0) {
		c->ev_id = strtoll(v, NULL, 10);
		c->ev_has_id = true;
	}
}

static void sse_feed(struct conn *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		if (!nl) {
			buf_add(&c->line, p, n);
			return;
		}
		size_t k = (size_t)(nl - p);
		if (c->line.len) {
			buf_add(&c->line, p, k);
			sse_line(c, c->line.p, c->line.len);
			c->line.len = 0;
		} else {
			sse_line(c, p, k);
		}
		p += k + 1;
		n -= k + 1;
	}
}

/* ---- HTTP/1.1 ---- */

static void writer_done(struct conn *c);

/* Parses the response head at the start of c->in; false when it is incomplete. */
static bool h1_head(struct conn *c)
{
	char *end = strstr(c->in.p, "\r\n\r\n");
	if (!end)
		return false;
	*end = '\0';
	c->status = (strncmp(c->in.p, "HTTP/1.", 7) == 0) ? atoi(c->in.p + 9) : 0;
	c->chunked = false;
	c->body_left = -1;
	for (char *h = strstr(c->in.p, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
		char *v = h + 2;
		if (strncasecmp(v, "Transfer-Encoding:", 18) == 0 && strcasestr(v, "chunked"))
			c->chunked = true;
		else if (strncasecmp(v, "Content-Length:", 15) == 0)
			c->body_left = strtoll(v + 15, NULL, 10);
	}
	buf_consume(&c->in, (size_t)(end + 4 - c->in.p));
	c->chunk_left = -1;
	return true;
}

/* Feeds body bytes (already de-chunked) to whoever reads them. */
static void body_bytes(struct conn *c, const char *p, size_t n)
{
	if (c->kind == K_STREAM && c->status == 200)
		sse_feed(c, p, n);
}

/* De-chunks what is in c->in; returns true when the body ended. */
static bool h1_body(struct conn *c)
{
	if (!c->chunked) {
		size_t n = c->in.len;
		if (c->body_left >= 0 && (long long)n > c->body_left)
			n = (size_t)c->body_left;
		body_bytes(c, c->in.p, n);
		buf_consume(&c->in, n);
		if (c->body_left >= 0) {
			c->body_left -= (long long)n;
			return c->body_left == 0;
		}
		return false;
	}
	for (;;) {
		if (c->chunk_left == -1) {
			char *crlf = memmem(c->in.p, c->in.len, "\r\n", 2);
			if (!crlf)
				return false;
			long long sz = strtoll(c->in.p, NULL, 16);
			buf_consume(&c->in, (size_t)(crlf + 2 - c->in.p));
			if (sz == 0)
				return true; /* trailers are not used by lighttpd here */
			c->chunk_left = sz;
		} else if (c->chunk_left == -2) {
			if (c->in.len < 2)
				return false;
			buf_consume(&c->in, 2);
			c->chunk_left = -1;
		} else {
			size_t n = c->in.len < (size_t)c->chunk_left ? c->in.len : (size_t)c->chunk_left;
			if (n == 0)
				return false;
			body_bytes(c, c->in.p, n);
			buf_consume(&c->in, n);
			c->chunk_left -= (long long)n;
			if (c->chunk_left == 0)
				c->chunk_left = -2;
		}
	}
}

static void h1_input(struct conn *c)
{
	if (c->state == S_HEAD) {
		if (!h1_head(c))
			return;
		if (c->kind == K_STREAM) {
			if (c->status != 200) {
				char why[32];
				snprintf(why, sizeof why, "http_%d", c->status);
				conn_fail(c, why);
				return;
			}
		}
		c->state = S_BODY;
		if (c->kind == K_WRITER && c->body_left == 0 && !c->chunked) {
			writer_done(c);
			return;
		}
	}
	if (c->state == S_BODY && h1_body(c)) {
		if (c->kind == K_WRITER)
			writer_done(c);
		else
			conn_fail(c, "stream_ended");
	}
}

/* ---- HTTP/2 input ---- */

static void h2_input(struct conn *c)
{
	const unsigned char *p = (const unsigned char *)c->in.p;
	size_t off = 0;
	while (c->fd >= 0 && c->in.len - off >= 9) {
		size_t len = ((size_t)p[off] << 16) | ((size_t)p[off + 1] << 8) | p[off + 2];
		if (c->in.len - off < 9 + len)
			break;
		int type = p[off + 3], flags = p[off + 4];
		uint32_t sid = ((uint32_t)(p[off + 5] & 0x7f) << 24) | ((uint32_t)p[off + 6] << 16) |
			((uint32_t)p[off + 7] << 8) | p[off + 8];
		const unsigned char *pl = p + off + 9;
		size_t pad = 0, skip = 0;
		if ((type == 0 || type == 1) && (flags & 0x8)) {
			pad = pl[0];
			skip = 1;
		}
		if (type == 1 && (flags & 0x20))
			skip += 5;
		off += 9 + len;
		if (type == 4 && !(flags & 1)) {
			h2_frame(c, 4, 1, 0, NULL, 0);
		} else if (type == 6 && !(flags & 1)) {
			h2_frame(c, 6, 1, 0, pl, len);
		} else if (type == 7) {
			conn_fail(c, "h2_goaway");
			return;
		} else if (sid == 1 && c->state != S_RESET) {
			if (type == 1) {
				if (len > skip && pl[skip] == 0x88) {
					c->status = 200;
					c->state = S_BODY;
				} else {
					c->status = 0;
					conn_fail(c, "h2_status_not_200");
					return;
				}
			} else if (type == 0 && len >= skip + pad) {
				sse_feed(c, (const char *)pl + skip, len - skip - pad);
			} else if (type == 3) {
				conn_fail(c, "h2_rst_stream");
				return;
			}
			if ((type == 0 || type == 1) && (flags & 1)) {
				conn_fail(c, "stream_ended");
				return;
			}
		}
	}
	if (c->fd >= 0) {
		buf_consume(&c->in, off);
		if (c->out.len)
			conn_send(c, "", 0);
	}
}

/* ---- event loop ---- */

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof err;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		char why[48];
		snprintf(why, sizeof why, "connect_%s", strerrorname_np(err) ? strerrorname_np(err) : "?");
		conn_fail(c, why);
		return;
	}
	c->state = c->kind == K_WRITER && c->w_idx < 0 ? S_IDLE : S_HEAD;
}

static void on_event(struct conn *c, uint32_t ev)
{
	if (c->state == S_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		on_connected(c);
		if (c->fd < 0)
			return;
	}
	if ((ev & EPOLLOUT) && c->out.len) {
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
		else if (w < 0 && errno != EAGAIN) {
			conn_fail(c, "send");
			return;
		}
		if (c->kind == K_WRITER && c->w_idx >= 0 && c->out.len == 0 && W.sent[c->w_idx] == 0)
			W.sent[c->w_idx] = c->t_sent = now_ms();
	}
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char tmp[65536];
		for (;;) {
			ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
			if (n > 0) {
				buf_add(&c->in, tmp, (size_t)n);
				if ((size_t)n < sizeof tmp)
					break;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			/* EOF or error: parse what came, then the connection is over */
			if (c->in.len) {
				if (c->proto == H2)
					h2_input(c);
				else
					h1_input(c);
			}
			if (c->fd >= 0) {
				if (c->kind == K_WRITER && c->w_idx >= 0 && W.active) {
					W.status[c->w_idx] = -1;
					W.resp[c->w_idx] = now_ms();
					W.done_resp++;
					c->w_idx = -1;
				}
				conn_fail(c,
				          n == 0 ? (c->state == S_HEAD ? "eof_before_head" : "stream_ended")
				                 : "recv_error");
			}
			return;
		}
		if (c->in.len) {
			if (c->proto == H2)
				h2_input(c);
			else
				h1_input(c);
		}
	}
	if (c->fd >= 0)
		set_events(c);
}

/* Runs the loop once for at most ms milliseconds. */
static void loop_once(int ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(ep, evs, 512, ms);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL)
			continue; /* stdin: read by the caller */
		on_event(evs[i].data.ptr, evs[i].events);
	}
}

/* ---- streams ---- */

static struct conn *stream_open(int group, enum proto proto, int64_t board, const char *token, int64_t last_id)
{
	struct conn *c = conn_new(K_STREAM, proto, group);
	if (!c)
		return NULL;
	c->board = board;
	c->token = token;
	c->last_event_id = last_id;
	if (c->state == S_FAILED)
		return c;
	char path[96];
	snprintf(path, sizeof path, "/api/v1/boards/%" PRId64 "/events", board);
	if (proto == H2) {
		h2_start(c, path, token, last_id);
	} else {
		char req[512], lid[64] = "";
		if (last_id >= 0)
			snprintf(lid, sizeof lid, "Last-Event-ID: %" PRId64 "\r\n", last_id);
		int n = snprintf(
			req, sizeof req,
			"GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
			"Authorization: Bearer %s\r\n%s\r\n",
			path, host, port, token, lid);
		buf_add(&c->out, req, (size_t)n);
	}
	return c;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return -1;
	size_t i = (size_t)(p * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

struct reasons {
	char name[16][48];
	int count[16];
	int n;
};

static void reason_add(struct reasons *r, const char *name)
{
	for (int i = 0; i < r->n; i++) {
		if (strcmp(r->name[i], name) == 0) {
			r->count[i]++;
			return;
		}
	}
	if (r->n < 16) {
		snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
		r->count[r->n++] = 1;
	}
}

static void reasons_print(const struct reasons *r)
{
	printf("{");
	for (int i = 0; i < r->n; i++)
		printf("%s\"%s\":%d", i ? "," : "", r->name[i], r->count[i]);
	printf("}");
}

/* One stream of an open command: refused ones (503) are tried again after RETRY_MS, as a client
 * that honours Retry-After would (the server says 10 s; the benchmark waits less). */
#define RETRY_MS 2000.0

struct slot {
	int pair;
	struct conn *c;
	int attempts;
	double retry_at;
};

static void cmd_open(int group, int from, int count, enum proto proto, double rate, double timeout, int retries)
{
	double t0 = now_ms(), deadline = t0 + timeout;
	int launched = 0, refused = 0;
	if (from < 0 || from + count > plan.n) {
		printf("{\"cmd\":\"open\",\"error\":\"plan has %d pairs\"}\n", plan.n);
		return;
	}
	struct slot *sl = calloc((size_t)count + 1, sizeof *sl);
	for (;;) {
		double t = now_ms();
		while (launched < count && (rate <= 0 || t >= t0 + launched * 1000.0 / rate)) {
			struct slot *x = &sl[launched++];
			x->pair = from + launched - 1;
			x->attempts = 1;
			x->c = stream_open(group, proto, plan.board[x->pair], plan.token[x->pair], -1);
		}
		int pending = launched < count;
		for (int i = 0; i < launched; i++) {
			struct slot *x = &sl[i];
			if (!x->c || x->c->t_hello > 0)
				continue;
			if (x->c->state != S_FAILED) {
				pending = 1;
			} else if (strcmp(x->c->fail, "http_503") == 0 && x->attempts <= retries) {
				if (x->retry_at == 0) {
					refused++;
					x->retry_at = t + RETRY_MS;
				}
				if (t >= x->retry_at) {
					x->c->group = -3; /* the refused attempt no longer belongs to the group */
					x->c = stream_open(group, proto, plan.board[x->pair], plan.token[x->pair], -1);
					x->attempts++;
					x->retry_at = 0;
				}
				pending = 1;
			}
		}
		if (!pending || t > deadline)
			break;
		loop_once(5);
	}
	struct reasons rs = {0};
	double *hl = xrealloc(NULL, sizeof(double) * (size_t)(count + 1));
	int ok = 0, nh = 0, retried_ok = 0;
	for (int i = 0; i < count; i++) {
		struct slot *x = &sl[i];
		struct conn *c = x->c;
		if (!c) {
			reason_add(&rs, "not_launched");
			continue;
		}
		if (c->t_hello > 0 && c->state != S_FAILED) {
			ok++;
			retried_ok += x->attempts > 1;
			hl[nh++] = c->t_hello - c->t_open;
		} else {
			if (c->state != S_FAILED)
				conn_fail(c, "hello_timeout");
			reason_add(&rs, c->fail);
		}
	}
	if (refused == 0)
		for (int i = 0; i < count; i++)
			refused += sl[i].c && sl[i].c->state == S_FAILED && strcmp(sl[i].c->fail, "http_503") == 0;
	free(sl);
	qsort(hl, (size_t)nh, sizeof *hl, cmp_double);
	printf("{\"cmd\":\"open\",\"group\":%d,\"requested\":%d,\"ok\":%d,\"failed\":%d,\"refused_503\":%d,"
	       "\"ok_after_retry\":%d,\"reasons\":",
	       group, count, ok, count - ok, refused, retried_ok);
	reasons_print(&rs);
	printf(",\"ms\":%.1f,\"hello_p50_ms\":%.2f,\"hello_p99_ms\":%.2f,\"hello_max_ms\":%.2f}\n", now_ms() - t0,
	       pct(hl, (size_t)nh, .5), pct(hl, (size_t)nh, .99), pct(hl, (size_t)nh, 1));
	free(hl);
}

static void cmd_settle(double max_ms, double quiet_ms)
{
	double t0 = now_ms();
	long e0 = events_seen;
	last_event_t = t0;
	while (now_ms() - t0 < max_ms && now_ms() - last_event_t < quiet_ms)
		loop_once(5);
	printf("{\"cmd\":\"settle\",\"ms\":%.1f,\"events\":%ld}\n", now_ms() - t0, events_seen - e0);
}

/* ---- writes ---- */

static void writer_send(struct conn *c, int k)
{
	char body[96], req[512];
	int bl = snprintf(body, sizeof body, "{\"text\":\"%s%d\"}", W.tag, k);
	int n = snprintf(req, sizeof req,
	                 "POST /api/v1/boards/%" PRId64
	                 "/items HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	                 W.board[k], host, port, W.token[k], bl, body);
	c->w_idx = k;
	c->state = S_HEAD;
	c->in.len = 0;
	W.sent[k] = 0;
	conn_send(c, req, (size_t)n);
	if (c->out.len == 0)
		W.sent[k] = c->t_sent = now_ms();
}

static void writer_done(struct conn *c)
{
	int k = c->w_idx;
	if (k >= 0) {
		W.resp[k] = now_ms();
		W.status[k] = c->status;
		W.done_resp++;
	}
	c->w_idx = -1;
	c->state = S_IDLE;
}

/* An idle writer connection, or a new one (NULL when CONC are busy). */
static struct conn *writer_get(void)
{
	for (int i = 0; i < W.n_writers; i++) {
		struct conn *c = W.writers[i];
		if (c->state == S_FAILED) {
			c = W.writers[i] = conn_new(K_WRITER, H1, -1);
			if (!c)
				return NULL;
		}
		if (c->state == S_IDLE)
			return c;
	}
	if (W.n_writers < W.conc && W.n_writers < MAX_WRITERS) {
		struct conn *c = conn_new(K_WRITER, H1, -1);
		if (c)
			W.writers[W.n_writers++] = c;
	}
	return NULL;
}

static int read_pairs(const char *file, int64_t **boards, char ***tokens)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return -1;
	int n = 0, cap = 0;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char tok[200];
		long long b;
		if (sscanf(line, "%lld %199s", &b, tok) != 2)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			*boards = xrealloc(*boards, sizeof **boards * (size_t)cap);
			*tokens = xrealloc(*tokens, sizeof **tokens * (size_t)cap);
		}
		(*boards)[n] = b;
		(*tokens)[n] = strdup(tok);
		n++;
	}
	fclose(f);
	return n;
}

/* Reads the writes' boards and tokens, resets the write state and the group's latencies, and
 * connects the first writers; false (after printing the error) when the file is unreadable. */
static bool write_setup(int group, const char *file, double interval, int conc, const char *tag, double wait,
                        double live)
{
	memset(&W, 0, sizeof W);
	W.n = read_pairs(file, &W.board, &W.token);
	if (W.n <= 0) {
		printf("{\"cmd\":\"write\",\"error\":\"cannot read %s\"}\n", file);
		return false;
	}
	W.group = group;
	W.conc = conc < 1 ? 1 : conc;
	W.interval = interval;
	W.wait = wait;
	W.live = live;
	snprintf(W.tag, sizeof W.tag, "%.24s-", tag);
	W.taglen = strlen(W.tag);
	W.sent = calloc((size_t)W.n, sizeof *W.sent);
	W.resp = calloc((size_t)W.n, sizeof *W.resp);
	W.status = calloc((size_t)W.n, sizeof *W.status);
	for (int i = 0; i < n_conns; i++) {
		struct conn *c = conns[i];
		if (c->kind == K_STREAM && c->group == group) {
			c->lat = xrealloc(c->lat, sizeof *c->lat * (size_t)W.n);
			for (int k = 0; k < W.n; k++)
				c->lat[k] = -1;
			c->dups = 0;
		}
	}
	/* connections first, so that the first writes do not pay for connecting */
	for (int i = 0; i < W.conc && i < 4; i++)
		writer_get();
	double tw = now_ms() + 200;
	while (now_ms() < tw) {
		bool all = true;
		for (int i = 0; i < W.n_writers; i++)
			all &= W.writers[i]->state == S_IDLE;
		if (all)
			break;
		loop_once(2);
	}
	return true;
}

/* Sends the writes on schedule and waits until every stream of the group has every event it
 * should, or W.wait after the last send (a minute if the writes themselves hang). */
static void write_run(int group)
{
	W.active = true;
	W.t0 = now_ms();
	double last_send = 0;
	for (;;) {
		double t = now_ms();
		while (W.next < W.n && (W.interval <= 0 || t >= W.t0 + W.next * W.interval)) {
			struct conn *c = writer_get();
			if (!c)
				break;
			writer_send(c, W.next++);
			last_send = now_ms();
		}
		bool all_sent = W.next == W.n;
		if (all_sent && W.done_resp == W.n) {
			/* all expected events in? */
			bool missing = false;
			for (int i = 0; i < n_conns && !missing; i++) {
				struct conn *c = conns[i];
				if (c->kind != K_STREAM || c->group != group || c->state == S_FAILED || c->t_hello == 0)
					continue;
				for (int k = 0; k < W.n; k++) {
					if (W.board[k] == c->board && c->t_hello <= W.sent[k] && c->lat[k] < 0) {
						missing = true;
						break;
					}
				}
			}
			if (!missing)
				break;
		}
		if (all_sent && t > last_send + W.wait)
			break;
		if (!all_sent && t > W.t0 + (W.n * (W.interval > 0 ? W.interval : 0)) + 60000)
			break; /* the writes themselves hang: give up after a minute */
		double next = W.interval > 0 && W.next < W.n ? W.t0 + W.next * W.interval - t : 5;
		loop_once(next < 1 ? 1 : next > 5 ? 5 : (int)next);
	}
	W.active = false;
}

/* Prints the write's JSON result line: write latencies, and per stream of the group what
 * arrived, what was lost and how late. */
static void write_report(int group, double live)
{
	size_t cap = 1024, ns = 0, na = 0;
	double *lat = xrealloc(NULL, sizeof *lat * cap);
	double *ans = xrealloc(NULL, sizeof *ans * cap); /* from the POST's answer (< 0: event first) */
	long expected = 0, received = 0, lost = 0, dups = 0;
	int streams = 0, live_streams = 0, dead = 0, missing = 0, unexpected = 0;
	double *wl = xrealloc(NULL, sizeof *wl * (size_t)W.n);
	int nw = 0, werr = 0;
	for (int k = 0; k < W.n; k++) {
		if (W.resp[k] > 0 && W.sent[k] > 0 && W.status[k] == 201)
			wl[nw++] = W.resp[k] - W.sent[k];
		else
			werr++;
	}
	for (int i = 0; i < n_conns; i++) {
		struct conn *c = conns[i];
		if (c->kind != K_STREAM || c->group != group || !c->lat)
			continue;
		if (c->t_hello == 0)
			continue;
		streams++;
		if (c->state == S_FAILED)
			dead++;
		int exp = 0, ok = 0, got = 0;
		for (int k = 0; k < W.n; k++) {
			if (W.board[k] != c->board || W.sent[k] == 0 || c->t_hello > W.sent[k])
				continue;
			exp++;
			expected++;
			if (c->lat[k] >= 0) {
				received++;
				got++;
				if (ns == cap) {
					cap *= 2;
					lat = xrealloc(lat, sizeof *lat * cap);
					ans = xrealloc(ans, sizeof *ans * cap);
				}
				lat[ns++] = c->lat[k];
				if (W.resp[k] > 0)
					ans[na++] = c->lat[k] - (W.resp[k] - W.sent[k]);
				if (c->lat[k] <= live)
					ok++;
			} else {
				lost++;
			}
		}
		dups += c->dups;
		missing += got < exp;
		unexpected += exp == 0;
		if (exp > 0 && ok == exp && c->state != S_FAILED)
			live_streams++;
	}
	qsort(lat, ns, sizeof *lat, cmp_double);
	qsort(ans, na, sizeof *ans, cmp_double);
	qsort(wl, (size_t)nw, sizeof *wl, cmp_double);
	printf("{\"cmd\":\"write\",\"writes\":%d,\"write_errors\":%d,\"write_p50_ms\":%.3f,\"write_p99_ms\":%.3f,"
	       "\"duration_ms\":%.1f,\"streams\":%d,\"streams_live\":%d,\"streams_dead\":%d,"
	       "\"streams_missing\":%d,\"streams_unexpected\":%d,"
	       "\"expected\":%ld,\"received\":%ld,\"lost\":%ld,\"dup\":%ld,"
	       "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"ans_min_ms\":%.3f,\"ans_p50_ms\":%.3f,\"ans_p99_ms\":%.3f,\"ans_max_ms\":%.3f}\n",
	       W.n, werr, pct(wl, (size_t)nw, .5), pct(wl, (size_t)nw, .99), now_ms() - W.t0, streams, live_streams,
	       dead, missing, unexpected, expected, received, lost, dups, pct(lat, ns, .5), pct(lat, ns, .9),
	       pct(lat, ns, .99), pct(lat, ns, 1), pct(ans, na, 0), pct(ans, na, .5), pct(ans, na, .99),
	       pct(ans, na, 1));
	free(lat);
	free(ans);
	free(wl);
}

static void cmd_write(int group, const char *file, double interval, int conc, const char *tag, double wait, double live)
{
	if (!write_setup(group, file, interval, conc, tag, wait, live))
		return;
	write_run(group);
	write_report(group, live);
	for (int k = 0; k < W.n; k++)
		free(W.token[k]);
	free(W.token);
	free(W.board);
	free(W.sent);
	free(W.resp);
	free(W.status);
	for (int i = 0; i < W.n_writers; i++)
		conn_fail(W.writers[i], "writer_closed");
	W.n = 0;
}

/* ---- close, drop, resume ---- */

static void cmd_close(int group, const char *mode)
{
	int n = 0;
	double t = now_ms();
	for (int i = 0; i < n_conns; i++) {
		struct conn *c = conns[i];
		if (c->kind != K_STREAM || c->group != group || c->fd < 0)
			continue;
		if (strcmp(mode, "h2rst") == 0 && c->proto == H2) {
			unsigned char code[4] = {0, 0, 0, 8}; /* CANCEL */
			h2_frame(c, 3, 0, 1, code, 4);
			conn_send(c, "", 0);
			c->state = S_RESET;
		} else {
			if (strcmp(mode, "rst") == 0) {
				struct linger lg = {1, 0};
				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			}
			conn_fail(c, "closed_by_us");
			c->state = S_DONE;
			c->group = -3; /* a closed stream no longer counts in its group (the next run reuses it) */
		}
		n++;
	}
	printf("{\"cmd\":\"close\",\"group\":%d,\"closed\":%d,\"t_ms\":%.3f}\n", group, n, t);
}

static void cmd_drop(int group)
{
	int n = 0;
	for (int i = 0; i < n_conns; i++) {
		struct conn *c = conns[i];
		if (c->group == group && c->fd >= 0) {
			conn_fail(c, "dropped");
			c->state = S_DONE;
			c->group = -3;
			n++;
		}
	}
	printf("{\"cmd\":\"drop\",\"group\":%d,\"dropped\":%d}\n", group, n);
}

static void cmd_resume(int64_t board, const char *token, int64_t last_id, int expect, double timeout, enum proto proto)
{
	double t0 = now_ms();
	struct conn *c = stream_open(-2, proto, board, token, last_id);
	if (!c) {
		printf("{\"cmd\":\"resume\",\"error\":\"no connection\"}\n");
		return;
	}
	c->resume = true;
	c->r_last = last_id;
	while (c->state != S_FAILED && c->r_got < expect && now_ms() < t0 + timeout)
		loop_once(5);
	double done = c->r_got >= expect ? c->t_last - t0 : -1;
	/* a little longer: a duplicate would show up right behind */
	double extra = now_ms() + 200;
	while (c->state != S_FAILED && now_ms() < extra)
		loop_once(5);
	int missed = c->r_missed + (expect > c->r_got ? expect - c->r_got : 0);
	printf("{\"cmd\":\"resume\",\"ms\":%.3f,\"hello_ms\":%.3f,\"received\":%d,\"missed\":%d,\"dup\":%d,"
	       "\"last_seq\":%" PRId64 ",\"status\":%d,\"fail\":\"%s\"}\n",
	       done, c->t_hello > 0 ? c->t_hello - t0 : -1, c->r_got, missed, c->r_dup, c->r_last, c->status, c->fail);
	if (c->fd >= 0) {
		conn_fail(c, "closed_by_us");
		c->state = S_DONE;
	}
}

static void cmd_status(int group)
{
	int st[S_FAILED + 1] = {0};
	for (int i = 0; i < n_conns; i++) {
		if (conns[i]->kind == K_STREAM && conns[i]->group == group)
			st[conns[i]->state]++;
	}
	printf("{\"cmd\":\"status\",\"group\":%d,\"connecting\":%d,\"head\":%d,\"body\":%d,\"reset\":%d,\"done\":%d,"
	       "\"failed\":%d}\n",
	       group, st[S_CONNECTING], st[S_HEAD], st[S_BODY], st[S_RESET], st[S_DONE], st[S_FAILED]);
}

/* ---- commands ---- */

static char inbuf[1 << 16];
static size_t inlen;
static bool stdin_eof;

/* Copies the next complete line from stdin into line; 1 if there was one, 0 if not yet, -1 EOF. */
static int stdin_line(char *line, size_t cap)
{
	char *nl = memchr(inbuf, '\n', inlen);
	if (!nl) {
		if (inlen == sizeof inbuf)
			inlen = 0;
		ssize_t n = read(0, inbuf + inlen, sizeof inbuf - inlen);
		if (n == 0)
			stdin_eof = true;
		if (n > 0)
			inlen += (size_t)n;
		nl = memchr(inbuf, '\n', inlen);
		if (!nl)
			return stdin_eof ? -1 : 0;
	}
	size_t k = (size_t)(nl - inbuf);
	size_t m = k < cap - 1 ? k : cap - 1;
	memcpy(line, inbuf, m);
	line[m] = '\0';
	memmove(inbuf, nl + 1, inlen - k - 1);
	inlen -= k + 1;
	return 1;
}

static enum proto proto_of(const char *s)
{
	return strcmp(s, "h2") == 0 ? H2 : H1;
}

static bool run(char *line)
{
	char a[8][256] = {{0}};
	int n = sscanf(line, "%255s %255s %255s %255s %255s %255s %255s %255s", a[0], a[1], a[2], a[3], a[4], a[5],
	               a[6], a[7]);
	if (n <= 0)
		return true;
	if (strcmp(a[0], "quit") == 0)
		return false;
	if (strcmp(a[0], "target") == 0 && n == 3) {
		snprintf(host, sizeof host, "%.60s", a[1]);
		port = atoi(a[2]);
		printf("{\"cmd\":\"target\",\"ok\":true}\n");
	} else if (strcmp(a[0], "load") == 0 && n == 2) {
		plan.n = read_pairs(a[1], &plan.board, &plan.token);
		printf("{\"cmd\":\"load\",\"pairs\":%d}\n", plan.n);
	} else if (strcmp(a[0], "open") == 0 && (n == 7 || n == 8)) {
		cmd_open(atoi(a[1]), atoi(a[2]), atoi(a[3]), proto_of(a[4]), atof(a[5]), atof(a[6]),
		         n == 8 ? atoi(a[7]) : 0);
	} else if (strcmp(a[0], "settle") == 0 && n == 3) {
		cmd_settle(atof(a[1]), atof(a[2]));
	} else if (strcmp(a[0], "write") == 0 && n == 8) {
		cmd_write(atoi(a[1]), a[2], atof(a[3]), atoi(a[4]), a[5], atof(a[6]), atof(a[7]));
	} else if (strcmp(a[0], "close") == 0 && n == 3) {
		cmd_close(atoi(a[1]), a[2]);
	} else if (strcmp(a[0], "drop") == 0 && n == 2) {
		cmd_drop(atoi(a[1]));
	} else if (strcmp(a[0], "resume") == 0 && n == 7) {
		cmd_resume(strtoll(a[1], NULL, 10), a[2], strtoll(a[3], NULL, 10), atoi(a[4]), atof(a[5]),
		           proto_of(a[6]));
	} else if (strcmp(a[0], "status") == 0 && n == 2) {
		cmd_status(atoi(a[1]));
	} else {
		printf("{\"cmd\":\"%s\",\"error\":\"unknown command or wrong arguments\"}\n", a[0]);
	}
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e);
	setvbuf(stdout, NULL, _IOLBF, 0);
	char line[4096];
	for (;;) {
		int r = stdin_line(line, sizeof line);
		if (r < 0)
			break;
		if (r == 1) {
			if (!run(line))
				break;
			continue;
		}
		loop_once(50); /* between commands: keep reading the streams */
	}
	return 0;
}
