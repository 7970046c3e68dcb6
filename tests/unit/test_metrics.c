/* test_metrics: the shared counters of tb_metrics on temporary files (add/get, kept across a re-open,
 * shared with forked children that add concurrently, files of another layout or owner refused), the
 * held-workers table (limits per host, user and address claimed by racing children, dead pids free;
 * a large reply's slot counts until the deadline of its claim, whatever its pid does),
 * the Prometheus names, the instance id (FNV-1a values computed independently), the metrics_allow
 * matcher (IPv4, IPv6, CIDRs, IPv4-mapped IPv6, junk) and the text exposition. Each table row
 * carries its __LINE__. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_buf.h"
#include "tb_config.h"
#include "tb_metrics.h"
#include "tb_test.h"

static char tmpdir[64];

/* A fresh path in tmpdir (not created). */
static const char *temp_path(const char *name)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
	return path;
}

/* ---- names ---- */

static const struct {
	int line;
	enum tb_metric m;
	const char *name;
} name_cases[] = {
	{__LINE__, TB_M_EVENTS_SENT, "teamboard_events_sent_total"},
	{__LINE__, TB_M_EVENTS_REPLAYED, "teamboard_events_replayed_total"},
	{__LINE__, TB_M_HEARTBEATS, "teamboard_heartbeats_total"},
	{__LINE__, TB_M_STREAMS_OPENED, "teamboard_streams_opened_total"},
	{__LINE__, TB_M_STREAMS_REFUSED, "teamboard_streams_refused_total"},
	{__LINE__, TB_M_CLOSED_CLIENT_GONE, "teamboard_streams_closed_total{reason=\"client_gone\"}"},
	{__LINE__, TB_M_CLOSED_LIFETIME, "teamboard_streams_closed_total{reason=\"lifetime\"}"},
	{__LINE__, TB_M_CLOSED_REVOKED, "teamboard_streams_closed_total{reason=\"revoked\"}"},
	{__LINE__, TB_M_CLOSED_RECYCLED, "teamboard_streams_closed_total{reason=\"recycled\"}"},
	{__LINE__, TB_M_CLOSED_ERROR, "teamboard_streams_closed_total{reason=\"error\"}"},
	{__LINE__, TB_M_POLLS, "teamboard_polls_total"},
	{__LINE__, TB_M_CLOSED_SLOW_CLIENT, "teamboard_streams_closed_total{reason=\"slow_client\"}"},
	{__LINE__, TB_M_LARGE_REPLIES_REFUSED, "teamboard_large_replies_refused_total"},
	{__LINE__, TB_M__MAX, "teamboard_unknown"},
	{__LINE__, (enum tb_metric) - 1, "teamboard_unknown"},
};

static void test_names(void)
{
	for (size_t i = 0; i < N_ELEMS(name_cases); i++) {
		tb_case(__FILE__, name_cases[i].line, "tb_metrics_name(%d)", (int)name_cases[i].m);
		tb_check_str("name", tb_metrics_name(name_cases[i].m), name_cases[i].name);
		tb_end();
	}
	tb_case(__FILE__, __LINE__, "every counter is named in the table above");
	tb_check_uint("rows", N_ELEMS(name_cases) - 2, TB_M__MAX);
	tb_end();
}

/* ---- counters in a file ---- */

static void test_counters(void)
{
	const char *path = temp_path("counters");
	tb_case(__FILE__, __LINE__, "open_path creates a private file; add and get");
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	struct stat st;
	tb_check_int("stat", stat(path, &st), 0);
	tb_check_uint("mode", st.st_mode & 0777, 0600);
	for (int m = 0; m < TB_M__MAX; m++)
		tb_check_uint(tb_metrics_name((enum tb_metric)m), tb_metrics_get((enum tb_metric)m), 0);
	tb_metrics_add(TB_M_EVENTS_SENT, 3);
	tb_metrics_add(TB_M_EVENTS_SENT, 4);
	tb_metrics_add(TB_M_CLOSED_ERROR, 1);
	tb_check_uint("events_sent", tb_metrics_get(TB_M_EVENTS_SENT), 7);
	tb_check_uint("closed_error", tb_metrics_get(TB_M_CLOSED_ERROR), 1);
	tb_check_uint("polls", tb_metrics_get(TB_M_POLLS), 0);
	tb_end();

	tb_case(__FILE__, __LINE__, "out-of-range counters are ignored");
	tb_metrics_add(TB_M__MAX, 5);
	tb_metrics_add((enum tb_metric) - 1, 5);
	tb_check_uint("get(__MAX)", tb_metrics_get(TB_M__MAX), 0);
	tb_check_uint("events_sent", tb_metrics_get(TB_M_EVENTS_SENT), 7);
	tb_end();

	tb_case(__FILE__, __LINE__, "the counts survive close and re-open (a restarted worker)");
	tb_metrics_close();
	tb_check_uint("after close: process memory", tb_metrics_get(TB_M_EVENTS_SENT), 0);
	tb_check_err("re-open", tb_metrics_open_path(path), TB_OK);
	tb_check_uint("events_sent", tb_metrics_get(TB_M_EVENTS_SENT), 7);
	tb_check_uint("closed_error", tb_metrics_get(TB_M_CLOSED_ERROR), 1);
	tb_end();

	tb_case(__FILE__, __LINE__, "forked children add concurrently; the parent sees every add");
	enum { CHILDREN = 3, ADDS = 20000 };
	pid_t pids[CHILDREN];
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			for (int i = 0; i < ADDS; i++) {
				tb_metrics_add(TB_M_HEARTBEATS, 1);
				tb_metrics_add(TB_M_POLLS, 2);
			}
			_exit(0);
		}
		tb_check(pids[c] > 0, "fork: %s", strerror(errno));
	}
	for (int c = 0; c < CHILDREN; c++) {
		int status = -1;
		if (pids[c] > 0 && waitpid(pids[c], &status, 0) == pids[c])
			tb_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", c, status);
	}
	tb_check_uint("heartbeats", tb_metrics_get(TB_M_HEARTBEATS), (uint64_t)CHILDREN * ADDS);
	tb_check_uint("polls", tb_metrics_get(TB_M_POLLS), 2ULL * CHILDREN * ADDS);
	tb_end();

	tb_case(__FILE__, __LINE__, "a child's adds reach a parent that re-opens the file");
	tb_metrics_close();
	pid_t pid = fork();
	if (pid == 0) {
		_exit(tb_metrics_open_path(path) == TB_OK ? (tb_metrics_add(TB_M_STREAMS_OPENED, 42), 0) : 1);
	}
	int status = -1;
	tb_check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	         "child failed (status %d)", status);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	tb_check_uint("streams_opened", tb_metrics_get(TB_M_STREAMS_OPENED), 42);
	tb_end();
	tb_metrics_close();
	unlink(path);
}

