/* test_resp: struct tb_resp as handlers build it: header values refused with CR/LF, headers
 * replaced, the one error body shape {"error":{"code","message"}} (read back with json-c), the
 * extra key of tb_resp_error_with, ETag, the CGI response head and the reason phrases; the API's
 * error table (tb_resp_errors) held against docs/api.md's error table and web/js/errors.js's
 * SENTENCES: every row's status and code documented and worded for people, every documented code
 * answered by a row or listed below as answered elsewhere. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tb_buf.h"
#include "tb_resp.h"
#include "tb_test.h"

/* ---- tb_resp_init ---- */

static void test_init(void)
{
	struct tb_resp resp;
	memset(&resp, 0xa5, sizeof resp);
	tb_case(__FILE__, __LINE__, "tb_resp_init: empty response");
	tb_resp_init(&resp);
	tb_check_int("status", resp.status, 0);
	tb_check_uint("n_headers", resp.n_headers, 0);
	tb_check_uint("body.len", resp.body.len, 0);
	tb_check_bool("streamed", resp.streamed, false);
	tb_check_str("get_header", tb_resp_get_header(&resp, "Content-Type"), NULL);
	tb_resp_free(&resp);
	tb_end();
}

/* ---- tb_resp_header ---- */

struct header_case {
	int line;
	const char *name, *value;
	bool ok;
};

static const struct header_case header_cases[] = {
	{__LINE__, "X-A", "b", true},
	{__LINE__, "Location", "/api/v1/boards/7", true},
	{__LINE__, "X-A", "", true},
	{__LINE__, "X-A", "a b\tc", true}, /* SP and HTAB are field-value characters */
	{__LINE__, "X-A", "caf\xc3\xa9", true},
	{__LINE__, "X-A", "a\rb", false},
	{__LINE__, "X-A", "a\nb", false},
	{__LINE__, "X-A", "a\r\nb", false},
	{__LINE__, "X-A", "\r", false},
	{__LINE__, "X-A", "\n", false},
	{__LINE__, "X-A", "ab\n", false},
	{__LINE__, "X-A", "\rab", false},
	{__LINE__, "Location", "/x\r\nSet-Cookie: tb_session=evil", false},
	{__LINE__, "X-A", "a\n b", false}, /* obsolete line folding */
};

