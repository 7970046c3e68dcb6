/* test_fcgi_rec: the FastCGI record codec of lib/tb_fcgi_rec.c without a socket. Each case is a
 * list of records a web server might send, fed whole and again one byte at a time (the parser
 * must find the same either way), and what the parser makes of them: the events in order, the
 * parameters and the body, or the protocol error, for every malformed input the parser knows.
 * Then the encoder's bytes: STDOUT split at 65535, the empty STDOUT, END_REQUEST. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tb_buf.h"
#include "tb_fcgi_rec.h"
#include "tb_test.h"

struct rec {
	unsigned char version, type;
	uint16_t id;
	const char *content;
	size_t len;
	unsigned char padding;
};

#define S(x) x, sizeof(x) - 1
#define BEGIN_BODY "\0\1\0\0\0\0\0\0" /* role responder, no flags */
#define KEEP_BODY "\0\1\1\0\0\0\0\0"  /* role responder, FCGI_KEEP_CONN */
#define ROLE2_BODY "\0\2\0\0\0\0\0\0" /* role authorizer */
#define PAIRS                     \
	"\x0b\x04"                \
	"SCRIPT_NAME/a/b\x0e\x03" \
	"REQUEST_METHODGET"
#define BEGIN(id)                          \
	{                                  \
		1, 1, id, S(BEGIN_BODY), 0 \
	}
#define PARAMS(id, c)             \
	{                         \
		1, 4, id, S(c), 0 \
	}
#define PARAMS_END(id)             \
	{                          \
		1, 4, id, "", 0, 0 \
	}
#define STDIN_END(id)              \
	{                          \
		1, 5, id, "", 0, 0 \
	}
#define END                         \
	{                           \
		0, 0, 0, NULL, 0, 0 \
	}

struct rec_case {
	int line;
	const char *what;
	struct rec recs[8];
	const char *want;  /* events: B begin, P params end, D stdin data (one per run), E stdin end, A abort,
	                    * then "!<error name>" for a protocol error */
	const char *body;  /* the body's bytes, NULL: not checked */
	const char *param; /* "NAME=value" to look up once the parameters came, NULL: none */
};

