/* tb_auth: passwords, tokens, sessions, the sign-in throttle's address key and the CSRF Origin
 * check. A token travels as 64 hex digits; the database keeps only sha256 of its 32 bytes, so the
 * lookup is an index probe on a hash and never a comparison of secrets in C. */
#include "tb_auth.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "tb_buf.h"
#include "tb_config.h"
#include "tb_db.h"
#include "tb_log.h"
#include "tb_request.h"

enum tb_err tb_auth_hash_password(const char *password, long cost, char *out, size_t out_len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (crypt_gensalt_rn("$y$", (unsigned long)cost, NULL, 0, salt, sizeof salt) == NULL)
		return TB_ERR_INVALID;
	struct crypt_data *cd = tb_xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, salt, cd, sizeof *cd);
	enum tb_err err = TB_ERR_INVALID;
	if (h && h[0] != '*' && strlen(h) < out_len) {
		strcpy(out, h);
		err = TB_OK;
	}
	free(cd);
	return err;
}

static bool equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool tb_auth_password_matches(const char *password, const char *hash)
{
	struct crypt_data *cd = tb_xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, hash, cd, sizeof *cd);
	bool ok = h && h[0] != '*' && equal_ct(h, hash);
	free(cd);
	return ok;
}

void tb_auth_burn_password(const char *password, long cost)
{
	static char dummy[TB_PASSWORD_HASH_MAX];
	static long dummy_cost;
	if ((dummy[0] == '\0' || dummy_cost != cost) &&
	    tb_auth_hash_password("teamboard dummy password", cost, dummy, sizeof dummy) != TB_OK)
		return;
	dummy_cost = cost;
	(void)tb_auth_password_matches(password, dummy);
}

enum tb_err tb_auth_new_token(char out[TB_TOKEN_HEX_LEN + 1])
{
	unsigned char raw[TB_TOKEN_HEX_LEN / 2];
	size_t got = 0;
	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
		if (n < 0)
			return TB_ERR_IO;
		got += (size_t)n;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TB_TOKEN_HEX_LEN] = '\0';
	return TB_OK;
}

bool tb_auth_token_well_formed(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) || i >= TB_TOKEN_HEX_LEN)
			return false;
	}
	return i == TB_TOKEN_HEX_LEN;
}

static const char SQL_SESSION[] =
	"SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id"
	" WHERE s.token_hash = sha256(decode($1, 'hex')) AND s.expires_at > now() AND u.disabled_at IS NULL";

static const char COOKIE_PLAIN[] = "tb_session", COOKIE_HOST[] = "__Host-tb_session";

const char *tb_auth_cookie_name(const struct tb_config *cfg)
{
	return cfg->cookie_secure ? COOKIE_HOST : COOKIE_PLAIN;
}

/* How many cookie-pairs of header are named name; splits pairs as tb_cookie_get does. */
static size_t cookie_count(const char *header, const char *name)
{
	size_t nlen = strlen(name), n = 0;
	for (const char *p = header ? header : ""; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		size_t plen = strcspn(p, ";");
		const char *eq = memchr(p, '=', plen);
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0)
			n++;
		p += plen;
	}
	return n;
}

/* The one session cookie of header, whichever of the two names it has; *name says which. */
static enum tb_err session_cookie(const char *header, char **token, const char **name)
{
	size_t plain = cookie_count(header, COOKIE_PLAIN), host = cookie_count(header, COOKIE_HOST);
	if (plain + host == 0)
		return TB_ERR_NOT_FOUND;
	if (plain + host > 1)
		return TB_ERR_INVALID;
	*name = host ? COOKIE_HOST : COOKIE_PLAIN;
	return tb_cookie_get(header, *name, token);
}

enum tb_err tb_auth_request_token(const struct tb_req *req, char **token, bool *by_cookie)
{
	if (req->authorization) {
		*by_cookie = false;
		return tb_bearer_get(req->authorization, token) == TB_OK ? TB_OK : TB_ERR_INVALID;
	}
	const char *name;
	*by_cookie = true;
	return session_cookie(req->cookie, token, &name);
}

enum tb_err tb_auth_token(const struct tb_config *cfg, const struct tb_req *req, char **token, bool *by_cookie)
{
	if (req->authorization)
		return tb_auth_request_token(req, token, by_cookie);
	const char *name = NULL;
	char *t = NULL;
	enum tb_err err = session_cookie(req->cookie, &t, &name);
	if (err == TB_OK && strcmp(name, tb_auth_cookie_name(cfg)) != 0)
		err = TB_ERR_NOT_FOUND; /* the other name: not our cookie in this configuration */
	if (err == TB_OK) {
		*by_cookie = true;
		*token = t;
	} else {
		free(t);
	}
	return err;
}

enum tb_err tb_auth_session(const struct tb_config *cfg, struct tb_db *db, struct tb_req *req)
{
	char *token = NULL;
	bool by_cookie = false;
	if (tb_auth_token(cfg, req, &token, &by_cookie) != TB_OK)
		return TB_ERR_NOT_FOUND;
	enum tb_err err = TB_ERR_NOT_FOUND;
	PGresult *r = NULL;
	if (tb_auth_token_well_formed(token)) {
		const char *params[] = {token};
		err = tb_db_query(db, SQL_SESSION, 1, params, &r);
		if (err == TB_OK && PQntuples(r) != 1)
			err = TB_ERR_NOT_FOUND;
	}
	if (err == TB_OK) {
		req->user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		free(req->user_name);
		req->user_name = tb_xstrdup(PQgetvalue(r, 0, 1));
		req->auth_by_cookie = by_cookie;
	}
	PQclear(r);
	free(token);
	return err;
}

void tb_auth_address_key(const char *remote_addr, char *out, size_t len)
{
	struct in6_addr a6;
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	if (remote_addr == NULL)
		remote_addr = "";
	if (inet_pton(AF_INET6, remote_addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof text);
			snprintf(out, len, "%s", text);
			return;
		}
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, text, sizeof text);
		snprintf(out, len, "%s/64", text);
	} else if (inet_pton(AF_INET, remote_addr, &a4) == 1) {
		inet_ntop(AF_INET, &a4, text, sizeof text);
		snprintf(out, len, "%s", text);
	} else {
		snprintf(out, len, "%s", remote_addr);
	}
}

/* Length of the "scheme://host[:port]" prefix of an absolute http(s) URL, 0 if it is none. */
static size_t origin_prefix(const char *url)
{
	size_t skip;
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	size_t host = strcspn(url + skip, "/?#");
	return host ? skip + host : 0;
}

static bool same_origin(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

bool tb_auth_origin_allowed(const struct tb_config *cfg, const struct tb_req *req)
{
	const char *origin = req->origin;
	size_t len;
	if (origin && strcmp(origin, "null") != 0) {
		len = strlen(origin);
		if (origin_prefix(origin) != len)
			return false;
	} else if (origin == NULL && req->referer) {
		origin = req->referer;
		len = origin_prefix(origin);
		if (len == 0)
			return false;
	} else {
		return false;
	}
	for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
		if (same_origin(origin, len, cfg->allowed_origins[i]))
			return true;
	}
	if (req->host == NULL || strpbrk(req->host, "/\\@ ") != NULL)
		return false;
	struct tb_buf own = {0};
	tb_buf_printf(&own, "%s://%s", req->https ? "https" : "http", req->host);
	bool ok = same_origin(origin, len, tb_buf_str(&own));
	tb_buf_free(&own);
	return ok;
}
