/* test_stream: tb_stream_notify_header, the "<seq> <type> [<json>]" a change's NOTIFY starts with
 * (sql/009_notify_header.sql). Everything else of tb_stream runs against PostgreSQL and a web
 * server: tests/integration/test_stream_*.py and test_notify_format.py. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

int main(void)
{
	test_header();
	return tb_done();
}
