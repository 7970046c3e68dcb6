/* test_request: the untrusted-input parsers of tb_request.h (Content-Length, path ids, query strings,
 * cookies, bearer tokens, Content-Type, If-Match), struct tb_req built from a fake CGI
 * environment and read from fake I/O, and the CGI transport's body and write deadlines. One table per function; each row carries its __LINE__. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb_api.h"
#include "tb_app.h"
#include "tb_config.h"
#include "tb_request.h"
#include "tb_server.h"
#include "tb_test.h"

#define ANY_ERR ((enum tb_err) - 1) /* any error will do (NOT_FOUND or INVALID...), not TB_OK */
#define SENTINEL_U64 UINT64_C(0xdeadbeefdeadbeef)
#define SENTINEL_I64 INT64_C(-777)

static char sentinel_str[] = "untouched";

/* ---- tb_parse_content_length ---- */

struct content_length_case {
	int line;
	const char *in;
	bool ok;
	uint64_t want;
};

static const struct content_length_case content_length_cases[] = {
	{__LINE__, "0", true, 0},
	{__LINE__, "1", true, 1},
	{__LINE__, "65536", true, 65536},
	{__LINE__, "007", true, 7}, /* 1*DIGIT (RFC 9110 8.6): leading zeros are digits */
	{__LINE__, "000000000000000000000000000001", true, 1},
	{__LINE__, "18446744073709551615", true, UINT64_MAX},
	{__LINE__, "18446744073709551616", false, 0},
	{__LINE__, "99999999999999999999", false, 0},
	{__LINE__, "184467440737095516150", false, 0},
	{__LINE__, "", false, 0},
	{__LINE__, "-1", false, 0},
	{__LINE__, "-0", false, 0},
	{__LINE__, "+1", false, 0},
	{__LINE__, " 1", false, 0},
	{__LINE__, "1 ", false, 0},
	{__LINE__, "\t1", false, 0},
	{__LINE__, "1\n", false, 0},
	{__LINE__, "1a", false, 0},
	{__LINE__, "0x10", false, 0},
	{__LINE__, "1.0", false, 0},
	{__LINE__, "1e3", false, 0},
	{__LINE__, "1,2", false, 0},
	{__LINE__, "abc", false, 0},
};

static void test_content_length(void)
{
	for (size_t i = 0; i < N_ELEMS(content_length_cases); i++) {
		const struct content_length_case *c = &content_length_cases[i];
		uint64_t got = SENTINEL_U64;
		tb_case(__FILE__, c->line, "tb_parse_content_length(%s)", tb_q(c->in));
		bool ok = tb_parse_content_length(c->in, &got);
		if (tb_check_bool("result", ok, c->ok)) {
			if (c->ok)
				tb_check_uint("value", got, c->want);
			else
				tb_check_uint("out written on failure", got, SENTINEL_U64);
		}
		tb_end();
	}
}

/* ---- tb_parse_id ---- */

struct id_case {
	int line;
	const char *in;
	size_t len; /* 0: strlen(in) */
	bool ok;
	int64_t want;
};

static const struct id_case id_cases[] = {
	{__LINE__, "1", 0, true, 1},
	{__LINE__, "7", 0, true, 7},
	{__LINE__, "10", 0, true, 10},
	{__LINE__, "123456789", 0, true, 123456789},
	{__LINE__, "9223372036854775807", 0, true, INT64_MAX},
	{__LINE__, "9223372036854775808", 0, false, 0},
	{__LINE__, "9999999999999999999", 0, false, 0},
	{__LINE__, "18446744073709551617", 0, false, 0}, /* wraps to 1 in uint64 arithmetic */
	{__LINE__, "99999999999999999999", 0, false, 0},
	{__LINE__, "0", 0, false, 0},
	{__LINE__, "00", 0, false, 0},
	{__LINE__, "01", 0, false, 0},
	{__LINE__, "-1", 0, false, 0},
	{__LINE__, "+1", 0, false, 0},
	{__LINE__, " 1", 0, false, 0},
	{__LINE__, "1 ", 0, false, 0},
	{__LINE__, "1a", 0, false, 0},
	{__LINE__, "a1", 0, false, 0},
	{__LINE__, "abc", 0, false, 0},
	{__LINE__, "1.0", 0, false, 0},
	{__LINE__, "0x1", 0, false, 0},
	{__LINE__, "", 0, false, 0},
	/* only len bytes are read: the router passes a segment of the path */
	{__LINE__, "12/items", 2, true, 12},
	{__LINE__, "12345", 3, true, 123},
	{__LINE__, "1/", 2, false, 0},
	{__LINE__, "5x", 1, true, 5},
};

static void test_parse_id(void)
{
	for (size_t i = 0; i < N_ELEMS(id_cases); i++) {
		const struct id_case *c = &id_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		int64_t got = SENTINEL_I64;
		tb_case(__FILE__, c->line, "tb_parse_id(%s, %zu)", tb_q(c->in), len);
		bool ok = tb_parse_id(c->in, len, &got);
		if (tb_check_bool("result", ok, c->ok)) {
			if (c->ok)
				tb_check_int("value", got, c->want);
			else
				tb_check_int("out written on failure", got, SENTINEL_I64);
		}
		tb_end();
	}
}

/* ---- tb_query_get ---- */

struct query_case {
	int line;
	const char *query, *name;
	enum tb_err err;
	const char *want;
	size_t want_len; /* 0: strlen(want) */
};

