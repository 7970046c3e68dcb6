/* test_route: tb_route_match over a table shaped like the API's (docs/api.md, Routes): which row
 * matches, the ids taken from ":id" segments, 404 (NO_PATH) for unknown paths and bad ids, 405
 * (NO_METHOD) with the Allow list in table order; tb_method_parse and tb_method_name. Then the
 * route table as the request policy: tb_app_handle checks a body against the row's fields (a full
 * body, a patch) and runs the row's admit check before them, all before the handler; and every
 * row of the API's table (tb_api_routes) that takes a body names its fields. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tb_api.h"
#include "tb_app.h"
#include "tb_config.h"
#include "tb_request.h"
#include "tb_route.h"
#include "tb_test.h"

static void h_dummy(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	(void)app, (void)req, (void)resp;
}

/* The handler is the same everywhere: a match is identified by its row index. */
static const struct tb_route routes[] = {
	/* 0 */ {TB_GET, "/health", h_dummy, 0, TB_BODY_NONE, NULL, NULL},
	/* 1 */ {TB_POST, "/api/v1/users", h_dummy, 0, TB_BODY_FULL, NULL, NULL},
	/* 2 */ {TB_POST, "/api/v1/sessions", h_dummy, 0, TB_BODY_FULL, NULL, NULL},
	/* 3 */ {TB_DELETE, "/api/v1/sessions/current", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 4 */ {TB_GET, "/api/v1/me", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 5 */ {TB_GET, "/api/v1/boards", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 6 */ {TB_POST, "/api/v1/boards", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 7 */ {TB_GET, "/api/v1/boards/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 8 */ {TB_PATCH, "/api/v1/boards/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 9 */ {TB_DELETE, "/api/v1/boards/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 10 */ {TB_POST, "/api/v1/boards/:id/items", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 11 */ {TB_GET, "/api/v1/boards/:id/items/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 12 */ {TB_PATCH, "/api/v1/boards/:id/items/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 13 */ {TB_DELETE, "/api/v1/boards/:id/items/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 14 */ {TB_GET, "/api/v1/boards/:id/events", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* Table order differs from enum order here: Allow must follow the table. */
	/* 15 */ {TB_DELETE, "/api/v1/teams/:id/members/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 16 */ {TB_PATCH, "/api/v1/teams/:id/members/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 17 */ {TB_POST, "/api/v1/teams/:id/members", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 18 */ {TB_GET, "/api/v1/teams/:id", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 19 */ {TB_POST, "/api/v1/teams", h_dummy, TB_ROUTE_AUTH, TB_BODY_FULL, NULL, NULL},
	/* 20 */ {TB_GET, "/api/v1/teams", h_dummy, TB_ROUTE_AUTH, TB_BODY_NONE, NULL, NULL},
	/* 21 */
	{TB_GET, "/api/v1/a/:id/b/:id/c/:id/d/:id", h_dummy, 0, TB_BODY_NONE, NULL, NULL}, /* TB_REQ_MAX_IDS ids */
};

#define NO_ROW (-1)

struct match_case {
	int line;
	enum tb_method method;
	const char *path;
	enum tb_route_result want;
	int row; /* FOUND: index in routes */
	size_t n_ids;
	int64_t ids[TB_REQ_MAX_IDS];
	const char *allow; /* NO_METHOD */
};

static const struct match_case match_cases[] = {
	/* FOUND, without ids */
	{__LINE__, TB_GET, "/health", TB_ROUTE_FOUND, 0, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards", TB_ROUTE_FOUND, 5, 0, {0}, NULL},
	{__LINE__, TB_POST, "/api/v1/boards", TB_ROUTE_FOUND, 6, 0, {0}, NULL},
	{__LINE__, TB_POST, "/api/v1/sessions", TB_ROUTE_FOUND, 2, 0, {0}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/sessions/current", TB_ROUTE_FOUND, 3, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/me", TB_ROUTE_FOUND, 4, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/teams", TB_ROUTE_FOUND, 20, 0, {0}, NULL},
	{__LINE__, TB_POST, "/api/v1/teams", TB_ROUTE_FOUND, 19, 0, {0}, NULL},
	/* FOUND, with ids */
	{__LINE__, TB_GET, "/api/v1/boards/7", TB_ROUTE_FOUND, 7, 1, {7}, NULL},
	{__LINE__, TB_PATCH, "/api/v1/boards/7", TB_ROUTE_FOUND, 8, 1, {7}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/boards/7", TB_ROUTE_FOUND, 9, 1, {7}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/1", TB_ROUTE_FOUND, 7, 1, {1}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/10", TB_ROUTE_FOUND, 7, 1, {10}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/9223372036854775807", TB_ROUTE_FOUND, 7, 1, {INT64_MAX}, NULL},
	{__LINE__, TB_POST, "/api/v1/boards/7/items", TB_ROUTE_FOUND, 10, 1, {7}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/events", TB_ROUTE_FOUND, 14, 1, {7}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/items/9", TB_ROUTE_FOUND, 11, 2, {7, 9}, NULL},
	{__LINE__, TB_PATCH, "/api/v1/boards/7/items/9", TB_ROUTE_FOUND, 12, 2, {7, 9}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/boards/12/items/345", TB_ROUTE_FOUND, 13, 2, {12, 345}, NULL},
	{__LINE__, TB_GET, "/api/v1/teams/3", TB_ROUTE_FOUND, 18, 1, {3}, NULL},
	{__LINE__, TB_POST, "/api/v1/teams/3/members", TB_ROUTE_FOUND, 17, 1, {3}, NULL},
	{__LINE__, TB_PATCH, "/api/v1/teams/3/members/4", TB_ROUTE_FOUND, 16, 2, {3, 4}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/teams/3/members/4", TB_ROUTE_FOUND, 15, 2, {3, 4}, NULL},
	{__LINE__, TB_GET, "/api/v1/a/1/b/2/c/3/d/4", TB_ROUTE_FOUND, 21, 4, {1, 2, 3, 4}, NULL},
	/* NO_METHOD: the Allow list in table order */
	{__LINE__, TB_PUT, "/api/v1/boards/7", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, PATCH, DELETE"},
	{__LINE__, TB_POST, "/api/v1/boards/7", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, PATCH, DELETE"},
	{__LINE__, TB_DELETE, "/api/v1/boards", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, POST"},
	{__LINE__, TB_PATCH, "/api/v1/boards", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, POST"},
	{__LINE__, TB_HEAD, "/api/v1/boards", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, POST"},
	{__LINE__, TB_OPTIONS, "/api/v1/boards", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, POST"},
	{__LINE__, TB_METHOD_OTHER, "/api/v1/boards", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, POST"},
	{__LINE__, TB_POST, "/api/v1/boards/7/items/9", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET, PATCH, DELETE"},
	{__LINE__, TB_GET, "/api/v1/boards/7/items", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "POST"},
	{__LINE__, TB_GET, "/api/v1/sessions/current", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "DELETE"},
	{__LINE__, TB_GET, "/api/v1/sessions", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "POST"},
	{__LINE__, TB_POST, "/health", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "GET"},
	{__LINE__, TB_GET, "/api/v1/teams/3/members/4", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "DELETE, PATCH"},
	{__LINE__, TB_DELETE, "/api/v1/teams", TB_ROUTE_NO_METHOD, NO_ROW, 0, {0}, "POST, GET"},
	/* NO_PATH: bad ids */
	{__LINE__, TB_GET, "/api/v1/boards/abc", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/0", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/01", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/-1", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/+1", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/1a", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/1.0", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/%37", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/9223372036854775808", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/99999999999999999999", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/18446744073709551617", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/items/abc", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/abc/items/7", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/items/0", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_PUT, "/api/v1/boards/abc", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL}, /* 404 before 405 */
	/* NO_PATH: ":id" is a number, literal segments are literal */
	{__LINE__, TB_DELETE, "/api/v1/sessions/5", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/sessions/currentx", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_DELETE, "/api/v1/sessions/curren", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/:id", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/item/9", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	/* NO_PATH: trailing slash, empty segments, prefixes, case */
	{__LINE__, TB_GET, "/api/v1/boards/", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/health/", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "//api/v1/boards", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1//boards", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards//7", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7//items/9", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/./7", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/x/../boards", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/board", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boardsx", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/items/9/x", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards/7/itemsx", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/API/v1/boards", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "api/v1/boards", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/boards\n", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
	{__LINE__, TB_GET, "/api/v1/a/1/b/2/c/3/d/4/e/5", TB_ROUTE_NO_PATH, NO_ROW, 0, {0}, NULL},
};

static void test_match(void)
{
	for (size_t i = 0; i < N_ELEMS(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct tb_req req;
		char allow[128];
		const struct tb_route *out = NULL;
		memset(&req, 0, sizeof req);
		req.method = c->method;
		req.method_name = tb_method_name(c->method);
		req.path = (char *)c->path;
		req.n_ids = 3; /* left over: a match must set it */
		for (size_t k = 0; k < TB_REQ_MAX_IDS; k++)
			req.ids[k] = -1;
		memset(allow, 'Z', sizeof allow);
		allow[sizeof allow - 1] = '\0';
		tb_case(__FILE__, c->line, "tb_route_match(%s %s)", tb_method_name(c->method), tb_q(c->path));
		enum tb_route_result r = tb_route_match(routes, N_ELEMS(routes), &req, &out, allow, sizeof allow);
		if (!tb_check_int("result", r, c->want)) {
			if (r == TB_ROUTE_FOUND && out)
				tb_fail("matched row %td (%s %s)", out - routes, tb_method_name(out->method),
				        out->pattern);
			tb_end();
			continue;
		}
		if (r == TB_ROUTE_FOUND) {
			if (tb_check(out != NULL, "out not set"))
				tb_check_int("row", out - routes, c->row);
			if (tb_check_uint("n_ids", req.n_ids, c->n_ids))
				for (size_t k = 0; k < c->n_ids; k++) {
					char what[32];
					snprintf(what, sizeof what, "ids[%zu]", k);
					tb_check_int(what, req.ids[k], c->ids[k]);
				}
		} else if (r == TB_ROUTE_NO_METHOD) {
			tb_check_str("allow", allow, c->allow);
		}
		tb_end();
	}
}

/* A short Allow buffer is truncated, never overrun. */
struct allow_len_case {
	int line;
	size_t len;
};

static const struct allow_len_case allow_len_cases[] = {
	{__LINE__, 1}, {__LINE__, 4}, {__LINE__, 10}, {__LINE__, 18}, /* "GET, PATCH, DELETE" is 18 bytes + NUL */
};

static void test_allow_len(void)
{
	for (size_t i = 0; i < N_ELEMS(allow_len_cases); i++) {
		const struct allow_len_case *c = &allow_len_cases[i];
		char allow[32];
		struct tb_req req;
		const struct tb_route *out = NULL;
		memset(&req, 0, sizeof req);
		memset(allow, 'Z', sizeof allow);
		req.method = TB_PUT;
		req.method_name = "PUT";
		req.path = (char *)"/api/v1/boards/7";
		tb_case(__FILE__, c->line, "tb_route_match Allow in %zu bytes", c->len);
		tb_check_int("result", tb_route_match(routes, N_ELEMS(routes), &req, &out, allow, c->len),
		             TB_ROUTE_NO_METHOD);
		tb_check(memchr(allow, '\0', c->len) != NULL, "not NUL-terminated within %zu bytes", c->len);
		for (size_t k = c->len; k < sizeof allow; k++)
			if (allow[k] != 'Z') {
				tb_fail("byte %zu written past allow_len", k);
				break;
			}
		tb_end();
	}
}

/* ---- tb_method_parse, tb_method_name ---- */

struct method_case {
	int line;
	const char *name;
	enum tb_method m;
};

static const struct method_case method_cases[] = {
	{__LINE__, "GET", TB_GET},
	{__LINE__, "POST", TB_POST},
	{__LINE__, "PATCH", TB_PATCH},
	{__LINE__, "DELETE", TB_DELETE},
	{__LINE__, "PUT", TB_PUT},
	{__LINE__, "HEAD", TB_HEAD},
	{__LINE__, "OPTIONS", TB_OPTIONS},
	/* methods are case-sensitive (RFC 9110 9.1) */
	{__LINE__, "get", TB_METHOD_OTHER},
	{__LINE__, "Get", TB_METHOD_OTHER},
	{__LINE__, "GETX", TB_METHOD_OTHER},
	{__LINE__, "GE", TB_METHOD_OTHER},
	{__LINE__, "GET ", TB_METHOD_OTHER},
	{__LINE__, " GET", TB_METHOD_OTHER},
	{__LINE__, "PROPFIND", TB_METHOD_OTHER},
	{__LINE__, "TRACE", TB_METHOD_OTHER},
	{__LINE__, "CONNECT", TB_METHOD_OTHER},
	{__LINE__, "", TB_METHOD_OTHER},
};

static void test_method_parse(void)
{
	for (size_t i = 0; i < N_ELEMS(method_cases); i++) {
		const struct method_case *c = &method_cases[i];
		tb_case(__FILE__, c->line, "tb_method_parse(%s)", tb_q(c->name));
		tb_check_int("method", tb_method_parse(c->name), c->m);
		tb_end();
	}
}

struct method_name_case {
	int line;
	enum tb_method m;
	const char *want;
};

static const struct method_name_case method_name_cases[] = {
	{__LINE__, TB_GET, "GET"},         {__LINE__, TB_POST, "POST"},       {__LINE__, TB_PATCH, "PATCH"},
	{__LINE__, TB_DELETE, "DELETE"},   {__LINE__, TB_PUT, "PUT"},         {__LINE__, TB_HEAD, "HEAD"},
	{__LINE__, TB_OPTIONS, "OPTIONS"}, {__LINE__, TB_METHOD_OTHER, NULL}, /* any non-NULL name */
};

static void test_method_name(void)
{
	for (size_t i = 0; i < N_ELEMS(method_name_cases); i++) {
		const struct method_name_case *c = &method_name_cases[i];
		const char *got = tb_method_name(c->m);
		tb_case(__FILE__, c->line, "tb_method_name(%d)", (int)c->m);
		if (c->want) {
			tb_check_str("name", got, c->want);
			tb_check_int("tb_method_parse(name)", got ? (int)tb_method_parse(got) : -1, c->m);
		} else {
			tb_check(got != NULL, "NULL name");
		}
		tb_end();
	}
}

/* ---- tb_app_handle: a row's body, fields and admit check, before the handler ---- */

static int handled; /* calls of h_record */

static void h_record(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	(void)app, (void)req;
	handled++;
	resp->status = 204;
}

static bool admit_no(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	(void)app, (void)req;
	tb_resp_error(resp, 403, "admit", "refused before the fields");
	return false;
}

static const struct tb_field ab_fields[] = {
	{"a", TB_FIELD_INT, 0, 9, true, false, NULL, NULL},
	{"b", TB_FIELD_STRING, 1, 5, false, false, NULL, NULL},
};
static const struct tb_fields ab = TB_FIELDS(ab_fields);

static const struct tb_route policy_routes[] = {
	{TB_POST, "/full", h_record, 0, TB_BODY_FULL, &ab, NULL},
	{TB_PATCH, "/patch", h_record, 0, TB_BODY_PATCH, &ab, NULL},
	{TB_POST, "/admit", h_record, 0, TB_BODY_FULL, &ab, admit_no},
	{TB_POST, "/none", h_record, 0, TB_BODY_NONE, NULL, NULL},
};

struct policy_case {
	int line;
	enum tb_method method;
	const char *path, *type, *body;
	int status;       /* 204: the handler ran */
	const char *code; /* of the error */
	const char *message;
};

static const struct policy_case policy_cases[] = {
	{__LINE__, TB_POST, "/full", "application/json", "{\"a\":1}", 204, NULL, NULL},
	{__LINE__, TB_POST, "/full", "application/json", "{\"a\":1,\"b\":\"xy\"}", 204, NULL, NULL},
	{__LINE__, TB_POST, "/full", "application/json", "{}", 422, "invalid", "a: is required"},
	{__LINE__, TB_POST, "/full", "application/json", "{\"b\":\"xy\"}", 422, "invalid", "a: is required"},
	{__LINE__, TB_POST, "/full", "application/json", "{\"a\":1,\"c\":2}", 422, "invalid", "c: unknown field"},
	{__LINE__, TB_POST, "/full", "application/json", "[1]", 422, "invalid", "body: must be a JSON object"},
	{__LINE__, TB_POST, "/full", "application/json", "{\"a\":1", 400, "bad_json", "the body is not valid JSON"},
	{__LINE__, TB_POST, "/full", "text/plain", "{\"a\":1}", 415, "unsupported_media_type", NULL},
	{__LINE__, TB_PATCH, "/patch", "application/json", "{\"b\":\"xy\"}", 204, NULL, NULL},
	{__LINE__, TB_PATCH, "/patch", "application/json", "{\"a\":3}", 204, NULL, NULL},
	{__LINE__, TB_PATCH, "/patch", "application/json", "{}", 422, "invalid", "body: no field to change"},
	{__LINE__, TB_PATCH, "/patch", "application/json", "{\"b\":\"\"}", 422, "invalid", NULL},
	{__LINE__, TB_PATCH, "/patch", "application/json", "null", 422, "invalid", "body: must be a JSON object"},
	/* admit runs after the JSON syntax and before the fields */
	{__LINE__, TB_POST, "/admit", "application/json", "{}", 403, "admit", "refused before the fields"},
	{__LINE__, TB_POST, "/admit", "application/json", "{\"a\":1}", 403, "admit", NULL},
	{__LINE__, TB_POST, "/admit", "application/json", "{", 400, "bad_json", NULL},
	/* no body: none is read, none is checked */
	{__LINE__, TB_POST, "/none", "text/plain", "not json", 204, NULL, NULL},
};

struct mem_io {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *ctx, char *buf, size_t len)
{
	struct mem_io *m = ctx;
	size_t n = len < m->left ? len : m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

/* The "error" member's code and message of an error reply. */
static void check_error(const struct tb_resp *resp, const char *code, const char *message)
{
	struct json_object *top = json_tokener_parse(resp->body.data ? resp->body.data : ""), *err, *v;
	if (!json_object_object_get_ex(top, "error", &err)) {
		tb_fail("no error object in the reply");
	} else {
		if (json_object_object_get_ex(err, "code", &v))
			tb_check_str("code", json_object_get_string(v), code);
		if (message && json_object_object_get_ex(err, "message", &v))
			tb_check_str("message", json_object_get_string(v), message);
	}
	json_object_put(top);
}

static void test_policy(void)
{
	struct tb_config cfg;
	tb_config_defaults(&cfg);
	for (size_t i = 0; i < N_ELEMS(policy_cases); i++) {
		const struct policy_case *c = &policy_cases[i];
		tb_case(__FILE__, c->line, "tb_app_handle(%s %s, %s)", tb_method_name(c->method), c->path,
		        tb_q(c->body));
		struct tb_app app;
		tb_app_init(&app, &cfg, policy_routes, N_ELEMS(policy_routes));
		struct mem_io m = {c->body, strlen(c->body)};
		struct tb_req req;
		memset(&req, 0, sizeof req);
		char path[32];
		snprintf(path, sizeof path, "%s", c->path);
		req.method = c->method;
		req.path = path;
		req.query = path + strlen(path);
		req.content_type = c->type;
		req.has_content_length = true;
		req.content_length = m.left;
		req.io.ctx = &m;
		req.io.read = mem_read;
		req.io.client_fd = -1;
		struct tb_resp resp;
		tb_resp_init(&resp);
		handled = 0;
		tb_app_handle(&app, &req, &resp);
		tb_check_int("status", resp.status, c->status);
		tb_check_int("handler calls", handled, c->status == 204);
		if (c->code)
			check_error(&resp, c->code, c->message);
		tb_resp_free(&resp);
		tb_buf_free(&req.body);
		tb_app_free(&app);
		tb_config_free(&cfg);
		tb_config_defaults(&cfg);
		tb_end();
	}
	tb_config_free(&cfg);
}

/* Every row of the API's table whose body the pipeline reads names its fields, and only those; a
 * body the handler reads itself (TB_BODY_OWN) has none in the table. */
static void test_api_table(void)
{
	size_t n;
	const struct tb_route *r = tb_api_routes(&n);
	for (size_t i = 0; i < n; i++) {
		tb_case(__FILE__, __LINE__, "tb_api_routes: %s %s", tb_method_name(r[i].method), r[i].pattern);
		if (r[i].body == TB_BODY_NONE || r[i].body == TB_BODY_OWN)
			tb_check(r[i].fields == NULL && r[i].admit == NULL,
			         "fields or admit without a body the pipeline reads");
		else
			tb_check(r[i].fields && r[i].fields->n > 0 && r[i].fields->v, "a body without fields");
		tb_end();
	}
}

/* ":token": 64 lower-case hex digits, copied into req->token; anything else is no such path. */
static const struct tb_route token_routes[] = {
	{TB_POST, "/api/v1/password-resets/:token", h_dummy, 0, TB_BODY_FULL, NULL, NULL},
};

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct token_case {
	int line;
	const char *path;
	enum tb_route_result want;
};

static const struct token_case token_cases[] = {
	{__LINE__, "/api/v1/password-resets/" HEX64, TB_ROUTE_FOUND},
	{__LINE__, "/api/v1/password-resets/" HEX64 "0", TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/" HEX64 "/", TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/0123456789abcdef", TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/", TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         TB_ROUTE_NO_PATH},
	{__LINE__, "/api/v1/password-resets/%30123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
         TB_ROUTE_NO_PATH},
};

static void test_token(void)
{
	for (size_t i = 0; i < N_ELEMS(token_cases); i++) {
		const struct token_case *c = &token_cases[i];
		struct tb_req req;
		const struct tb_route *out = NULL;
		char allow[64];
		memset(&req, 0, sizeof req);
		memset(req.token, 'Z', sizeof req.token - 1);
		req.method = TB_POST;
		req.path = (char *)c->path;
		tb_case(__FILE__, c->line, "tb_route_match(POST %s)", tb_q(c->path));
		enum tb_route_result r =
			tb_route_match(token_routes, N_ELEMS(token_routes), &req, &out, allow, sizeof allow);
		if (tb_check_int("result", r, c->want) && r == TB_ROUTE_FOUND)
			tb_check_str("token", req.token, HEX64);
		tb_end();
	}
}

int main(void)
{
	test_token();
	test_policy();
	test_api_table();
	test_match();
	test_allow_len();
	test_method_parse();
	test_method_name();
	return tb_done();
}
