/* api_health: GET /health, for load balancers and monitors: 200 when the database answers. */
#include "tb_api.h"

static const char SQL_PING[] = "SELECT 1";

void tb_api_health(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_PING, 0, NULL, &r)))
		return;
	PQclear(r);
	static const char body[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	tb_resp_json_text(resp, 200, body, sizeof body - 1);
}
