/* tb_app: one worker's application state (config, route table, database connection) and the
 * request pipeline: route, authenticate, check CSRF, check body limits and type, parse JSON, the
 * route's admit check, validate the body against the route's fields, then the handler. The guards
 * run in that fixed order for every route. */
#ifndef TB_APP_H
#define TB_APP_H

#include <json-c/json.h>

#include "tb_config.h"
#include "tb_db.h"
#include "tb_request.h"
#include "tb_resp.h"

struct tb_route;

struct tb_app {
	const struct tb_config *cfg;
	const struct tb_route *routes; /* the table tb_app_handle dispatches on */
	size_t n_routes;
	struct tb_db db;
	struct json_object *body_json; /* the parsed, validated body of the current request (a route with a body) */
	/* How GET /boards/:id/events holds a stream once the caller may view the board: NULL in a
	 * worker (tb_stream_serve, one stream per process); the stream host (lib/tb_host.c) sets its
	 * own, which registers the stream and hands it to its event loop; stream_ctx is its. link_id:
	 * a guest's public link (GET /public/boards/:token/events), 0 for a member's stream. */
	void (*stream_serve)(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, int64_t board_id,
	                     int64_t link_id);
	void *stream_ctx;
};

/* Starts an application over cfg (kept, not copied) answering from routes (n_routes rows, kept:
 * tb_api_routes() for the API). Connects to nothing yet. */
void tb_app_init(struct tb_app *app, const struct tb_config *cfg, const struct tb_route *routes, size_t n_routes);
/* Answers req into resp (never fails: errors become error responses). */
void tb_app_handle(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);
void tb_app_free(struct tb_app *app);

#endif