/* Writes len bytes of data as a new file at path with mode. */
static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		tb_fail("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
}

static void test_refused_files(void)
{
	static const uint64_t other[8] = {UINT64_C(0x54424d4554520002)}; /* a later layout version */
	const char *path = temp_path("other-layout");
	tb_case(__FILE__, __LINE__, "a file of another layout is refused; counting goes on in memory");
	write_file(path, other, sizeof other, 0600);
	tb_check_err("open", tb_metrics_open_path(path), TB_ERR_IO);
	tb_metrics_add(TB_M_POLLS, 2);
	tb_check_uint("polls", tb_metrics_get(TB_M_POLLS), 2);
	tb_end();
	tb_metrics_close();
	unlink(path);

	path = temp_path("public");
	tb_case(__FILE__, __LINE__, "a file others may read or write is refused");
	write_file(path, "", 0, 0644);
	tb_check_err("open", tb_metrics_open_path(path), TB_ERR_IO);
	tb_end();
	unlink(path);

	char link_path[128];
	snprintf(link_path, sizeof link_path, "%s", temp_path("link"));
	const char *target = temp_path("target");
	tb_case(__FILE__, __LINE__, "a symlink is not followed");
	tb_check_int("symlink", symlink(target, link_path), 0);
	tb_check_err("open", tb_metrics_open_path(link_path), TB_ERR_IO);
	tb_check_int("target not created", access(target, F_OK), -1);
	tb_end();
	unlink(link_path);

	tb_case(__FILE__, __LINE__, "a path that cannot be created");
	tb_check_err("open", tb_metrics_open_path("/nonexistent/dir/metrics"), TB_ERR_IO);
	tb_metrics_add(TB_M_EVENTS_SENT, 1);
	tb_check_uint("events_sent (in memory)", tb_metrics_get(TB_M_EVENTS_SENT), 1);
	tb_end();
	tb_metrics_close();
}

/* ---- held workers ---- */

/* A child that claims a slot, reports the result on its pipe and holds it until release_fd reads
 * EOF (the parent closes its end, release_w here) or exits at once when die is set (without
 * releasing). A reply slot's deadline is hold_ms after its claim. alarm(): a child never outlives
 * a broken test by long. */
struct holder {
	pid_t pid;
	int result_fd;
};

static struct holder spawn_holder_for(enum tb_hold_kind kind, int64_t user, const char *addr,
                                      const struct tb_hold_limits *lim, int release_fd, int release_w, bool die,
                                      int64_t hold_ms)
{
	int p[2];
	struct holder h = {-1, -1};
	if (pipe(p) != 0) {
		tb_fail("pipe: %s", strerror(errno));
		return h;
	}
	h.pid = fork();
	if (h.pid == 0) {
		alarm(30);
		close(p[0]);
		if (release_w >= 0)
			close(release_w);
		/* a large reply: per_address and per_host of lim, per_user unused */
		char r = (char)(kind == TB_HOLD_REPLY
		                        ? tb_metrics_hold_reply(addr, lim->per_address, lim->per_host, hold_ms)
		                        : tb_metrics_hold(kind, user, addr, 7, lim));
		if (write(p[1], &r, 1) != 1)
			_exit(2);
		if (!die) {
			char b;
			while (read(release_fd, &b, 1) > 0)
				;
			tb_metrics_unhold();
		}
		_exit(0);
	}
	close(p[1]);
	h.result_fd = p[0];
	return h;
}

/* A reply slot claimed there counts for at most a minute (hold_ms), unless released. */
static struct holder spawn_holder(enum tb_hold_kind kind, int64_t user, const char *addr,
                                  const struct tb_hold_limits *lim, int release_fd, int release_w, bool die)
{
	return spawn_holder_for(kind, user, addr, lim, release_fd, release_w, die, 60000);
}

/* The child's tb_metrics_hold result. */
static enum tb_err holder_result(struct holder *h)
{
	char r = -1;
	if (h->result_fd < 0 || read(h->result_fd, &r, 1) != 1)
		tb_fail("no result from holder %d", (int)h->pid);
	close(h->result_fd);
	h->result_fd = -1;
	return (enum tb_err)r;
}