static void test_header(void)
{
	for (size_t i = 0; i < N_ELEMS(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		struct tb_resp resp;
		struct tb_buf head = {0};
		tb_resp_init(&resp);
		resp.status = 200;
		tb_case(__FILE__, c->line, "tb_resp_header(%s, %s)", tb_q(c->name), tb_q(c->value));
		bool ok = tb_resp_header(&resp, c->name, c->value);
		if (tb_check_bool("result", ok, c->ok)) {
			tb_check_uint("n_headers", resp.n_headers, c->ok ? 1 : 0);
			tb_check_str("get_header", tb_resp_get_header(&resp, c->name), c->ok ? c->value : NULL);
		}
		tb_resp_head(&resp, &head);
		tb_check(strstr(tb_buf_str(&head), "\r\n\r\n") == tb_buf_str(&head) + head.len - 4,
		         "head has a blank line before its end: %s", tb_qn(head.data, head.len));
		tb_buf_free(&head);
		tb_resp_free(&resp);
		tb_end();
	}
}

/* The NUL case of the contract: a value is a C string, so a NUL can only end it early; what
 * follows must not reach the head. */
static void test_header_nul(void)
{
	static const char value[] = "a\0\r\nX-Evil: 1";
	struct tb_resp resp;
	struct tb_buf head = {0};
	tb_resp_init(&resp);
	resp.status = 200;
	tb_case(__FILE__, __LINE__, "tb_resp_header with a NUL inside the value");
	tb_check_bool("result", tb_resp_header(&resp, "X-A", value), true);
	tb_check_str("value", tb_resp_get_header(&resp, "X-A"), "a");
	tb_resp_head(&resp, &head);
	tb_check(strstr(tb_buf_str(&head), "X-Evil") == NULL, "head: %s", tb_qn(head.data, head.len));
	tb_buf_free(&head);
	tb_resp_free(&resp);
	tb_end();
}

/* At most TB_RESP_MAX_HEADERS headers; the next one is refused, not written past the array. */
static void test_header_full(void)
{
	struct tb_resp resp;
	char name[32];
	tb_resp_init(&resp);
	tb_case(__FILE__, __LINE__, "tb_resp_header: %d headers fit, one more is refused", TB_RESP_MAX_HEADERS);
	for (int i = 0; i < TB_RESP_MAX_HEADERS; i++) {
		snprintf(name, sizeof name, "X-H%d", i);
		if (!tb_resp_header(&resp, name, "v")) {
			tb_fail("header %d refused", i);
			break;
		}
	}
	tb_check_bool("one more", tb_resp_header(&resp, "X-More", "v"), false);
	tb_check_bool("set_header of a new name", tb_resp_set_header(&resp, "X-More", "v"), false);
	tb_check_bool("set_header of a present name", tb_resp_set_header(&resp, "X-H3", "w"), true);
	tb_check_str("replaced", tb_resp_get_header(&resp, "X-H3"), "w");
	tb_check_uint("n_headers", resp.n_headers, TB_RESP_MAX_HEADERS);
	tb_resp_free(&resp);
	tb_end();
}

/* ---- tb_resp_set_header, tb_resp_get_header ---- */

struct set_case {
	int line;
	const char *first_name, *first_value; /* added with tb_resp_header first, or NULL */
	const char *name, *value;             /* then tb_resp_set_header */
	bool ok;
	const char *want; /* tb_resp_get_header(name) afterwards */
	size_t n_headers;
};

static const struct set_case set_cases[] = {
	{__LINE__, NULL, NULL, "X-A", "1", true, "1", 1},
	{__LINE__, "X-A", "1", "X-A", "2", true, "2", 1},
	{__LINE__, "X-B", "1", "X-A", "2", true, "2", 2},
	{__LINE__, "X-A", "1", "X-A", "", true, "", 1},
	{__LINE__, "ETag", "\"1\"", "ETag", "\"2\"", true, "\"2\"", 1},
	/* field names are case-insensitive (RFC 9110 5.1) */
	{__LINE__, "Content-Type", "text/plain", "content-type", "application/json", true, "application/json", 1},
	{__LINE__, "X-A", "1", "X-A", "2\r\nX-B: 3", false, "1", 1},
	{__LINE__, NULL, NULL, "X-A", "\n", false, NULL, 0},
};

static void test_set_header(void)
{
	for (size_t i = 0; i < N_ELEMS(set_cases); i++) {
		const struct set_case *c = &set_cases[i];
		struct tb_resp resp;
		tb_resp_init(&resp);
		tb_case(__FILE__, c->line, "tb_resp_set_header(%s, %s) after %s: %s", tb_q(c->name), tb_q(c->value),
		        c->first_name ? c->first_name : "nothing", tb_q(c->first_value));
		if (c->first_name && !tb_resp_header(&resp, c->first_name, c->first_value))
			tb_fail("tb_resp_header(%s) refused", c->first_name);
		tb_check_bool("result", tb_resp_set_header(&resp, c->name, c->value), c->ok);
		tb_check_str("get_header", tb_resp_get_header(&resp, c->name), c->want);
		tb_check_uint("n_headers", resp.n_headers, c->n_headers);
		tb_resp_free(&resp);
		tb_end();
	}
}

struct get_case {
	int line;
	const char *name;
	const char *want;
};

static const struct get_case get_cases[] = {
	{__LINE__, "X-A", "1"},   {__LINE__, "x-a", "1"}, {__LINE__, "X-A-B", "2"}, {__LINE__, "X-", NULL},
	{__LINE__, "X-AB", NULL}, {__LINE__, "X", NULL},  {__LINE__, "", NULL},
};

static void test_get_header(void)
{
	struct tb_resp resp;
	tb_resp_init(&resp);
	tb_resp_header(&resp, "X-A", "1");
	tb_resp_header(&resp, "X-A-B", "2");
	for (size_t i = 0; i < N_ELEMS(get_cases); i++) {
		const struct get_case *c = &get_cases[i];
		tb_case(__FILE__, c->line, "tb_resp_get_header(%s)", tb_q(c->name));
		tb_check_str("value", tb_resp_get_header(&resp, c->name), c->want);
		tb_end();
	}
	tb_resp_free(&resp);
}

/* ---- tb_resp_error, tb_resp_error_with ---- */

/* Checks that body is {"error":{"code":code,"message":message}} plus, when key is set,
 * "key": extra (compared as JSON text), and nothing else. */
static void check_error_body(const struct tb_buf *body, const char *code, const char *message, const char *key,
                             const char *extra)
{
	enum json_tokener_error jerr;
	struct json_object *obj = json_tokener_parse_verbose(tb_buf_str(body), &jerr), *err, *v;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		tb_fail("body is not a JSON object: %s", tb_qn(body->data, body->len));
		json_object_put(obj);
		return;
	}
	tb_check_int("members of the body", json_object_object_length(obj), key ? 2 : 1);
	if (!json_object_object_get_ex(obj, "error", &err) || !json_object_is_type(err, json_type_object)) {
		tb_fail("no \"error\" object in %s", tb_q(tb_buf_str(body)));
		json_object_put(obj);
		return;
	}
	tb_check_int("members of \"error\"", json_object_object_length(err), 2);
	if (json_object_object_get_ex(err, "code", &v) && json_object_is_type(v, json_type_string))
		tb_check_str("code", json_object_get_string(v), code);
	else
		tb_fail("no string \"code\"");
	if (json_object_object_get_ex(err, "message", &v) && json_object_is_type(v, json_type_string))
		tb_check_mem("message", json_object_get_string(v), (size_t)json_object_get_string_len(v), message,
		             strlen(message));
	else
		tb_fail("no string \"message\"");
	if (key) {
		if (json_object_object_get_ex(obj, key, &v))
			tb_check_str(key, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), extra);
		else
			tb_fail("no %s in %s", tb_q(key), tb_q(tb_buf_str(body)));
	}
	json_object_put(obj);
}

