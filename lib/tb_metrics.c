/* tb_metrics: the per-host counters of one installation, kept in a small shared-memory file so
 * that every worker, pool and supervisor of the same database on this host adds to the same
 * numbers and they outlive any one process. Owns the mapping (or, when it cannot be made, a static
 * array in process memory), the table of held workers (streams, polls, large REST replies) in the
 * same file, the Prometheus names of the counters and their text exposition, and the
 * metrics_allow address check. */
#include "tb_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tb_config.h"
#include "tb_log.h"

/* "TBMETR" and the layout version in the low bytes: a file of another layout is never used. */
#define MAGIC UINT64_C(0x54424d4554520001)
/* Room for counters added later without changing the layout version. */
#define SLOTS 64

/* One process holding a stream, running a poll or writing a large reply. pid is written last when
 * claiming and is 0 in a free slot; a slot is only claimed under the file's flock, and released by
 * its owner alone (or found dead, or a reply past its until_ms, by a claim under the flock). */
struct held {
	int32_t pid;
	int32_t kind;
	int64_t user_id;
	union {                   /* the same place in the layout: a reply has no board */
		int64_t board_id; /* a stream or poll */
		int64_t until_ms; /* a reply: free after this (now_ms), set at its claim; 0: an older build's */
	};
	char addr[48]; /* REMOTE_ADDR (a reply: its address key), NUL-terminated */
};

/* The held table follows the counters: a file of the first layout (counters only) grows to this
 * size with zeros, an empty table, so the layout version did not change with it. */
struct shm {
	uint64_t magic;
	uint64_t held_top;    /* slots [0, held_top) have been used; the rest are free */
	uint64_t reserved[6]; /* keeps the counters on their own cache line */
	uint64_t counters[SLOTS];
	struct held held[TB_HOLD_SLOTS];
};

_Static_assert(TB_M__MAX <= SLOTS, "tb_metric does not fit the shared layout");

static uint64_t local[SLOTS];
static uint64_t *counters = local;
static struct shm *mapped;
static char *mapped_path; /* reopened for the held table's flock: see lock_table() */
static dev_t mapped_dev;
static ino_t mapped_ino;
static int64_t my_slot = -1; /* the slot this process holds, -1: none */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* one clock for every process of the host */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const names[TB_M__MAX] = {
	[TB_M_EVENTS_SENT] = "teamboard_events_sent_total",
	[TB_M_EVENTS_REPLAYED] = "teamboard_events_replayed_total",
	[TB_M_HEARTBEATS] = "teamboard_heartbeats_total",
	[TB_M_STREAMS_OPENED] = "teamboard_streams_opened_total",
	[TB_M_STREAMS_REFUSED] = "teamboard_streams_refused_total",
	[TB_M_CLOSED_CLIENT_GONE] = "teamboard_streams_closed_total{reason=\"client_gone\"}",
	[TB_M_CLOSED_LIFETIME] = "teamboard_streams_closed_total{reason=\"lifetime\"}",
	[TB_M_CLOSED_REVOKED] = "teamboard_streams_closed_total{reason=\"revoked\"}",
	[TB_M_CLOSED_RECYCLED] = "teamboard_streams_closed_total{reason=\"recycled\"}",
	[TB_M_CLOSED_ERROR] = "teamboard_streams_closed_total{reason=\"error\"}",
	[TB_M_POLLS] = "teamboard_polls_total",
	[TB_M_CLOSED_SLOW_CLIENT] = "teamboard_streams_closed_total{reason=\"slow_client\"}",
	[TB_M_LARGE_REPLIES_REFUSED] = "teamboard_large_replies_refused_total",
};

