/* tb_app: the request pipeline over a route table it is given (the API's is tb_api_routes in
 * tb_api.c), which is the request policy. Guards run in one fixed order for every route: route
 * (404/405), authentication (401), CSRF origin (403), body size (413), media type (415), JSON
 * syntax (400), the route's admit check, the body against the route's fields (422); authorization
 * (404/403) follows in the handler, which knows its resource. */
#include "tb_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_auth.h"
#include "tb_json.h"
#include "tb_log.h"
#include "tb_metrics.h"
#include "tb_route.h"

void tb_app_init(struct tb_app *app, const struct tb_config *cfg, const struct tb_route *routes, size_t n_routes)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	app->routes = routes;
	app->n_routes = n_routes;
	tb_db_init(&app->db, cfg->database, "teamboard");
}

void tb_app_free(struct tb_app *app)
{
	tb_db_free(&app->db);
	json_object_put(app->body_json);
	app->body_json = NULL;
}

static bool unsafe(enum tb_method m)
{
	return m != TB_GET && m != TB_HEAD && m != TB_OPTIONS;
}

/* Authentication and CSRF: false after answering. */
static bool guard_auth(struct tb_app *app, const struct tb_route *route, struct tb_req *req, struct tb_resp *resp)
{
	if (route->flags & TB_ROUTE_AUTH) {
		enum tb_err err = tb_auth_session(app->cfg, &app->db, req);
		if (err == TB_ERR_NOT_FOUND) {
			tb_resp_set_header(resp, "WWW-Authenticate", "Bearer realm=\"teamboard\"");
			tb_resp_fail(resp, TB_E_UNAUTHORIZED);
			return false;
		}
		if (tb_resp_db_failed(resp, err))
			return false;
	}
	/* Cookie-authenticated writes must come from our own pages. Anonymous writes (sign-up,
	 * sign-in) are checked when the browser says where they come from (login CSRF). */
	bool check = req->auth_by_cookie || (!(route->flags & TB_ROUTE_AUTH) && (req->origin || req->referer));
	if (unsafe(req->method) && check && !tb_auth_origin_allowed(app->cfg, req)) {
		tb_resp_fail(resp, TB_E_BAD_ORIGIN);
		return false;
	}
	return true;
}

/* The declared size, on every route but one that reads its body itself (TB_BODY_OWN: a body-less
 * one reads no body, but refuses one over the limit as every other route does, docs/api.md): a Content-Length that is not a number is 400,
 * one over max_body 413, before a byte is read. False after answering. */
static bool guard_size(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	if (req->content_length_bad) {
		tb_resp_fail(resp, TB_E_BAD_LENGTH);
		return false;
	}
	if (req->has_content_length && req->content_length > app->cfg->max_body) {
		tb_resp_fail(resp, TB_E_TOO_LARGE);
		return false;
	}
	return true;
}

/* Media type, the body within max_body and JSON syntax (after guard_size): false after
 * answering. */
static bool guard_body(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	size_t max = app->cfg->max_body;
	if (!tb_content_type_is_json(req->content_type)) {
		tb_resp_fail(resp, TB_E_UNSUPPORTED_MEDIA_TYPE);
		return false;
	}
	enum tb_err err = tb_req_read_body(req, max);
	if (err == TB_ERR_TOO_LARGE) {
		tb_resp_fail(resp, TB_E_TOO_LARGE);
		return false;
	}
	if (err == TB_ERR_TIMEOUT) {
		tb_resp_fail(resp, TB_E_TIMEOUT);
		return false;
	}
	if (err) {
		tb_resp_fail(resp, TB_E_BODY_UNREADABLE);
		return false;
	}
	if (tb_json_parse(req->body.data, req->body.len, TB_JSON_MAX_DEPTH, &app->body_json) != TB_OK) {
		tb_resp_fail(resp, TB_E_BAD_JSON);
		return false;
	}
	return true;
}

/* The body against the route's fields: false after answering 422 invalid. A full body must have
 * every required field; a patch at least one field. */
static bool guard_fields(struct tb_app *app, const struct tb_route *route, struct tb_resp *resp)
{
	char msg[160];
	bool full = route->body == TB_BODY_FULL;
	const struct tb_field *v = route->fields ? route->fields->v : NULL;
	size_t n = route->fields ? route->fields->n : 0;
	if (tb_json_validate(v, n, app->body_json, full, msg, sizeof msg) != TB_OK) {
		tb_resp_fail_msg(resp, TB_E_INVALID, msg);
		return false;
	}
	if (!full && json_object_object_length(app->body_json) == 0) {
		tb_resp_fail(resp, TB_E_NO_FIELD);
		return false;
	}
	return true;
}

void tb_app_handle(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	tb_resp_set_header(resp, "Cache-Control", "no-store");
	tb_resp_set_header(resp, "X-Content-Type-Options", "nosniff");
	const struct tb_route *route = NULL;
	char allow[64];
	switch (tb_route_match(app->routes, app->n_routes, req, &route, allow, sizeof allow)) {
	case TB_ROUTE_NO_PATH: tb_resp_fail(resp, TB_E_NOT_FOUND); return;
	case TB_ROUTE_NO_METHOD:
		tb_resp_set_header(resp, "Allow", allow);
		tb_resp_fail(resp, TB_E_METHOD_NOT_ALLOWED);
		return;
	case TB_ROUTE_FOUND: break;
	}
	if (!guard_auth(app, route, req, resp))
		return;
	if (route->body != TB_BODY_OWN && !guard_size(app, req, resp))
		return;
	bool body = route->body == TB_BODY_FULL || route->body == TB_BODY_PATCH;
	if (body && !guard_body(app, req, resp))
		goto out;
	if (route->admit && !route->admit(app, req, resp))
		goto out;
	if (body && !guard_fields(app, route, resp))
		goto out;
	route->handler(app, req, resp);
out:
	json_object_put(app->body_json);
	app->body_json = NULL;
}