struct error_case {
	int line;
	int status;
	const char *code, *message;
	const char *before; /* a body set first with tb_resp_json_text, or NULL */
};

static const struct error_case error_cases[] = {
	{__LINE__, 404, "not_found", "no such board", NULL},
	{__LINE__, 405, "method_not_allowed", "method not allowed", NULL},
	{__LINE__, 422, "invalid", "x: must be an integer from -100000 to 100000", NULL},
	{__LINE__, 400, "bad_json", "", NULL},
	{__LINE__, 400, "bad_json", "quote \" backslash \\ slash /", NULL},
	{__LINE__, 400, "bad_json", "line\nbreak\ttab\r\x01", NULL},
	{__LINE__, 422, "invalid", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL},
	{__LINE__, 422, "invalid", "</script><script>", NULL},
	{__LINE__, 500, "internal", "internal error", "{\"id\":1,\"secret\":\"x\"}"},
	{__LINE__, 503, "db_unavailable", "database unavailable", "[1,2,3]"},
};

static void test_error(void)
{
	for (size_t i = 0; i < N_ELEMS(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct tb_resp resp;
		tb_resp_init(&resp);
		tb_case(__FILE__, c->line, "tb_resp_error(%d, %s, %s)%s", c->status, tb_q(c->code), tb_q(c->message),
		        c->before ? " after a body" : "");
		if (c->before)
			tb_resp_json_text(&resp, 200, c->before, strlen(c->before));
		tb_resp_error(&resp, c->status, c->code, c->message);
		tb_check_int("status", resp.status, c->status);
		check_error_body(&resp.body, c->code, c->message, NULL, NULL);
		tb_check(resp.body.data == NULL || strlen(resp.body.data) == resp.body.len,
		         "body.len %zu but the string is %zu bytes", resp.body.len,
		         resp.body.data ? strlen(resp.body.data) : 0);
		tb_resp_free(&resp);
		tb_end();
	}
}

struct error_with_case {
	int line;
	int status;
	const char *code, *message, *key;
	const char *extra; /* JSON text of the extra member, in json-c's plain form */
};

static const struct error_with_case error_with_cases[] = {
	{__LINE__, 412, "version_mismatch", "the item has changed", "current", "{\"id\":1,\"version\":3}"},
	{__LINE__, 412, "version_mismatch", "stale", "current", "{\"id\":9,\"text\":\"a\\nb\",\"z\":-1}"},
	{__LINE__, 409, "conflict", "x", "detail", "[1,\"two\",null]"},
	{__LINE__, 422, "invalid", "x", "field", "\"x\""},
	{__LINE__, 422, "invalid", "x", "n", "42"},
};

static void test_error_with(void)
{
	for (size_t i = 0; i < N_ELEMS(error_with_cases); i++) {
		const struct error_with_case *c = &error_with_cases[i];
		struct tb_resp resp;
		tb_resp_init(&resp);
		tb_case(__FILE__, c->line, "tb_resp_error_with(%d, %s, %s, %s)", c->status, tb_q(c->code), tb_q(c->key),
		        tb_q(c->extra));
		/* ownership of extra passes to the response: valgrind tells if it is leaked */
		struct json_object *extra = json_tokener_parse(c->extra);
		if (!tb_check(extra != NULL, "bad test row: extra does not parse")) {
			tb_end();
			tb_resp_free(&resp);
			continue;
		}
		tb_resp_json_text(&resp, 200, "{\"old\":true}", 12);
		tb_resp_error_with(&resp, c->status, c->code, c->message, c->key, extra);
		tb_check_int("status", resp.status, c->status);
		check_error_body(&resp.body, c->code, c->message, c->key, c->extra);
		tb_resp_free(&resp);
		tb_end();
	}
}

/* ---- the error table (tb_resp_errors, tb_resp_fail) against docs/api.md and web/js/errors.js ---- */

/* Codes the API answers with tb_resp_error outside the table (tb_resp.h says where). */
static const struct tb_error elsewhere[] = {
	{503, "too_many_streams", "tb_stream.c"},
	{503, "busy", "tb_server.c"},
};

#define MAX_DOC 64

struct doc_row {
	int status;
	char code[40];
};

/* path under the source tree ($srcdir, which automake's test harness sets; else "."). */
static FILE *open_source(const char *path)
{
	const char *dir = getenv("srcdir");
	char full[1024];
	snprintf(full, sizeof full, "%s/%s", dir && *dir ? dir : ".", path);
	FILE *f = fopen(full, "r");
	if (!f) {
		tb_bail(full);
		exit(1);
	}
	return f;
}

/* The "| 404 | `not_found` | ... |" rows under docs/api.md's "## Errors". */
static size_t read_doc(struct doc_row *rows)
{
	FILE *f = open_source("docs/api.md");
	char line[2048];
	bool in = false;
	size_t n = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0)
			in = strncmp(line, "## Errors", 9) == 0;
		int status;
		char code[40];
		if (in && n < MAX_DOC && sscanf(line, "| %d | `%39[a-z_]` |", &status, code) == 2) {
			rows[n].status = status;
			snprintf(rows[n].code, sizeof rows[n].code, "%s", code);
			n++;
		}
	}
	fclose(f);
	return n;
}

