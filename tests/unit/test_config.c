/* test_config: tb_config_defaults, tb_config_parse on in-memory text (each key valid and invalid,
 * comments, blank lines, "file:line:" in errors) and tb_config_load on temporary files, a missing
 * file and conf/teamboard.conf.sample. Each table row carries its __LINE__.
 *
 * The keys and defaults are those of conf/teamboard.conf.sample. The numeric bounds are not written
 * down anywhere else: bound_cases pins the ones lib/tb_config.c has, so changing one is deliberate. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_buf.h"
#include "tb_config.h"
#include "tb_test.h"

#define NAME "test.conf"

/* The value of one key of cfg as text, in the config file's own syntax ("" for a NULL string,
 * allowed_origins space-separated). NULL for an unknown key. */
static const char *show(const struct tb_config *cfg, const char *key, char *buf, size_t len)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
#define LONG_KEY(k)                                \
	if (strcmp(key, #k) == 0) {                \
		snprintf(buf, len, "%ld", cfg->k); \
		return buf;                        \
	}
	LONG_KEY(session_ttl)
	LONG_KEY(heartbeat_interval)
	LONG_KEY(stream_max_seconds)
	LONG_KEY(max_streams)
	LONG_KEY(max_streams_per_user)
	LONG_KEY(max_guest_streams)
	LONG_KEY(event_retention_days)
	LONG_KEY(event_retention_per_board)
	LONG_KEY(trash_days)
	LONG_KEY(replay_limit)
	LONG_KEY(write_timeout)
	LONG_KEY(body_timeout)
	LONG_KEY(max_streams_per_address)
	LONG_KEY(login_max_failures)
	LONG_KEY(login_window)
	LONG_KEY(max_large_replies_per_address)
	LONG_KEY(max_large_replies)
	LONG_KEY(reply_linger)
	LONG_KEY(password_cost)
#undef LONG_KEY
	if (strcmp(key, "max_body") == 0)
		snprintf(buf, len, "%zu", cfg->max_body);
	else if (strcmp(key, "max_reply") == 0)
		snprintf(buf, len, "%zu", cfg->max_reply);
	else if (strcmp(key, "max_import") == 0)
		snprintf(buf, len, "%zu", cfg->max_import);
	else if (strcmp(key, "database") == 0)
		snprintf(buf, len, "%s", cfg->database ? cfg->database : "");
	else if (strcmp(key, "metrics_allow") == 0)
		snprintf(buf, len, "%s", cfg->metrics_allow ? cfg->metrics_allow : "");
	else if (strcmp(key, "host_name") == 0)
		snprintf(buf, len, "%s", cfg->host_name ? cfg->host_name : "");
	else if (strcmp(key, "log_file") == 0)
		snprintf(buf, len, "%s", cfg->log_file ? cfg->log_file : "");
	else if (strcmp(key, "cookie_secure") == 0)
		snprintf(buf, len, "%s", cfg->cookie_secure ? "true" : "false");
	else if (strcmp(key, "registration") == 0)
		snprintf(buf, len, "%s", cfg->registration_open ? "open" : "closed");
	else if (strcmp(key, "supervisor") == 0)
		snprintf(buf, len, "%s",
		         cfg->supervisor == TB_SUPERVISOR_OFF            ? "off"
		                 : cfg->supervisor == TB_SUPERVISOR_AUTO ? "auto"
		                                                         : "?");
	else if (strcmp(key, "log_level") == 0)
		snprintf(buf, len, "%s", (unsigned)cfg->log_level < 4 ? levels[cfg->log_level] : "?");
	else if (strcmp(key, "allowed_origins") == 0) {
		size_t o = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < cfg->n_allowed_origins && i < TB_CONFIG_MAX_ORIGINS && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "",
			                      cfg->allowed_origins[i] ? cfg->allowed_origins[i] : "(null)");
	} else
		return NULL;
	return buf;
}

static const char *const all_keys[] = {
	"database",
	"max_body",
	"session_ttl",
	"cookie_secure",
	"allowed_origins",
	"registration",
	"log_level",
	"heartbeat_interval",
	"stream_max_seconds",
	"max_streams",
	"max_streams_per_user",
	"max_guest_streams",
	"event_retention_days",
	"event_retention_per_board",
	"trash_days",
	"replay_limit",
	"supervisor",
	"metrics_allow",
	"host_name",
	"write_timeout",
	"body_timeout",
	"max_reply",
	"max_streams_per_address",
	"login_max_failures",
	"login_window",
	"max_large_replies_per_address",
	"max_large_replies",
	"reply_linger",
	"log_file",
	"password_cost",
	"max_import",
};

static bool check_key(const struct tb_config *cfg, const char *key, const char *want)
{
	char buf[2048];
	const char *got = show(cfg, key, buf, sizeof buf);
	if (got == NULL)
		return tb_fail("bad test row: no key %s", key);
	return tb_check_str(key, got, want);
}

