/* tb_resp: response building. Owns the header strings and the body buffer of a struct tb_resp. */
#include "tb_resp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tb_resp_init(struct tb_resp *resp)
{
	memset(resp, 0, sizeof *resp);
}

void tb_resp_free(struct tb_resp *resp)
{
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	tb_buf_free(&resp->body);
	memset(resp, 0, sizeof *resp);
}

static bool value_safe(const char *v)
{
	return strpbrk(v, "\r\n") == NULL;
}

bool tb_resp_header(struct tb_resp *resp, const char *name, const char *value)
{
	if (!value_safe(value) || !value_safe(name) || resp->n_headers == TB_RESP_MAX_HEADERS)
		return false;
	resp->headers[resp->n_headers].name = tb_xstrdup(name);
	resp->headers[resp->n_headers].value = tb_xstrdup(value);
	resp->n_headers++;
	return true;
}

bool tb_resp_set_header(struct tb_resp *resp, const char *name, const char *value)
{
	if (!value_safe(value))
		return false;
	for (size_t i = 0; i < resp->n_headers; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0) {
			free(resp->headers[i].value);
			resp->headers[i].value = tb_xstrdup(value);
			return true;
		}
	}
	return tb_resp_header(resp, name, value);
}

void tb_resp_unset_header(struct tb_resp *resp, const char *name)
{
	size_t kept = 0;
	for (size_t i = 0; i < resp->n_headers; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0) {
			free(resp->headers[i].name);
			free(resp->headers[i].value);
		} else {
			resp->headers[kept++] = resp->headers[i];
		}
	}
	resp->n_headers = kept;
}

const char *tb_resp_get_header(const struct tb_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	}
	return NULL;
}

void tb_resp_json_text(struct tb_resp *resp, int status, const char *text, size_t len)
{
	resp->status = status;
	tb_buf_reset(&resp->body);
	tb_buf_append(&resp->body, text, len);
	tb_resp_set_header(resp, "Content-Type", "application/json; charset=utf-8");
}

void tb_resp_json(struct tb_resp *resp, int status, struct json_object *obj)
{
	size_t len;
	const char *text =
		json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	tb_resp_json_text(resp, status, text, len);
}

void tb_resp_error_with(struct tb_resp *resp, int status, const char *code, const char *message, const char *key,
                        struct json_object *extra)
{
	struct json_object *err = json_object_new_object(), *top = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(top, "error", err);
	if (key && extra)
		json_object_object_add(top, key, extra);
	else
		json_object_put(extra);
	tb_resp_json(resp, status, top);
	json_object_put(top);
	/* An error invalidates any entity tag or location set for a success. */
	tb_resp_unset_header(resp, "ETag");
	tb_resp_unset_header(resp, "Location");
}

void tb_resp_error(struct tb_resp *resp, int status, const char *code, const char *message)
{
	tb_resp_error_with(resp, status, code, message, NULL, NULL);
}