/* web/js/errors.js's SENTENCES object, from "const SENTENCES = {" to "};", into text. */
static void read_sentences(char *text, size_t len)
{
	FILE *f = open_source("web/js/errors.js");
	char line[1024];
	bool in = false;
	size_t used = 0;
	text[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "const SENTENCES = {", 19) == 0)
			in = true;
		else if (in && strncmp(line, "};", 2) == 0)
			break;
		else if (in && used + strlen(line) < len)
			used += (size_t)snprintf(text + used, len - used, "%s", line);
	}
	fclose(f);
}

/* True when errors.js's SENTENCES (text) has a key "  code:" at the start of a line. */
static bool has_sentence(const char *text, const char *code)
{
	char key[64];
	snprintf(key, sizeof key, "\n  %s:", code);
	return strstr(text, key) != NULL || (strncmp(text, key + 1, strlen(key + 1)) == 0);
}

static bool in_table(const struct tb_error *t, size_t n, int status, const char *code)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].status == status && strcmp(t[i].code, code) == 0)
			return true;
	}
	return false;
}

static bool in_doc(const struct doc_row *rows, size_t n, int status, const char *code)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].status == status && strcmp(rows[i].code, code) == 0)
			return true;
	}
	return false;
}

static void test_error_table(void)
{
	size_t n;
	const struct tb_error *t = tb_resp_errors(&n);
	struct doc_row doc[MAX_DOC];
	size_t n_doc = read_doc(doc);
	static char js[16384];
	read_sentences(js, sizeof js);
	tb_case(__FILE__, __LINE__, "docs/api.md has an error table, errors.js a SENTENCES object");
	tb_check(n_doc >= 20, "%zu rows under ## Errors", n_doc);
	tb_check(strlen(js) > 100, "SENTENCES is %zu bytes", strlen(js));
	tb_end();
	for (size_t i = 0; i < n; i++) {
		tb_case(__FILE__, __LINE__, "error %zu: %d %s %s", i, t[i].status, t[i].code, tb_q(t[i].message));
		tb_check(t[i].code && t[i].message && *t[i].message, "a row without code or message");
		tb_check(strcmp(tb_status_text(t[i].status), "Unknown") != 0, "status %d has no reason phrase",
		         t[i].status);
		tb_check(in_doc(doc, n_doc, t[i].status, t[i].code), "docs/api.md has no row | %d | `%s` |",
		         t[i].status, t[i].code);
		tb_check(has_sentence(js, t[i].code), "web/js/errors.js has no sentence for %s", t[i].code);
		struct tb_resp resp;
		tb_resp_init(&resp);
		tb_resp_fail(&resp, (enum tb_error_id)i);
		tb_check_int("status", resp.status, t[i].status);
		check_error_body(&resp.body, t[i].code, t[i].message, NULL, NULL);
		tb_resp_free(&resp);
		tb_end();
	}
	for (size_t i = 0; i < N_ELEMS(elsewhere); i++) {
		tb_case(__FILE__, __LINE__, "answered in %s: %d %s", elsewhere[i].message, elsewhere[i].status,
		        elsewhere[i].code);
		tb_check(in_doc(doc, n_doc, elsewhere[i].status, elsewhere[i].code), "docs/api.md has no row for it");
		tb_check(!in_table(t, n, elsewhere[i].status, elsewhere[i].code), "it is in the table: not elsewhere");
		tb_check(has_sentence(js, elsewhere[i].code), "web/js/errors.js has no sentence for it");
		tb_end();
	}
	for (size_t i = 0; i < n_doc; i++) {
		tb_case(__FILE__, __LINE__, "docs/api.md: %d %s", doc[i].status, doc[i].code);
		tb_check(in_table(t, n, doc[i].status, doc[i].code) ||
		                 in_table(elsewhere, N_ELEMS(elsewhere), doc[i].status, doc[i].code),
		         "no row of the C error table (tb_resp.c) answers it, nor is it answered elsewhere");
		tb_end();
	}
}