/* allowed_origins must stay NULL-terminated within its array */
static bool check_origins_terminated(const struct tb_config *cfg)
{
	return tb_check(cfg->n_allowed_origins < TB_CONFIG_MAX_ORIGINS &&
	                        cfg->allowed_origins[cfg->n_allowed_origins] == NULL,
	                "allowed_origins not NULL-terminated (n = %zu)", cfg->n_allowed_origins);
}

/* ---- tb_config_defaults: the values shown in conf/teamboard.conf.sample ---- */

struct default_case {
	int line;
	const char *key, *want;
};

static const struct default_case default_cases[] = {
	{__LINE__, "max_body", "65536"},
	{__LINE__, "session_ttl", "1209600"},
	{__LINE__, "cookie_secure", "false"},
	{__LINE__, "allowed_origins", ""},
	{__LINE__, "registration", "open"},
	{__LINE__, "log_level", "info"},
	{__LINE__, "heartbeat_interval", "15"},
	{__LINE__, "stream_max_seconds", "600"},
	{__LINE__, "max_streams", "200"},
	{__LINE__, "max_streams_per_user", "20"},
	{__LINE__, "max_guest_streams", "50"},
	{__LINE__, "event_retention_days", "0"},      /* the log is kept for the board's life */
	{__LINE__, "event_retention_per_board", "0"}, /* no cap */
	{__LINE__, "trash_days", "30"},
	{__LINE__, "replay_limit", "5000"},
	{__LINE__, "supervisor", "off"},
	{__LINE__, "metrics_allow", "127.0.0.1 ::1"},
	{__LINE__, "write_timeout", "10"},
	{__LINE__, "body_timeout", "30"},
	{__LINE__, "max_reply", "4194304"},
	{__LINE__, "max_import", "16777216"},
	{__LINE__, "max_streams_per_address", "50"},
	{__LINE__, "login_max_failures", "10"},
	{__LINE__, "login_window", "900"},
	{__LINE__, "max_large_replies_per_address", "2"},
	{__LINE__, "max_large_replies", "8"},
	{__LINE__, "reply_linger", "25"},
	{__LINE__, "log_file", ""},
	{__LINE__, "password_cost", "5"},
};

/* host_name defaults to this machine's name (gethostname) */
static void test_default_host_name(void)
{
	struct tb_config cfg;
	char host[256] = "";
	tb_config_defaults(&cfg);
	tb_case(__FILE__, __LINE__, "tb_config_defaults: host_name = gethostname()");
	if (tb_check(gethostname(host, sizeof host - 1) == 0, "gethostname failed"))
		check_key(&cfg, "host_name", host);
	tb_config_free(&cfg);
	tb_end();
}

static void test_defaults(void)
{
	for (size_t i = 0; i < N_ELEMS(default_cases); i++) {
		const struct default_case *c = &default_cases[i];
		struct tb_config cfg;
		tb_config_defaults(&cfg);
		tb_case(__FILE__, c->line, "tb_config_defaults: %s = %s", c->key, c->want);
		check_key(&cfg, c->key, c->want);
		if (strcmp(c->key, "allowed_origins") == 0) {
			tb_check_uint("n_allowed_origins", cfg.n_allowed_origins, 0);
			check_origins_terminated(&cfg);
		}
		tb_config_free(&cfg);
		tb_end();
	}
}

/* ---- tb_config_parse: valid text ---- */

struct good_case {
	int line;
	const char *text;
	const char *key, *want; /* key's value afterwards; NULL key: every key keeps its default */
	const char *key2, *want2;
};

#define ORIGINS_15                                                                                   \
	"http://h1 http://h2 http://h3 http://h4 http://h5 http://h6 http://h7 http://h8 http://h9 " \
	"http://h10 http://h11 http://h12 http://h13 http://h14 http://h15"