static const struct tb_error errors[] = {
	[TB_E_NOT_FOUND] = {404, "not_found", "no such resource"},
	[TB_E_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "this resource does not take that method"},
	[TB_E_UNAUTHORIZED] = {401, "unauthorized", "sign in first: no valid session"},
	[TB_E_BAD_ORIGIN] = {403, "bad_origin", "cross-origin write refused (Origin is not allowed)"},
	[TB_E_BAD_LENGTH] = {400, "bad_request", "Content-Length is not a number"},
	[TB_E_TOO_LARGE] = {413, "too_large", "request body is over the size limit"},
	[TB_E_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type", "send the body as application/json"},
	[TB_E_TIMEOUT] = {408, "timeout", "the request body did not arrive within body_timeout"},
	[TB_E_BODY_UNREADABLE] = {400, "bad_request", "the request body could not be read"},
	[TB_E_BAD_JSON] = {400, "bad_json", "the body is not valid JSON"},
	[TB_E_INVALID] = {422, "invalid", "the body does not fit this route"},
	[TB_E_NO_FIELD] = {422, "invalid", "body: no field to change"},
	[TB_E_FORBIDDEN] = {403, "forbidden", "your role does not allow this"},
	[TB_E_VERSION_MISMATCH] = {412, "version_mismatch", "changed by someone else since you read it"},
	[TB_E_DB_UNAVAILABLE] = {503, "db_unavailable", "the database is unavailable; try again shortly"},
	[TB_E_INTERNAL] = {500, "internal", "internal error"},
	[TB_E_REGISTRATION_CLOSED] = {403, "registration_closed", "sign-up is closed on this server"},
	[TB_E_NAME_TAKEN] = {409, "name_taken", "that name is taken"},
	[TB_E_HASH_FAILED] = {500, "internal", "could not hash the password"},
	[TB_E_INVALID_CREDENTIALS] = {401, "invalid_credentials", "wrong name or password"},
	[TB_E_TOO_MANY_ATTEMPTS] = {429, "too_many_attempts", "too many failed sign-ins; try again later"},
	[TB_E_TOKEN_FAILED] = {500, "internal", "could not make a session token"},
	[TB_E_ACCOUNT_DISABLED] = {403, "account_disabled", "this account is disabled; ask an administrator"},
	[TB_E_WRONG_PASSWORD] = {403, "wrong_password", "the current password is wrong"},
	[TB_E_PASSWORD_CHANGED] = {409, "conflict", "the password changed while this request ran; retry"},
	[TB_E_LAST_ADMIN_ACCOUNT] = {409, "last_admin",
                                     "you are the last admin of a team with other members: make one of them an admin "
                                     "first"},
	[TB_E_RESET_GONE] = {410, "gone", "this reset link is unknown, used or expired"},
	[TB_E_NO_SUCH_USER] = {422, "invalid", "name: no such user"},
	[TB_E_NO_SUCH_MEMBER] = {404, "not_found", "no such member"},
	[TB_E_ALREADY_MEMBER] = {409, "already_member", "that user is already a member"},
	[TB_E_LAST_ADMIN] = {409, "last_admin", "a team keeps at least one admin"},
	[TB_E_TOO_MANY_INVITES] = {409, "too_many_invites", "this team has 100 open invite links: revoke one first"},
	[TB_E_NO_SUCH_INVITE] = {404, "not_found", "no such invite link"},
	[TB_E_INVITE_GONE] = {410, "gone", "this invite link is unknown, expired, used up or revoked"},
	[TB_E_ALREADY_IN_TEAM] = {409, "already_member", "you are a member of this team already"},
	[TB_E_NO_SUCH_TEAM] = {422, "invalid", "team_id: no such team"},
	[TB_E_VIEWER_CREATES_BOARD] = {403, "forbidden", "viewers cannot create boards in this team"},
	[TB_E_BAD_ITEMS_AFTER] = {400, "bad_request", "items_after must be the items_next of a board page"},
	[TB_E_BOARD_CHANGED] = {409, "conflict", "the board changed while this request ran; retry"},
	[TB_E_BAD_IDEMPOTENCY_KEY] = {400, "bad_request", "Idempotency-Key must be 1 to 64 of A-Z a-z 0-9 _ -"},
	[TB_E_IDEMPOTENCY_KEY_REUSED] =
		{422, "idempotency_key_reused",
                 "Idempotency-Key was used with another body on this board; a new note needs a new key"},
	[TB_E_KEY_RACE] = {409, "conflict", "a request with this key changed while this one ran; retry"},
	[TB_E_ROLE_CHANGED] = {409, "conflict", "your role on the board changed while this request ran; retry"},
	[TB_E_NOTE_CHANGED] = {409, "conflict", "the note changed while this request ran; retry"},
	[TB_E_NOTE_NOT_DELETED] = {409, "not_deleted", "the note is on the board, not in the trash"},
	[TB_E_BOARD_NOT_DELETED] = {409, "not_deleted", "the board is not in the trash"},
	[TB_E_NOTE_PURGED] = {410, "gone", "the note was purged from the trash"},
	[TB_E_BOARD_PURGED] = {410, "gone", "the board was purged from the trash"},
	[TB_E_NOTHING_TO_UNDO] = {409, "nothing_to_undo", "you have no change on this board to undo"},
	[TB_E_NOTHING_TO_REDO] = {409, "nothing_to_redo", "you have no undo on this board to redo"},
	[TB_E_UNDO_CONFLICT] = {409, "conflict", "someone else changed that note since; nothing was undone"},
	[TB_E_REDO_CONFLICT] = {409, "conflict", "someone else changed that note since; nothing was redone"},
	[TB_E_BAD_POLL] = {400, "bad_request", "after must be an integer >= 0 and limit 1 to 1000"},
	[TB_E_RESET] = {410, "reset", "those events are no longer kept; reload the board"},
	[TB_E_BAD_HISTORY] = {400, "bad_request",
                              "give exactly one of seq (an integer >= 0) and at (an ISO 8601 time with its offset)"},
	[TB_E_HISTORY_BEYOND] = {400, "bad_request", "seq is past the board's last event"},
	[TB_E_HISTORY_PRUNED] = {410, "reset", "the board's early events are no longer kept: its history is not whole"},
	[TB_E_RESTORE_TOO_LARGE] = {409, "too_many_changes",
                                    "restoring that version would change more than max_changes notes at once: restore "
                                    "one in between first"},
	[TB_E_METRICS_FORBIDDEN] = {403, "forbidden", "metrics are not served to this address"},
	[TB_E_TOO_MANY_LINKS] = {409, "too_many_links",
                                 "this board has as many public links as it may: delete one first"},
};
_Static_assert(sizeof errors / sizeof errors[0] == TB_E__COUNT, "a row for every enum tb_error_id");

const struct tb_error *tb_resp_errors(size_t *n)
{
	*n = TB_E__COUNT;
	return errors;
}

void tb_resp_fail_with(struct tb_resp *resp, enum tb_error_id e, const char *key, struct json_object *extra)
{
	tb_resp_error_with(resp, errors[e].status, errors[e].code, errors[e].message, key, extra);
}

void tb_resp_fail_msg(struct tb_resp *resp, enum tb_error_id e, const char *message)
{
	tb_resp_error(resp, errors[e].status, errors[e].code, message);
}

void tb_resp_fail(struct tb_resp *resp, enum tb_error_id e)
{
	tb_resp_error(resp, errors[e].status, errors[e].code, errors[e].message);
}

bool tb_resp_db_failed(struct tb_resp *resp, enum tb_err err)
{
	if (err == TB_OK)
		return false;
	if (err == TB_ERR_DB_DOWN) {
		tb_resp_set_header(resp, "Retry-After", "5");
		tb_resp_fail(resp, TB_E_DB_UNAVAILABLE);
	} else {
		tb_resp_fail(resp, TB_E_INTERNAL);
	}
	return true;
}

void tb_resp_etag(struct tb_resp *resp, int64_t version)
{
	char tag[32];
	snprintf(tag, sizeof tag, "\"%" PRId64 "\"", version);
	tb_resp_set_header(resp, "ETag", tag);
}

void tb_resp_head(const struct tb_resp *resp, struct tb_buf *out)
{
	int status = resp->status ? resp->status : 500;
	tb_buf_printf(out, "Status: %d %s\r\n", status, tb_status_text(status));
	for (size_t i = 0; i < resp->n_headers; i++) {
		tb_buf_printf(out, "%s: %s\r\n", resp->headers[i].name, resp->headers[i].value);
	}
	tb_buf_puts(out, "\r\n");
}

const char *tb_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}
