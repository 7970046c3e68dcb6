/* tb_resp: struct tb_resp, the response a handler builds and the transport drains: status, a short
 * list of headers and a body. Header values are checked for CR/LF here, so nothing a client sent can
 * split a header. Every error reply is made by tb_resp_error; the API's are rows of one table
 * (enum tb_error_id, answered by tb_resp_fail), which tests/unit/test_resp.c holds against
 * docs/api.md's error table and web/js/errors.js. */
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
void tb_resp_error_with(struct tb_resp *resp, int status, const char *code, const char *message, const char *key,
                        struct json_object *extra);
/* The API's error replies: {status, code, message} each. A code may have several rows, one per
 * message (clients go by the code; the message is for people). Replies made elsewhere with
 * tb_resp_error: tb_stream.c (too_many_streams and the stream's own), tb_server.c (busy and the
 * transport's own). */
enum tb_error_id {
	/* the pipeline (tb_app.c) */
	TB_E_NOT_FOUND,
	TB_E_METHOD_NOT_ALLOWED,
	TB_E_UNAUTHORIZED,
	TB_E_BAD_ORIGIN,
	TB_E_BAD_LENGTH,
	TB_E_TOO_LARGE,
	TB_E_UNSUPPORTED_MEDIA_TYPE,
	TB_E_TIMEOUT,
	TB_E_BODY_UNREADABLE,
	TB_E_BAD_JSON,
	TB_E_INVALID, /* its message names the field: always answered with tb_resp_fail_msg */
	TB_E_NO_FIELD,
	/* shared by the handlers */
	TB_E_FORBIDDEN,
	TB_E_VERSION_MISMATCH,
	TB_E_DB_UNAVAILABLE,
	TB_E_INTERNAL,
	/* users and sessions */
	TB_E_REGISTRATION_CLOSED,
	TB_E_NAME_TAKEN,
	TB_E_HASH_FAILED,
	TB_E_INVALID_CREDENTIALS,
	TB_E_TOO_MANY_ATTEMPTS, /* its message gives the seconds: answered with tb_resp_fail_msg */
	TB_E_TOKEN_FAILED,
	TB_E_ACCOUNT_DISABLED,
	TB_E_WRONG_PASSWORD,
	TB_E_PASSWORD_CHANGED,
	TB_E_LAST_ADMIN_ACCOUNT,
	TB_E_RESET_GONE,
	/* teams */
	TB_E_NO_SUCH_USER,
	TB_E_NO_SUCH_MEMBER,
	TB_E_ALREADY_MEMBER,
	TB_E_LAST_ADMIN,
	/* invite links (api_invites.c) */
	TB_E_TOO_MANY_INVITES,
	TB_E_NO_SUCH_INVITE,
	TB_E_INVITE_GONE,
	TB_E_ALREADY_IN_TEAM,
	/* boards and notes */
	TB_E_NO_SUCH_TEAM,
	TB_E_VIEWER_CREATES_BOARD,
	TB_E_BAD_ITEMS_AFTER,
	TB_E_BOARD_CHANGED,
	TB_E_BAD_IDEMPOTENCY_KEY,
	TB_E_IDEMPOTENCY_KEY_REUSED,
	TB_E_KEY_RACE,
	TB_E_ROLE_CHANGED,
	TB_E_NOTE_CHANGED,
	/* the trash */
	TB_E_NOTE_NOT_DELETED,
	TB_E_BOARD_NOT_DELETED,
	TB_E_NOTE_PURGED,
	TB_E_BOARD_PURGED,
	/* undo and redo */
	TB_E_NOTHING_TO_UNDO,
	TB_E_NOTHING_TO_REDO,
	TB_E_UNDO_CONFLICT,
	TB_E_REDO_CONFLICT,
	/* events and metrics */
	TB_E_BAD_POLL,
	TB_E_RESET,
	TB_E_BAD_HISTORY,
	TB_E_HISTORY_BEYOND,
	TB_E_HISTORY_PRUNED,
	TB_E_RESTORE_TOO_LARGE,
	TB_E_METRICS_FORBIDDEN,
	TB_E_TOO_MANY_LINKS,
	TB_E__COUNT
};

struct tb_error {
	int status;
	const char *code;
	const char *message;
};

/* The table, indexed by enum tb_error_id; *n gets TB_E__COUNT. */
const struct tb_error *tb_resp_errors(size_t *n);
/* Answers error e (as tb_resp_error: status, code, message). */
void tb_resp_fail(struct tb_resp *resp, enum tb_error_id e);
/* Answers error e's status and code with another message (a field's, or one with a number). */
void tb_resp_fail_msg(struct tb_resp *resp, enum tb_error_id e, const char *message);
/* Answers error e with "key": extra beside "error", as tb_resp_error_with. */
void tb_resp_fail_with(struct tb_resp *resp, enum tb_error_id e, const char *key, struct json_object *extra);
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