static const struct rec_case rec_cases[] = {
	{__LINE__,
         "a GET",
         {BEGIN(1), PARAMS(1, PAIRS), PARAMS_END(1), STDIN_END(1), END},
         "BPE",
         "",
         "SCRIPT_NAME=/a/b"},
	{__LINE__,
         "request id 7",
         {BEGIN(7), PARAMS(7, PAIRS), PARAMS_END(7), STDIN_END(7), END},
         "BPE",
         "",
         "REQUEST_METHOD=GET"},
	{__LINE__,
         "params over two records, padding",
         {BEGIN(1),
          {1, 4, 1,
           S("\x0b\x04"
             "SCRIPT_NA"),
           5},
          {1, 4, 1, S("ME/a/b"), 3},
          PARAMS_END(1),
          STDIN_END(1),
          END},
         "BPE",
         "",
         "SCRIPT_NAME=/a/b"},
	{__LINE__,
         "a body in two records",
         {BEGIN(1), PARAMS_END(1), {1, 5, 1, S("hel"), 5}, {1, 5, 1, S("lo"), 0}, STDIN_END(1), END},
         "BPDE",
         "hello",
         NULL},
	{__LINE__,
         "four-byte lengths",
         {BEGIN(1), PARAMS(1, "\x01\x80\x00\x00\x03XABC"), PARAMS_END(1), STDIN_END(1), END},
         "BPE",
         "",
         "X=ABC"},
	{__LINE__,
         "an empty value",
         {BEGIN(1), PARAMS(1, "\x01\x00X"), PARAMS_END(1), STDIN_END(1), END},
         "BPE",
         "",
         "X="},
	{__LINE__, "absent parameter", {BEGIN(1), PARAMS_END(1), END}, "BP", NULL, "X"},
	{__LINE__, "abort after begin", {BEGIN(1), {1, 2, 1, "", 0, 0}, END}, "BA", NULL, NULL},
	{__LINE__,
         "abort while streaming",
         {BEGIN(1), PARAMS_END(1), STDIN_END(1), {1, 2, 1, "", 0, 0}, END},
         "BPEA",
         NULL,
         NULL},
	{__LINE__, "keep-conn is taken", {{1, 1, 1, S(KEEP_BODY), 0}, END}, "B", NULL, NULL},
	/* malformed */
	{__LINE__, "version 0", {{0, 1, 1, S(BEGIN_BODY), 0}, END}, "!version", NULL, NULL},
	{__LINE__, "version 2", {{2, 1, 1, S(BEGIN_BODY), 0}, END}, "!version", NULL, NULL},
	{__LINE__, "STDOUT from the server", {BEGIN(1), {1, 6, 1, "", 0, 0}, END}, "B!type", NULL, NULL},
	{__LINE__,
         "END_REQUEST from the server",
         {BEGIN(1), {1, 3, 1, S("\0\0\0\0\0\0\0\0"), 0}, END},
         "B!type",
         NULL,
         NULL},
	{__LINE__, "DATA (filter role)", {BEGIN(1), PARAMS_END(1), {1, 8, 1, "", 0, 0}, END}, "BP!type", NULL, NULL},
	{__LINE__, "GET_VALUES (management)", {{1, 9, 0, "", 0, 0}, END}, "!type", NULL, NULL},
	{__LINE__, "BEGIN_REQUEST with id 0", {{1, 1, 0, S(BEGIN_BODY), 0}, END}, "!type", NULL, NULL},
	{__LINE__, "an unknown type", {BEGIN(1), {1, 42, 1, "", 0, 0}, END}, "B!type", NULL, NULL},
	{__LINE__, "PARAMS before BEGIN", {PARAMS(1, PAIRS), END}, "!order", NULL, NULL},
	{__LINE__, "STDIN before BEGIN", {STDIN_END(1), END}, "!order", NULL, NULL},
	{__LINE__, "ABORT before BEGIN", {{1, 2, 1, "", 0, 0}, END}, "!order", NULL, NULL},
	{__LINE__,
         "STDIN before the params' end",
         {BEGIN(1), PARAMS(1, PAIRS), STDIN_END(1), END},
         "B!order",
         NULL,
         NULL},
	{__LINE__, "a second BEGIN", {BEGIN(1), BEGIN(2), END}, "B!order", NULL, NULL},
	{__LINE__, "PARAMS after their end", {BEGIN(1), PARAMS_END(1), PARAMS(1, PAIRS), END}, "BP!order", NULL, NULL},
	{__LINE__,
         "STDIN after its end",
         {BEGIN(1), PARAMS_END(1), STDIN_END(1), {1, 5, 1, S("x"), 0}, END},
         "BPE!order",
         NULL,
         NULL},
	{__LINE__, "another request's PARAMS", {BEGIN(1), PARAMS(2, PAIRS), END}, "B!request_id", NULL, NULL},
	{__LINE__, "another request's ABORT", {BEGIN(1), {1, 2, 2, "", 0, 0}, END}, "B!request_id", NULL, NULL},
	{__LINE__, "BEGIN body of 7 bytes", {{1, 1, 1, "\0\1\0\0\0\0\0", 7, 0}, END}, "!begin", NULL, NULL},
	{__LINE__, "BEGIN body of 9 bytes", {{1, 1, 1, "\0\1\0\0\0\0\0\0\0", 9, 0}, END}, "!begin", NULL, NULL},
	{__LINE__, "the authorizer role", {{1, 1, 1, S(ROLE2_BODY), 0}, END}, "!role", NULL, NULL},
	{__LINE__,
         "a name cut short",
         {BEGIN(1),
          PARAMS(1,
                 "\x05\x01"
                 "abc"),
          PARAMS_END(1), END},
         "B!pair",
         NULL,
         NULL},
	{__LINE__,
         "a value cut short",
         {BEGIN(1),
          PARAMS(1,
                 "\x01\x05"
                 "ab"),
          PARAMS_END(1), END},
         "B!pair",
         NULL,
         NULL},
	{__LINE__,
         "a length cut short",
         {BEGIN(1), PARAMS(1, "\x01\x80\x00"), PARAMS_END(1), END},
         "B!pair",
         NULL,
         NULL},
	{__LINE__, "only a name length", {BEGIN(1), PARAMS(1, "\x01"), PARAMS_END(1), END}, "B!pair", NULL, NULL},
	{__LINE__, "an empty name", {BEGIN(1), PARAMS(1, "\x00\x01X"), PARAMS_END(1), END}, "B!pair", NULL, NULL},
	{__LINE__,
         "a NUL in a value",
         {BEGIN(1), {1, 4, 1, "\x01\x03XA\0B", 5, 0}, PARAMS_END(1), END},
         "B!pair",
         NULL,
         NULL},
	{__LINE__,
         "a NUL in a name",
         {BEGIN(1), {1, 4, 1, "\x02\x01X\0B", 5, 0}, PARAMS_END(1), END},
         "B!pair",
         NULL,
         NULL},
	{__LINE__,
         "a name over name_max (16)",
         {BEGIN(1),
          PARAMS(1,
                 "\x11\x01"
                 "ABCDEFGHIJKLMNOPQv"),
          PARAMS_END(1), END},
         "B!name",
         NULL,
         NULL},
	{__LINE__,
         "a four-byte name length over name_max",
         {BEGIN(1), PARAMS(1, "\x80\x00\x01\x00\x01"), PARAMS_END(1), END},
         "B!name",
         NULL,
         NULL},
	{__LINE__,
         "a value over value_max (64)",
         {BEGIN(1), PARAMS(1, "\x01\x41X0123456789012345678901234567890123456789012345678901234567890123"),
          PARAMS_END(1), END},
         "B!value",
         NULL,
         NULL},
	{__LINE__,
         "a name of 16 and a value of 64 are fine",
         {BEGIN(1),
          PARAMS(1,
                 "\x10\x40"
                 "ABCDEFGHIJKLMNOP0123456789012345678901234567890123456789012345678901234567890123"),
          PARAMS_END(1), END},
         "BP",
         NULL,
         NULL},
};