static void reap(struct holder *hs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int status;
		if (hs[i].pid > 0)
			waitpid(hs[i].pid, &status, 0);
		if (hs[i].result_fd >= 0)
			close(hs[i].result_fd);
	}
}

static uint64_t held_of(enum tb_hold_kind kind)
{
	uint64_t held[TB_HOLD__MAX];
	tb_metrics_held(held);
	return held[kind];
}

static const struct {
	int line;
	const char *what;
	struct tb_hold_limits lim;
	struct {
		enum tb_hold_kind kind;
		int64_t user;
		const char *addr;
		enum tb_err want;
	} claims[8]; /* made one after another, each in its own process; user 0 ends the list */
} hold_cases[] = {
	{__LINE__,
         "per host: the third of any user is refused",
         {2, 10, 0},
         {{TB_HOLD_STREAM, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_STREAM, 2, "10.0.0.2", TB_OK},
          {TB_HOLD_STREAM, 3, "10.0.0.3", TB_ERR_TOO_LARGE}}},
	{__LINE__,
         "a poll counts like a stream",
         {2, 10, 0},
         {{TB_HOLD_POLL, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_STREAM, 2, "10.0.0.2", TB_OK},
          {TB_HOLD_POLL, 3, "10.0.0.3", TB_ERR_TOO_LARGE}}},
	{__LINE__,
         "per user, polls and streams together",
         {10, 2, 0},
         {{TB_HOLD_STREAM, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_POLL, 1, "10.0.0.2", TB_OK},
          {TB_HOLD_STREAM, 1, "10.0.0.3", TB_ERR_TOO_LARGE},
          {TB_HOLD_POLL, 2, "10.0.0.3", TB_OK}}},
	{__LINE__,
         "per address, whoever the user",
         {10, 10, 2},
         {{TB_HOLD_STREAM, 1, "::1", TB_OK},
          {TB_HOLD_POLL, 2, "::1", TB_OK},
          {TB_HOLD_STREAM, 3, "::1", TB_ERR_TOO_LARGE},
          {TB_HOLD_STREAM, 3, "::2", TB_OK}}},
	{__LINE__,
         "per address 0: no limit",
         {10, 10, 0},
         {{TB_HOLD_STREAM, 1, "::1", TB_OK}, {TB_HOLD_STREAM, 2, "::1", TB_OK}, {TB_HOLD_STREAM, 3, "::1", TB_OK}}},
	{__LINE__, "max_streams 0 refuses every hold", {0, 10, 0}, {{TB_HOLD_POLL, 1, "::1", TB_ERR_TOO_LARGE}}},
	{__LINE__, "per user 0 refuses every hold", {10, 0, 0}, {{TB_HOLD_STREAM, 1, "::1", TB_ERR_TOO_LARGE}}},
	{__LINE__,
         "no address: counted per host and user only",
         {10, 10, 1},
         {{TB_HOLD_STREAM, 1, NULL, TB_OK}, {TB_HOLD_STREAM, 2, NULL, TB_OK}, {TB_HOLD_STREAM, 3, "", TB_OK}}},
	/* large replies (tb_metrics_hold_reply: per_address and per_host of the limits, 0 = none) */
	{__LINE__,
         "large replies: the third of one address is refused, another address is not",
         {0, 0, 2},
         {{TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_ERR_TOO_LARGE},
          {TB_HOLD_REPLY, 1, "10.0.0.2", TB_OK},
          {TB_HOLD_REPLY, 1, "2001:db8::/64", TB_OK}}},
	{__LINE__,
         "large replies: per address 0 is no limit",
         {0, 0, 0},
         {{TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK}}},
	{__LINE__,
         "large replies: a host-wide bound, whatever the address",
         {2, 0, 5},
         {{TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.2", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.3", TB_ERR_TOO_LARGE}}},
	{__LINE__,
         "streams and polls do not count against large replies",
         {2, 2, 1},
         {{TB_HOLD_STREAM, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_POLL, 2, "10.0.0.2", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.2", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.1", TB_ERR_TOO_LARGE}}},
	{__LINE__,
         "large replies do not count against streams and polls",
         {2, 2, 1},
         {{TB_HOLD_REPLY, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_REPLY, 1, "10.0.0.2", TB_OK},
          {TB_HOLD_STREAM, 1, "10.0.0.1", TB_OK},
          {TB_HOLD_POLL, 2, "10.0.0.2", TB_OK},
          {TB_HOLD_STREAM, 3, "10.0.0.3", TB_ERR_TOO_LARGE}}},
};

static void test_hold_cases(const char *path)
{
	for (size_t i = 0; i < N_ELEMS(hold_cases); i++) {
		tb_case(__FILE__, hold_cases[i].line, "hold: %s", hold_cases[i].what);
		tb_check_err("open", tb_metrics_open_path(path), TB_OK);
		int rel[2];
		tb_check_int("pipe", pipe(rel), 0);
		struct holder hs[8];
		size_t n = 0, ok = 0;
		for (; n < N_ELEMS(hold_cases[i].claims) && hold_cases[i].claims[n].user; n++) {
			const __typeof__(hold_cases[i].claims[0]) *c = &hold_cases[i].claims[n];
			hs[n] = spawn_holder(c->kind, c->user, c->addr, &hold_cases[i].lim, rel[0], rel[1], false);
			enum tb_err got = holder_result(&hs[n]);
			tb_check(got == c->want, "claim %zu: %s, want %s", n, tb_err_str(got), tb_err_str(c->want));
			ok += got == TB_OK;
		}
		uint64_t held[TB_HOLD__MAX];
		tb_check_bool("held() with the file", tb_metrics_held(held), true);
		tb_check_uint("held, all kinds", held[TB_HOLD_STREAM] + held[TB_HOLD_POLL] + held[TB_HOLD_REPLY], ok);
		close(rel[1]);
		close(rel[0]);
		reap(hs, n);
		tb_check_uint("held after release",
		              held_of(TB_HOLD_STREAM) + held_of(TB_HOLD_POLL) + held_of(TB_HOLD_REPLY), 0);
		tb_end();
	}
}

