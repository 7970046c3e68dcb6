/* api_users: sign-up (POST /users, when registration is open), GET /me, the account's own changes
 * (PATCH /users/me: the password or the display name; DELETE /users/me: the account) and the use
 * of a reset link made by teamboard-admin (POST /password-resets/:token). The display name is what
 * other people see (1 to 100 Unicode characters of any script, one line, trimmed; the login name
 * stays beside it, sql/023_display_name.sql). Every password check here counts toward the
 * sign-in throttle, so none of them is a way to guess; the writes are functions of
 * sql/functions/accounts.sql that change nothing unless the password hash is still the one
 * checked. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"

/* ASCII letters, digits, '.', '_' and '-', starting with a letter or digit. */
static bool name_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++) {
		if (!(isalnum((unsigned char)*s) || *s == '.' || *s == '_' || *s == '-') || (unsigned char)*s > 0x7f)
			return false;
	}
	return true;
}

/* ---- display names ---- */

/* The code point at s and its length in bytes. The body is valid UTF-8 (tb_json_parse checked
 * it); should a sequence still be cut short, it ends at the first byte that does not continue it
 * (the terminating NUL at the latest), so a read never passes the string's end. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	static const unsigned char masks[] = {0x7f, 0x1f, 0x0f, 0x07};
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	uint32_t v = s[0] & masks[n - 1];
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3fu);
	}
	*cp = v;
	return n;
}

/* White space trimmed off a display name's ends: the space, no-break spaces, the typographic
 * spaces of U+2000..U+200A, the zero-width space and the byte-order mark. */
static bool trimmed_space(uint32_t c)
{
	return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x202f || c == 0x205f ||
		c == 0x3000 || c == 0xfeff;
}

/* Refused anywhere in a display name (besides the control characters tb_json refuses): the line
 * and paragraph separators (a name is one line) and the bidirectional embeddings, overrides and
 * isolates, which would let a name reorder the text shown after it. Scripts written right to
 * left need none of them. */
static bool refused_format(uint32_t c)
{
	return c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The display name s without the white space at its ends: [*start, *end) in bytes. False when s
 * holds a refused character. */
static bool display_name_span(const char *s, size_t *start, size_t *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, first = SIZE_MAX, last = 0;
	while (p[i]) {
		uint32_t c;
		size_t n = utf8_next(p + i, &c);
		if (refused_format(c))
			return false;
		if (!trimmed_space(c)) {
			if (first == SIZE_MAX)
				first = i;
			last = i + n;
		}
		i += n;
	}
	*start = first == SIZE_MAX ? 0 : first;
	*end = first == SIZE_MAX ? 0 : last;
	return true;
}

/* The field check: something is left after trimming, and no refused character. */
static bool display_name_ok(const char *s)
{
	size_t start, end;
	return display_name_span(s, &start, &end) && end > start;
}

#define DISPLAY_NAME_FIELD                                                                         \
	{                                                                                          \
		"display_name", TB_FIELD_STRING, 1, 100, false, false, display_name_ok,            \
			"more than white space, without line separators or bidirectional controls" \
	}

/* A checked display name trimmed into out (100 characters: at most 400 bytes); NULL when absent. */
static const char *display_name_of(struct json_object *body, char out[416])
{
	const char *s = NULL;
	size_t start, end;
	if (!tb_json_str(body, "display_name", &s) || !display_name_span(s, &start, &end))
		return NULL;
	snprintf(out, 416, "%.*s", (int)(end - start), s + start);
	return out;
}

static const struct tb_field credential_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, false, name_ok, "letters, digits, '.', '_' or '-'"},
	/* At most 400 bytes of UTF-8: libcrypt hashes passphrases of up to 511 bytes. */
	{"password", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
};

const struct tb_fields tb_api_credentials = TB_FIELDS(credential_fields);

/* Sign-up: the credentials and, optionally, a display name (else the login name). */
static const struct tb_field register_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, false, name_ok, "letters, digits, '.', '_' or '-'"},
	{"password", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
	DISPLAY_NAME_FIELD,
};
const struct tb_fields tb_api_register_fields = TB_FIELDS(register_fields);

const struct tb_field *tb_api_credential_fields(size_t *n)
{
	*n = tb_api_credentials.n;
	return tb_api_credentials.v;
}

/* $3: the display name, or NULL for the login name (the trigger users_display_name). */
static const char SQL_CREATE[] =
	"INSERT INTO users (name, password_hash, display_name) VALUES ($1, $2, $3) RETURNING user_json(users)";