static void test_fail_msg(void)
{
	struct tb_resp resp;
	tb_resp_init(&resp);
	tb_case(__FILE__, __LINE__, "tb_resp_fail_msg, tb_resp_fail_with");
	tb_resp_set_header(&resp, "ETag", "\"3\"");
	tb_resp_fail_msg(&resp, TB_E_INVALID, "x: must be an integer");
	tb_check_int("status", resp.status, 422);
	check_error_body(&resp.body, "invalid", "x: must be an integer", NULL, NULL);
	tb_check_str("ETag", tb_resp_get_header(&resp, "ETag"), NULL);
	tb_resp_fail_with(&resp, TB_E_RESET, "last_event_id", json_object_new_int64(7));
	tb_check_int("status", resp.status, 410);
	check_error_body(&resp.body, "reset", "those events are no longer kept; reload the board", "last_event_id",
	                 "7");
	tb_resp_free(&resp);
	tb_end();
}

/* ---- tb_resp_json, tb_resp_json_text ---- */

static void test_json_body(void)
{
	struct tb_resp resp;
	struct json_object *obj = json_tokener_parse("{\"id\":7,\"title\":\"t\\u00e9\",\"items\":[]}");
	tb_resp_init(&resp);
	tb_case(__FILE__, __LINE__, "tb_resp_json(201, object) borrows the object");
	tb_resp_json(&resp, 201, obj);
	tb_check_int("status", resp.status, 201);
	struct json_object *back = json_tokener_parse(tb_buf_str(&resp.body));
	tb_check(back && json_object_equal(back, obj), "body %s does not parse back to the object",
	         tb_q(tb_buf_str(&resp.body)));
	json_object_put(back);
	tb_check_int("refcount of the borrowed object", json_object_put(obj), 1); /* 1: freed now */
	tb_resp_free(&resp);
	tb_end();

	static const char text[] = "{\"a\":[1,2]}trailing";
	tb_resp_init(&resp);
	tb_case(__FILE__, __LINE__, "tb_resp_json_text(200, text, len) takes len bytes");
	tb_resp_json_text(&resp, 200, text, 11);
	tb_check_int("status", resp.status, 200);
	tb_check_mem("body", resp.body.data, resp.body.len, "{\"a\":[1,2]}", 11);
	tb_resp_free(&resp);
	tb_end();
}