/* tb_metrics_held_polls: the live poll slots of other processes, all, a user's and an address's;
 * streams, replies and the caller's own slot do not count. */
static void test_held_polls(const char *path)
{
	tb_case(__FILE__, __LINE__, "held polls: by host, user and address, not streams, replies or our own");
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	const struct tb_hold_limits lim = {100, 100, 0};
	const struct {
		enum tb_hold_kind kind;
		int64_t user;
		const char *addr;
	} claims[] = {{TB_HOLD_POLL, 1, "10.0.0.1"},
	              {TB_HOLD_POLL, 2, "10.0.0.1"},
	              {TB_HOLD_POLL, 1, "10.0.0.2"},
	              {TB_HOLD_STREAM, 1, "10.0.0.1"},
	              {TB_HOLD_REPLY, 0, "10.0.0.1"}};
	int rel[2];
	tb_check_int("pipe", pipe(rel), 0);
	struct holder hs[N_ELEMS(claims)];
	for (size_t i = 0; i < N_ELEMS(claims); i++) {
		hs[i] = spawn_holder(claims[i].kind, claims[i].user, claims[i].addr, &lim, rel[0], rel[1], false);
		tb_check_err("claimed", holder_result(&hs[i]), TB_OK);
	}
	tb_check_err("our own poll", tb_metrics_hold(TB_HOLD_POLL, 1, "10.0.0.1", 7, &lim), TB_OK);
	long out[3];
	tb_check_bool("with the file", tb_metrics_held_polls(1, "10.0.0.1", out), true);
	tb_check_int("all polls", out[0], 3);
	tb_check_int("user 1's", out[1], 2);
	tb_check_int("10.0.0.1's", out[2], 2);
	tb_check_bool("no address", tb_metrics_held_polls(3, NULL, out), true);
	tb_check_int("user 3's", out[1], 0);
	tb_check_int("no address matches", out[2], 0);
	tb_metrics_unhold();
	close(rel[1]);
	close(rel[0]);
	reap(hs, N_ELEMS(claims));
	tb_metrics_held_polls(1, "10.0.0.1", out);
	tb_check_int("after release", out[0] + out[1] + out[2], 0);
	tb_end();
}

static void test_hold(void)
{
	const char *path = temp_path("held");
	test_hold_cases(path);
	test_held_polls(path);

	tb_case(__FILE__, __LINE__, "8 claims at once with room for 6: exactly 6 win (count and claim are one step)");
	enum { RACERS = 8, ROOM = 6 };
	const struct tb_hold_limits lim = {ROOM, 100, 0};
	int rel[2], go[2];
	tb_check_int("pipe", pipe(rel), 0);
	tb_check_int("pipe", pipe(go), 0);
	struct holder hs[RACERS];
	for (int i = 0; i < RACERS; i++) {
		int p[2];
		tb_check_int("pipe", pipe(p), 0);
		hs[i].pid = fork();
		if (hs[i].pid == 0) {
			char b;
			alarm(30);
			close(rel[1]);
			close(go[1]);
			close(p[0]);
			if (read(go[0], &b, 1) != 0) /* all start when the parent closes go */
				_exit(2);
			char r = (char)tb_metrics_hold(TB_HOLD_STREAM, 1, "127.0.0.1", 1, &lim);
			if (write(p[1], &r, 1) != 1)
				_exit(2);
			while (read(rel[0], &b, 1) > 0)
				;
			_exit(0);
		}
		close(p[1]);
		hs[i].result_fd = p[0];
	}
	close(go[0]);
	close(go[1]);
	int won = 0, refused = 0;
	for (int i = 0; i < RACERS; i++) {
		enum tb_err r = holder_result(&hs[i]);
		won += r == TB_OK;
		refused += r == TB_ERR_TOO_LARGE;
	}
	tb_check_int("won", won, ROOM);
	tb_check_int("refused", refused, RACERS - ROOM);
	tb_check_uint("held streams", held_of(TB_HOLD_STREAM), ROOM);
	tb_check_uint("held polls", held_of(TB_HOLD_POLL), 0);
	close(rel[1]);
	close(rel[0]);
	reap(hs, RACERS);
	tb_check_uint("children exited without unhold: their slots are free", held_of(TB_HOLD_STREAM), 0);
	tb_end();

	tb_case(__FILE__, __LINE__, "a holder that dies without releasing frees its slot");
	const struct tb_hold_limits one = {1, 1, 1};
	struct holder dead = spawn_holder(TB_HOLD_STREAM, 5, "::1", &one, -1, -1, true);
	tb_check_err("dead holder's claim", holder_result(&dead), TB_OK);
	reap(&dead, 1);
	tb_check_err("claim after its death", tb_metrics_hold(TB_HOLD_POLL, 5, "::1", 1, &one), TB_OK);
	tb_check_uint("held polls", held_of(TB_HOLD_POLL), 1);
	tb_end();

	tb_case(__FILE__, __LINE__, "a process holds one slot: a second hold replaces the first; unhold frees it");
	tb_check_err("again", tb_metrics_hold(TB_HOLD_STREAM, 5, "::1", 1, &one), TB_OK);
	tb_check_uint("held streams", held_of(TB_HOLD_STREAM), 1);
	tb_check_uint("held polls", held_of(TB_HOLD_POLL), 0);
	tb_metrics_unhold();
	tb_check_uint("after unhold", held_of(TB_HOLD_STREAM), 0);
	tb_metrics_unhold(); /* twice: a no-op */
	tb_end();

	tb_case(__FILE__, __LINE__, "in process memory there is no table: the caller must count otherwise");
	tb_metrics_close();
	tb_check_err("hold", tb_metrics_hold(TB_HOLD_STREAM, 1, "::1", 1, &lim), TB_ERR_IO);
	uint64_t held[TB_HOLD__MAX] = {9, 9};
	tb_check_bool("held()", tb_metrics_held(held), false);
	tb_check_uint("held zeroed", held[0] + held[1], 0);
	tb_end();

	tb_case(__FILE__, __LINE__, "a file of the first layout (counters only) grows into an empty table");
	static const uint64_t v1[8 + 64] = {UINT64_C(0x54424d4554520001), 0, 0, 0, 0, 0, 0, 0, 11};
	path = temp_path("v1");
	write_file(path, v1, sizeof v1, 0600);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	tb_check_uint("events_sent kept", tb_metrics_get(TB_M_EVENTS_SENT), 11);
	tb_check_uint("held", held_of(TB_HOLD_STREAM) + held_of(TB_HOLD_POLL), 0);
	tb_check_err("hold", tb_metrics_hold(TB_HOLD_STREAM, 1, "::1", 1, &lim), TB_OK);
	tb_check_uint("held streams", held_of(TB_HOLD_STREAM), 1);
	tb_end();
	tb_metrics_close();
	unlink(path);
	unlink(temp_path("held"));
}