static const struct query_case query_cases[] = {
	{__LINE__, "a=1", "a", TB_OK, "1", 0},
	{__LINE__, "a=1&b=2", "b", TB_OK, "2", 0},
	{__LINE__, "a=1&b=2&c=3", "b", TB_OK, "2", 0},
	{__LINE__, "q=a+b", "q", TB_OK, "a b", 0},
	{__LINE__, "q=a%20b", "q", TB_OK, "a b", 0},
	{__LINE__, "q=%2B", "q", TB_OK, "+", 0},
	{__LINE__, "q=%2b%3D%26", "q", TB_OK, "+=&", 0},
	{__LINE__, "q=%41%62", "q", TB_OK, "Ab", 0},
	{__LINE__, "q=%c3%A9", "q", TB_OK, "\xc3\xa9", 0},
	{__LINE__, "q=b=c", "q", TB_OK, "b=c", 0},
	{__LINE__, "q=%zz", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=%4", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=%", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=a%", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=%g0", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=%00", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=a%00b", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "q=%4&x=1", "q", TB_ERR_INVALID, NULL, 0},
	{__LINE__, "", "q", TB_ERR_NOT_FOUND, NULL, 0},
	{__LINE__, "a=1&b=2", "c", TB_ERR_NOT_FOUND, NULL, 0},
	{__LINE__, "a=1&a=2", "a", TB_OK, "1", 0},
	{__LINE__, "x=0&a=1&a=2", "a", TB_OK, "1", 0},
	{__LINE__, "ab=1&a=2", "a", TB_OK, "2", 0},
	{__LINE__, "ab=1", "a", TB_ERR_NOT_FOUND, NULL, 0},
	{__LINE__, "a=1", "ab", TB_ERR_NOT_FOUND, NULL, 0},
	{__LINE__, "xa=1&a=2", "a", TB_OK, "2", 0},
	{__LINE__, "b=a%3D1&a=2", "a", TB_OK, "2", 0},
	{__LINE__, "a=", "a", TB_OK, "", 0},
	{__LINE__, "a=&b=2", "a", TB_OK, "", 0},
	{__LINE__, "a", "a", TB_OK, "", 0}, /* no '=': present with an empty value (URL standard) */
	{__LINE__, "b=1&a", "a", TB_OK, "", 0},
	{__LINE__, "&&a=1&", "a", TB_OK, "1", 0},
	{__LINE__, "last_event_id=42", "last_event_id", TB_OK, "42", 0},
	{__LINE__, "after=5&limit=10", "limit", TB_OK, "10", 0},
};