/* # HELP text of each family, in the order the families first appear in names[]. */
static const struct {
	const char *family, *help;
} helps[] = {
	{"teamboard_events_sent_total", "Events written live to event streams."},
	{"teamboard_events_replayed_total", "Events written to event streams from the log on resume."},
	{"teamboard_heartbeats_total", "Heartbeats and keep-alives written to event streams."},
	{"teamboard_streams_opened_total", "Event streams opened."},
	{"teamboard_streams_refused_total",
         "Event streams and polls refused with 503 (max_streams, max_streams_per_user or max_streams_per_address)."},
	{"teamboard_streams_closed_total", "Event streams closed, by reason."},
	{"teamboard_polls_total", "JSON polls of the event log."},
	{"teamboard_large_replies_refused_total",
         "REST replies over 256 KiB refused with 503 busy (max_large_replies_per_address or max_large_replies)."},
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

void tb_metrics_instance_id(const struct tb_config *cfg, char out[17])
{
	/* The id is in file names every local user can list: it is made of what the connection
	 * string says but its secrets (a hash of a password is one to guess offline), as
	 * "keyword=value" NUL each, in libpq's order; then a NUL and host_name. */
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	PQconninfoOption *opts = PQconninfoParse(cfg->database ? cfg->database : "", NULL);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (o->val == NULL || strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0)
			continue;
		h = fnv1a(h, o->keyword, strlen(o->keyword));
		h = fnv1a(h, "=", 1);
		h = fnv1a(h, o->val, strlen(o->val) + 1); /* with its NUL */
	}
	PQconninfoFree(opts);
	const char *host = cfg->host_name ? cfg->host_name : "";
	h = fnv1a(h, "", 1);
	h = fnv1a(h, host, strlen(host));
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void tb_metrics_close(void)
{
	tb_metrics_unhold();
	if (mapped)
		munmap(mapped, sizeof *mapped);
	mapped = NULL;
	counters = local;
	free(mapped_path);
	mapped_path = NULL;
}

/* Logs the first failure only: a worker that cannot map the file would repeat it on every start. */
static enum tb_err fall_back(const char *path, const char *what, int err)
{
	static bool logged;
	if (!logged)
		TB_LOG(TB_LOG_WARN, "metrics: %s: %s (%s); counting in process memory only", path, what, strerror(err));
	logged = true;
	return TB_ERR_IO;
}

enum tb_err tb_metrics_open_path(const char *path)
{
	tb_metrics_close();
	/* O_NOFOLLOW and the owner check: /dev/shm and /tmp are shared, and a file planted there by
	 * another user must not become our counters. */
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fall_back(path, "cannot open", errno);
	struct stat st;
	enum tb_err err = TB_OK;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) != 0) {
		err = fall_back(path, "cannot stat", errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		err = fall_back(path, "not a private file of ours", EPERM);
		goto out;
	}
	/* Growing only: ftruncate to the same size keeps what other processes counted. */
	if (st.st_size < (off_t)sizeof(struct shm) && ftruncate(fd, sizeof(struct shm)) != 0) {
		err = fall_back(path, "cannot size", errno);
		goto out;
	}
	p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = fall_back(path, "cannot map", errno);
		goto out;
	}
	struct shm *s = p;
	uint64_t expected = 0;
	/* The first process stamps the magic; all others must find exactly ours. */
	__atomic_compare_exchange_n(&s->magic, &expected, MAGIC, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	if (expected != 0 && expected != MAGIC) {
		munmap(p, sizeof(struct shm));
		err = fall_back(path, "written by another version", EPROTO);
		goto out;
	}
	mapped = s;
	counters = s->counters;
	mapped_path = tb_xstrdup(path);
	mapped_dev = st.st_dev;
	mapped_ino = st.st_ino;
out:
	close(fd);
	return err;
}

enum tb_err tb_metrics_open(const struct tb_config *cfg)
{
	char id[17], path[128];
	tb_metrics_instance_id(cfg, id);
	const char *dir = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/teamboard-metrics-%lu-%s", dir, (unsigned long)geteuid(), id);
	return tb_metrics_open_path(path);
}

void tb_metrics_add(enum tb_metric m, uint64_t n)
{
	if ((unsigned)m < TB_M__MAX)
		__atomic_add_fetch(&counters[m], n, __ATOMIC_RELAXED);
}