/* A child's tb_metrics_hold_reply(addr, per_address 1, no host bound); it releases what it got
 * and exits at once. */
static enum tb_err reply_claim_elsewhere(const char *addr)
{
	const struct tb_hold_limits lim = {0, 0, 1};
	int rel[2];
	if (pipe(rel) != 0) {
		tb_fail("pipe: %s", strerror(errno));
		return TB_ERR_IO;
	}
	struct holder h = spawn_holder(TB_HOLD_REPLY, 1, addr, &lim, rel[0], rel[1], false);
	enum tb_err got = holder_result(&h);
	close(rel[1]);
	close(rel[0]);
	reap(&h, 1);
	return got;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes slot 0 of the held table of the file at path, as another process would have claimed it:
 * the layout of lib/tb_metrics.c (magic, held_top, 6 reserved words, 64 counters, then the slots:
 * int32 pid, int32 kind, int64 user_id, int64 board_id / until_ms, char addr[48]). */
static void plant_slot(const char *path, int32_t pid, int32_t kind, int64_t until_ms, const char *addr)
{
	struct {
		int32_t pid, kind;
		int64_t user_id, until_ms;
		char addr[48];
	} slot = {pid, kind, 1, until_ms, {0}};
	snprintf(slot.addr, sizeof slot.addr, "%s", addr);
	const uint64_t top = 1;
	const off_t held = (off_t)sizeof(uint64_t) * (8 + 64);
	int fd = open(path, O_RDWR);
	tb_check(fd >= 0 && pwrite(fd, &slot, sizeof slot, held) == (ssize_t)sizeof slot &&
	                 pwrite(fd, &top, sizeof top, (off_t)sizeof(uint64_t)) == (ssize_t)sizeof top,
	         "cannot plant a slot in %s", path);
	if (fd >= 0)
		close(fd);
}

/* A large reply's slot: time decides. It counts from its claim until the deadline set then
 * (hold_ms), whether its process is alive, dead or its pid reused; the process may release it
 * sooner (written whole, or its next request) or shorten it (tb_metrics_linger), never extend it:
 * the web server in front may hold the client's connection after the program gave up or died. */
static void test_reply_deadline(void)
{
	const char *path = temp_path("linger");
	unlink(path);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);

