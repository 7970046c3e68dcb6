/* test_auth: which credential a request presents (tb_auth_token: Bearer first, then exactly one
 * session cookie of the configured name, a repeated or doubly named one refused) and the key a
 * client address is throttled under (tb_auth_address_key). Table-driven, no database. */
#include <stdlib.h>

#include "tb_auth.h"
#include "tb_config.h"
#include "tb_request.h"
#include "tb_test.h"

#define T1 "1111111111111111111111111111111111111111111111111111111111111111"
#define T2 "2222222222222222222222222222222222222222222222222222222222222222"

static char sentinel_str[] = "untouched";

struct token_case {
	int line;
	bool secure; /* cfg->cookie_secure */
	const char *cookie, *authorization;
	enum tb_err err;
	const char *want;
	bool by_cookie;
};

static const struct token_case token_cases[] = {
	{__LINE__, false, "tb_session=" T1, NULL, TB_OK, T1, true},
	{__LINE__, false, "a=1; tb_session=" T1 "; b=2", NULL, TB_OK, T1, true},
	{__LINE__, false, NULL, NULL, TB_ERR_NOT_FOUND, NULL, false},
	{__LINE__, false, "a=1", NULL, TB_ERR_NOT_FOUND, NULL, false},
	/* a second copy, before or after, valid or not: no cookie picks the session */
	{__LINE__, false, "tb_session=" T1 "; tb_session=" T2, NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, false, "tb_session=" T2 "; tb_session=" T1, NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, false, "tb_session=" T1 ";tb_session=" T1, NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, false, "tb_session=" T1 "; tb_session=", NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, false, "tb_session=" T1 "; __Host-tb_session=" T2, NULL, TB_ERR_INVALID, NULL, false},
	/* names that only look alike are other cookies */
	{__LINE__, false, "xtb_session=" T2 "; tb_session=" T1 "; tb_session_old=" T2, NULL, TB_OK, T1, true},
	{__LINE__, false, "TB_SESSION=" T2 "; tb_session=" T1, NULL, TB_OK, T1, true},
	/* the __Host- name is not ours without cookie_secure, the plain one not with it */
	{__LINE__, false, "__Host-tb_session=" T1, NULL, TB_ERR_NOT_FOUND, NULL, false},
	{__LINE__, true, "__Host-tb_session=" T1, NULL, TB_OK, T1, true},
	{__LINE__, true, "tb_session=" T1, NULL, TB_ERR_NOT_FOUND, NULL, false},
	{__LINE__, true, "__Host-tb_session=" T1 "; __Host-tb_session=" T2, NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, true, "tb_session=" T2 "; __Host-tb_session=" T1, NULL, TB_ERR_INVALID, NULL, false},
	{__LINE__, true, "__host-tb_session=" T2 "; __Host-tb_session=" T1, NULL, TB_OK, T1, true},
	/* Authorization alone decides when it is there */
	{__LINE__, false, "tb_session=" T1 "; tb_session=" T2, "Bearer " T2, TB_OK, T2, false},
	{__LINE__, true, "__Host-tb_session=" T1, "Bearer " T2, TB_OK, T2, false},
	{__LINE__, false, "tb_session=" T1, "Basic eDp5", TB_ERR_INVALID, NULL, false},
};

static void test_token(void)
{
	for (size_t i = 0; i < N_ELEMS(token_cases); i++) {
		const struct token_case *c = &token_cases[i];
		struct tb_config cfg;
		tb_config_defaults(&cfg);
		cfg.cookie_secure = c->secure;
		struct tb_req req = {0};
		req.cookie = c->cookie;
		req.authorization = c->authorization;
		char *got = sentinel_str;
		bool by_cookie = false;
		tb_case(__FILE__, c->line, "tb_auth_token(secure=%d, cookie=%s, authorization=%s)", c->secure,
		        tb_q(c->cookie), tb_q(c->authorization));
		enum tb_err err = tb_auth_token(&cfg, &req, &got, &by_cookie);
		if (tb_check_err("result", err, c->err)) {
			if (err == TB_OK) {
				tb_check_str("token", got, c->want);
				tb_check_bool("by_cookie", by_cookie, c->by_cookie);
				/* what tb_stream reads again after tb_auth_session accepted the request */
				char *again = NULL;
				bool again_by_cookie = false;
				if (tb_check_err("tb_auth_request_token",
				                 tb_auth_request_token(&req, &again, &again_by_cookie), TB_OK))
					tb_check_str("tb_auth_request_token's token", again, c->want);
				free(again);
				free(got);
			} else {
				tb_check(got == sentinel_str, "out written on failure");
			}
		}
		tb_end();
		tb_config_free(&cfg);
	}
}

struct addr_case {
	int line;
	const char *in, *want;
};

static const struct addr_case addr_cases[] = {
	{__LINE__, "127.0.0.1", "127.0.0.1"},
	{__LINE__, "192.0.2.77", "192.0.2.77"},
	{__LINE__, "::ffff:192.0.2.77", "192.0.2.77"},
	{__LINE__, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	{__LINE__, "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
	{__LINE__, "2001:DB8:0001:0002::1", "2001:db8:1:2::/64"},
	{__LINE__, "::1", "::/64"},
	{__LINE__, "fe80::1%eth0", "fe80::1%eth0"}, /* not an address inet_pton takes: as given */
	{__LINE__, "unix:", "unix:"},
	{__LINE__, "", ""},
	{__LINE__, NULL, ""},
};

static void test_address_key(void)
{
	for (size_t i = 0; i < N_ELEMS(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		char out[TB_ADDRESS_KEY_MAX];
		tb_case(__FILE__, c->line, "tb_auth_address_key(%s)", tb_q(c->in));
		tb_auth_address_key(c->in, out, sizeof out);
		tb_check_str("key", out, c->want);
		tb_end();
	}
	char small[8];
	tb_case(__FILE__, __LINE__, "tb_auth_address_key truncates to len");
	tb_auth_address_key("2001:db8:1:2::9", small, sizeof small);
	tb_check_str("key", small, "2001:db");
	tb_end();
}

int main(void)
{
	test_token();
	test_address_key();
	return tb_done();
}