uint64_t tb_metrics_get(enum tb_metric m)
{
	return (unsigned)m < TB_M__MAX ? __atomic_load_n(&counters[m], __ATOMIC_RELAXED) : 0;
}

const char *tb_metrics_name(enum tb_metric m)
{
	return (unsigned)m < TB_M__MAX ? names[m] : "teamboard_unknown";
}

/* ---- held workers ---- */

/* Opens the mapped file anew and takes its flock: a description of our own, since one inherited
 * across fork() (the prefork parent maps the file before it forks its workers) would be shared
 * with every sibling, and flock(2) would not exclude them. The same checks as at open, and it
 * must still be the file we mapped. Returns the locked fd, or -1. */
static int lock_table(void)
{
	if (mapped == NULL || mapped_path == NULL)
		return -1;
	int fd = open(mapped_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_dev != mapped_dev || st.st_ino != mapped_ino ||
	    st.st_uid != geteuid()) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc;
	do
		rc = flock(fd, LOCK_EX);
	while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void unlock_table(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

/* Whether a slot's process still exists. EPERM: it does (another user's process, same pid
 * space). A pid that was reused by an unrelated process keeps its slot until that one ends. */
static bool pid_alive(int32_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* Whether slot h (its pid read as pid) counts. A stream or poll: while its process exists. A
 * reply: until its deadline, whatever its pid says (a process that died may leave the web server
 * holding its client; a reused pid must neither keep nor free the slot); a deadline beyond any a
 * claim sets is another boot's. A reply slot without one (until_ms 0: written by an older build
 * still running during an upgrade) goes by its pid. */
static bool slot_live(const struct held *h, int32_t pid, int64_t now)
{
	if (pid == 0)
		return false;
	int64_t until = __atomic_load_n(&h->until_ms, __ATOMIC_ACQUIRE);
	if (h->kind == TB_HOLD_REPLY && until != 0)
		return now < until && until - now <= TB_HOLD_REPLY_MAX_MS;
	return pid_alive(pid);
}

/* Streams and polls are one class, large replies another: each counts against its own limits. */
static bool same_class(int32_t a, int32_t b)
{
	return (a == TB_HOLD_REPLY) == (b == TB_HOLD_REPLY);
}

/* What a claim is checked against (0 in a limit: none; see the callers). */
struct claim {
	enum tb_hold_kind kind;
	int64_t user_id;
	const char *addr;
	long per_host, per_user, per_address;
};

/* Under the lock: counts the live slots of c's class against its limits and frees dead ones. */
static bool room_for(const struct claim *c, int64_t *free_slot)
{
	int32_t self = (int32_t)getpid();
	int64_t now = now_ms();
	uint64_t top = __atomic_load_n(&mapped->held_top, __ATOMIC_ACQUIRE);
	long all = 0, user = 0, same_addr = 0;
	*free_slot = -1;
	for (uint64_t i = 0; i < top && i < TB_HOLD_SLOTS; i++) {
		struct held *h = &mapped->held[i];
		int32_t pid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE);
		if (pid != 0 && ((pid == self && h->kind != TB_HOLD_REPLY) || !slot_live(h, pid, now))) {
			/* dead, a reply past its deadline, or a stream or poll of ours from an earlier request
			 * (our reply slot is released by its index, my_slot: our pid in another reply slot
			 * is a reused one, and that slot is not ours to free) */
			__atomic_store_n(&h->pid, 0, __ATOMIC_RELEASE);
			pid = 0;
		}
		if (pid == 0) {
			if (*free_slot < 0)
				*free_slot = (int64_t)i;
			continue;
		}
		if (!same_class(h->kind, (int32_t)c->kind))
			continue;
		all++;
		user += h->user_id == c->user_id;
		same_addr += c->addr && c->addr[0] && strncmp(h->addr, c->addr, sizeof h->addr - 1) == 0;
	}
	if (*free_slot < 0 && top < TB_HOLD_SLOTS)
		*free_slot = (int64_t)top;
	return *free_slot >= 0 && all < c->per_host && user < c->per_user &&
		(c->per_address <= 0 || same_addr < c->per_address);
}

/* board_id: a stream's or poll's board; a reply's until_ms. */
static enum tb_err claim(const struct claim *c, int64_t board_id)
{
	tb_metrics_unhold();
	int fd = lock_table();
	if (fd < 0)
		return TB_ERR_IO;
	int64_t slot;
	if (!room_for(c, &slot)) {
		unlock_table(fd);
		return TB_ERR_TOO_LARGE;
	}
	struct held *h = &mapped->held[slot];
	h->kind = (int32_t)c->kind;
	h->user_id = c->user_id;
	h->board_id = board_id; /* a reply's until_ms */
	snprintf(h->addr, sizeof h->addr, "%s", c->addr ? c->addr : "");
	__atomic_store_n(&h->pid, (int32_t)getpid(), __ATOMIC_RELEASE);
	if ((uint64_t)slot >= mapped->held_top)
		__atomic_store_n(&mapped->held_top, (uint64_t)slot + 1, __ATOMIC_RELEASE);
	my_slot = slot;
	unlock_table(fd);
	return TB_OK;
}

enum tb_err tb_metrics_hold(enum tb_hold_kind kind, int64_t user_id, const char *addr, int64_t board_id,
                            const struct tb_hold_limits *lim)
{
	if (kind == TB_HOLD_REPLY)
		return TB_ERR_INVALID; /* tb_metrics_hold_reply */
	const struct claim c = {kind, user_id, addr, lim->per_host, lim->per_user, lim->per_address};
	return claim(&c, board_id);
}

enum tb_err tb_metrics_hold_reply(const char *addr_key, long per_address, long per_host, int64_t hold_ms)
{
	/* LONG_MAX-like bounds stand for "no limit": TB_HOLD_SLOTS is more than can ever be live. */
	const struct claim c = {TB_HOLD_REPLY,     0,          addr_key, per_host > 0 ? per_host : TB_HOLD_SLOTS + 1,
	                        TB_HOLD_SLOTS + 1, per_address};
	int64_t hold = hold_ms < 1 ? 1 : hold_ms > TB_HOLD_REPLY_MAX_MS ? TB_HOLD_REPLY_MAX_MS : hold_ms;
	return claim(&c, now_ms() + hold);
}

void tb_metrics_linger(int64_t ms)
{
	if (mapped && my_slot >= 0 &&
	    __atomic_load_n(&mapped->held[my_slot].pid, __ATOMIC_ACQUIRE) == (int32_t)getpid() &&
	    mapped->held[my_slot].kind == TB_HOLD_REPLY) {
		/* shorter only: the claim's deadline already covers the longest the reply may take */
		int64_t until = now_ms() + (ms > 0 ? ms : 1);
		if (until < __atomic_load_n(&mapped->held[my_slot].until_ms, __ATOMIC_ACQUIRE))
			__atomic_store_n(&mapped->held[my_slot].until_ms, until, __ATOMIC_RELEASE);
	} else {
		tb_metrics_unhold();
	}
}

void tb_metrics_unhold(void)
{
	/* No lock needed: only a claim under the lock makes a slot busy, and a free slot counts less. */
	if (mapped && my_slot >= 0 &&
	    __atomic_load_n(&mapped->held[my_slot].pid, __ATOMIC_ACQUIRE) == (int32_t)getpid())
		__atomic_store_n(&mapped->held[my_slot].pid, 0, __ATOMIC_RELEASE);
	my_slot = -1;
}

bool tb_metrics_held(uint64_t held[TB_HOLD__MAX])
{
	memset(held, 0, sizeof(uint64_t) * TB_HOLD__MAX);
	if (mapped == NULL)
		return false;
	uint64_t top = __atomic_load_n(&mapped->held_top, __ATOMIC_ACQUIRE);
	int64_t now = now_ms();
	for (uint64_t i = 0; i < top && i < TB_HOLD_SLOTS; i++) {
		const struct held *h = &mapped->held[i];
		int32_t pid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE);
		if (slot_live(h, pid, now) && h->kind >= 0 && h->kind < TB_HOLD__MAX)
			held[h->kind]++;
	}
	return true;
}

