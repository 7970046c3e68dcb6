/* tb_request: struct tb_req, the transport-neutral request. The transport (FastCGI, CGI, or a unit
 * test) supplies a parameter getter and I/O callbacks; tb_req_init copies what the API needs out of
 * the CGI/1.1 meta-variables (RFC 3875) and reads nothing else. The body is read lazily, after the
 * guards have accepted its declared length. */
#ifndef TB_REQUEST_H
#define TB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tb_buf.h"
#include "tb_err.h"

enum tb_method { TB_GET, TB_POST, TB_PATCH, TB_DELETE, TB_PUT, TB_HEAD, TB_OPTIONS, TB_METHOD_OTHER, TB_METHOD__MAX };
/* The method's name ("PATCH"). */
const char *tb_method_name(enum tb_method m);
/* The method for a REQUEST_METHOD string (TB_METHOD_OTHER if unknown). */
enum tb_method tb_method_parse(const char *s);

/* How the request reaches the transport. read/write return bytes or -1; flush returns 0 or -1.
 * The transport bounds them in time: a read past the request's body deadline (body_timeout) and a
 * write or flush that blocks longer than write_timeout fail with errno = ETIMEDOUT.
 * client_fd is the descriptor that shows when the web server drops the request: EOF on
 * FCGX_Request.ipcFd under FastCGI, an error or hang-up on stdout under CGI; -1 when unknown. */
struct tb_io {
	void *ctx;
	ssize_t (*read)(void *ctx, char *buf, size_t len);
	ssize_t (*write)(void *ctx, const char *buf, size_t len);
	int (*flush)(void *ctx);
	int client_fd;
	short client_events; /* poll() events on client_fd that may mean "gone": POLLIN|POLLRDHUP
	                      * for the FastCGI socket; 0 for a CGI stdout (only POLLERR/POLLHUP) */
};

/* Looks up a CGI meta-variable ("REQUEST_METHOD", "HTTP_ORIGIN", ...); NULL when absent. */
typedef const char *(*tb_param_fn)(void *ctx, const char *name);

#define TB_REQ_MAX_IDS 4
/* A ":token" path segment: 64 lower-case hexadecimal digits (32 random bytes). */
#define TB_REQ_TOKEN_LEN 64

struct tb_req {
	enum tb_method method;
	const char *method_name;
	char *path;  /* decoded-free path of REQUEST_URI, without the query */
	char *query; /* raw query string, "" when none */
	const char *content_type, *cookie, *authorization, *origin, *referer, *host;
	const char *accept, *if_match, *last_event_id, *remote_addr;
	const char *if_none_match;   /* If-None-Match, NULL when absent or empty */
	const char *idempotency_key; /* Idempotency-Key as sent: NULL when absent, "" when empty */
	bool https;
	bool has_content_length;
	uint64_t content_length;
	bool content_length_bad; /* present but not a plain decimal number */
	struct tb_io io;
	struct tb_buf body;
	bool body_read;
	/* filled by the router */
	int64_t ids[TB_REQ_MAX_IDS];
	size_t n_ids;
	char token[TB_REQ_TOKEN_LEN + 1]; /* a ":token" segment, "" when the route has none */
	/* filled by authentication */
	int64_t user_id; /* 0: anonymous */
	char *user_name;
	bool auth_by_cookie;
};

/* Fills req from the meta-variables; strings stay owned by the getter's storage and must outlive
 * req. Returns TB_ERR_INVALID when REQUEST_METHOD or REQUEST_URI is missing. */
enum tb_err tb_req_init(struct tb_req *req, tb_param_fn get, void *ctx, const struct tb_io *io);
void tb_req_free(struct tb_req *req);

/* Reads the body, at most max bytes (Content-Length first, then until EOF when it is absent).
 * Returns TB_ERR_TOO_LARGE past max, TB_ERR_TIMEOUT when the transport's body deadline passed
 * (the answer is 408), TB_ERR_IO on a short or failed read. */
enum tb_err tb_req_read_body(struct tb_req *req, size_t max);

/* Parses a CONTENT_LENGTH value: digits only, no sign or space, fits uint64_t. */
bool tb_parse_content_length(const char *s, uint64_t *out);
/* Parses a path id: [1-9][0-9]* that fits int64_t. */
bool tb_parse_id(const char *s, size_t len, int64_t *out);
/* Decodes the value of name in a query string (application/x-www-form-urlencoded: '+' is a
 * space, %XX escapes). Returns TB_ERR_NOT_FOUND when absent, TB_ERR_INVALID for a bad escape or
 * a decoded NUL. *out is NUL-terminated, caller frees. */
enum tb_err tb_query_get(const char *query, const char *name, char **out);
/* tb_query_get, then a decimal integer in [min, max]. TB_ERR_RANGE when it is not. */
enum tb_err tb_query_int(const char *query, const char *name, int64_t min, int64_t max, int64_t *out);
/* Value of cookie name in a Cookie header (RFC 6265 syntax); NULL-free copy, caller frees.
 * TB_ERR_NOT_FOUND when absent. */
enum tb_err tb_cookie_get(const char *header, const char *name, char **out);
/* The token of "Authorization: Bearer <token>" (scheme case-insensitive); caller frees. */
enum tb_err tb_bearer_get(const char *header, char **out);
/* True when the media type of a Content-Type value is application/json (parameters allowed,
 * a charset other than utf-8 refused). */
bool tb_content_type_is_json(const char *ct);
/* If-None-Match on a GET (RFC 9110, 13.1.2): true when the header is "*" or lists an entity tag
 * that matches etag (a quoted strong tag, e.g. "\"ab12\"") by the weak comparison (W/ ignored on
 * either side). false for NULL, no match, or a header that is not an entity-tag list as RFC 9110
 * writes it ("*", or comma-separated "..." / W/"..." with optional whitespace and empty members):
 * one malformed member anywhere and the header matches nothing. */
bool tb_if_none_match(const char *header, const char *etag);
/* Parses an If-Match header against the current version: true when there is none (NULL), "*", or any listed entity tag
 * ("N" or W/"N") equals "<version>". */
bool tb_if_match(const char *header, int64_t version);

#endif
