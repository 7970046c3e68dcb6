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
	const char *text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	tb_resp_json_text(resp, status, text, len);
}

void tb_resp_error_with(struct tb_resp *resp, int status, const char *code, const char *message,
                        const char *key, struct json_object *extra)
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

bool tb_resp_db_failed(struct tb_resp *resp, enum tb_err err)
{
	if (err == TB_OK)
		return false;
	if (err == TB_ERR_DB_DOWN) {
		tb_resp_set_header(resp, "Retry-After", "5");
		tb_resp_error(resp, 503, "db_unavailable", "the database is unavailable; try again shortly");
	} else {
		tb_resp_error(resp, 500, "internal", "internal error");
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