/* A PARAMS stream over params_max (256) in one record, and over two. */
static char big[300];

static const struct tb_fcgi_limits limits = {16, 64, 256};

static void encode(const struct rec *recs, struct tb_buf *out)
{
	for (const struct rec *r = recs; r->version || r->type; r++) {
		const char h[8] = {(char)r->version,    (char)r->type,         (char)(r->id >> 8), (char)(r->id & 0xff),
		                   (char)(r->len >> 8), (char)(r->len & 0xff), (char)r->padding,   0};
		tb_buf_append(out, h, 8);
		if (r->len)
			tb_buf_append(out, r->content, r->len);
		for (unsigned i = 0; i < r->padding; i++)
			tb_buf_append(out, "p", 1);
	}
}

/* Feeds in, step bytes at a time (0: all at once); the events as rec_case.want spells them. */
static void run(const struct tb_buf *in, size_t step, struct tb_buf *events, struct tb_buf *body, const char *param,
                const char **value)
{
	struct tb_fcgi_parser p;
	tb_fcgi_init(&p, &limits);
	size_t at = 0;
	while (at < in->len) {
		size_t n = step == 0 || in->len - at < step ? in->len - at : step, used = 0;
		struct tb_fcgi_event ev;
		do {
			used += tb_fcgi_feed(&p, in->data + at + used, n - used, &ev);
			static const char kinds[] = {0, 'B', 'P', 'D', 'E', 'A'};
			if (ev.kind == TB_FCGI_ERROR) {
				tb_buf_printf(events, "!%s", tb_fcgi_error_name(ev.error));
				at = in->len;
				break;
			}
			if (ev.kind == TB_FCGI_STDIN_DATA) {
				tb_buf_append(body, ev.data, ev.len);
				if (events->len && events->data[events->len - 1] == 'D')
					continue;
			}
			if (ev.kind == TB_FCGI_PARAMS_END && param)
				*value = tb_fcgi_param(&p, param) ? tb_xstrdup(tb_fcgi_param(&p, param)) : NULL;
			if (ev.kind != TB_FCGI_NONE)
				tb_buf_append(events, &kinds[ev.kind], 1);
		} while (used < n || ev.kind != TB_FCGI_NONE);
		at += n;
	}
	tb_fcgi_free(&p);
}