/* ---- tb_resp_etag ---- */

struct etag_case {
	int line;
	int64_t version;
	const char *want;
};

static const struct etag_case etag_cases[] = {
	{__LINE__, 1, "\"1\""},
	{__LINE__, 3, "\"3\""},
	{__LINE__, 0, "\"0\""},
	{__LINE__, 1234567890123, "\"1234567890123\""},
	{__LINE__, INT64_MAX, "\"9223372036854775807\""},
};

static void test_etag(void)
{
	for (size_t i = 0; i < N_ELEMS(etag_cases); i++) {
		const struct etag_case *c = &etag_cases[i];
		struct tb_resp resp;
		tb_resp_init(&resp);
		tb_case(__FILE__, c->line, "tb_resp_etag(%" PRId64 ")", c->version);
		tb_resp_etag(&resp, 99);
		tb_resp_etag(&resp, c->version); /* sets, so the second call replaces the first */
		tb_check_str("ETag", tb_resp_get_header(&resp, "ETag"), c->want);
		tb_check_uint("n_headers", resp.n_headers, 1);
		tb_resp_free(&resp);
		tb_end();
	}
}

/* ---- tb_resp_head ---- */

struct head_case {
	int line;
	int status;
	const char *headers[4][2];
	const char *want;
};

static const struct head_case head_cases[] = {
	{__LINE__, 404, {{NULL}}, "Status: 404 Not Found\r\n\r\n"},
	{__LINE__, 204, {{NULL}}, "Status: 204 No Content\r\n\r\n"},
	{__LINE__,
         200,
         {{"Content-Type", "application/json; charset=utf-8"}},
         "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"},
	{__LINE__,
         201,
         {{"Location", "/api/v1/boards/7"}, {"ETag", "\"1\""}},
         "Status: 201 Created\r\nLocation: /api/v1/boards/7\r\nETag: \"1\"\r\n\r\n"},
	{__LINE__,
         405,
         {{"Allow", "GET, PATCH, DELETE"}},
         "Status: 405 Method Not Allowed\r\nAllow: GET, PATCH, DELETE\r\n\r\n"},
	{__LINE__,
         503,
         {{"Retry-After", "5"}, {"X-Empty", ""}, {"Cache-Control", "no-store"}},
         "Status: 503 Service Unavailable\r\nRetry-After: 5\r\nX-Empty: \r\nCache-Control: no-store\r\n\r\n"},
};

