/* tb_route: the route table. Each row is {method, pattern, handler, flags}; a pattern is a path
 * whose ":id" segments match positive decimal ids (stored in req->ids in order). Lookup tells apart
 * "no such path" (404) from "path known, method not" (405 with the Allow list). */
#ifndef TB_ROUTE_H
#define TB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_request.h"

struct tb_app;
struct tb_resp;

typedef void (*tb_handler_fn)(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);

enum tb_route_flags {
	TB_ROUTE_AUTH = 1 << 0,   /* a valid session is required (401 otherwise) */
	TB_ROUTE_BODY = 1 << 1,   /* takes a JSON body (size, type and syntax checked before the handler) */
};

struct tb_route {
	enum tb_method method;
	const char *pattern;
	tb_handler_fn handler;
	unsigned flags;
};

enum tb_route_result { TB_ROUTE_FOUND, TB_ROUTE_NO_PATH, TB_ROUTE_NO_METHOD };

/* Looks path and method up in routes[0..n). FOUND: *out is the row and req->ids holds the ids.
 * NO_METHOD: allow (of allow_len bytes) holds the methods the path accepts, "GET, POST". */
enum tb_route_result tb_route_match(const struct tb_route *routes, size_t n, struct tb_req *req,
                                    const struct tb_route **out, char *allow, size_t allow_len);

#endif