bool tb_metrics_held_polls(int64_t user_id, const char *addr, long out[3])
{
	out[0] = out[1] = out[2] = 0;
	if (mapped == NULL)
		return false;
	int32_t self = (int32_t)getpid();
	uint64_t top = __atomic_load_n(&mapped->held_top, __ATOMIC_ACQUIRE);
	int64_t now = now_ms();
	for (uint64_t i = 0; i < top && i < TB_HOLD_SLOTS; i++) {
		const struct held *h = &mapped->held[i];
		int32_t pid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE);
		if (pid == self || h->kind != TB_HOLD_POLL || !slot_live(h, pid, now))
			continue; /* ours is from an earlier request, as room_for() reads it */
		out[0]++;
		out[1] += h->user_id == user_id;
		out[2] += addr && addr[0] && strncmp(h->addr, addr, sizeof h->addr - 1) == 0;
	}
	return true;
}

/* ---- metrics_allow ---- */

struct net {
	int family;
	unsigned char addr[16];
	unsigned bits;
};

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4, so one rule covers both spellings. */
static void unmap_v4(struct net *n)
{
	static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (n->family == AF_INET6 && n->bits >= 96 && memcmp(n->addr, prefix, 12) == 0) {
		memmove(n->addr, n->addr + 12, 4);
		n->family = AF_INET;
		n->bits -= 96;
	}
}

