/* api_sessions: sign-in (POST /sessions) and sign-out (DELETE /sessions/current). A session is
 * a random token given to the client twice: as the HttpOnly cookie tb_session for the browser,
 * and in the body for scripts that send it as a bearer token. */
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"

static const char SQL_FIND_USER[] = "SELECT id, password_hash FROM users WHERE lower(name) = lower($1)";

/* Stores the token's hash, drops this user's expired sessions, answers with the body. */
static const char SQL_CREATE[] =
	"WITH gone AS (DELETE FROM sessions WHERE user_id = $2::bigint AND expires_at <= now()),"
	" s AS (INSERT INTO sessions (token_hash, user_id, expires_at)"
	"       VALUES (sha256(decode($1::text, 'hex')), $2::bigint, now() + $3::bigint * interval '1 second')"
	"       RETURNING expires_at)"
	" SELECT jsonb_build_object('token', $1::text, 'expires_at', s.expires_at,"
	"                           'user', (SELECT user_json(u) FROM users u WHERE u.id = $2::bigint))"
	" FROM s";

static void set_cookie(struct tb_app *app, struct tb_resp *resp, const char *token, long max_age)
{
	struct tb_buf c = {0};
	tb_buf_printf(&c, "tb_session=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", token, max_age,
	              app->cfg->cookie_secure ? "; Secure" : "");
	tb_resp_header(resp, "Set-Cookie", tb_buf_str(&c));
	tb_buf_free(&c);
}

void tb_api_sessions_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	size_t n_fields;
	const struct tb_field *fields = tb_api_credential_fields(&n_fields);
	if (!tb_api_valid_body(app, resp, fields, n_fields, true))
		return;
	const char *name = NULL, *password = NULL;
	tb_json_str(app->body_json, "name", &name);
	tb_json_str(app->body_json, "password", &password);
	const char *params[3] = {name};
	PGresult *r = NULL;
	if (tb_api_failed(resp, tb_db_query(&app->db, SQL_FIND_USER, 1, params, &r)))
		return;
	bool ok;
	if (PQntuples(r) == 1) {
		ok = tb_auth_password_matches(password, PQgetvalue(r, 0, 1));
	} else {
		tb_auth_burn_password(password); /* as slow as a real check: timing tells nothing */
		ok = false;
	}
	if (!ok) {
		PQclear(r);
		tb_resp_error(resp, 401, "invalid_credentials", "wrong name or password");
		return;
	}
	char user_id[24], ttl[24], token[TB_TOKEN_HEX_LEN + 1];
	snprintf(user_id, sizeof user_id, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = NULL;
	if (tb_auth_new_token(token) != TB_OK) {
		tb_resp_error(resp, 500, "internal", "could not make a session token");
		return;
	}
	params[0] = token;
	params[1] = user_id;
	params[2] = tb_api_i64(ttl, app->cfg->session_ttl);
	if (tb_api_failed(resp, tb_db_query(&app->db, SQL_CREATE, 3, params, &r)))
		return;
	tb_api_reply_row(resp, 201, r, 0, -1);
	PQclear(r);
	set_cookie(app, resp, token, app->cfg->session_ttl);
	explicit_bzero(token, sizeof token);
}

static const char SQL_DELETE[] = "DELETE FROM sessions WHERE token_hash = sha256(decode($1::text, 'hex'))";

void tb_api_sessions_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char *token = NULL;
	bool by_cookie;
	if (tb_auth_request_token(req, &token, &by_cookie) != TB_OK) {
		tb_resp_error(resp, 401, "unauthorized", "sign in first: no valid session");
		return;
	}
	const char *params[] = {token};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_DELETE, 1, params, &r);
	free(token);
	if (tb_api_failed(resp, err))
		return;
	PQclear(r);
	resp->status = 204;
	set_cookie(app, resp, "", 0);
}