static void test_head(void)
{
	for (size_t i = 0; i < N_ELEMS(head_cases); i++) {
		const struct head_case *c = &head_cases[i];
		struct tb_resp resp;
		struct tb_buf out = {0};
		tb_resp_init(&resp);
		resp.status = c->status;
		for (size_t k = 0; k < 4 && c->headers[k][0]; k++)
			tb_resp_header(&resp, c->headers[k][0], c->headers[k][1]);
		tb_case(__FILE__, c->line, "tb_resp_head(%d, %zu headers)", c->status, resp.n_headers);
		tb_resp_head(&resp, &out);
		tb_check_mem("head", out.data, out.len, c->want, strlen(c->want));
		tb_buf_free(&out);
		tb_resp_free(&resp);
		tb_end();
	}
}

/* ---- tb_status_text ---- */

struct status_case {
	int line;
	int status;
	const char *want, *also; /* also: the other RFC's name, or NULL */
};

static const struct status_case status_cases[] = {
	{__LINE__, 200, "OK", NULL},
	{__LINE__, 201, "Created", NULL},
	{__LINE__, 204, "No Content", NULL},
	{__LINE__, 304, "Not Modified", NULL},
	{__LINE__, 400, "Bad Request", NULL},
	{__LINE__, 401, "Unauthorized", NULL},
	{__LINE__, 403, "Forbidden", NULL},
	{__LINE__, 404, "Not Found", NULL},
	{__LINE__, 405, "Method Not Allowed", NULL},
	{__LINE__, 409, "Conflict", NULL},
	{__LINE__, 412, "Precondition Failed", NULL},
	{__LINE__, 413, "Content Too Large", "Payload Too Large"}, /* RFC 9110 / RFC 7231 */
	{__LINE__, 415, "Unsupported Media Type", NULL},
	{__LINE__, 422, "Unprocessable Content", "Unprocessable Entity"}, /* RFC 9110 / RFC 4918 */
	{__LINE__, 500, "Internal Server Error", NULL},
	{__LINE__, 503, "Service Unavailable", NULL},
	{__LINE__, 0, "Unknown", NULL},
	{__LINE__, -1, "Unknown", NULL},
	{__LINE__, 299, "Unknown", NULL},
	{__LINE__, 999, "Unknown", NULL},
	{__LINE__, 100000, "Unknown", NULL},
};

static void test_status_text(void)
{
	for (size_t i = 0; i < N_ELEMS(status_cases); i++) {
		const struct status_case *c = &status_cases[i];
		const char *got = tb_status_text(c->status);
		tb_case(__FILE__, c->line, "tb_status_text(%d)", c->status);
		if (!(c->also && got && strcmp(got, c->also) == 0))
			tb_check_str("text", got, c->want);
		tb_end();
	}
}

/* ---- tb_resp_free ---- */

static void test_free(void)
{
	struct tb_resp resp;
	tb_resp_init(&resp);
	tb_case(__FILE__, __LINE__, "tb_resp_free, then reuse after tb_resp_init");
	tb_resp_header(&resp, "X-A", "1");
	tb_resp_error(&resp, 404, "not_found", "x");
	tb_resp_free(&resp);
	tb_resp_init(&resp);
	tb_check_uint("n_headers", resp.n_headers, 0);
	tb_check_uint("body.len", resp.body.len, 0);
	tb_check_bool("header again", tb_resp_header(&resp, "X-A", "2"), true);
	tb_check_str("get_header", tb_resp_get_header(&resp, "X-A"), "2");
	tb_resp_free(&resp);
	tb_end();
}

int main(void)
{
	test_init();
	test_header();
	test_header_nul();
	test_header_full();
	test_set_header();
	test_get_header();
	test_error();
	test_error_with();
	test_error_table();
	test_fail_msg();
	test_json_body();
	test_etag();
	test_head();
	test_status_text();
	test_free();
	return tb_done();
}
