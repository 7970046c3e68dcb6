/* tb_resp: struct tb_resp, the response a handler builds and the transport drains: status, a short
 * list of headers and a body. Header values are checked for CR/LF here, so nothing a client sent can
 * split a header. Every error reply is made by tb_resp_error. */
#ifndef TB_RESP_H
#define TB_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tb_buf.h"
#include "tb_err.h"

#define TB_RESP_MAX_HEADERS 16

struct tb_resp_header {
	char *name;
	char *value;
};

struct tb_resp {
	int status; /* 0 until set */
	struct tb_resp_header headers[TB_RESP_MAX_HEADERS];
	size_t n_headers;
	struct tb_buf body;
	bool streamed; /* the handler wrote the response itself through tb_io */
};

void tb_resp_init(struct tb_resp *resp);
void tb_resp_free(struct tb_resp *resp);
/* Adds a header; a value with CR, LF or NUL is refused (returns false, nothing added). */
bool tb_resp_header(struct tb_resp *resp, const char *name, const char *value);
/* Replaces a header of that name, or adds it. */
bool tb_resp_set_header(struct tb_resp *resp, const char *name, const char *value);
/* Removes every header of that name (no-op when there is none). */
void tb_resp_unset_header(struct tb_resp *resp, const char *name);
/* The value of a header already set, or NULL. */
const char *tb_resp_get_header(const struct tb_resp *resp, const char *name);
/* Status + JSON body from json-c (borrowed, not freed). */
void tb_resp_json(struct tb_resp *resp, int status, struct json_object *obj);
/* Status + a body that is already JSON text (built by PostgreSQL). */
void tb_resp_json_text(struct tb_resp *resp, int status, const char *text, size_t len);
/* Status + {"error":{"code":code,"message":message}}; discards any body, ETag and Location set before. */
void tb_resp_error(struct tb_resp *resp, int status, const char *code, const char *message);
/* As tb_resp_error, with "key": extra (ownership of extra passes to the response) beside "error". */
void tb_resp_error_with(struct tb_resp *resp, int status, const char *code, const char *message,
                        const char *key, struct json_object *extra);
/* Answers a failed database call: TB_ERR_DB_DOWN is 503 db_unavailable with Retry-After: 5,
 * anything else 500 internal. Returns true when err != TB_OK (and then has answered). */
bool tb_resp_db_failed(struct tb_resp *resp, enum tb_err err);
/* Sets ETag: "<version>". */
void tb_resp_etag(struct tb_resp *resp, int64_t version);
/* Writes the CGI response head ("Status: ...\r\n", headers, blank line) into out. */
void tb_resp_head(const struct tb_resp *resp, struct tb_buf *out);
/* The reason phrase of an HTTP status ("Not Found"), "Unknown" for others. */
const char *tb_status_text(int status);

#endif