static void test_query_get(void)
{
	for (size_t i = 0; i < N_ELEMS(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		char *got = sentinel_str;
		tb_case(__FILE__, c->line, "tb_query_get(%s, %s)", tb_q(c->query), tb_q(c->name));
		enum tb_err err = tb_query_get(c->query, c->name, &got);
		if (tb_check_err("result", err, c->err)) {
			if (err == TB_OK)
				tb_check_mem("value", got, got ? strlen(got) : 0, c->want,
				             c->want_len ? c->want_len : strlen(c->want));
			else
				tb_check(got == sentinel_str, "out written on failure");
		}
		if (got != sentinel_str)
			free(got);
		tb_end();
	}
}

/* ---- tb_query_int ---- */

struct query_int_case {
	int line;
	const char *query;
	int64_t min, max;
	enum tb_err err;
	int64_t want;
};

static const struct query_int_case query_int_cases[] = {
	{__LINE__, "n=5", 0, 10, TB_OK, 5},
	{__LINE__, "n=0", 0, 10, TB_OK, 0},
	{__LINE__, "n=10", 0, 10, TB_OK, 10},
	{__LINE__, "n=11", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=-1", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=-5", -10, 10, TB_OK, -5},
	{__LINE__, "n=-10", -10, 10, TB_OK, -10},
	{__LINE__, "n=-11", -10, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=1", 1, 1, TB_OK, 1},
	{__LINE__, "n=9223372036854775807", 0, INT64_MAX, TB_OK, INT64_MAX},
	{__LINE__, "n=9223372036854775808", 0, INT64_MAX, TB_ERR_RANGE, 0},
	{__LINE__, "n=99999999999999999999", 0, INT64_MAX, TB_ERR_RANGE, 0},
	{__LINE__, "n=-9223372036854775808", INT64_MIN, 0, TB_OK, INT64_MIN},
	{__LINE__, "n=-9223372036854775809", INT64_MIN, 0, TB_ERR_RANGE, 0},
	{__LINE__, "n=abc", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=1x", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=1.5", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=0x5", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=%205", 0, 10, TB_ERR_RANGE, 0}, /* " 5" is not a decimal integer */
	{__LINE__, "n=5%20", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=+5", 0, 10, TB_ERR_RANGE, 0},
	{__LINE__, "n=%35", 0, 10, TB_OK, 5},
	{__LINE__, "n=%zz", 0, 10, TB_ERR_INVALID, 0},
	{__LINE__, "m=5", 0, 10, TB_ERR_NOT_FOUND, 0},
	{__LINE__, "", 0, 10, TB_ERR_NOT_FOUND, 0},
	{__LINE__, "n=3&n=99", 0, 10, TB_OK, 3},
};

static void test_query_int(void)
{
	for (size_t i = 0; i < N_ELEMS(query_int_cases); i++) {
		const struct query_int_case *c = &query_int_cases[i];
		int64_t got = SENTINEL_I64;
		tb_case(__FILE__, c->line, "tb_query_int(%s, \"n\", %" PRId64 ", %" PRId64 ")", tb_q(c->query), c->min,
		        c->max);
		enum tb_err err = tb_query_int(c->query, "n", c->min, c->max, &got);
		if (tb_check_err("result", err, c->err)) {
			if (err == TB_OK)
				tb_check_int("value", got, c->want);
			else
				tb_check_int("out written on failure", got, SENTINEL_I64);
		}
		tb_end();
	}
}

/* ---- tb_cookie_get ---- */

struct cookie_case {
	int line;
	const char *header, *name;
	enum tb_err err;
	const char *want;
};

static const struct cookie_case cookie_cases[] = {
	{__LINE__, "tb_session=abc", "tb_session", TB_OK, "abc"},
	{__LINE__, "a=1; tb_session=abc; b=2", "tb_session", TB_OK, "abc"},
	{__LINE__, "a=1; b=2; tb_session=abc", "tb_session", TB_OK, "abc"},
	{__LINE__, "a=1;tb_session=abc", "tb_session", TB_OK, "abc"},
	{__LINE__, "a=1;   tb_session=abc", "tb_session", TB_OK, "abc"},
	{__LINE__, "  tb_session=abc  ", "tb_session", TB_OK, "abc"},
	{__LINE__, "tb_session=abc; ", "tb_session", TB_OK, "abc"},
	{__LINE__, "tb_session=\"abc\"", "tb_session", TB_OK, "abc"}, /* DQUOTE value (RFC 6265 4.1.1) */
	{__LINE__, "a=\"x y\"; tb_session=abc", "tb_session", TB_OK, "abc"},
	{__LINE__, "tb_session=", "tb_session", TB_OK, ""},
	{__LINE__, "a=b=c", "a", TB_OK, "b=c"},
	{__LINE__, "tb_session=first; tb_session=second", "tb_session", TB_OK, "first"},
	{__LINE__, "tb_session_old=x; tb_session=y", "tb_session", TB_OK, "y"},
	{__LINE__, "xtb_session=x; tb_session=y", "tb_session", TB_OK, "y"},
	{__LINE__, "a=tb_session; tb_session=y", "tb_session", TB_OK, "y"},
	{__LINE__, "a=1; b=2", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "tb_sessionx=1", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "tb_session_old=1", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "xtb_session=1", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "a=tb_session=1", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "tb_session", "tb_session", TB_ERR_NOT_FOUND, NULL},
	{__LINE__, "TB_SESSION=abc", "tb_session", TB_ERR_NOT_FOUND, NULL}, /* names are case-sensitive */
};

static void test_cookie_get(void)
{
	for (size_t i = 0; i < N_ELEMS(cookie_cases); i++) {
		const struct cookie_case *c = &cookie_cases[i];
		char *got = sentinel_str;
		tb_case(__FILE__, c->line, "tb_cookie_get(%s, %s)", tb_q(c->header), tb_q(c->name));
		enum tb_err err = tb_cookie_get(c->header, c->name, &got);
		if (tb_check_err("result", err, c->err)) {
			if (err == TB_OK)
				tb_check_str("value", got, c->want);
			else
				tb_check(got == sentinel_str, "out written on failure");
		}
		if (got != sentinel_str)
			free(got);
		tb_end();
	}
}

/* ---- tb_bearer_get ---- */

#define TOKEN64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct bearer_case {
	int line;
	const char *header;
	enum tb_err err; /* ANY_ERR: not found or invalid, either will do */
	const char *want;
};

static const struct bearer_case bearer_cases[] = {
	{__LINE__, "Bearer abc", TB_OK, "abc"},
	{__LINE__, "Bearer " TOKEN64, TB_OK, TOKEN64},
	{__LINE__, "bearer abc", TB_OK, "abc"},
	{__LINE__, "BEARER abc", TB_OK, "abc"},
	{__LINE__, "BeArEr abc", TB_OK, "abc"},
	{__LINE__, "Bearer   abc", TB_OK, "abc"},               /* 1*SP (RFC 6750 2.1) */
	{__LINE__, "Bearer abc ", TB_OK, "abc"},                /* trailing OWS is not part of the field value */
	{__LINE__, "Bearer a-b._~+/c==", TB_OK, "a-b._~+/c=="}, /* b64token characters */
	{__LINE__, "Bearer", ANY_ERR, NULL},
	{__LINE__, "Bearer ", ANY_ERR, NULL},
	{__LINE__, "Bearer    ", ANY_ERR, NULL},
	{__LINE__, "Bearerabc", ANY_ERR, NULL},
	{__LINE__, "Bearer abc def", ANY_ERR, NULL},
	{__LINE__, "Bearer abc\tdef", ANY_ERR, NULL},
	{__LINE__, "Basic dXNlcjpwYXNz", ANY_ERR, NULL},
	{__LINE__, "Basic Bearer abc", ANY_ERR, NULL},
	{__LINE__, "Token abc", ANY_ERR, NULL},
	{__LINE__, "abc", ANY_ERR, NULL},
	{__LINE__, "", ANY_ERR, NULL},
	{__LINE__, " Bearerx abc", ANY_ERR, NULL},
	{__LINE__, "Bearer abc\r\nX: y", ANY_ERR, NULL},
};

static void test_bearer_get(void)
{
	for (size_t i = 0; i < N_ELEMS(bearer_cases); i++) {
		const struct bearer_case *c = &bearer_cases[i];
		char *got = sentinel_str;
		tb_case(__FILE__, c->line, "tb_bearer_get(%s)", tb_q(c->header));
		enum tb_err err = tb_bearer_get(c->header, &got);
		if (c->err == ANY_ERR) {
			if (tb_check(err != TB_OK, "result: got ok (token %s), want an error",
			             tb_q(got == sentinel_str ? NULL : got)))
				tb_check(got == sentinel_str, "out written on failure");
		} else if (tb_check_err("result", err, c->err)) {
			tb_check_str("token", got, c->want);
		}
		if (got != sentinel_str)
			free(got);
		tb_end();
	}
}

/* ---- tb_content_type_is_json ---- */

struct content_type_case {
	int line;
	const char *ct;
	bool want;
};

static const struct content_type_case content_type_cases[] = {
	{__LINE__, "application/json", true},
	{__LINE__, "application/json; charset=utf-8", true},
	{__LINE__, "application/json;charset=utf-8", true},
	{__LINE__, "application/json; charset=UTF-8", true},
	{__LINE__, "application/json ; charset=utf-8", true}, /* OWS ";" OWS (RFC 9110 5.6.6) */
	{__LINE__, "Application/JSON", true},
	{__LINE__, "APPLICATION/JSON; CHARSET=UTF-8", true},
	{__LINE__, "application/json; foo=bar", true},
	{__LINE__, "application/json;charset=latin1", false},
	{__LINE__, "application/json; charset=iso-8859-1", false},
	{__LINE__, "application/json; charset=utf-16", false},
	{__LINE__, "application/json; charset=utf-8x", false},
	{__LINE__, "text/plain", false},
	{__LINE__, "text/json", false},
	{__LINE__, "application/jsonx", false},
	{__LINE__, "application/json-seq", false},
	{__LINE__, "application/json+x", false},
	{__LINE__, "application/jso", false},
	{__LINE__, "application/x-www-form-urlencoded", false},
	{__LINE__, "multipart/form-data; boundary=x", false},
	{__LINE__, "application/*", false},
	{__LINE__, "xapplication/json", false},
	{__LINE__, "", false},
	{__LINE__, NULL, false},
};

static void test_content_type(void)
{
	for (size_t i = 0; i < N_ELEMS(content_type_cases); i++) {
		const struct content_type_case *c = &content_type_cases[i];
		tb_case(__FILE__, c->line, "tb_content_type_is_json(%s)", tb_q(c->ct));
		tb_check_bool("result", tb_content_type_is_json(c->ct), c->want);
		tb_end();
	}
}

/* ---- tb_if_match ---- */

struct if_match_case {
	int line;
	const char *header;
	int64_t version;
	bool want;
};

static const struct if_match_case if_match_cases[] = {
	{__LINE__, "\"3\"", 3, true},
	{__LINE__, "W/\"3\"", 3, true},
	{__LINE__, "*", 3, true},
	{__LINE__, "*", 1, true},
	{__LINE__, "\"1\", \"3\"", 3, true},
	{__LINE__, "\"1\",\"3\"", 3, true},
	{__LINE__, "\"3\", \"1\"", 3, true},
	{__LINE__, "\"1\" , W/\"3\"", 3, true},
	{__LINE__, "\"1\", \"2\", \"4\", \"3\"", 3, true},
	{__LINE__, "  \"3\"  ", 3, true},
	{__LINE__, "\"9223372036854775807\"", INT64_MAX, true},
	{__LINE__, "\"4\"", 3, false},
	{__LINE__, "\"1\", \"2\"", 3, false},
	{__LINE__, "W/\"4\"", 3, false},
	{__LINE__, "\"30\"", 3, false},
	{__LINE__, "\"03\"", 3, false},
	{__LINE__, "\"3\"", 30, false},
	{__LINE__, "3", 3, false},
	{__LINE__, "W/3", 3, false},
	{__LINE__, "\"3", 3, false},
	{__LINE__, "3\"", 3, false},
	{__LINE__, "\"\"", 0, false},
	{__LINE__, "\" 3\"", 3, false},
	{__LINE__, "\"3 \"", 3, false},
	{__LINE__, "\"+3\"", 3, false},
	{__LINE__, "\"3x\"", 3, false},
	{__LINE__, "garbage", 3, false},
	{__LINE__, "**", 3, false},
	{__LINE__, "", 3, false},
	{__LINE__, ",", 3, false},
};

static void test_if_match(void)
{
	for (size_t i = 0; i < N_ELEMS(if_match_cases); i++) {
		const struct if_match_case *c = &if_match_cases[i];
		tb_case(__FILE__, c->line, "tb_if_match(%s, %" PRId64 ")", tb_q(c->header), c->version);
		tb_check_bool("result", tb_if_match(c->header, c->version), c->want);
		tb_end();
	}
}

/* ---- tb_if_none_match ---- */

struct if_none_match_case {
	int line;
	const char *header;
	bool want; /* against the tag "ab12" */
};

static const struct if_none_match_case if_none_match_cases[] = {
	{__LINE__, "\"ab12\"", true},
	{__LINE__, "W/\"ab12\"", true},
	{__LINE__, "*", true},
	{__LINE__, " * ", true},
	{__LINE__, "\"x\", \"ab12\"", true},
	{__LINE__, "\"x\",W/\"ab12\"", true},
	{__LINE__, "\"x\" , \"ab12\" ", true},
	{__LINE__, NULL, false},
	{__LINE__, "", false},
	{__LINE__, "\"ab1\"", false},
	{__LINE__, "\"ab123\"", false},
	{__LINE__, "\"AB12\"", false},
	{__LINE__, "ab12", false},
	{__LINE__, "W/ab12", false},
	{__LINE__, "\"ab12", false},
	{__LINE__, "\"x\"\"ab12\"", false},
	{__LINE__, "\"x\"y, \"ab12\"", false},
	{__LINE__, "**", false},
	{__LINE__, "*, \"ab12\"", false},
	{__LINE__, "w/\"ab12\"", false},
	/* Empty list members and whitespace around members are allowed (RFC 9110, 5.6.1). */
	{__LINE__, ", \"ab12\"", true},
	{__LINE__, "\"ab12\" ,", true},
	{__LINE__, " , \"x\" ,, \t\"ab12\"\t", true},
	{__LINE__, "\"x\",,\"ab12\"", true},
	/* A header that is not an entity-tag list matches nothing, even when it holds the tag. */
	{__LINE__, "\"ab12\"junk", false},
	{__LINE__, "\"ab12\"x\"", false},
	{__LINE__, "\"ab12\"\"ab12\"", false},
	{__LINE__, "\"ab12\"W/\"ab12\"", false},
	{__LINE__, "\"ab12\", junk", false},
	{__LINE__, "junk, \"ab12\"", false},
	{__LINE__, "\"ab12\" \"x\"", false},
	{__LINE__, "\"ab12\";", false},
	{__LINE__, "\"ab12\", *", false},
	{__LINE__, "\"a b\", \"ab12\"", false},
	{__LINE__, "\"ab12\", \"a\tb\"", false},
	{__LINE__, "\"ab12\", \"a\x7f\"", false},
	{__LINE__, "\"ab12\", \"a\x01\"", false},
	{__LINE__, "W/ \"ab12\"", false},
	{__LINE__, "\"ab12\", W/", false},
	{__LINE__, "\"ab12\", \"", false},
	{__LINE__, "\"ab12\", \"\"", true},
	{__LINE__, "\"\\x\", \"ab12\"", true},
	{__LINE__, "\"\xc3\xa9\", \"ab12\"", true},
};

static void test_if_none_match(void)
{
	for (size_t i = 0; i < N_ELEMS(if_none_match_cases); i++) {
		const struct if_none_match_case *c = &if_none_match_cases[i];
		tb_case(__FILE__, c->line, "tb_if_none_match(%s)", tb_q(c->header));
		tb_check_bool("result", tb_if_none_match(c->header, "\"ab12\""), c->want);
		tb_end();
	}
}

/* ---- tb_req_init with a fake CGI environment ---- */

#define MAX_PARAMS 16

struct fake_env {
	const char *kv[MAX_PARAMS][2]; /* {name, value}, ends at a NULL name */
};

static const char *fake_param(void *ctx, const char *name)
{
	const struct fake_env *env = ctx;
	for (size_t i = 0; i < MAX_PARAMS && env->kv[i][0]; i++)
		if (strcmp(env->kv[i][0], name) == 0)
			return env->kv[i][1];
	return NULL;
}

struct init_case {
	int line;
	struct fake_env env;
	enum tb_err err;
	enum tb_method method;
	const char *method_name, *path, *query;
	bool https, has_cl, cl_bad;
	uint64_t cl;
};

static const struct init_case init_cases[] = {
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/v1/boards"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/api/v1/boards",
         "",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/v1/boards?after=5&x=1"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/api/v1/boards",
         "after=5&x=1",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/v1/boards?"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/api/v1/boards",
         "",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a?b?c"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/a",
         "b?c",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a%20b/%3F?q=%20"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/a%20b/%3F",
         "q=%20",
         false,
         false,
         false,
         0}, /* path not decoded */
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/api/v1/boards"}, {"CONTENT_LENGTH", "12"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/api/v1/boards",
         "",
         false,
         true,
         false,
         12},
	{__LINE__,
         {{{"REQUEST_METHOD", "PATCH"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", "0"}}},
         TB_OK,
         TB_PATCH,
         "PATCH",
         "/x",
         "",
         false,
         true,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", "18446744073709551615"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/x",
         "",
         false,
         true,
         false,
         UINT64_MAX},
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", "abc"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/x",
         "",
         false,
         true,
         true,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", "-1"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/x",
         "",
         false,
         true,
         true,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", " 5"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/x",
         "",
         false,
         true,
         true,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", "18446744073709551616"}}},
         TB_OK,
         TB_POST,
         "POST",
         "/x",
         "",
         false,
         true,
         true,
         0},
	/* RFC 3875 4.1.2: an empty CONTENT_LENGTH means no body, like an absent one */
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/x"}, {"CONTENT_LENGTH", ""}}},
         TB_OK,
         TB_GET,
         "GET",
         "/x",
         "",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/x"}, {"HTTPS", "on"}}},
         TB_OK,
         TB_GET,
         "GET",
         "/x",
         "",
         true,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "DELETE"}, {"REQUEST_URI", "/x"}}},
         TB_OK,
         TB_DELETE,
         "DELETE",
         "/x",
         "",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "OPTIONS"}, {"REQUEST_URI", "*"}}},
         TB_OK,
         TB_OPTIONS,
         "OPTIONS",
         "*",
         "",
         false,
         false,
         false,
         0},
	{__LINE__,
         {{{"REQUEST_METHOD", "PROPFIND"}, {"REQUEST_URI", "/x"}}},
         TB_OK,
         TB_METHOD_OTHER,
         "PROPFIND",
         "/x",
         "",
         false,
         false,
         false,
         0},
	{__LINE__, {{{"REQUEST_URI", "/x"}}}, TB_ERR_INVALID, 0, NULL, NULL, NULL, false, false, false, 0},
	{__LINE__, {{{"REQUEST_METHOD", "GET"}}}, TB_ERR_INVALID, 0, NULL, NULL, NULL, false, false, false, 0},
	{__LINE__, {{{"PATH_INFO", "/x"}}}, TB_ERR_INVALID, 0, NULL, NULL, NULL, false, false, false, 0},
};