static void check_case(const struct rec_case *c, const struct tb_buf *in, size_t step)
{
	tb_case(__FILE__, c->line, "feed %s, %s", c->what, step ? "byte by byte" : "whole");
	struct tb_buf events = {0}, body = {0};
	char name[64] = "";
	const char *value = NULL, *want_value = NULL;
	if (c->param) {
		snprintf(name, sizeof name, "%s", c->param);
		char *eq = strchr(name, '=');
		if (eq) {
			*eq = '\0';
			want_value = eq + 1;
		}
	}
	run(in, step, &events, &body, c->param ? name : NULL, &value);
	tb_check_str("events", tb_buf_str(&events), c->want);
	if (c->body)
		tb_check_str("body", tb_buf_str(&body), c->body);
	if (c->param)
		tb_check_str(name, value, want_value);
	free((char *)value);
	tb_buf_free(&events);
	tb_buf_free(&body);
	tb_end();
}

static void test_records(void)
{
	for (size_t i = 0; i < N_ELEMS(rec_cases); i++) {
		struct tb_buf in = {0};
		encode(rec_cases[i].recs, &in);
		check_case(&rec_cases[i], &in, 0);
		check_case(&rec_cases[i], &in, 1);
		tb_buf_free(&in);
	}
}

static void test_params_max(void)
{
	static const size_t sizes[][2] = {{300, 0}, {200, 100}, {256, 0}};
	static const char *const wants[] = {"B!params", "B!params", "B!name"};
	memset(big, 'x', sizeof big);
	for (size_t i = 0; i < N_ELEMS(sizes); i++) {
		tb_case(__FILE__, __LINE__, "PARAMS of %zu + %zu bytes, params_max 256", sizes[i][0], sizes[i][1]);
		struct rec recs[] = {
			BEGIN(1), {1, 4, 1, big, sizes[i][0], 0}, {1, 4, 1, big, sizes[i][1], 0}, PARAMS_END(1), END};
		if (sizes[i][1] == 0)
			recs[2] = (struct rec)PARAMS_END(1);
		struct tb_buf in = {0}, events = {0}, body = {0};
		encode(recs, &in);
		run(&in, 0, &events, &body, NULL, NULL);
		tb_check_str("events", tb_buf_str(&events), wants[i]); /* 256 'x': a name of 120 */
		tb_buf_free(&in);
		tb_buf_free(&events);
		tb_buf_free(&body);
		tb_end();
	}
}