	tb_case(__FILE__, __LINE__,
	        "a reply slot counts until the deadline of its claim, its process alive, then is free");
	tb_check_err("claim", tb_metrics_hold_reply("10.0.0.9", 1, 0, 300), TB_OK);
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 1);
	tb_check_err("the same address meanwhile", reply_claim_elsewhere("10.0.0.9"), TB_ERR_TOO_LARGE);
	tb_check_err("another address meanwhile", reply_claim_elsewhere("10.0.0.10"), TB_OK);
	sleep_ms(400);
	tb_check_uint("held replies after the deadline", held_of(TB_HOLD_REPLY), 0);
	tb_check_err("the same address after the deadline", reply_claim_elsewhere("10.0.0.9"), TB_OK);
	tb_metrics_unhold();
	tb_end();

	tb_case(__FILE__, __LINE__, "linger shortens a reply slot's time, never extends it past its claim's deadline");
	tb_check_err("claim for a minute", tb_metrics_hold_reply("10.0.0.9", 1, 0, 60000), TB_OK);
	tb_metrics_linger(300);
	tb_check_uint("held replies while lingering", held_of(TB_HOLD_REPLY), 1);
	tb_check_err("the same address meanwhile", reply_claim_elsewhere("10.0.0.9"), TB_ERR_TOO_LARGE);
	sleep_ms(400);
	tb_check_uint("held replies after the lingering", held_of(TB_HOLD_REPLY), 0);
	tb_check_err("claim for 300 ms", tb_metrics_hold_reply("10.0.0.9", 1, 0, 300), TB_OK);
	tb_metrics_linger(60000);
	sleep_ms(400);
	tb_check_uint("held replies after the claim's deadline", held_of(TB_HOLD_REPLY), 0);
	tb_metrics_unhold();
	tb_end();

	tb_case(__FILE__, __LINE__, "the process's next unhold (its next request) ends the slot at once");
	tb_check_err("claim", tb_metrics_hold_reply("10.0.0.9", 1, 0, 60000), TB_OK);
	tb_metrics_linger(60000);
	tb_check_err("the same address while lingering", reply_claim_elsewhere("10.0.0.9"), TB_ERR_TOO_LARGE);
	tb_metrics_unhold();
	tb_check_uint("held replies after unhold", held_of(TB_HOLD_REPLY), 0);
	tb_check_err("the same address after unhold", reply_claim_elsewhere("10.0.0.9"), TB_OK);
	tb_end();

	tb_case(__FILE__, __LINE__,
	        "a reply slot of a process that died counts until its deadline (the web server may "
	        "still hold the client)");
	const struct tb_hold_limits lim = {0, 0, 1};
	struct holder h = spawn_holder_for(TB_HOLD_REPLY, 1, "10.0.0.11", &lim, -1, -1, true, 500);
	tb_check_err("dead holder's claim", holder_result(&h), TB_OK);
	reap(&h, 1);
	tb_check_uint("held replies after its death", held_of(TB_HOLD_REPLY), 1);
	tb_check_err("the same address after its death", reply_claim_elsewhere("10.0.0.11"), TB_ERR_TOO_LARGE);
	sleep_ms(600);
	tb_check_uint("held replies after the deadline", held_of(TB_HOLD_REPLY), 0);
	tb_check_err("the same address after the deadline", reply_claim_elsewhere("10.0.0.11"), TB_OK);
	tb_end();

	tb_case(__FILE__, __LINE__, "a reused pid neither keeps nor frees a reply slot: our own pid in another's slot");
	tb_metrics_close();
	unlink(path);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	plant_slot(path, (int32_t)getpid(), TB_HOLD_REPLY, monotonic_ms() + 60000, "10.0.0.12");
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 1);
	tb_check_err("our claim for its address", tb_metrics_hold_reply("10.0.0.12", 1, 0, 60000), TB_ERR_TOO_LARGE);
	tb_check_uint("held replies after our claim", held_of(TB_HOLD_REPLY), 1);
	tb_end();

	tb_case(__FILE__, __LINE__, "a reused pid neither keeps nor frees a reply slot: a live pid past the deadline");
	tb_metrics_close();
	unlink(path);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	plant_slot(path, 1, TB_HOLD_REPLY, monotonic_ms() - 1, "10.0.0.13"); /* pid 1 is always alive */
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 0);
	tb_check_err("a claim for its address", tb_metrics_hold_reply("10.0.0.13", 1, 0, 60000), TB_OK);
	tb_metrics_unhold();
	tb_end();

	tb_case(__FILE__, __LINE__, "a deadline further off than any claim sets (another boot's clock) is no deadline");
	tb_metrics_close();
	unlink(path);
	tb_check_err("open", tb_metrics_open_path(path), TB_OK);
	plant_slot(path, 1, TB_HOLD_REPLY, monotonic_ms() + TB_HOLD_REPLY_MAX_MS + 60000, "10.0.0.14");
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 0);
	tb_end();

	tb_case(__FILE__, __LINE__,
	        "linger without a reply slot: a stream's slot is released, nothing held is a no-op");
	const struct tb_hold_limits many = {10, 10, 0};
	tb_check_err("stream", tb_metrics_hold(TB_HOLD_STREAM, 1, "::1", 1, &many), TB_OK);
	tb_metrics_linger(60000);
	tb_check_uint("held streams", held_of(TB_HOLD_STREAM), 0);
	tb_metrics_linger(60000);
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 0);
	tb_end();

	tb_case(__FILE__, __LINE__, "tb_metrics_hold does not take the reply kind (tb_metrics_hold_reply does)");
	tb_check_err("hold", tb_metrics_hold(TB_HOLD_REPLY, 1, "::1", 1, &many), TB_ERR_INVALID);
	tb_check_uint("held replies", held_of(TB_HOLD_REPLY), 0);
	tb_end();

	tb_case(__FILE__, __LINE__, "without the shared file there is no reply table");
	tb_metrics_close();
	tb_check_err("hold_reply", tb_metrics_hold_reply("::1", 1, 0, 60000), TB_ERR_IO);
	tb_metrics_linger(100); /* a no-op */
	tb_end();
	unlink(path);
}

/* ---- instance id and tb_metrics_open ---- */

static const struct {
	int line;
	const char *database, *host, *want;
} id_cases[] = {
	/* FNV-1a 64 of "keyword=value" NUL for each setting, NUL, host (computed with a separate
	 * implementation) */
	{__LINE__, "", "", "af63bd4c8601b7df"},
	{__LINE__, "dbname=teamboard", "web1", "df717b53cc1f03a3"},
	{__LINE__, "dbname=teamboard password=s3cret", "web1", "df717b53cc1f03a3"},
	{__LINE__, "password='an other' dbname = teamboard sslpassword=x", "web1", "df717b53cc1f03a3"},
	{__LINE__, "host=h user=u dbname=db", "x", "8b353ff08dd52b3b"},
	{__LINE__, "postgresql://u:s3cret@h/db", "x", "8b353ff08dd52b3b"},
	{__LINE__, "postgresql://u@h/db?password=other", "x", "8b353ff08dd52b3b"},
};