/* Parses "ADDR" or "ADDR/BITS" (len bytes of s). */
static bool parse_net(const char *s, size_t len, bool allow_prefix, struct net *n)
{
	char text[INET6_ADDRSTRLEN + 8];
	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	char *slash = strchr(text, '/');
	if (slash) {
		if (!allow_prefix)
			return false;
		*slash++ = '\0';
	}
	if (inet_pton(AF_INET, text, n->addr) == 1) {
		n->family = AF_INET;
		n->bits = 32;
	} else if (inet_pton(AF_INET6, text, n->addr) == 1) {
		n->family = AF_INET6;
		n->bits = 128;
	} else {
		return false;
	}
	if (slash) {
		unsigned v = 0;
		size_t i = 0;
		for (; slash[i] >= '0' && slash[i] <= '9' && i < 3; i++)
			v = v * 10 + (unsigned)(slash[i] - '0');
		if (i == 0 || slash[i] != '\0' || v > n->bits)
			return false;
		n->bits = v;
	}
	unmap_v4(n);
	return true;
}

static bool net_contains(const struct net *rule, const struct net *a)
{
	if (rule->family != a->family)
		return false;
	unsigned full = rule->bits / 8, rest = rule->bits % 8;
	if (memcmp(rule->addr, a->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (rule->addr[full] & mask) == (a->addr[full] & mask);
}

bool tb_metrics_allowed(const char *allow, const char *addr)
{
	static bool logged_bad;
	struct net a;
	if (allow == NULL || addr == NULL || !parse_net(addr, strlen(addr), false, &a))
		return false;
	const char *p = allow;
	while (*p) {
		size_t skip = strspn(p, " \t,"), len = strcspn(p + skip, " \t,");
		const char *tok = p + skip;
		p = tok + len;
		if (len == 0)
			continue;
		struct net rule;
		if (!parse_net(tok, len, true, &rule)) {
			if (!logged_bad)
				TB_LOG(TB_LOG_WARN, "metrics_allow: ignoring '%.*s' (not an address or CIDR)",
				       (int)(len > 64 ? 64 : len), tok);
			logged_bad = true;
			continue;
		}
		if (net_contains(&rule, &a))
			return true;
	}
	return false;
}

/* ---- exposition (text format 0.0.4) ---- */

/* A label value: backslash, double quote and newline escaped. */
static void put_label_value(struct tb_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			tb_buf_puts(out, "\\\\");
		else if (*v == '"')
			tb_buf_puts(out, "\\\"");
		else if (*v == '\n')
			tb_buf_puts(out, "\\n");
		else
			tb_buf_append(out, v, 1);
	}
}

static void put_family(struct tb_buf *out, const char *family, size_t len, const char *type, const char *help)
{
	tb_buf_printf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)len, family, help, (int)len, family, type);
}

