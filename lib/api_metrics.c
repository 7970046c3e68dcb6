/* api_metrics: GET /metrics, the Prometheus text exposition for this host: the shared counters
 * and held workers (tb_metrics) and three gauges read from PostgreSQL in one query. Only the addresses in
 * metrics_allow may read it; no session is needed. */
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_log.h"
#include "tb_metrics.h"

/* $1 host, $2 our heartbeat_interval, $3 TB_HEARTBEAT_MISSED. The leader must have reported within
 * that many of its own intervals (the supervisor writes its interval into the report; ours is the
 * fallback). The last column: the stream hosts' streams of this host (sql/025), which hold no
 * slot in the shared table and are added to its held streams. */
static const char SQL_GAUGES[] =
	"SELECT (SELECT count(*) FROM streams WHERE host = $1),"
	"       (SELECT count(*) FROM streams),"
	"       EXISTS (SELECT 1 FROM supervisor_status"
	"                WHERE host = $1 AND last_run > now() - make_interval(secs => $3::int * coalesce("
	"                      CASE WHEN jsonb_typeof(report -> 'interval') = 'number'"
	"                           THEN (report ->> 'interval')::double precision END,"
	"                      $2::double precision))),"
	"       (SELECT count(*) FROM streams WHERE host = $1 AND in_host)";

/* Fills g from the database; g->have_db stays false when it does not answer (logged by tb_db). */
static void read_gauges(struct tb_app *app, struct tb_metrics_gauges *g, int64_t *host_streams)
{
	char secs[32], missed[24];
	tb_i64(secs, (int64_t)app->cfg->heartbeat_interval);
	const char *params[] = {app->cfg->host_name, secs, tb_i64(missed, TB_HEARTBEAT_MISSED)};
	PGresult *r = NULL;
	if (tb_db_query(&app->db, SQL_GAUGES, 3, params, &r) != TB_OK)
		return;
	if (PQntuples(r) == 1) {
		g->streams_open = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		g->streams_open_all = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		g->leader = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
		*host_streams = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		g->have_db = true;
	}
	PQclear(r);
}

void tb_api_metrics(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	if (!tb_metrics_allowed(app->cfg->metrics_allow, req->remote_addr)) {
		tb_resp_fail(resp, TB_E_METRICS_FORBIDDEN);
		return;
	}
	/* Counters are still worth having while the database is down: serve them, without gauges
	 * (teamboard_database_up says so), rather than 503. */
	struct tb_metrics_gauges g = {0};
	int64_t host_streams = 0;
	read_gauges(app, &g, &host_streams);
	g.have_held = tb_metrics_held(g.held);
	if (g.have_held && host_streams > 0)
		g.held[TB_HOLD_STREAM] += (uint64_t)host_streams;
	tb_buf_reset(&resp->body);
	tb_metrics_render(&resp->body, app->cfg->host_name, &g);
	resp->status = 200;
	tb_resp_set_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}