bool tb_api_users_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	if (app->cfg->registration_open)
		return true;
	tb_resp_fail(resp, TB_E_REGISTRATION_CLOSED);
	return false;
}

void tb_api_users_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *name = NULL, *password = NULL;
	tb_json_str(app->body_json, "name", &name);
	tb_json_str(app->body_json, "password", &password);
	char hash[TB_PASSWORD_HASH_MAX], display[416];
	if (tb_auth_hash_password(password, app->cfg->password_cost, hash, sizeof hash) != TB_OK) {
		tb_resp_fail(resp, TB_E_HASH_FAILED);
		return;
	}
	const char *params[] = {name, hash, display_name_of(app->body_json, display)};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_CREATE, 3, params, &r);
	if (err == TB_ERR_CONFLICT) {
		tb_resp_fail(resp, TB_E_NAME_TAKEN);
		return;
	}
	if (tb_resp_db_failed(resp, err))
		return;
	tb_api_reply_row(resp, 201, r, 0, -1);
	PQclear(r);
}

static const char SQL_ME[] = "SELECT user_json(users) FROM users WHERE id = $1";

void tb_api_me(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char id[24];
	const char *params[] = {tb_i64(id, req->user_id)};
	if (!tb_api_query_reply(app, resp, 200, SQL_ME, 1, params))
		tb_resp_fail(resp, TB_E_UNAUTHORIZED);
}

/* ---- PATCH and DELETE /users/me ---- */

/* {"password": {"current", "new"}}: the new one has sign-up's limits, the current one any length a
 * password may have (a wrong one is 403 wrong_password, not 422). */
static const struct tb_field change_fields[] = {
	{"current", TB_FIELD_TEXT, 1, 100, true, false, NULL, NULL},
	{"new", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
};
static const struct tb_fields change_table = TB_FIELDS(change_fields);
static const struct tb_field me_fields[] = {
	{"password", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
	DISPLAY_NAME_FIELD,
};
const struct tb_fields tb_api_me_fields = TB_FIELDS(me_fields);

static const struct tb_field me_delete_fields[] = {
	{"password", TB_FIELD_TEXT, 1, 100, true, false, NULL, NULL},
};
const struct tb_fields tb_api_me_delete_fields = TB_FIELDS(me_delete_fields);

static const struct tb_field reset_fields[] = {
	{"password", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
};
const struct tb_fields tb_api_reset_fields = TB_FIELDS(reset_fields);

/* One change at a time: the password (checked, throttled, ending the other sessions) or the
 * display name (neither), never both in one request. */
bool tb_api_me_admit(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char msg[160];
	if (json_object_is_type(app->body_json, json_type_object) &&
	    json_object_object_get_ex(app->body_json, "password", NULL) &&
	    json_object_object_get_ex(app->body_json, "display_name", NULL)) {
		tb_resp_fail_msg(resp, TB_E_INVALID, "display_name: send it alone, not with password");
		return false;
	}
	if (tb_json_validate_member(&change_table, app->body_json, "password", msg, sizeof msg) == TB_OK)
		return true;
	tb_resp_fail_msg(resp, TB_E_INVALID, msg);
	return false;
}

static const char SQL_HASH[] = "SELECT password_hash FROM users WHERE id = $1::bigint";

/* The caller's password, through the sign-in throttle (their name and address): true when it
 * matches, with the stored hash in hash; false after answering (429, 403 wrong_password, 401 for
 * a user gone meanwhile, or the database's error). */
static bool check_password(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *password,
                           char hash[TB_PASSWORD_HASH_MAX])
{
	char addr[TB_ADDRESS_KEY_MAX], id[24];
	tb_auth_address_key(req->remote_addr, addr, sizeof addr);
	if (tb_api_login_throttled(app, resp, req->user_name, addr))
		return false;
	const char *params[] = {tb_i64(id, req->user_id)};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_HASH, 1, params, &r)))
		return false;
	bool found = PQntuples(r) == 1 && (size_t)PQgetlength(r, 0, 0) < TB_PASSWORD_HASH_MAX;
	bool ok = found && tb_auth_password_matches(password, PQgetvalue(r, 0, 0));
	if (ok)
		snprintf(hash, TB_PASSWORD_HASH_MAX, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!ok) {
		tb_resp_fail(resp, found ? TB_E_WRONG_PASSWORD : TB_E_UNAUTHORIZED);
		return false;
	}
	tb_api_login_succeeded(app, req->user_name, addr);
	return true;
}