/* After an error nothing more is taken; a header cut short is "mid record". */
static void test_after_error(void)
{
	tb_case(__FILE__, __LINE__, "an error sticks");
	struct tb_fcgi_parser p;
	tb_fcgi_init(&p, &limits);
	struct tb_fcgi_event ev;
	tb_check_bool("mid record at start", tb_fcgi_mid_record(&p), false);
	tb_check_uint("half a header", tb_fcgi_feed(&p, "\1\1\0\1", 4, &ev), 4);
	tb_check_int("kind", ev.kind, TB_FCGI_NONE);
	tb_check_bool("mid record", tb_fcgi_mid_record(&p), true);
	tb_check_uint("the rest, version 2 next", tb_fcgi_feed(&p, "\0\x08\0\0" BEGIN_BODY "\2", 13, &ev), 12);
	tb_check_int("kind", ev.kind, TB_FCGI_BEGIN);
	tb_check_uint("request id", p.request_id, 1);
	tb_check_uint("version 2", tb_fcgi_feed(&p, "\2\4\0\1\0\0\0\0", 8, &ev), 8);
	tb_check_int("kind", ev.kind, TB_FCGI_ERROR);
	tb_check_uint("then nothing", tb_fcgi_feed(&p, "\1\4\0\1\0\0\0\0", 8, &ev), 0);
	tb_check_int("kind", ev.kind, TB_FCGI_ERROR);
	tb_check_str("error", tb_fcgi_error_name(ev.error), "version");
	tb_check_bool("no params", tb_fcgi_param(&p, "X") == NULL, true);
	tb_fcgi_free(&p);
	tb_end();
}

/* A held stream forgets its request's parameters. */
static void test_forget(void)
{
	tb_case(__FILE__, __LINE__, "tb_fcgi_forget_params");
	struct rec recs[] = {BEGIN(1), PARAMS(1, PAIRS), PARAMS_END(1), END};
	struct tb_buf in = {0};
	encode(recs, &in);
	struct tb_fcgi_parser p;
	tb_fcgi_init(&p, &limits);
	struct tb_fcgi_event ev;
	size_t used = 0;
	do
		used += tb_fcgi_feed(&p, in.data + used, in.len - used, &ev);
	while (ev.kind != TB_FCGI_PARAMS_END && ev.kind != TB_FCGI_ERROR && used < in.len);
	tb_check_int("kind", ev.kind, TB_FCGI_PARAMS_END);
	tb_check_str("before", tb_fcgi_param(&p, "REQUEST_METHOD"), "GET");
	tb_fcgi_forget_params(&p);
	tb_check_str("after", tb_fcgi_param(&p, "REQUEST_METHOD"), NULL);
	tb_fcgi_free(&p);
	tb_buf_free(&in);
	tb_end();
}

static void test_encode(void)
{
	struct tb_buf out = {0};
	tb_case(__FILE__, __LINE__, "tb_fcgi_stdout(id 1, \"hi\")");
	tb_fcgi_stdout(&out, 1, "hi", 2);
	tb_check_mem("bytes", out.data, out.len, "\1\6\0\1\0\2\0\0hi", 10);
	tb_end();
	tb_buf_reset(&out);
	tb_case(__FILE__, __LINE__, "tb_fcgi_stdout(id 258, empty)");
	tb_fcgi_stdout(&out, 258, NULL, 0);
	tb_check_mem("bytes", out.data, out.len, "\1\6\1\2\0\0\0\0", 8);
	tb_end();
	tb_buf_reset(&out);
	tb_case(__FILE__, __LINE__, "tb_fcgi_stdout of 70000 bytes: 65535 + 4465");
	char *data = tb_xcalloc(70000, 1);
	tb_fcgi_stdout(&out, 1, data, 70000);
	tb_check_uint("length", out.len, 70000 + 16);
	tb_check_mem("first head", out.data, 8, "\1\6\0\1\xff\xff\0\0", 8);
	tb_check_mem("second head", out.data + 8 + 65535, 8, "\1\6\0\1\x11\x71\0\0", 8);
	free(data);
	tb_end();
	tb_buf_reset(&out);
	tb_case(__FILE__, __LINE__, "tb_fcgi_end_request(id 1, status 0x01020304)");
	tb_fcgi_end_request(&out, 1, 0x01020304);
	tb_check_mem("bytes", out.data, out.len, "\1\3\0\1\0\x08\0\0\1\2\3\4\0\0\0\0", 16);
	tb_end();
	tb_buf_free(&out);
}

int main(void)
{
	test_records();
	test_params_max();
	test_after_error();
	test_forget();
	test_encode();
	return tb_done();
}