static ssize_t no_read(void *ctx, char *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return 0;
}

static void test_req_init(void)
{
	struct tb_io io = {.ctx = NULL, .read = no_read, .client_fd = -1};
	for (size_t i = 0; i < N_ELEMS(init_cases); i++) {
		const struct init_case *c = &init_cases[i];
		struct tb_req req;
		memset(&req, 0, sizeof req);
		const char *m = fake_param((void *)&c->env, "REQUEST_METHOD");
		const char *u = fake_param((void *)&c->env, "REQUEST_URI");
		tb_case(__FILE__, c->line, "tb_req_init(%s %s)", m ? m : "(no method)", u ? u : "(no uri)");
		enum tb_err err = tb_req_init(&req, fake_param, (void *)&c->env, &io);
		if (tb_check_err("result", err, c->err) && err == TB_OK) {
			tb_check_int("method", req.method, c->method);
			tb_check_str("method_name", req.method_name, c->method_name);
			tb_check_str("path", req.path, c->path);
			tb_check_str("query", req.query, c->query);
			tb_check_bool("https", req.https, c->https);
			/* "bad" is what the guard reads; whether a bad length also counts as present is open */
			if (!c->cl_bad)
				tb_check_bool("has_content_length", req.has_content_length, c->has_cl);
			tb_check_bool("content_length_bad", req.content_length_bad, c->cl_bad);
			if (c->has_cl && !c->cl_bad)
				tb_check_uint("content_length", req.content_length, c->cl);
			tb_check_uint("n_ids", req.n_ids, 0);
			tb_check_int("user_id", req.user_id, 0);
			tb_check_bool("body_read", req.body_read, false);
			tb_check_uint("body.len", req.body.len, 0);
		}
		if (err == TB_OK)
			tb_req_free(&req);
		tb_end();
	}
}

