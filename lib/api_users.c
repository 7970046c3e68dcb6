/* api_users: sign-up (POST /users, when registration is open) and GET /me. */
#include <ctype.h>
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

static const struct tb_field credential_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, false, name_ok, "letters, digits, '.', '_' or '-'"},
	/* At most 400 bytes of UTF-8: libcrypt hashes passphrases of up to 511 bytes. */
	{"password", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
};

const struct tb_fields tb_api_credentials = TB_FIELDS(credential_fields);

const struct tb_field *tb_api_credential_fields(size_t *n)
{
	*n = tb_api_credentials.n;
	return tb_api_credentials.v;
}

static const char SQL_CREATE[] = "INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING user_json(users)";

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
	char hash[TB_PASSWORD_HASH_MAX];
	if (tb_auth_hash_password(password, hash, sizeof hash) != TB_OK) {
		tb_resp_fail(resp, TB_E_HASH_FAILED);
		return;
	}
	const char *params[] = {name, hash};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_CREATE, 2, params, &r);
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
