/* tb_auth: passwords (yescrypt through libcrypt), session tokens (32 random bytes, hex; only their
 * SHA-256 is stored), session look-up for a request (Authorization: Bearer, else the session
 * cookie: __Host-tb_session with cookie_secure, else tb_session), and the Origin check that guards
 * cookie-authenticated writes against CSRF. */
#ifndef TB_AUTH_H
#define TB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_err.h"

struct tb_config;
struct tb_db;
struct tb_req;

#define TB_TOKEN_HEX_LEN 64
#define TB_PASSWORD_HASH_MAX 256
#define TB_ADDRESS_KEY_MAX 64

/* Hashes password with a fresh yescrypt salt of this cost (1 ... 11, the password_cost setting)
 * into out. TB_ERR_INVALID if libcrypt fails. */
enum tb_err tb_auth_hash_password(const char *password, long cost, char *out, size_t out_len);
/* True when password matches hash (a crypt(3) string); compares in constant time. */
bool tb_auth_password_matches(const char *password, const char *hash);
/* Spends the time of one password check of a hash of this cost, so a login for an unknown name
 * takes as long as one for a known name. */
void tb_auth_burn_password(const char *password, long cost);
/* Writes 64 hex digits of 32 bytes from getrandom(2), NUL-terminated. */
enum tb_err tb_auth_new_token(char out[TB_TOKEN_HEX_LEN + 1]);
/* True when s has the form of a token (64 lower-case hex digits). */
bool tb_auth_token_well_formed(const char *s);
/* The session cookie's name: "__Host-tb_session" when cfg->cookie_secure (RFC 6265bis 4.1.3.2:
 * only a Secure, Path=/, host-only cookie may carry it), else "tb_session". */
const char *tb_auth_cookie_name(const struct tb_config *cfg);
/* The token a request presents: Authorization: Bearer when that header is there (even if it is
 * malformed: TB_ERR_INVALID), else the session cookie of tb_auth_cookie_name(cfg). A Cookie header
 * that holds more than one cookie of the two names (tb_session, __Host-tb_session; a copy tossed
 * in by another site or a plain-http page) is TB_ERR_INVALID: no cookie of them picks the session.
 * TB_ERR_NOT_FOUND when there is no credential (or only the cookie of the other name). Caller
 * frees *token. */
enum tb_err tb_auth_token(const struct tb_config *cfg, const struct tb_req *req, char **token, bool *by_cookie);
/* tb_auth_token for a request that tb_auth_session accepted already (it needs no cfg): the same
 * token, as then exactly one cookie of the two names is there. Caller frees. */
enum tb_err tb_auth_request_token(const struct tb_req *req, char **token, bool *by_cookie);
/* Finds the request's session on db: fills req->user_id, user_name, auth_by_cookie. TB_ERR_NOT_FOUND
 * for no, expired, forged or malformed credentials; TB_ERR_DB_DOWN / TB_ERR_DB as from tb_db. */
enum tb_err tb_auth_session(const struct tb_config *cfg, struct tb_db *db, struct tb_req *req);
/* The key sign-in throttling counts a client address (REMOTE_ADDR) under, into out (len bytes,
 * truncated): an IPv4 address, also one mapped into IPv6, in dotted form; an IPv6 address as its
 * /64 ("2001:db8:1:2::/64": one customer's network, not one of its 2^64 addresses); anything
 * else as given ("" for NULL). */
void tb_auth_address_key(const char *remote_addr, char *out, size_t len);
/* CSRF check for an unsafe request: true when its Origin (else the scheme://host of its Referer)
 * is one of cfg->allowed_origins or the request's own scheme://Host. Absent both: false. */
bool tb_auth_origin_allowed(const struct tb_config *cfg, const struct tb_req *req);

#endif