/* The request headers are passed through from their HTTP_* meta-variables (and CONTENT_TYPE,
 * REMOTE_ADDR without the prefix, RFC 3875 4.1); absent ones stay NULL. */
struct header_case {
	int line;
	const char *var, *value;
	size_t offset; /* of the const char * in struct tb_req */
};

static const struct header_case header_cases[] = {
	{__LINE__, "CONTENT_TYPE", "application/json", offsetof(struct tb_req, content_type)},
	{__LINE__, "HTTP_COOKIE", "tb_session=abc", offsetof(struct tb_req, cookie)},
	{__LINE__, "HTTP_AUTHORIZATION", "Bearer abc", offsetof(struct tb_req, authorization)},
	{__LINE__, "HTTP_ORIGIN", "https://example.org", offsetof(struct tb_req, origin)},
	{__LINE__, "HTTP_REFERER", "https://example.org/b/1", offsetof(struct tb_req, referer)},
	{__LINE__, "HTTP_HOST", "example.org:8080", offsetof(struct tb_req, host)},
	{__LINE__, "HTTP_ACCEPT", "text/event-stream", offsetof(struct tb_req, accept)},
	{__LINE__, "HTTP_IF_MATCH", "\"3\"", offsetof(struct tb_req, if_match)},
	{__LINE__, "HTTP_LAST_EVENT_ID", "17", offsetof(struct tb_req, last_event_id)},
	{__LINE__, "REMOTE_ADDR", "192.0.2.1", offsetof(struct tb_req, remote_addr)},
};