/* name{host="...",<labels>} value */
static void put_sample(struct tb_buf *out, const char *name, size_t len, const char *labels, const char *host,
                       uint64_t v)
{
	tb_buf_append(out, name, len);
	if (host) {
		tb_buf_puts(out, "{host=\"");
		put_label_value(out, host);
		tb_buf_puts(out, "\"");
		if (labels && *labels) {
			tb_buf_puts(out, ",");
			tb_buf_append(out, labels, strlen(labels) - 1); /* without the closing brace */
		}
		tb_buf_puts(out, "}");
	}
	tb_buf_printf(out, " %llu\n", (unsigned long long)v);
}

static const char *help_of(const char *family, size_t len)
{
	for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
		if (strlen(helps[i].family) == len && strncmp(helps[i].family, family, len) == 0)
			return helps[i].help;
	}
	return "Teamboard counter.";
}

/* A gauge family with its one sample; host NULL: no label. */
static void put_gauge(struct tb_buf *out, const char *name, const char *help, const char *host, uint64_t v)
{
	put_family(out, name, strlen(name), "gauge", help);
	put_sample(out, name, strlen(name), NULL, host, v);
}

/* The length of a name's family (the part before its labels). */
static size_t family_len(const char *name)
{
	const char *brace = strchr(name, '{');
	return brace ? (size_t)(brace - name) : strlen(name);
}

void tb_metrics_render(struct tb_buf *out, const char *host, const struct tb_metrics_gauges *g)
{
	const char *h = host ? host : "";
	/* A family's samples follow its HELP/TYPE together, wherever they are in names[] (a counter
	 * added later goes to the end of the enum: the shared file keeps each counter's index). */
	for (int m = 0; m < TB_M__MAX; m++) {
		size_t len = family_len(names[m]);
		bool seen = false;
		for (int k = 0; k < m && !seen; k++)
			seen = family_len(names[k]) == len && strncmp(names[k], names[m], len) == 0;
		if (seen)
			continue;
		put_family(out, names[m], len, "counter", help_of(names[m], len));
		for (int k = m; k < TB_M__MAX; k++) {
			if (family_len(names[k]) != len || strncmp(names[k], names[m], len) != 0)
				continue;
			const char *brace = strchr(names[k], '{');
			put_sample(out, names[k], len, brace ? brace + 1 : NULL, h, tb_metrics_get((enum tb_metric)k));
		}
	}
	if (g->have_held) { /* from shared memory: served with or without the database */
		static const char name[] = "teamboard_workers_held";
		put_family(
			out, name, strlen(name), "gauge",
			"Processes of this host holding an event stream, running a poll or writing a REST reply over "
			"256 KiB (shared memory).");
		put_sample(out, name, strlen(name), "kind=\"stream\"}", h, g->held[TB_HOLD_STREAM]);
		put_sample(out, name, strlen(name), "kind=\"poll\"}", h, g->held[TB_HOLD_POLL]);
		put_sample(out, name, strlen(name), "kind=\"reply\"}", h, g->held[TB_HOLD_REPLY]);
	}
	put_gauge(out, "teamboard_database_up",
	          "1 when PostgreSQL answered this scrape (else the gauges below are left out).", h,
	          g->have_db ? 1 : 0);
	if (!g->have_db)
		return;
	put_gauge(out, "teamboard_streams_open", "Event streams open on this host (stream registry).", h,
	          (uint64_t)(g->streams_open < 0 ? 0 : g->streams_open));
	put_gauge(out, "teamboard_streams_open_all", "Event streams open on all hosts (stream registry).", NULL,
	          (uint64_t)(g->streams_open_all < 0 ? 0 : g->streams_open_all));
	put_gauge(out, "teamboard_supervisor_leader",
	          "1 when the active supervisor runs on this host and reported within two of its intervals.", h,
	          g->leader ? 1 : 0);
}
