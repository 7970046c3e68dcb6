/* tb_route: matches a path against the route table. Patterns are compared segment by segment;
 * ":id" takes a canonical positive decimal that fits int64, ":token" 64 lower-case hex digits
 * (anything else: no such path). */
#include "tb_route.h"

#include <string.h>

/* True when s (len bytes) is TB_REQ_TOKEN_LEN lower-case hex digits. */
static bool token_ok(const char *s, size_t len)
{
	if (len != TB_REQ_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* True when path matches pattern; ids receives the ":id" values, token the ":token" one. */
static bool match(const char *pattern, const char *path, int64_t *ids, size_t *n_ids, char *token)
{
	size_t n = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++;
		path++;
		size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
		if (plen == 3 && memcmp(pattern, ":id", 3) == 0) {
			if (n == TB_REQ_MAX_IDS || !tb_parse_id(path, slen, &ids[n]))
				return false;
			n++;
		} else if (plen == 6 && memcmp(pattern, ":token", 6) == 0) {
			if (!token_ok(path, slen))
				return false;
			memcpy(token, path, slen);
			token[slen] = '\0';
		} else if (plen != slen || memcmp(pattern, path, plen) != 0) {
			return false;
		}
		pattern += plen;
		path += slen;
	}
	if (*pattern || *path)
		return false;
	*n_ids = n;
	return true;
}

enum tb_route_result tb_route_match(const struct tb_route *routes, size_t n, struct tb_req *req,
                                    const struct tb_route **out, char *allow, size_t allow_len)
{
	bool path_known = false;
	size_t used = 0;
	if (allow_len)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int64_t ids[TB_REQ_MAX_IDS];
		size_t n_ids;
		char token[TB_REQ_TOKEN_LEN + 1] = "";
		if (!match(routes[i].pattern, req->path, ids, &n_ids, token))
			continue;
		if (routes[i].method == req->method) {
			memcpy(req->ids, ids, sizeof ids);
			req->n_ids = n_ids;
			memcpy(req->token, token, sizeof token);
			*out = &routes[i];
			return TB_ROUTE_FOUND;
		}
		path_known = true;
		const char *name = tb_method_name(routes[i].method);
		size_t need = strlen(name) + (used ? 2 : 0);
		if (used + need < allow_len) {
			if (used) {
				memcpy(allow + used, ", ", 2);
				used += 2;
			}
			memcpy(allow + used, name, strlen(name) + 1);
			used += strlen(name);
		}
	}
	return path_known ? TB_ROUTE_NO_METHOD : TB_ROUTE_NO_PATH;
}