/* $1 user, $2 the hash checked, $3 the new hash, $4 the request's session token (it stays). */
static const char SQL_CHANGE[] =
	"SELECT CASE WHEN change_password($1::bigint, $2, $3, sha256(decode($4::text, 'hex')))"
	" THEN (SELECT user_json(u) FROM users u WHERE u.id = $1::bigint) END";

static const char SQL_DISPLAY_NAME[] = "SELECT set_display_name($1::bigint, $2)";

/* PATCH /users/me {"display_name"}: 200 with the user; 401 for a user deleted meanwhile. */
static void set_display_name(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *display)
{
	char id[24];
	const char *params[] = {tb_i64(id, req->user_id), display};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_DISPLAY_NAME, 2, params, &r)))
		return;
	if (PQgetisnull(r, 0, 0))
		tb_resp_fail(resp, TB_E_UNAUTHORIZED);
	else
		tb_api_reply_row(resp, 200, r, 0, -1);
	PQclear(r);
}

void tb_api_me_update(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char display[416];
	if (display_name_of(app->body_json, display)) {
		set_display_name(app, req, resp, display);
		return;
	}
	struct json_object *pw = NULL;
	const char *current = NULL, *fresh = NULL;
	json_object_object_get_ex(app->body_json, "password", &pw);
	tb_json_str(pw, "current", &current);
	tb_json_str(pw, "new", &fresh);
	char old_hash[TB_PASSWORD_HASH_MAX], new_hash[TB_PASSWORD_HASH_MAX], id[24];
	if (!check_password(app, req, resp, current, old_hash))
		return;
	if (tb_auth_hash_password(fresh, app->cfg->password_cost, new_hash, sizeof new_hash) != TB_OK) {
		tb_resp_fail(resp, TB_E_HASH_FAILED);
		return;
	}
	char *token = NULL;
	bool by_cookie;
	if (tb_auth_request_token(req, &token, &by_cookie) != TB_OK) {
		free(token);
		tb_resp_fail(resp, TB_E_UNAUTHORIZED);
		return;
	}
	const char *params[] = {tb_i64(id, req->user_id), old_hash, new_hash, token};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_CHANGE, 4, params, &r);
	free(token);
	if (tb_resp_db_failed(resp, err))
		return;
	if (PQgetisnull(r, 0, 0))
		tb_resp_fail(resp, TB_E_PASSWORD_CHANGED);
	else
		tb_api_reply_row(resp, 200, r, 0, -1);
	PQclear(r);
}

static const char SQL_DELETE_ACCOUNT[] = "SELECT delete_account($1::bigint, $2)";

void tb_api_me_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *password = NULL;
	tb_json_str(app->body_json, "password", &password);
	char hash[TB_PASSWORD_HASH_MAX], id[24];
	if (!check_password(app, req, resp, password, hash))
		return;
	const char *params[] = {tb_i64(id, req->user_id), hash};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_DELETE_ACCOUNT, 2, params, &r)))
		return;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "deleted") == 0) {
		resp->status = 204;
		tb_api_session_cookie(app, resp, "", 0);
	} else {
		tb_resp_fail(resp,
		             strcmp(outcome, "last_admin") == 0 ? TB_E_LAST_ADMIN_ACCOUNT : TB_E_PASSWORD_CHANGED);
	}
	PQclear(r);
}

/* ---- POST /password-resets/:token ---- */

static const char SQL_RESET[] = "SELECT use_password_reset(sha256(decode($1::text, 'hex')), $2)";

void tb_api_password_reset(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *password = NULL;
	tb_json_str(app->body_json, "password", &password);
	char addr[TB_ADDRESS_KEY_MAX], key[8 + TB_REQ_TOKEN_LEN], hash[TB_PASSWORD_HASH_MAX];
	tb_auth_address_key(req->remote_addr, addr, sizeof addr);
	/* Each guess names another token: what throttles guessing is the address's count. */
	snprintf(key, sizeof key, "reset:%s", req->token);
	if (tb_api_login_throttled(app, resp, key, addr))
		return;
	if (tb_auth_hash_password(password, app->cfg->password_cost, hash, sizeof hash) != TB_OK) {
		tb_resp_fail(resp, TB_E_HASH_FAILED);
		return;
	}
	const char *params[] = {req->token, hash};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_RESET, 2, params, &r)))
		return;
	if (PQgetisnull(r, 0, 0)) {
		tb_resp_fail(resp, TB_E_RESET_GONE);
	} else {
		tb_api_login_succeeded(app, key, addr);
		/* The account may be blocked by failed sign-ins: its owner has just proven who they are. */
		tb_api_login_succeeded(app, PQgetvalue(r, 0, 0), addr);
		resp->status = 204;
	}
	PQclear(r);
}