static void test_instance_id(void)
{
	for (size_t i = 0; i < N_ELEMS(id_cases); i++) {
		struct tb_config cfg = {0};
		cfg.database = (char *)id_cases[i].database;
		cfg.host_name = (char *)id_cases[i].host;
		char id[17];
		tb_case(__FILE__, id_cases[i].line, "tb_metrics_instance_id(%s, %s)", tb_q(id_cases[i].database),
		        tb_q(id_cases[i].host));
		tb_metrics_instance_id(&cfg, id);
		tb_check_str("id", id, id_cases[i].want);
		tb_end();
	}
	tb_case(__FILE__, __LINE__, "the database and host are not just concatenated");
	struct tb_config a = {0}, b = {0};
	char ia[17], ib[17];
	a.database = "ab", a.host_name = "c";
	b.database = "a", b.host_name = "bc";
	tb_metrics_instance_id(&a, ia);
	tb_metrics_instance_id(&b, ib);
	tb_check(strcmp(ia, ib) != 0, "same id %s", ia);
	tb_end();

	tb_case(__FILE__, __LINE__, "tb_metrics_open maps /dev/shm/teamboard-metrics-<uid>-<id>");
	char db[96], id[17], path[160];
	snprintf(db, sizeof db, "dbname=test_metrics_%ld", (long)getpid());
	struct tb_config cfg = {0};
	cfg.database = db;
	cfg.host_name = "unit-test";
	tb_metrics_instance_id(&cfg, id);
	const char *dir = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/teamboard-metrics-%lu-%s", dir, (unsigned long)geteuid(), id);
	tb_check_err("open", tb_metrics_open(&cfg), TB_OK);
	tb_check_int("file exists", access(path, F_OK), 0);
	tb_metrics_add(TB_M_STREAMS_REFUSED, 1);
	tb_check_uint("streams_refused", tb_metrics_get(TB_M_STREAMS_REFUSED), 1);
	tb_end();
	tb_metrics_close();
	unlink(path);
}

/* ---- metrics_allow ---- */

static const struct {
	int line;
	const char *allow, *addr;
	bool want;
} allow_cases[] = {
	{__LINE__, "127.0.0.1 ::1", "127.0.0.1", true},
	{__LINE__, "127.0.0.1 ::1", "::1", true},
	{__LINE__, "127.0.0.1 ::1", "127.0.0.2", false},
	{__LINE__, "127.0.0.1 ::1", "::2", false},
	{__LINE__, "127.0.0.1 ::1", "::ffff:127.0.0.1", true}, /* IPv4-mapped */
	{__LINE__, "127.0.0.1 ::1", "::FFFF:127.0.0.1", true},
	{__LINE__, "127.0.0.1 ::1", "::ffff:127.0.0.2", false},
	{__LINE__, "::ffff:127.0.0.1", "127.0.0.1", true}, /* a mapped rule matches plain IPv4 */
	{__LINE__, "::ffff:10.0.0.0/104", "10.1.2.3", true},
	{__LINE__, "::ffff:10.0.0.0/104", "11.1.2.3", false},
	{__LINE__, "10.0.0.0/8", "10.255.1.2", true},
	{__LINE__, "10.0.0.0/8", "11.0.0.1", false},
	{__LINE__, "10.0.0.0/8", "::ffff:10.9.9.9", true},
	{__LINE__, "192.168.4.0/22", "192.168.7.255", true},
	{__LINE__, "192.168.4.0/22", "192.168.8.0", false},
	{__LINE__, "192.168.4.0/22", "192.168.3.255", false},
	{__LINE__, "0.0.0.0/0", "203.0.113.9", true},
	{__LINE__, "0.0.0.0/0", "2001:db8::1", false}, /* families do not mix */
	{__LINE__, "::/0", "2001:db8::1", true},
	{__LINE__, "::/0", "127.0.0.1", false},
	{__LINE__, "2001:db8::/32", "2001:db8:ffff::1", true},
	{__LINE__, "2001:db8::/32", "2001:db9::1", false},
	{__LINE__, "2001:db8::/33", "2001:db8:7fff::1", true},
	{__LINE__, "2001:db8::/33", "2001:db8:8000::1", false},
	{__LINE__, "fe80::1%eth0 ::1", "::1", true}, /* a bad entry is skipped, the rest still count */
	{__LINE__, "junk 127.0.0.1", "127.0.0.1", true},
	{__LINE__, "  127.0.0.1\t,::1  ", "::1", true},
	{__LINE__, "10.0.0.0/33", "10.0.0.1", false}, /* prefix too long: ignored */
	{__LINE__, "10.0.0.0/", "10.0.0.1", false},
	{__LINE__, "10.0.0.0/x", "10.0.0.1", false},
	{__LINE__, "10.0.0.0/08", "10.0.0.1", true},
	{__LINE__, "10.0.0.0/-1", "10.0.0.1", false},
	{__LINE__, "::1/129", "::1", false},
	{__LINE__, "127.0.0.1", "127.0.0.1/32", false}, /* the client address is never a network */
	{__LINE__, "127.0.0.1", "", false},
	{__LINE__, "127.0.0.1", "localhost", false},
	{__LINE__, "127.0.0.1", NULL, false},
	{__LINE__, NULL, "127.0.0.1", false},
	{__LINE__, "", "127.0.0.1", false},
	{__LINE__, "127.0.0.1", "127.0.0.1 ", false},
};