static const struct good_case good_cases[] = {
	/* comments, blank lines, whitespace */
	{__LINE__, "", NULL, NULL, NULL, NULL},
	{__LINE__, "\n\n\n", NULL, NULL, NULL, NULL},
	{__LINE__, "# only a comment\n", NULL, NULL, NULL, NULL},
	{__LINE__, "  # indented comment\n\t\n   \n", NULL, NULL, NULL, NULL},
	{__LINE__, "#max_body = 5\n", NULL, NULL, NULL, NULL},
	{__LINE__, "# max_body = oops\nmax_body = 100\n", "max_body", "100", NULL, NULL},
	{__LINE__, "max_body=100", "max_body", "100", NULL, NULL},
	{__LINE__, "max_body = 100", "max_body", "100", NULL, NULL}, /* no final newline */
	{__LINE__, "   max_body   =   100   \n", "max_body", "100", NULL, NULL},
	{__LINE__, "\tmax_body\t=\t100\t\n", "max_body", "100", NULL, NULL},
	{__LINE__, "max_body = 100\r\nsession_ttl = 3600\r\n", "max_body", "100", "session_ttl", "3600"},
	{__LINE__, "\n# c\n\nmax_body = 100\n\n# c\nreplay_limit = 7\n", "max_body", "100", "replay_limit", "7"},
	/* database: the value keeps its own '=' and spaces */
	{__LINE__, "database = host=/run/postgresql dbname=tb user=tb\n", "database",
         "host=/run/postgresql dbname=tb user=tb", NULL, NULL},
	{__LINE__, "database = postgresql://tb@localhost/tb?sslmode=disable\n", "database",
         "postgresql://tb@localhost/tb?sslmode=disable", NULL, NULL},
	{__LINE__, "database=dbname=x", "database", "dbname=x", NULL, NULL},
	/* each key, a valid value */
	{__LINE__, "max_body = 1048576\n", "max_body", "1048576", NULL, NULL},
	{__LINE__, "session_ttl = 86400\n", "session_ttl", "86400", NULL, NULL},
	{__LINE__, "cookie_secure = true\n", "cookie_secure", "true", NULL, NULL},
	{__LINE__, "cookie_secure = false\n", "cookie_secure", "false", NULL, NULL},
	{__LINE__, "allowed_origins = https://example.org\n", "allowed_origins", "https://example.org", NULL, NULL},
	{__LINE__, "allowed_origins = http://127.0.0.1:8080 http://localhost:8080\n", "allowed_origins",
         "http://127.0.0.1:8080 http://localhost:8080", NULL, NULL},
	{__LINE__, "allowed_origins =   https://a.example    https://b.example:8443  \n", "allowed_origins",
         "https://a.example https://b.example:8443", NULL, NULL},
	{__LINE__, "allowed_origins = http://[::1]:8080\n", "allowed_origins", "http://[::1]:8080", NULL, NULL},
	{__LINE__, "allowed_origins = " ORIGINS_15 "\n", "allowed_origins", ORIGINS_15, NULL, NULL},
	{__LINE__, "registration = open\n", "registration", "open", NULL, NULL},
	{__LINE__, "registration = closed\n", "registration", "closed", NULL, NULL},
	{__LINE__, "log_level = debug\n", "log_level", "debug", NULL, NULL},
	{__LINE__, "log_level = info\n", "log_level", "info", NULL, NULL},
	{__LINE__, "log_level = warn\n", "log_level", "warn", NULL, NULL},
	{__LINE__, "log_level = error\n", "log_level", "error", NULL, NULL},
	{__LINE__, "heartbeat_interval = 30\n", "heartbeat_interval", "30", NULL, NULL},
	{__LINE__, "stream_max_seconds = 0\n", "stream_max_seconds", "0", NULL, NULL}, /* 0 = unlimited */
	{__LINE__, "max_streams = 50\n", "max_streams", "50", NULL, NULL},
	{__LINE__, "max_streams_per_user = 3\n", "max_streams_per_user", "3", NULL, NULL},
	{__LINE__, "event_retention_days = 7\n", "event_retention_days", "7", NULL, NULL},
	{__LINE__, "event_retention_per_board = 500\n", "event_retention_per_board", "500", NULL, NULL},
	{__LINE__, "event_retention_days = 0\n", "event_retention_days", "0", NULL, NULL},           /* forever */
	{__LINE__, "event_retention_per_board = 0\n", "event_retention_per_board", "0", NULL, NULL}, /* no cap */
	{__LINE__, "trash_days = 7\n", "trash_days", "7", NULL, NULL},
	{__LINE__, "trash_days = 0\n", "trash_days", "0", NULL, NULL}, /* never purged */
	{__LINE__, "replay_limit = 100\n", "replay_limit", "100", NULL, NULL},
	{__LINE__, "supervisor = auto\n", "supervisor", "auto", NULL, NULL},
	{__LINE__, "supervisor = off\n", "supervisor", "off", NULL, NULL},
	{__LINE__, "metrics_allow = 10.0.0.0/8 ::1\n", "metrics_allow", "10.0.0.0/8 ::1", NULL, NULL},
	{__LINE__, "host_name = web1.example.org\n", "host_name", "web1.example.org", NULL, NULL},
	/* a '#' after white space starts a comment; inside a word it is part of the value */
	{__LINE__, "host_name = web1  # per host\n", "host_name", "web1", NULL, NULL},
	{__LINE__, "host_name = web1\t# per host\n", "host_name", "web1", NULL, NULL},
	{__LINE__, "max_body = 100 #bytes\n", "max_body", "100", NULL, NULL},
	{__LINE__, "host_name = web#1\n", "host_name", "web#1", NULL, NULL},
	{__LINE__, "database = dbname=x password=a#b # the password\n", "database", "dbname=x password=a#b", NULL,
         NULL},
	{__LINE__, "database = password=a#b\n", "database", "password=a#b", NULL, NULL},
	{__LINE__, "database = postgresql://u@h/db?password=x#y\n", "database", "postgresql://u@h/db?password=x#y",
         NULL, NULL},
	{__LINE__, "log_file = /var/log/teamboard/teamboard.log  # beside the site's\n", "log_file",
         "/var/log/teamboard/teamboard.log", NULL, NULL},
	{__LINE__, "max_large_replies_per_address = 0\n", "max_large_replies_per_address", "0", NULL, NULL},
	{__LINE__, "max_large_replies = 0\n", "max_large_replies", "0", NULL, NULL},
	{__LINE__, "max_large_replies = 1000000\n", "max_large_replies", "1000000", "max_large_replies_per_address",
         "2"},
	/* a key left out keeps its default */
	{__LINE__, "max_body = 100\n", "session_ttl", "1209600", "registration", "open"},
};

