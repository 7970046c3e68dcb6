/* tb_route: the route table, which is also the request policy: each row is {method, pattern,
 * handler, flags, body, fields, admit}, and tb_app runs the checks a row names (session, body,
 * the body's fields) before its handler. A pattern is a path whose ":id" segments match positive
 * decimal ids (stored in req->ids in order) and whose ":token" segment (at most one) matches 64
 * lower-case hex digits (stored in req->token). Lookup tells apart "no such path" (404) from "path
 * known, method not" (405 with the Allow list). */
#ifndef TB_ROUTE_H
#define TB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_request.h"

struct tb_app;
struct tb_resp;
struct tb_fields;

typedef void (*tb_handler_fn)(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
/* A check of the request itself that comes before its body's fields: false after answering. */
typedef bool (*tb_admit_fn)(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);

enum tb_route_flags {
	TB_ROUTE_AUTH = 1 << 0, /* a valid session is required (401 otherwise) */
};

/* What a route does with a request body. With a body, its size, type and JSON syntax are checked
 * (413, 415, 400), then admit, then the body against the route's fields (422 invalid). */
enum tb_route_body {
	TB_BODY_NONE,  /* no body is read */
	TB_BODY_FULL,  /* a JSON object with every required field (a create, or a PATCH of one field) */
	TB_BODY_PATCH, /* a JSON object with at least one of the fields, none required */
	TB_BODY_OWN,   /* read by the handler itself, within its own limit (POST /boards/import:
	                * max_import); the pipeline checks nothing of it, not even max_body */
};

struct tb_route {
	enum tb_method method;
	const char *pattern;
	tb_handler_fn handler;
	unsigned flags;
	enum tb_route_body body;
	const struct tb_fields *fields; /* the body's fields (TB_BODY_FULL, TB_BODY_PATCH); NULL: none */
	tb_admit_fn admit;              /* NULL: none */
};

enum tb_route_result { TB_ROUTE_FOUND, TB_ROUTE_NO_PATH, TB_ROUTE_NO_METHOD };

/* Looks path and method up in routes[0..n). FOUND: *out is the row, req->ids holds the ids and
 * req->token the token.
 * NO_METHOD: allow (of allow_len bytes) holds the methods the path accepts, "GET, POST". */
enum tb_route_result tb_route_match(const struct tb_route *routes, size_t n, struct tb_req *req,
                                    const struct tb_route **out, char *allow, size_t allow_len);

#endif
