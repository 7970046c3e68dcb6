/* test_stream: tb_stream_notify_header, the "<seq> <type> [<json>]" a change's NOTIFY starts with
 * (sql/009_notify_header.sql); tb_stream_write_all's errors (ETIMEDOUT: a slow client) against a
 * fake transport; the 503 of tb_stream_refuse; a pinned tb_db (a stream's) never reconnects.
 * Everything else of tb_stream runs against PostgreSQL and a web
 * server: tests/integration/test_stream_*.py and test_notify_format.py. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "tb_db.h"
#include "tb_stream.h"
#include "tb_test.h"

struct header_case {
	int line;
	const char *in;
	bool ok;
	int64_t seq;
	const char *type, *json; /* json NULL: read from the log */
};

static const struct header_case header_cases[] = {
	{__LINE__, "1 item.created {\"seq\":1}", true, 1, "item.created", "{\"seq\":1}"},
	{__LINE__, "42 item.updated", true, 42, "item.updated", NULL},
	{__LINE__, "7 board.deleted {}", true, 7, "board.deleted", "{}"},
	{__LINE__, "3 member.removed {\"a\": \"b c\"}", true, 3, "member.removed", "{\"a\": \"b c\"}"},
	{__LINE__, "9223372036854775807 item.created {}", true, INT64_MAX, "item.created", "{}"},
	{__LINE__, "5 a_b.c_d x", true, 5, "a_b.c_d", "x"},
	{__LINE__, "5 abcdefghijklmnopqrstuvwxyzab.cd", true, 5, "abcdefghijklmnopqrstuvwxyzab.cd", NULL},
	{__LINE__, "5 abcdefghijklmnopqrstuvwxyzab.cde", true, 5, "abcdefghijklmnopqrstuvwxyzab.cde", NULL},
	{__LINE__, "5 abcdefghijklmnopqrstuvwxyzab.cdef", false, 0, NULL, NULL}, /* 33 bytes */
	{__LINE__, "9223372036854775808 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "99999999999999999999 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "", false, 0, NULL, NULL},
	{__LINE__, " ", false, 0, NULL, NULL},
	{__LINE__, "{\"type\":\"hb\"}", false, 0, NULL, NULL},
	{__LINE__, "0 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "01 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "-1 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "+1 item.created {}", false, 0, NULL, NULL},
	{__LINE__, "1", false, 0, NULL, NULL},
	{__LINE__, "1 ", false, 0, NULL, NULL},
	{__LINE__, "1  item.created", false, 0, NULL, NULL},
	{__LINE__, "1\titem.created", false, 0, NULL, NULL},
	{__LINE__, "1x item.created", false, 0, NULL, NULL},
	{__LINE__, "1 item", false, 0, NULL, NULL},
	{__LINE__, "1 item. {}", false, 0, NULL, NULL},
	{__LINE__, "1 .created {}", false, 0, NULL, NULL},
	{__LINE__, "1 item..created", false, 0, NULL, NULL},
	{__LINE__, "1 item.cre.ated", false, 0, NULL, NULL},
	{__LINE__, "1 Item.created", false, 0, NULL, NULL},
	{__LINE__, "1 item.created{}", false, 0, NULL, NULL},
	{__LINE__, "1 item.created ", false, 0, NULL, NULL},
	{__LINE__, "1 item.created\n{}", false, 0, NULL, NULL},
	{__LINE__, "1 item created {}", false, 0, NULL, NULL},
};

static void test_header(void)
{
	for (size_t i = 0; i < N_ELEMS(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		tb_case(__FILE__, c->line, "tb_stream_notify_header(%s)", tb_q(c->in));
		int64_t seq = -1;
		char type[TB_STREAM_TYPE_MAX + 1] = "untouched";
		const char *json = "untouched";
		bool ok = tb_stream_notify_header(c->in, &seq, type, &json);
		tb_check_bool("ok", ok, c->ok);
		if (ok && c->ok) {
			tb_check_int("seq", seq, c->seq);
			tb_check_str("type", type, c->type);
			tb_check_str("json", json, c->json);
			if (json)
				tb_check(json >= c->in && json < c->in + strlen(c->in), "json points into the payload");
		}
		tb_end();
	}
}

/* A transport whose write or flush fails with a given errno (0: succeeds). */
struct fake_io {
	int write_errno, flush_errno;
	size_t written;
	int flushes;
};

static ssize_t fake_write(void *ctx, const char *buf, size_t len)
{
	struct fake_io *f = ctx;
	(void)buf;
	if (f->write_errno) {
		errno = f->write_errno;
		return -1;
	}
	f->written += len;
	return (ssize_t)len;
}

static int fake_flush(void *ctx)
{
	struct fake_io *f = ctx;
	f->flushes++;
	if (f->flush_errno) {
		errno = f->flush_errno;
		return -1;
	}
	return 0;
}

static const struct {
	int line;
	int write_errno, flush_errno;
	size_t len;
	bool ok;
	int err; /* *err after a failure */
} write_cases[] = {
	{__LINE__, 0, 0, 5, true, 0},
	{__LINE__, 0, 0, 0, true, 0}, /* nothing to write: no call at all */
	{__LINE__, ETIMEDOUT, 0, 5, false, ETIMEDOUT},
	{__LINE__, 0, ETIMEDOUT, 5, false, ETIMEDOUT},
	{__LINE__, EPIPE, 0, 5, false, EPIPE},
	{__LINE__, 0, ECONNRESET, 5, false, ECONNRESET},
};

static void test_write_all(void)
{
	for (size_t i = 0; i < N_ELEMS(write_cases); i++) {
		tb_case(__FILE__, write_cases[i].line, "tb_stream_write_all(write errno %d, flush errno %d, %zu bytes)",
		        write_cases[i].write_errno, write_cases[i].flush_errno, write_cases[i].len);
		struct fake_io f = {write_cases[i].write_errno, write_cases[i].flush_errno, 0, 0};
		struct tb_io io = {.ctx = &f, .write = fake_write, .flush = fake_flush, .client_fd = -1};
		int err = -1;
		tb_check_bool("ok", tb_stream_write_all(&io, "hello", write_cases[i].len, &err), write_cases[i].ok);
		if (write_cases[i].ok) {
			tb_check_int("err untouched", err, -1);
			tb_check_uint("written", f.written, write_cases[i].len);
		} else {
			tb_check_int("err", err, write_cases[i].err);
		}
		tb_end();
	}
}

static void test_refuse(void)
{
	tb_case(__FILE__, __LINE__, "tb_stream_refuse: 503 too_many_streams with Retry-After");
	struct tb_resp resp;
	tb_resp_init(&resp);
	tb_stream_refuse(&resp);
	tb_check_int("status", resp.status, 503);
	tb_check_str("Retry-After", tb_resp_get_header(&resp, "Retry-After"), "10");
	tb_check_contains("body", tb_buf_str(&resp.body), "\"code\":\"too_many_streams\"");
	tb_resp_free(&resp);
	tb_end();
}

/* No server is needed: a connection attempt shows in last_attempt (and fails at once, the socket
 * directory does not exist). */
static void test_pinned_db(void)
{
	static const char conninfo[] = "host=/nonexistent/teamboard-test dbname=x connect_timeout=1";
	struct tb_db db;
	PGresult *r = NULL;
	tb_case(__FILE__, __LINE__, "an unpinned tb_db connects on demand (and here fails)");
	tb_db_init(&db, conninfo, "test");
	tb_check_err("query", tb_db_query(&db, "SELECT 1", 0, NULL, &r), TB_ERR_DB_DOWN);
	tb_check(db.last_attempt != 0, "no connection attempt");
	tb_db_free(&db);
	tb_end();

	tb_case(__FILE__, __LINE__, "a pinned tb_db without a connection never opens one");
	tb_db_init(&db, conninfo, "test");
	db.pinned = true;
	tb_check_err("query", tb_db_query(&db, "SELECT 1", 0, NULL, &r), TB_ERR_DB_DOWN);
	tb_check_err("exec", tb_db_exec(&db, "LISTEN x", 0, NULL, &r), TB_ERR_DB_DOWN);
	tb_check_int("last_attempt", (long long)db.last_attempt, 0);
	tb_check(db.conn == NULL && r == NULL, "a connection or a result appeared");
	tb_db_free(&db);
	tb_end();
}

int main(void)
{
	test_header();
	test_write_all();
	test_refuse();
	test_pinned_db();
	return tb_done();
}