static void test_parse_good(void)
{
	for (size_t i = 0; i < N_ELEMS(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct tb_config cfg, def;
		char err[256] = "";
		tb_config_defaults(&cfg);
		tb_config_defaults(&def);
		tb_case(__FILE__, c->line, "tb_config_parse(%s)", tb_q(c->text));
		if (tb_check_err("result", tb_config_parse(&cfg, NAME, c->text, err, sizeof err), TB_OK) ||
		    tb_fail("message %s", tb_q(err))) {
			if (c->key)
				check_key(&cfg, c->key, c->want);
			if (c->key2)
				check_key(&cfg, c->key2, c->want2);
			if (c->key == NULL) {
				char buf[2048];
				for (size_t k = 0; k < N_ELEMS(all_keys); k++)
					check_key(&cfg, all_keys[k], show(&def, all_keys[k], buf, sizeof buf));
			}
			check_origins_terminated(&cfg);
		}
		tb_config_free(&cfg);
		tb_config_free(&def);
		tb_end();
	}
}

/* ---- tb_config_parse: invalid text; the message is "test.conf:<line>: ..." ---- */

struct bad_case {
	int line;
	const char *text;
	int err_line;
	const char *contains; /* in the message, or NULL */
};

#define ORIGINS_16 ORIGINS_15 " http://h16"

static const struct bad_case bad_cases[] = {
	/* unknown key, duplicate key, no '=' */
	{__LINE__, "nope = 1\n", 1, "nope"},
	{__LINE__, "max_bodyy = 1\n", 1, "max_bodyy"},
	{__LINE__, "max body = 1\n", 1, NULL},
	{__LINE__, "= 1\n", 1, NULL},
	{__LINE__, "# comment\n\nnope = 1\n", 3, "nope"},
	{__LINE__, "max_body = 100\nmax_body = 100\n", 2, "max_body"},
	{__LINE__, "max_body = 100\nsession_ttl = 60\n\nmax_body = 200\n", 4, "max_body"},
	{__LINE__, "supervisor = off\nsupervisor = off\n", 2, "supervisor"},
	{__LINE__, "allowed_origins = http://a\nallowed_origins = http://b\n", 2, "allowed_origins"},
	{__LINE__, "max_body 100\n", 1, NULL},
	{__LINE__, "max_body\n", 1, NULL},
	/* a value that is only a comment is empty */
	{__LINE__, "host_name = # none\n", 1, "host_name"},
	{__LINE__, "max_body = 100\nmax_body =   #\n", 2, "max_body"},
	{__LINE__, "max_body = 100\njunk\n", 2, NULL},
	{__LINE__, "max_body = 100\r\n\r\njunk\r\n", 3, NULL},
	{__LINE__, "max_body = 100\n   junk", 2, NULL},
	/* empty value */
	{__LINE__, "max_body =\n", 1, "max_body"},
	{__LINE__, "max_body =   \n", 1, "max_body"},
	{__LINE__, "database =\n", 1, "database"},
	{__LINE__, "cookie_secure =\n", 1, "cookie_secure"},
	{__LINE__, "registration =\n", 1, "registration"},
	{__LINE__, "allowed_origins =\n", 1, "allowed_origins"},
	{__LINE__, "metrics_allow =\n", 1, "metrics_allow"},
	{__LINE__, "host_name =\n", 1, "host_name"},
	{__LINE__, "host_name = a\nhost_name = b\n", 2, "host_name"},
	/* bad booleans */
	{__LINE__, "cookie_secure = maybe\n", 1, "cookie_secure"},
	{__LINE__, "cookie_secure = truex\n", 1, "cookie_secure"},
	{__LINE__, "cookie_secure = true false\n", 1, "cookie_secure"},
	{__LINE__, "cookie_secure = 2\n", 1, "cookie_secure"},
	/* bad numbers */
	{__LINE__, "max_body = abc\n", 1, "max_body"},
	{__LINE__, "max_body = 12x\n", 1, "max_body"},
	{__LINE__, "max_body = 1.5\n", 1, "max_body"},
	{__LINE__, "max_body = 1e6\n", 1, "max_body"},
	{__LINE__, "max_body = 0x1000\n", 1, "max_body"},
	{__LINE__, "max_body = 64 KB\n", 1, "max_body"},
	{__LINE__, "max_body = 1 000\n", 1, "max_body"},
	{__LINE__, "max_body = +1000\n", 1, "max_body"},
	{__LINE__, "max_body = -1000\n", 1, "max_body"},
	{__LINE__, "session_ttl = -1\n", 1, "session_ttl"},
	{__LINE__, "heartbeat_interval = -15\n", 1, "heartbeat_interval"},
	{__LINE__, "stream_max_seconds = -1\n", 1, "stream_max_seconds"},
	{__LINE__, "max_streams = -1\n", 1, "max_streams"},
	{__LINE__, "trash_days = -1\n", 1, "trash_days"},
	{__LINE__, "trash_days = 30 days\n", 1, "trash_days"},
	{__LINE__, "max_body = 99999999999999999999\n", 1, "max_body"},
	{__LINE__, "session_ttl = 9223372036854775808\n", 1, "session_ttl"},
	{__LINE__, "replay_limit = 18446744073709551617\n", 1, "replay_limit"},
	/* bad enums */
	{__LINE__, "registration = yes\n", 1, "registration"},
	{__LINE__, "registration = opened\n", 1, "registration"},
	{__LINE__, "registration = true\n", 1, "registration"},
	{__LINE__, "log_level = verbose\n", 1, "log_level"},
	{__LINE__, "log_level = warning\n", 1, "log_level"},
	{__LINE__, "log_level = 1\n", 1, "log_level"},
	{__LINE__, "supervisor = on\n", 1, "supervisor"},
	{__LINE__, "supervisor = automatic\n", 1, "supervisor"},
	{__LINE__, "supervisor = true\n", 1, "supervisor"},
	/* origins: at most TB_CONFIG_MAX_ORIGINS - 1 (the array stays NULL-terminated), each one
	 * scheme://host[:port] and nothing else */
	{__LINE__, "allowed_origins = " ORIGINS_16 "\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = " ORIGINS_16 " http://h17 http://h18\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = example.org\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = //example.org\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org/\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org/app\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org?x=1\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org#x\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://user@example.org\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://:8080\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org:abc\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org:\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org:80:80\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = https://example.org:99999\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = *\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = null\n", 1, "allowed_origins"},
	{__LINE__, "allowed_origins = http://ok.example bad\n", 1, "allowed_origins"},
	/* the first bad line is the one reported */
	{__LINE__, "max_body = 100\nlog_level = loud\nnope = 1\n", 2, "log_level"},
	/* database: what libpq cannot parse; log_file: not an absolute path */
	{__LINE__, "max_body = 100\ndatabase = dbname\n", 2, "database: not a libpq connection string: missing \"=\""},
	{__LINE__, "database = dbname='x\n", 1, "database: not a libpq connection string: unterminated"},
	{__LINE__, "database = nosuchoption=1\n", 1,
         "database: not a libpq connection string: invalid connection option"},
	{__LINE__, "database = postgresql://[::1\n", 1, "database: not a libpq connection string"},
	{__LINE__, "log_file = teamboard.log\n", 1, "log_file: must be an absolute path"},
	{__LINE__, "log_file = ./x.log\n", 1, "log_file: must be an absolute path"},
	{__LINE__, "max_large_replies_per_address = -1\n", 1, "max_large_replies_per_address"},
	{__LINE__, "max_large_replies = -1\n", 1, "max_large_replies"},
	{__LINE__, "max_large_replies = 1000001\n", 1, "max_large_replies"},
	{__LINE__, "max_large_replies = 2x\n", 1, "max_large_replies"},
};

static void test_parse_bad(void)
{
	for (size_t i = 0; i < N_ELEMS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct tb_config cfg;
		char err[256] = "";
		char prefix[64];
		tb_config_defaults(&cfg);
		snprintf(prefix, sizeof prefix, NAME ":%d: ", c->err_line);
		tb_case(__FILE__, c->line, "tb_config_parse(%s) fails at line %d", tb_q(c->text), c->err_line);
		if (tb_check_err("result", tb_config_parse(&cfg, NAME, c->text, err, sizeof err), TB_ERR_INVALID)) {
			tb_check_prefix("message", err, prefix);
			if (c->contains)
				tb_check_contains("message", err, c->contains);
			check_origins_terminated(&cfg);
		}
		tb_config_free(&cfg); /* cfg may be partly updated: still freed whole */
		tb_end();
	}
}

/* ---- numeric bounds: min - 1, min, max, max + 1 of each key (from lib/tb_config.c) ---- */

struct bound_case {
	int line;
	const char *key;
	long min, max;
};

static const struct bound_case bound_cases[] = {
	{__LINE__, "max_body", 64, 64L * 1024 * 1024},
	{__LINE__, "session_ttl", 60, 366L * 24 * 3600},
	{__LINE__, "heartbeat_interval", 1, 3600},
	{__LINE__, "stream_max_seconds", 0, 7L * 24 * 3600},
	{__LINE__, "max_streams", 0, 1000000},
	{__LINE__, "max_streams_per_user", 0, 1000000},
	{__LINE__, "max_guest_streams", 0, 1000000},
	{__LINE__, "event_retention_days", 0, 36500},
	{__LINE__, "event_retention_per_board", 0, 100000000},
	{__LINE__, "trash_days", 0, 36500},
	{__LINE__, "replay_limit", 1, 10000000},
	{__LINE__, "write_timeout", 1, 3600},
	{__LINE__, "body_timeout", 1, 3600},
	{__LINE__, "max_reply", 65536, 256L * 1024 * 1024},
	{__LINE__, "max_streams_per_address", 0, 1000000},
	{__LINE__, "login_max_failures", 0, 1000000},
	{__LINE__, "login_window", 60, 7L * 24 * 3600},
	{__LINE__, "reply_linger", 0, 3600},
	{__LINE__, "password_cost", 1, 11},
};

static void check_bound(const struct bound_case *c, long v, bool ok)
{
	struct tb_config cfg;
	char text[128], want[32], err[256] = "";
	tb_config_defaults(&cfg);
	snprintf(text, sizeof text, "%s = %ld\n", c->key, v);
	snprintf(want, sizeof want, "%ld", v);
	tb_case(__FILE__, c->line, "tb_config_parse(%s = %ld) %s", c->key, v, ok ? "accepted" : "refused");
	enum tb_err e = tb_config_parse(&cfg, NAME, text, err, sizeof err);
	if (tb_check_err("result", e, ok ? TB_OK : TB_ERR_INVALID)) {
		if (ok)
			check_key(&cfg, c->key, want);
		else
			tb_check_prefix("message", err, NAME ":1: ");
	}
	tb_config_free(&cfg);
	tb_end();
}

static void test_bounds(void)
{
	for (size_t i = 0; i < N_ELEMS(bound_cases); i++) {
		const struct bound_case *c = &bound_cases[i];
		if (c->min > 0)
			check_bound(c, c->min - 1, false);
		check_bound(c, c->min, true);
		check_bound(c, c->max, true);
		check_bound(c, c->max + 1, false);
	}
}

/* ---- parse on top of what cfg holds ---- */

static void test_parse_layers(void)
{
	struct tb_config cfg;
	char err[256] = "";
	tb_config_defaults(&cfg);
	tb_case(__FILE__, __LINE__, "tb_config_parse twice: the second text overrides the first");
	tb_check_err("first",
	             tb_config_parse(&cfg, "a.conf",
	                             "max_body = 100\ndatabase = dbname=a\n"
	                             "allowed_origins = http://a http://b\n",
	                             err, sizeof err),
	             TB_OK);
	tb_check_err("second",
	             tb_config_parse(&cfg, "b.conf",
	                             "max_body = 200\ndatabase = dbname=b\n"
	                             "allowed_origins = http://c\n",
	                             err, sizeof err),
	             TB_OK);
	check_key(&cfg, "max_body", "200");
	check_key(&cfg, "database", "dbname=b");
	check_key(&cfg, "allowed_origins", "http://c");
	check_origins_terminated(&cfg);
	tb_config_free(&cfg); /* valgrind: the replaced strings were freed */
	tb_end();

	tb_config_defaults(&cfg);
	tb_case(__FILE__, __LINE__, "tb_config_parse: error names the file it was given");
	tb_config_parse(&cfg, "a.conf", "max_body = 100\n", err, sizeof err);
	tb_check_err("second", tb_config_parse(&cfg, "/etc/teamboard/b.conf", "\n\nnope = 1\n", err, sizeof err),
	             TB_ERR_INVALID);
	tb_check_prefix("message", err, "/etc/teamboard/b.conf:3: ");
	tb_config_free(&cfg);
	tb_end();
}

/* The message fits errbuf, however small. */
struct errlen_case {
	int line;
	size_t len;
};

static const struct errlen_case errlen_cases[] = {
	{__LINE__, 1},
	{__LINE__, 5},
	{__LINE__, 12},
};

static void test_errlen(void)
{
	for (size_t i = 0; i < N_ELEMS(errlen_cases); i++) {
		const struct errlen_case *c = &errlen_cases[i];
		struct tb_config cfg;
		char err[32];
		memset(err, 'Z', sizeof err);
		tb_config_defaults(&cfg);
		tb_case(__FILE__, c->line, "tb_config_parse error in %zu bytes", c->len);
		tb_check_err("result", tb_config_parse(&cfg, NAME, "a_very_long_unknown_key_name = 1\n", err, c->len),
		             TB_ERR_INVALID);
		tb_check(memchr(err, '\0', c->len) != NULL, "not NUL-terminated within %zu bytes", c->len);
		for (size_t k = c->len; k < sizeof err; k++)
			if (err[k] != 'Z') {
				tb_fail("byte %zu written past errlen", k);
				break;
			}
		tb_config_free(&cfg);
		tb_end();
	}
}

/* ---- tb_config_load ---- */

/* Writes len bytes of text to a new temporary file; its path goes to path. */
static bool write_temp(char *path, size_t path_len, const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, path_len, "%s/tb_test_config.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

struct load_case {
	int line;
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum tb_err err;
	int err_line;           /* with TB_ERR_INVALID from a line: the message is "<path>:<line>: " */
	const char *key, *want; /* with TB_OK */
};

static const struct load_case load_cases[] = {
	{__LINE__, "", 0, TB_OK, 0, "max_body", "65536"},
	{__LINE__, "max_body = 4096\n", 0, TB_OK, 0, "max_body", "4096"},
	{__LINE__, "max_body = 4096\n", 0, TB_OK, 0, "replay_limit", "5000"}, /* defaults first */
	{__LINE__, "# c\ndatabase = dbname=x\nsupervisor = auto\n", 0, TB_OK, 0, "supervisor", "auto"},
	{__LINE__, "max_body = 4096\r\nlog_level = warn\r\n", 0, TB_OK, 0, "log_level", "warn"},
	{__LINE__, "max_body = 4096\n\n# c\nlog_level = loud\n", 0, TB_ERR_INVALID, 4, NULL, NULL},
	{__LINE__, "nope = 1", 0, TB_ERR_INVALID, 1, NULL, NULL},
	/* a NUL byte would hide the rest of the file: refused, whatever the error */
	{__LINE__, "max_body = 4096\n\0nope = 1\n", 27, (enum tb_err) - 1, 0, NULL, NULL},
};

static void test_load(void)
{
	for (size_t i = 0; i < N_ELEMS(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char path[512], err[1024] = "";
		struct tb_config cfg;
		tb_case(__FILE__, c->line, "tb_config_load(file with %s)", tb_qn(c->text, len));
		if (!write_temp(path, sizeof path, c->text, len)) {
			tb_fail("cannot write a temporary file: %s", strerror(errno));
			tb_end();
			continue;
		}
		memset(&cfg, 0xff, sizeof cfg); /* defaults first: nothing in cfg is read */
		enum tb_err e = tb_config_load(&cfg, path, err, sizeof err);
		if (c->err == (enum tb_err) - 1) {
			if (tb_check(e != TB_OK, "result: got ok, want an error"))
				tb_check_prefix("message", err, path);
		} else if (tb_check_err("result", e, c->err) || tb_fail("message %s", tb_q(err))) {
			if (c->key)
				check_key(&cfg, c->key, c->want);
			if (c->err_line) {
				char prefix[600];
				snprintf(prefix, sizeof prefix, "%s:%d: ", path, c->err_line);
				tb_check_prefix("message", err, prefix);
			}
		}
		tb_config_free(&cfg);
		unlink(path);
		tb_end();
	}
}

static void test_load_missing(void)
{
	char path[512], err[1024] = "";
	struct tb_config cfg;
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/tb_test_config.missing.%ld/teamboard.conf", dir && *dir ? dir : "/tmp",
	         (long)getpid());
	tb_case(__FILE__, __LINE__, "tb_config_load(a missing file)");
	memset(&cfg, 0xff, sizeof cfg);
	enum tb_err e = tb_config_load(&cfg, path, err, sizeof err);
	if (tb_check(e != TB_OK, "result: got ok, want an error"))
		tb_check_prefix("message", err, path);
	tb_config_free(&cfg);
	tb_end();
}

/* conf/teamboard.conf.sample loads, and every value it shows (database aside: it is required and
 * shown as an example) is the default, as its header says. */
static void test_load_sample(void)
{
	const char *srcdir = getenv("srcdir"); /* exported by automake's test harness */
	char path[1024], err[1024] = "", buf1[2048], buf2[2048];
	struct tb_config cfg, def;
	snprintf(path, sizeof path, "%s/conf/teamboard.conf.sample", srcdir ? srcdir : "..");
	tb_case(__FILE__, __LINE__, "tb_config_load(conf/teamboard.conf.sample) gives the defaults");
	tb_config_defaults(&def);
	enum tb_err e = tb_config_load(&cfg, path, err, sizeof err);
	if (tb_check_err("result", e, TB_OK) || tb_fail("message %s", tb_q(err))) {
		for (size_t k = 0; k < N_ELEMS(all_keys); k++)
			if (strcmp(all_keys[k], "database") != 0)
				tb_check_str(all_keys[k], show(&cfg, all_keys[k], buf1, sizeof buf1),
				             show(&def, all_keys[k], buf2, sizeof buf2));
		tb_check(cfg.database && *cfg.database, "no database");
	}
	tb_config_free(&cfg);
	tb_config_free(&def);
	tb_end();
}

/* ---- the key table, conf/teamboard.conf.sample and docs/operations.md agree ---- */

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* The whole file at srcdir/rel (caller frees), NULL when unreadable. */
static char *read_src(const char *rel)
{
	const char *srcdir = getenv("srcdir");
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", srcdir ? srcdir : "..", rel);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	struct tb_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tb_buf_append(&b, chunk, n);
	fclose(f);
	char *s = tb_xstrdup(tb_buf_str(&b));
	tb_buf_free(&b);
	return s;
}

/* A line of text that starts with "key = " or "# key = " (a setting shown commented out). */
static bool sample_has(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *p = strncmp(l, "# ", 2) == 0 ? l + 2 : l;
		if (strncmp(p, key, kl) == 0 && strncmp(p + kl, " = ", 3) == 0)
			return true;
	}
	return false;
}

static void test_key_table(void)
{
	tb_case(__FILE__, __LINE__, "tb_config_key_name: the same keys as this test's all_keys");
	tb_check_uint("count", tb_config_key_count(), N_ELEMS(all_keys));
	for (size_t i = 0; i < tb_config_key_count(); i++)
		tb_check(in_list(tb_config_key_name(i), all_keys, N_ELEMS(all_keys)), "key %s not tested",
		         tb_config_key_name(i));
	tb_check(tb_config_key_name(tb_config_key_count()) == NULL, "a name beyond the last key");
	tb_end();

	char *sample = read_src("conf/teamboard.conf.sample"), *ops = read_src("docs/operations.md");
	for (size_t i = 0; i < tb_config_key_count(); i++) {
		const char *key = tb_config_key_name(i);
		char cell[128];
		snprintf(cell, sizeof cell, "| `%s` |", key);
		tb_case(__FILE__, __LINE__, "%s: in conf/teamboard.conf.sample and docs/operations.md's table", key);
		tb_check(sample && sample_has(sample, key), "no \"%s = \" line in conf/teamboard.conf.sample", key);
		tb_check(ops && strstr(ops, cell), "no row %s in docs/operations.md", cell);
		tb_end();
	}
	free(sample);
	free(ops);
}

/* tb_config_show spells every key as this test's show() does; database with its password masked. */
static void test_show(void)
{
	static const char text[] =
		"max_body = 1000\nallowed_origins = http://a https://b:8443\n"
		"registration = closed\nlog_level = debug\nsupervisor = auto\n"
		"cookie_secure = on\nlog_file = /tmp/x.log\nhost_name = web1\n";
	struct tb_config cfg;
	char err[256] = "", a[2048], b[2048];
	tb_config_defaults(&cfg);
	tb_case(__FILE__, __LINE__, "tb_config_show: every key as the file spells it");
	if (tb_check_err("parse", tb_config_parse(&cfg, NAME, text, err, sizeof err), TB_OK)) {
		for (size_t k = 0; k < N_ELEMS(all_keys); k++)
			if (strcmp(all_keys[k], "database") != 0)
				tb_check_str(all_keys[k], tb_config_show(&cfg, all_keys[k], true, a, sizeof a),
				             show(&cfg, all_keys[k], b, sizeof b));
		tb_check(tb_config_show(&cfg, "nope", true, a, sizeof a) == NULL, "an unknown key shown");
	}
	tb_config_free(&cfg);
	tb_end();

	static const struct {
		int line;
		const char *value, *masked, *plain;
	} dbs[] = {
		{__LINE__, "dbname=teamboard", "dbname=teamboard", "dbname=teamboard"},
		{__LINE__, "host=/run/pg dbname=tb user=app password=s3cret#1",
	         "user=app password=******** dbname=tb host=/run/pg",
	         "user=app password=s3cret#1 dbname=tb host=/run/pg"},
		{__LINE__, "password='a b' dbname=x", "password=******** dbname=x", "password='a b' dbname=x"},
		{__LINE__, "postgresql://app:pw@db.example.org:5433/tb",
	         "user=app password=******** dbname=tb host=db.example.org port=5433",
	         "user=app password=pw dbname=tb host=db.example.org port=5433"},
		{__LINE__, "dbname='it\\'s' application_name='x\\\\y'", "dbname='it\\'s' application_name='x\\\\y'",
	         "dbname='it\\'s' application_name='x\\\\y'"},
	};
	for (size_t i = 0; i < N_ELEMS(dbs); i++) {
		char line[512];
		snprintf(line, sizeof line, "database = %s\n", dbs[i].value);
		tb_config_defaults(&cfg);
		tb_case(__FILE__, dbs[i].line, "tb_config_show(database = %s)", tb_q(dbs[i].value));
		if (tb_check_err("parse", tb_config_parse(&cfg, NAME, line, err, sizeof err), TB_OK) ||
		    tb_fail("message %s", tb_q(err))) {
			tb_check_str("masked", tb_config_show(&cfg, "database", true, a, sizeof a), dbs[i].masked);
			tb_check_str("plain", tb_config_show(&cfg, "database", false, a, sizeof a), dbs[i].plain);
		}
		tb_config_free(&cfg);
		tb_end();
	}
}

int main(void)
{
	test_defaults();
	test_default_host_name();
	test_parse_good();
	test_parse_bad();
	test_bounds();
	test_parse_layers();
	test_errlen();
	test_load();
	test_load_missing();
	test_load_sample();
	test_key_table();
	test_show();
	return tb_done();
}
