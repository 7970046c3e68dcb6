/* api_sessions: sign-in (POST /sessions) and sign-out (DELETE /sessions/current). A session is
 * a random token given to the client twice: as the HttpOnly session cookie for the browser
 * (__Host-tb_session with cookie_secure, else tb_session), and in the body for scripts that send
 * it as a bearer token. Sign-in is throttled per account and per client address (sql/012); the
 * throttle also counts the password checks of api_users.c and the reset links' tokens. A disabled
 * account (sql/017) is refused after its password matched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"
#include "tb_auth.h"
#include "tb_log.h"

static const char SQL_FIND_USER[] =
	"SELECT id, password_hash, disabled_at IS NOT NULL FROM users WHERE lower(name) = lower($1)";

/* Stores the token's hash, drops this user's expired sessions, answers with the body. */
static const char SQL_CREATE[] =
	"WITH gone AS (DELETE FROM sessions WHERE user_id = $2::bigint AND expires_at <= now()),"
	" s AS (INSERT INTO sessions (token_hash, user_id, expires_at)"
	"       VALUES (sha256(decode($1::text, 'hex')), $2::bigint, now() + $3::bigint * interval '1 second')"
	"       RETURNING expires_at)"
	" SELECT jsonb_build_object('token', $1::text, 'expires_at', s.expires_at,"
	"                           'user', (SELECT user_json(u) FROM users u WHERE u.id = $2::bigint))"
	" FROM s";

/* $1 name, $2 address key, $3 login_max_failures, $4 login_window: 0 to go ahead, else the
 * seconds to wait (sql/012). */
static const char SQL_ATTEMPT[] = "SELECT login_attempt(lower($1), $2, $3::integer, $4::integer)";
static const char SQL_SUCCEEDED[] = "SELECT login_succeeded(lower($1), $2)";

bool tb_api_login_throttled(struct tb_app *app, struct tb_resp *resp, const char *name, const char *addr)
{
	if (app->cfg->login_max_failures <= 0)
		return false;
	char max[24], window[24];
	const char *params[] = {name, addr, tb_i64(max, app->cfg->login_max_failures),
	                        tb_i64(window, app->cfg->login_window)};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_ATTEMPT, 4, params, &r)))
		return true;
	long wait = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (wait <= 0)
		return false;
	char secs[24], msg[80];
	tb_resp_set_header(resp, "Retry-After", tb_i64(secs, wait));
	/* The web page shows the message as it is. */
	snprintf(msg, sizeof msg, "too many failed sign-ins; try again in %ld s", wait);
	tb_resp_fail_msg(resp, TB_E_TOO_MANY_ATTEMPTS, msg);
	return true;
}

void tb_api_login_succeeded(struct tb_app *app, const char *name, const char *addr)
{
	if (app->cfg->login_max_failures <= 0)
		return;
	const char *params[] = {name, addr};
	PGresult *r = NULL;
	if (tb_db_query(&app->db, SQL_SUCCEEDED, 2, params, &r) == TB_OK)
		PQclear(r);
	else
		TB_LOG(TB_LOG_WARN, "sign-in: could not clear the throttle counters");
}

void tb_api_session_cookie(struct tb_app *app, struct tb_resp *resp, const char *token, long max_age)
{
	bool secure = app->cfg->cookie_secure;
	struct tb_buf c = {0};
	/* __Host-: Secure, Path=/ and no Domain, so no sibling host or plain-http page can set it. */
	tb_buf_printf(&c, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", tb_auth_cookie_name(app->cfg), token,
	              max_age, secure ? "; Secure" : "");
	tb_resp_header(resp, "Set-Cookie", tb_buf_str(&c));
	if (secure)
		tb_resp_header(resp, "Set-Cookie", "tb_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
	tb_buf_free(&c);
}

void tb_api_sessions_create(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	const char *name = NULL, *password = NULL;
	tb_json_str(app->body_json, "name", &name);
	tb_json_str(app->body_json, "password", &password);
	char addr[TB_ADDRESS_KEY_MAX];
	tb_auth_address_key(req->remote_addr, addr, sizeof addr);
	if (tb_api_login_throttled(app, resp, name, addr))
		return; /* before the password: a throttled guess costs no yescrypt */
	const char *params[3] = {name};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_FIND_USER, 1, params, &r)))
		return;
	bool ok;
	if (PQntuples(r) == 1) {
		ok = tb_auth_password_matches(password, PQgetvalue(r, 0, 1));
	} else {
		tb_auth_burn_password(password,
		                      app->cfg->password_cost); /* as slow as a real check: timing tells nothing */
		ok = false;
	}
	if (!ok) {
		PQclear(r);
		tb_resp_fail(resp, TB_E_INVALID_CREDENTIALS);
		return;
	}
	char user_id[24], ttl[24], token[TB_TOKEN_HEX_LEN + 1];
	snprintf(user_id, sizeof user_id, "%s", PQgetvalue(r, 0, 0));
	bool disabled = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	PQclear(r);
	r = NULL;
	tb_api_login_succeeded(app, name, addr);
	if (disabled) {
		/* Only with the right password: a guess learns nothing about the account. */
		tb_resp_fail(resp, TB_E_ACCOUNT_DISABLED);
		return;
	}
	if (tb_auth_new_token(token) != TB_OK) {
		tb_resp_fail(resp, TB_E_TOKEN_FAILED);
		return;
	}
	params[0] = token;
	params[1] = user_id;
	params[2] = tb_i64(ttl, app->cfg->session_ttl);
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_CREATE, 3, params, &r)))
		return;
	tb_api_reply_row(resp, 201, r, 0, -1);
	PQclear(r);
	tb_api_session_cookie(app, resp, token, app->cfg->session_ttl);
	explicit_bzero(token, sizeof token);
}

static const char SQL_DELETE[] = "DELETE FROM sessions WHERE token_hash = sha256(decode($1::text, 'hex'))";

void tb_api_sessions_delete(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	char *token = NULL;
	bool by_cookie;
	if (tb_auth_token(app->cfg, req, &token, &by_cookie) != TB_OK) {
		tb_resp_fail(resp, TB_E_UNAUTHORIZED);
		return;
	}
	const char *params[] = {token};
	PGresult *r = NULL;
	enum tb_err err = tb_db_query(&app->db, SQL_DELETE, 1, params, &r);
	free(token);
	if (tb_resp_db_failed(resp, err))
		return;
	PQclear(r);
	resp->status = 204;
	tb_api_session_cookie(app, resp, "", 0);
}