static void test_req_headers(void)
{
	struct tb_io io = {.ctx = NULL, .read = no_read, .client_fd = -1};
	for (size_t i = 0; i < N_ELEMS(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		struct fake_env with = {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/"}, {c->var, c->value}}};
		struct fake_env without = {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/"}}};
		struct tb_req req;
		tb_case(__FILE__, c->line, "tb_req_init copies %s", c->var);
		memset(&req, 0, sizeof req);
		if (tb_check_err("init with", tb_req_init(&req, fake_param, &with, &io), TB_OK)) {
			tb_check_str("with", *(const char **)((char *)&req + c->offset), c->value);
			tb_req_free(&req);
		}
		memset(&req, 0xff, sizeof req); /* init must write NULL, not leave garbage */
		if (tb_check_err("init without", tb_req_init(&req, fake_param, &without, &io), TB_OK)) {
			tb_check_str("without", *(const char **)((char *)&req + c->offset), NULL);
			tb_req_free(&req);
		}
		tb_end();
	}
}

/* ---- tb_req_read_body with fake I/O ---- */

struct fake_io {
	const char *data;
	size_t len, pos;
	size_t chunk;   /* most bytes per read call (0: no limit) */
	bool fail;      /* read returns -1 once the data is used up, instead of 0 (EOF) */
	int fail_errno; /* errno of that -1 (0: EIO) */
	unsigned calls; /* read calls made */
};

static ssize_t fake_read(void *ctx, char *buf, size_t len)
{
	struct fake_io *f = ctx;
	f->calls++;
	if (f->pos == f->len) {
		errno = f->fail_errno ? f->fail_errno : EIO;
		return f->fail ? -1 : 0;
	}
	size_t n = f->len - f->pos;
	if (n > len)
		n = len;
	if (f->chunk && n > f->chunk)
		n = f->chunk;
	memcpy(buf, f->data + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static const char big_body[] = "0123456789abcdefghij";

struct body_case {
	int line;
	const char *content_length; /* NULL: absent */
	const char *data;
	size_t data_len; /* 0: strlen(data) */
	size_t chunk;
	bool fail;
	size_t max;
	enum tb_err err;
	const char *want;
	size_t want_len; /* 0: strlen(want) */
	size_t max_pos;  /* most bytes the body may consume from the input; SIZE_MAX: no limit */
	int fail_errno;  /* errno of the failed read (0: EIO) */
};

static const struct body_case body_cases[] = {
	{__LINE__, "5", "hello", 0, 0, false, 100, TB_OK, "hello", 0, 5, 0},
	{__LINE__, "5", "hello", 0, 1, false, 100, TB_OK, "hello", 0, 5, 0},        /* 1 byte per read */
	{__LINE__, "20", big_body, 0, 3, false, 100, TB_OK, big_body, 0, 20, 0},    /* short reads add up */
	{__LINE__, "5", "hello", 0, 0, false, 5, TB_OK, "hello", 0, 5, 0},          /* exactly max */
	{__LINE__, "5", "hello, world", 0, 0, false, 100, TB_OK, "hello", 0, 5, 0}, /* no read past it */
	{__LINE__, "0", "hello", 0, 0, false, 100, TB_OK, "", 0, 0, 0},
	{__LINE__, "3", "a\0b", 3, 0, false, 100, TB_OK, "a\0b", 3, 3, 0},
	{__LINE__, "10", "hello", 0, 0, false, 100, TB_ERR_IO, NULL, 0, SIZE_MAX, 0}, /* EOF early */
	{__LINE__, "10", "hello", 0, 2, false, 100, TB_ERR_IO, NULL, 0, SIZE_MAX, 0},
	{__LINE__, "10", "hello", 0, 0, true, 100, TB_ERR_IO, NULL, 0, SIZE_MAX, 0}, /* read fails */
	{__LINE__, "6", "hello", 0, 0, false, 5, TB_ERR_TOO_LARGE, NULL, 0, 0, 0},   /* not a byte read */
	{__LINE__, "18446744073709551615", "hello", 0, 0, false, 5, TB_ERR_TOO_LARGE, NULL, 0, 0, 0},
	{__LINE__, NULL, "hello", 0, 0, false, 100, TB_OK, "hello", 0, 5, 0}, /* until EOF */
	{__LINE__, NULL, "hello", 0, 1, false, 100, TB_OK, "hello", 0, 5, 0},
	{__LINE__, NULL, "", 0, 0, false, 100, TB_OK, "", 0, 0, 0},
	{__LINE__, NULL, "0123456789", 0, 0, false, 10, TB_OK, "0123456789", 0, SIZE_MAX, 0},
	{__LINE__, NULL, "0123456789a", 0, 0, false, 10, TB_ERR_TOO_LARGE, NULL, 0, SIZE_MAX, 0},
	{__LINE__, NULL, big_body, 0, 3, false, 10, TB_ERR_TOO_LARGE, NULL, 0, SIZE_MAX, 0},
	{__LINE__, NULL, "hello", 0, 0, true, 100, TB_ERR_IO, NULL, 0, SIZE_MAX, 0},
	/* the transport's body deadline passed: 408, not 400 */
	{__LINE__, "10", "hello", 0, 0, true, 100, TB_ERR_TIMEOUT, NULL, 0, SIZE_MAX, ETIMEDOUT},
	{__LINE__, "10", "", 0, 0, true, 100, TB_ERR_TIMEOUT, NULL, 0, SIZE_MAX, ETIMEDOUT},
	{__LINE__, NULL, "hello", 0, 2, true, 100, TB_ERR_TIMEOUT, NULL, 0, SIZE_MAX, ETIMEDOUT},
	{__LINE__, "10", "hello", 0, 0, true, 100, TB_ERR_IO, NULL, 0, SIZE_MAX, ECONNRESET},
};

static void test_read_body(void)
{
	for (size_t i = 0; i < N_ELEMS(body_cases); i++) {
		const struct body_case *c = &body_cases[i];
		struct fake_io f = {.data = c->data,
		                    .len = c->data_len ? c->data_len : strlen(c->data),
		                    .chunk = c->chunk,
		                    .fail = c->fail,
		                    .fail_errno = c->fail_errno};
		struct tb_io io = {.ctx = &f, .read = fake_read, .client_fd = -1};
		struct fake_env env = {{{"REQUEST_METHOD", "POST"},
		                        {"REQUEST_URI", "/x"},
		                        {c->content_length ? "CONTENT_LENGTH" : "X_NONE", c->content_length}}};
		struct tb_req req;
		memset(&req, 0, sizeof req);
		tb_case(__FILE__, c->line, "tb_req_read_body(CONTENT_LENGTH %s, body %s, chunk %zu%s, max %zu)",
		        c->content_length ? c->content_length : "absent", tb_qn(c->data, f.len), c->chunk,
		        c->fail ? ", then -1" : "", c->max);
		if (!tb_check_err("init", tb_req_init(&req, fake_param, &env, &io), TB_OK)) {
			tb_end();
			continue;
		}
		enum tb_err err = tb_req_read_body(&req, c->max);
		if (tb_check_err("result", err, c->err) && err == TB_OK) {
			size_t wl = c->want_len ? c->want_len : strlen(c->want);
			tb_check_mem("body", req.body.data, req.body.len, c->want, wl);
			tb_check_bool("body_read", req.body_read, true);
			tb_check(wl == 0 || req.body.data[req.body.len] == '\0', "body not NUL-terminated");
		}
		if (c->max_pos != SIZE_MAX)
			tb_check(f.pos <= c->max_pos, "consumed %zu input bytes, want at most %zu", f.pos, c->max_pos);
		tb_req_free(&req);
		tb_end();
	}
}

/* ---- the CGI transport's deadlines (tb_server_cgi_once) on socketpairs ----
 * Neither request needs the database: POST /sessions fails in its body guard, and an unknown path
 * is a 404 of the router. */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one CGI request with in/out socketpairs; *in_peer and *out_peer are the client's ends. */
static double run_cgi(struct tb_config *cfg, struct fake_env *env, int in_fd, int out_fd)
{
	struct tb_app app;
	size_t n_routes;
	const struct tb_route *routes = tb_api_routes(&n_routes);
	tb_app_init(&app, cfg, routes, n_routes);
	double t = mono();
	tb_server_cgi_once(&app, fake_param, env, in_fd, out_fd);
	t = mono() - t;
	tb_app_free(&app);
	return t;
}

static void test_cgi_body_deadline(void)
{
	int in[2], out[2];
	tb_case(__FILE__, __LINE__, "CGI: 8 of 1000 body bytes, body_timeout 1 s -> 408 timeout");
	if (!tb_check(socketpair(AF_UNIX, SOCK_STREAM, 0, in) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, out) == 0,
	              "socketpair")) {
		tb_end();
		return;
	}
	struct tb_config cfg;
	tb_config_defaults(&cfg);
	cfg.body_timeout = 1;
	struct fake_env env = {{{"REQUEST_METHOD", "POST"},
	                        {"REQUEST_URI", "/api/v1/sessions"},
	                        {"CONTENT_TYPE", "application/json"},
	                        {"CONTENT_LENGTH", "1000"}}};
	tb_check(write(in[1], "{\"name\":", 8) == 8, "write body");
	/* 1 s for the body, then up to 2 s of draining what is left of it (the client is silent) */
	double took = run_cgi(&cfg, &env, in[0], out[0]);
	tb_check(took >= 0.9 && took < 4.5, "took %.2f s, want 1 s + the 2 s drain", took);
	char buf[4096];
	ssize_t n = recv(out[1], buf, sizeof buf - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	tb_check(strncmp(buf, "Status: 408", 11) == 0, "answer %s", tb_q(buf));
	tb_check(strstr(buf, "\"code\":\"timeout\"") != NULL, "answer %s", tb_q(buf));
	tb_config_free(&cfg);
	close(in[0]), close(in[1]), close(out[0]), close(out[1]);
	tb_end();
}

static void test_cgi_write_deadline(void)
{
	int in[2], out[2];
	tb_case(__FILE__, __LINE__, "CGI: a client that does not read, write_timeout 1 s -> the worker is free");
	if (!tb_check(socketpair(AF_UNIX, SOCK_STREAM, 0, in) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, out) == 0,
	              "socketpair")) {
		tb_end();
		return;
	}
	shutdown(in[1], SHUT_WR); /* no body */
	int small = 4096;
	setsockopt(out[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	char fill[4096];
	memset(fill, 'x', sizeof fill);
	while (send(out[0], fill, sizeof fill, MSG_DONTWAIT) > 0) /* the client's window is full */
		;
	struct tb_config cfg;
	tb_config_defaults(&cfg);
	cfg.write_timeout = 1;
	struct fake_env env = {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/v1/no-such-thing"}}};
	double took = run_cgi(&cfg, &env, in[0], out[0]);
	tb_check(took >= 0.9 && took < 2.5, "took %.2f s, want write_timeout (1 s)", took);
	int flags = fcntl(out[0], F_GETFL);
	tb_check(flags >= 0 && !(flags & O_NONBLOCK), "the descriptor's flags changed: %#x", flags);
	tb_config_free(&cfg);
	close(in[0]), close(in[1]), close(out[0]), close(out[1]);
	tb_end();
}

static void test_cgi_pipe_write_deadline(void)
{
	int in[2], out[2];
	tb_case(__FILE__, __LINE__, "CGI on a pipe: a client that does not read, write_timeout 1 s");
	if (!tb_check(socketpair(AF_UNIX, SOCK_STREAM, 0, in) == 0 && pipe(out) == 0, "socketpair/pipe")) {
		tb_end();
		return;
	}
	shutdown(in[1], SHUT_WR);
	int fl = fcntl(out[1], F_GETFL);
	fcntl(out[1], F_SETFL, fl | O_NONBLOCK);
	char fill[4096];
	memset(fill, 'x', sizeof fill);
	while (write(out[1], fill, sizeof fill) > 0)
		;
	fcntl(out[1], F_SETFL, fl);
	struct tb_config cfg;
	tb_config_defaults(&cfg);
	cfg.write_timeout = 1;
	struct fake_env env = {{{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/v1/no-such-thing"}}};
	double took = run_cgi(&cfg, &env, in[0], out[1]);
	tb_check(took >= 0.9 && took < 2.5, "took %.2f s, want write_timeout (1 s)", took);
	tb_check(fcntl(out[1], F_GETFL) == fl, "the pipe's flags were not restored");
	tb_config_free(&cfg);
	close(in[0]), close(in[1]), close(out[0]), close(out[1]);
	tb_end();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as teamboard.fcgi does */
	test_content_length();
	test_parse_id();
	test_query_get();
	test_query_int();
	test_cookie_get();
	test_bearer_get();
	test_content_type();
	test_if_match();
	test_if_none_match();
	test_req_init();
	test_req_headers();
	test_read_body();
	test_cgi_body_deadline();
	test_cgi_write_deadline();
	test_cgi_pipe_write_deadline();
	return tb_done();
}
