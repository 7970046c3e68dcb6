/* fuzz_route: tb_route_match on a fuzzed method and path against a copy of lib/tb_app.c's route
 * table (its rows are static there; the handlers here are stubs that never run). Keep the patterns
 * in step with tb_app.c. Input: byte 0 picks the Allow buffer's size; the first line is the
 * REQUEST_METHOD, the rest the path. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_api.h"
#include "tb_route.h"

static void stub(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
}

#define P TB_API_PREFIX
static const struct tb_route routes[] = {
	{TB_GET, P "/health", stub, 0},
	{TB_GET, P "/metrics", stub, 0},
	{TB_POST, P "/users", stub, 0},
	{TB_GET, P "/me", stub, 0},
	{TB_POST, P "/sessions", stub, 0},
	{TB_DELETE, P "/sessions/current", stub, 0},
	{TB_GET, P "/teams", stub, 0},
	{TB_POST, P "/teams", stub, 0},
	{TB_GET, P "/teams/:id", stub, 0},
	{TB_POST, P "/teams/:id/members", stub, 0},
	{TB_PATCH, P "/teams/:id/members/:id", stub, 0},
	{TB_DELETE, P "/teams/:id/members/:id", stub, 0},
	{TB_GET, P "/boards", stub, 0},
	{TB_POST, P "/boards", stub, 0},
	{TB_GET, P "/boards/:id", stub, 0},
	{TB_PATCH, P "/boards/:id", stub, 0},
	{TB_DELETE, P "/boards/:id", stub, 0},
	{TB_POST, P "/boards/:id/items", stub, 0},
	{TB_GET, P "/boards/:id/items/:id", stub, 0},
	{TB_PATCH, P "/boards/:id/items/:id", stub, 0},
	{TB_DELETE, P "/boards/:id/items/:id", stub, 0},
	{TB_GET, P "/boards/:id/events", stub, 0},
	{TB_GET, P "/boards/:id/viewers", stub, 0},
	{TB_GET, "/:id/:id/:id/:id/:id", stub, 0}, /* more ids than req->ids holds */
};
enum { N_ROUTES = sizeof routes / sizeof routes[0] };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t allow_len = data[0] % 72; /* tb_app.c's buffer is 64 bytes; 0 and tiny ones too */
	data++;
	size--;
	char *method = fuzz_line(&data, &size);
	char *path = fuzz_cstr(data, size);
	char *allow = malloc(allow_len ? allow_len : 1);
	FUZZ_CHECK(allow != NULL);

	struct tb_req req;
	memset(&req, 0, sizeof req);
	req.method = tb_method_parse(method);
	FUZZ_CHECK(req.method >= TB_GET && req.method < TB_METHOD__MAX);
	FUZZ_CHECK(tb_method_name(req.method) != NULL);
	req.method_name = method;
	req.path = path;
	req.query = (char *)"";

	const struct tb_route *found = NULL;
	switch (tb_route_match(routes, N_ROUTES, &req, &found, allow, allow_len)) {
	case TB_ROUTE_FOUND:
		FUZZ_CHECK(found >= routes && found < routes + N_ROUTES);
		FUZZ_CHECK(found->method == req.method);
		FUZZ_CHECK(req.n_ids <= TB_REQ_MAX_IDS);
		for (size_t i = 0; i < req.n_ids; i++)
			FUZZ_CHECK(req.ids[i] >= 1);
		break;
	case TB_ROUTE_NO_METHOD:
		FUZZ_CHECK(allow_len == 0 || memchr(allow, '\0', allow_len) != NULL);
		break;
	case TB_ROUTE_NO_PATH:
		break;
	default:
		FUZZ_CHECK(!"an unknown tb_route_result");
	}
	free(allow);
	free(path);
	free(method);
	return 0;
}
