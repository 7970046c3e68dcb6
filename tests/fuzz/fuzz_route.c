/* fuzz_route: tb_route_match on a fuzzed method and path against the API's own route table
 * (tb_api_routes; its handlers never run here) and a row with too many ids. Input: byte 0 picks
 * the Allow buffer's size; the first line is the REQUEST_METHOD, the rest the path. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_api.h"
#include "tb_route.h"

static void stub(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
}

/* A row with more ":id" segments than req->ids holds, matched after the API's own table. */
static const struct tb_route extra[] = {
	{TB_GET, "/:id/:id/:id/:id/:id", stub, 0, TB_BODY_NONE, NULL, NULL},
};

/* Matches req against n rows of routes (the handlers never run) and checks what it says. */
static void check(const struct tb_route *routes, size_t n, struct tb_req *req, char *allow, size_t allow_len)
{
	const struct tb_route *found = NULL;
	req->n_ids = 0;
	switch (tb_route_match(routes, n, req, &found, allow, allow_len)) {
	case TB_ROUTE_FOUND:
		FUZZ_CHECK(found >= routes && found < routes + n);
		FUZZ_CHECK(found->method == req->method);
		FUZZ_CHECK(req->n_ids <= TB_REQ_MAX_IDS);
		for (size_t i = 0; i < req->n_ids; i++)
			FUZZ_CHECK(req->ids[i] >= 1);
		break;
	case TB_ROUTE_NO_METHOD: FUZZ_CHECK(allow_len == 0 || memchr(allow, '\0', allow_len) != NULL); break;
	case TB_ROUTE_NO_PATH: break;
	default: FUZZ_CHECK(!"an unknown tb_route_result");
	}
}

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

	size_t n_routes;
	const struct tb_route *routes = tb_api_routes(&n_routes);
	check(routes, n_routes, &req, allow, allow_len);
	check(extra, sizeof extra / sizeof extra[0], &req, allow, allow_len);
	free(allow);
	free(path);
	free(method);
	return 0;
}