static void test_allowed(void)
{
	for (size_t i = 0; i < N_ELEMS(allow_cases); i++) {
		tb_case(__FILE__, allow_cases[i].line, "tb_metrics_allowed(%s, %s)", tb_q(allow_cases[i].allow),
		        tb_q(allow_cases[i].addr));
		tb_check_bool("allowed", tb_metrics_allowed(allow_cases[i].allow, allow_cases[i].addr),
		              allow_cases[i].want);
		tb_end();
	}
}

/* ---- exposition ---- */

static const struct {
	int line;
	const char *host;
	bool have_db;
	const char *contains[10];
	const char *absent[3];
} render_cases[] = {
	{__LINE__,
         "web1",
         true,
         {"# HELP teamboard_events_sent_total ",
          "# TYPE teamboard_events_sent_total counter\n"
          "teamboard_events_sent_total{host=\"web1\"} 5\n",
          "# TYPE teamboard_streams_closed_total counter\n"
          "teamboard_streams_closed_total{host=\"web1\",reason=\"client_gone\"} 0\n"
          "teamboard_streams_closed_total{host=\"web1\",reason=\"lifetime\"} 2\n",
          "# TYPE teamboard_streams_open gauge\nteamboard_streams_open{host=\"web1\"} 3\n",
          "# TYPE teamboard_streams_open_all gauge\nteamboard_streams_open_all 9\n",
          "# TYPE teamboard_supervisor_leader gauge\nteamboard_supervisor_leader{host=\"web1\"} 1\n",
          /* a counter added at the end of the enum still joins its family */
          "teamboard_streams_closed_total{host=\"web1\",reason=\"error\"} 0\n"
          "teamboard_streams_closed_total{host=\"web1\",reason=\"slow_client\"} 1\n",
          "# TYPE teamboard_workers_held gauge\nteamboard_workers_held{host=\"web1\",kind=\"stream\"} 4\n"
          "teamboard_workers_held{host=\"web1\",kind=\"poll\"} 1\n"
          "teamboard_workers_held{host=\"web1\",kind=\"reply\"} 2\n",
          "# TYPE teamboard_large_replies_refused_total counter\n"
          "teamboard_large_replies_refused_total{host=\"web1\"} 3\n"},
         {"teamboard_database_up{host=\"web1\"} 0", NULL, NULL}},
	{__LINE__,
         "a\"b\\c\nd",
         false,
         {"teamboard_polls_total{host=\"a\\\"b\\\\c\\nd\"} 0\n", "teamboard_database_up{host=\"a\\\"b\\\\c\\nd\"} 0\n",
          "teamboard_workers_held{host=\"a\\\"b\\\\c\\nd\",kind=\"poll\"} 1\n", NULL},
         {"teamboard_streams_open{", "teamboard_supervisor_leader", "\nd\""}},
};

/* Every line is a comment or "name[{labels}] value", and each family's HELP/TYPE come once. */
static void check_format(const char *text)
{
	const char *p = text;
	int types = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		if (nl == NULL) {
			tb_fail("last line not terminated: %s", tb_q(p));
			return;
		}
		if (strncmp(p, "# TYPE ", 7) == 0)
			types++;
		else if (*p != '#' && (strchr(p, ' ') == NULL || strchr(p, ' ') > nl))
			tb_fail("sample line without a value: %s", tb_qn(p, (size_t)(nl - p)));
		p = nl + 1;
	}
	/* 8 counter families + workers_held + database_up (+3 gauges with a database) */
	tb_check(types == 10 || types == 13, "%d # TYPE lines", types);
}

static void test_render(void)
{
	tb_check_err("open", tb_metrics_open_path(temp_path("render")), TB_OK);
	tb_metrics_add(TB_M_EVENTS_SENT, 5);
	tb_metrics_add(TB_M_CLOSED_LIFETIME, 2);
	tb_metrics_add(TB_M_CLOSED_SLOW_CLIENT, 1);
	tb_metrics_add(TB_M_LARGE_REPLIES_REFUSED, 3);
	for (size_t i = 0; i < N_ELEMS(render_cases); i++) {
		struct tb_metrics_gauges g = {render_cases[i].have_db, 3, 9, true, true, {4, 1, 2}};
		struct tb_buf out = {0};
		tb_case(__FILE__, render_cases[i].line, "tb_metrics_render(host %s, have_db %d)",
		        tb_q(render_cases[i].host), render_cases[i].have_db);
		tb_metrics_render(&out, render_cases[i].host, &g);
		for (size_t k = 0; k < N_ELEMS(render_cases[i].contains) && render_cases[i].contains[k]; k++)
			tb_check_contains("exposition", tb_buf_str(&out), render_cases[i].contains[k]);
		for (size_t k = 0; k < N_ELEMS(render_cases[i].absent) && render_cases[i].absent[k]; k++)
			tb_check(strstr(tb_buf_str(&out), render_cases[i].absent[k]) == NULL, "contains %s",
			         tb_q(render_cases[i].absent[k]));
		check_format(tb_buf_str(&out));
		tb_buf_free(&out);
		tb_end();
	}
	tb_metrics_close();
	unlink(temp_path("render"));
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_metrics.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		tb_bail("mkdtemp failed");
		return 1;
	}
	test_names();
	test_counters();
	test_refused_files();
	test_hold();
	test_reply_deadline();
	test_instance_id();
	test_allowed();
	test_render();
	rmdir(tmpdir);
	return tb_done();
}
