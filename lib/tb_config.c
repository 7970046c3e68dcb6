/* tb_config: parses teamboard.conf. A static table names every key, its type and bounds, and
 * where it is stored; parsing is one loop over lines. Errors carry "file:line: message". */
#include "tb_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tb_buf.h"

enum key_type {
	K_STRING,
	K_LONG,
	K_SIZE,
	K_BOOL,
	K_ORIGINS,
	K_REGISTRATION,
	K_LOG_LEVEL,
	K_SUPERVISOR,
	K_CONNINFO, /* a string libpq can parse */
	K_PATH,     /* an absolute path */
};

struct key {
	const char *name;
	enum key_type type;
	long min, max;
	size_t offset;
};

#define OFF(field) offsetof(struct tb_config, field)

static const struct key keys[] = {
	{"database", K_CONNINFO, 0, 0, OFF(database)},
	{"max_body", K_SIZE, 64, 64L * 1024 * 1024, OFF(max_body)},
	{"session_ttl", K_LONG, 60, 366L * 24 * 3600, OFF(session_ttl)},
	{"cookie_secure", K_BOOL, 0, 0, OFF(cookie_secure)},
	{"allowed_origins", K_ORIGINS, 0, 0, 0},
	{"registration", K_REGISTRATION, 0, 0, OFF(registration_open)},
	{"log_level", K_LOG_LEVEL, 0, 0, OFF(log_level)},
	{"heartbeat_interval", K_LONG, 1, 3600, OFF(heartbeat_interval)},
	{"stream_max_seconds", K_LONG, 0, 7L * 24 * 3600, OFF(stream_max_seconds)},
	{"max_streams", K_LONG, 0, 1000000, OFF(max_streams)},
	{"max_streams_per_user", K_LONG, 0, 1000000, OFF(max_streams_per_user)},
	{"max_guest_streams", K_LONG, 0, 1000000, OFF(max_guest_streams)},
	{"event_retention_days", K_LONG, 0, 36500, OFF(event_retention_days)},
	{"event_retention_per_board", K_LONG, 0, 100000000, OFF(event_retention_per_board)},
	{"trash_days", K_LONG, 0, 36500, OFF(trash_days)},
	{"replay_limit", K_LONG, 1, 10000000, OFF(replay_limit)},
	{"supervisor", K_SUPERVISOR, 0, 0, OFF(supervisor)},
	{"metrics_allow", K_STRING, 0, 0, OFF(metrics_allow)},
	{"host_name", K_STRING, 0, 0, OFF(host_name)},
	{"write_timeout", K_LONG, 1, 3600, OFF(write_timeout)},
	{"body_timeout", K_LONG, 1, 3600, OFF(body_timeout)},
	{"max_reply", K_SIZE, 65536, 256L * 1024 * 1024, OFF(max_reply)},
	{"max_streams_per_address", K_LONG, 0, 1000000, OFF(max_streams_per_address)},
	{"login_max_failures", K_LONG, 0, 1000000, OFF(login_max_failures)},
	{"login_window", K_LONG, 60, 7L * 24 * 3600, OFF(login_window)},
	{"max_large_replies_per_address", K_LONG, 0, 1000000, OFF(max_large_replies_per_address)},
	{"max_large_replies", K_LONG, 0, 1000000, OFF(max_large_replies)},
	{"reply_linger", K_LONG, 0, 3600, OFF(reply_linger)},
	{"log_file", K_PATH, 0, 0, OFF(log_file)},
	{"password_cost", K_LONG, 1, 11, OFF(password_cost)},
	{"max_import", K_SIZE, 1024, 1024L * 1024 * 1024, OFF(max_import)},
};

void tb_config_defaults(struct tb_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->database = tb_xstrdup("dbname=teamboard");
	cfg->max_body = 65536;
	cfg->session_ttl = 14L * 24 * 3600;
	cfg->registration_open = true;
	cfg->log_level = TB_LOG_INFO;
	cfg->heartbeat_interval = 15;
	cfg->stream_max_seconds = 600;
	cfg->max_streams = 200;
	cfg->max_streams_per_user = 20;
	cfg->max_guest_streams = 50;
	cfg->event_retention_days = 0;      /* the log is the board's history: kept for its life */
	cfg->event_retention_per_board = 0; /* no cap */
	cfg->trash_days = 30;
	cfg->replay_limit = 5000;
	cfg->supervisor = TB_SUPERVISOR_OFF;
	cfg->metrics_allow = tb_xstrdup("127.0.0.1 ::1");
	cfg->write_timeout = 10;
	cfg->body_timeout = 30;
	cfg->max_reply = (size_t)4 << 20;
	cfg->max_import = (size_t)16 << 20;
	cfg->max_streams_per_address = 50;
	cfg->login_max_failures = 10;
	cfg->login_window = 900;
	cfg->max_large_replies_per_address = 2;
	cfg->max_large_replies = 8;
	cfg->reply_linger = 25; /* conf/apache/teamboard.conf's Timeout 20 s, and 5 s (lib/tb_server.h) */
	cfg->password_cost = 5; /* libxcrypt's default for yescrypt: about 60 ms a hash on a 2026 VM core */
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	cfg->host_name = tb_xstrdup(host);
}

static void clear_origins(struct tb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_allowed_origins; i++) {
		free(cfg->allowed_origins[i]);
		cfg->allowed_origins[i] = NULL;
	}
	cfg->n_allowed_origins = 0;
}

void tb_config_free(struct tb_config *cfg)
{
	free(cfg->database);
	free(cfg->metrics_allow);
	free(cfg->host_name);
	free(cfg->log_file);
	cfg->database = cfg->metrics_allow = cfg->host_name = cfg->log_file = NULL;
	clear_origins(cfg);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "scheme://host[:port]" with scheme http or https, a non-empty host, a port of 1 to 65535. */
static bool origin_well_formed(const char *s)
{
	const char *rest;
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return false;
	const char *colon = strrchr(rest, ':');
	if (colon && strchr(rest, ']') > colon)
		colon = NULL; /* inside an IPv6 literal */
	size_t host_len = colon ? (size_t)(colon - rest) : strlen(rest);
	if (host_len == 0)
		return false;
	for (size_t i = 0; i < host_len; i++) {
		char c = rest[i];
		if (c == '/' || c == '?' || c == '#' || c == '@' || (unsigned char)c <= ' ' ||
		    (c == ':' && rest[0] != '['))
			return false;
	}
	if (colon) {
		long port;
		if (!parse_long(colon + 1, 1, 65535, &port))
			return false;
	}
	return true;
}

static bool set_origins(struct tb_config *cfg, char *value, const char **why)
{
	clear_origins(cfg);
	for (char *save = NULL, *tok = strtok_r(value, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (!origin_well_formed(tok)) {
			*why = "each origin must be http(s)://host[:port]";
			return false;
		}
		if (cfg->n_allowed_origins == TB_CONFIG_MAX_ORIGINS - 1) {
			*why = "too many origins (at most 15)";
			return false;
		}
		cfg->allowed_origins[cfg->n_allowed_origins++] = tb_xstrdup(tok);
	}
	return true;
}

static void set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = tb_xstrdup(value);
}

/* libpq's own parser judges a conninfo; its message (one line) becomes *why. */
static bool conninfo_valid(const char *value, const char **why)
{
	static char msg[256];
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(value, &perr);
	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	snprintf(msg, sizeof msg, "not a libpq connection string: %s", perr ? perr : "out of memory");
	msg[strcspn(msg, "\n")] = '\0';
	PQfreemem(perr);
	*why = msg;
	return false;
}

/* Stores value (NUL-terminated, trimmed) for k; false with *why set when it is not valid. */
static bool set_value(struct tb_config *cfg, const struct key *k, char *value, const char **why)
{
	char *base = (char *)cfg;
	long n;
	switch (k->type) {
	case K_CONNINFO:
		if (!conninfo_valid(value, why))
			return false;
		set_string((char **)(base + k->offset), value);
		return true;
	case K_PATH:
		if (value[0] != '/') {
			*why = "must be an absolute path";
			return false;
		}
		set_string((char **)(base + k->offset), value);
		return true;
	case K_STRING: set_string((char **)(base + k->offset), value); return true;
	case K_LONG:
	case K_SIZE:
		if (!parse_long(value, k->min, k->max, &n)) {
			*why = "must be a whole number in range";
			return false;
		}
		if (k->type == K_SIZE)
			*(size_t *)(base + k->offset) = (size_t)n;
		else
			*(long *)(base + k->offset) = n;
		return true;
	case K_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
			*(bool *)(base + k->offset) = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "off") == 0)
			*(bool *)(base + k->offset) = false;
		else {
			*why = "must be true or false";
			return false;
		}
		return true;
	case K_ORIGINS: return set_origins(cfg, value, why);
	case K_REGISTRATION:
		if (strcmp(value, "open") != 0 && strcmp(value, "closed") != 0) {
			*why = "must be open or closed";
			return false;
		}
		cfg->registration_open = strcmp(value, "open") == 0;
		return true;
	case K_LOG_LEVEL:
		if (!tb_log_level_parse(value, &cfg->log_level)) {
			*why = "must be debug, info, warn or error";
			return false;
		}
		return true;
	case K_SUPERVISOR:
		if (strcmp(value, "off") == 0)
			cfg->supervisor = TB_SUPERVISOR_OFF;
		else if (strcmp(value, "auto") == 0)
			cfg->supervisor = TB_SUPERVISOR_AUTO;
		else {
			*why = "must be off or auto";
			return false;
		}
		return true;
	}
	return false;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Cuts a comment off a value: a '#' at its start or after a space or tab. A '#' inside a word
 * stays (a password in the database conninfo may hold one). */
static void cut_comment(char *value)
{
	for (char *p = value; *p; p++) {
		if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
}

static enum tb_err fail(char *errbuf, size_t errlen, const char *name, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum tb_err fail(char *errbuf, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	int n = snprintf(errbuf, errlen, "%s:%d: ", name, line);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return TB_ERR_INVALID;
}

enum tb_err tb_config_parse(struct tb_config *cfg, const char *name, const char *text, char *errbuf, size_t errlen)
{
	enum { N_KEYS = sizeof keys / sizeof keys[0] };
	bool seen[N_KEYS] = {false};
	char *copy = tb_xstrdup(text);
	enum tb_err err = TB_OK;
	int lineno = 0;
	/* Walked by hand, not with strtok_r, which would skip empty lines and miscount them. */
	for (char *line = copy; line && err == TB_OK; lineno++) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *s = trim(line);
		line = nl ? nl + 1 : NULL;
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			err = fail(errbuf, errlen, name, lineno + 1, "expected key = value");
			break;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		cut_comment(value);
		value = trim(value);
		size_t i = 0;
		while (i < N_KEYS && strcmp(keys[i].name, key) != 0)
			i++;
		const char *why = NULL;
		if (i == N_KEYS)
			err = fail(errbuf, errlen, name, lineno + 1, "unknown key '%.64s'", key);
		else if (seen[i])
			err = fail(errbuf, errlen, name, lineno + 1, "%s: set twice", key);
		else if (*value == '\0')
			err = fail(errbuf, errlen, name, lineno + 1, "%s: empty value", key);
		else if (!set_value(cfg, &keys[i], value, &why))
			err = fail(errbuf, errlen, name, lineno + 1, "%s: %s", key, why);
		else
			seen[i] = true;
	}
	free(copy);
	return err;
}

enum tb_err tb_config_load(struct tb_config *cfg, const char *path, char *errbuf, size_t errlen)
{
	tb_config_defaults(cfg);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
		return TB_ERR_NOT_FOUND;
	}
	struct tb_buf text = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tb_buf_append(&text, chunk, n);
	bool read_error = ferror(f);
	fclose(f);
	enum tb_err err;
	if (read_error) {
		snprintf(errbuf, errlen, "%s: read error", path);
		err = TB_ERR_IO;
	} else if (memchr(tb_buf_str(&text), '\0', text.len)) {
		snprintf(errbuf, errlen, "%s: contains a NUL byte", path);
		err = TB_ERR_INVALID;
	} else {
		err = tb_config_parse(cfg, path, tb_buf_str(&text), errbuf, errlen);
	}
	tb_buf_free(&text);
	return err;
}

size_t tb_config_key_count(void)
{
	return sizeof keys / sizeof keys[0];
}

const char *tb_config_key_name(size_t i)
{
	return i < tb_config_key_count() ? keys[i].name : NULL;
}

/* conninfo in libpq's keyword = value form, values quoted where needed, the password masked. */
static void show_conninfo(const char *conninfo, bool mask, char *buf, size_t len)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	if (opts == NULL) {
		snprintf(buf, len, "%s", mask ? "(not a connection string)" : conninfo ? conninfo : "");
		return;
	}
	struct tb_buf out = {0};
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		const char *v = mask && strcmp(o->keyword, "password") == 0 ? "********" : o->val;
		bool quote = *v == '\0' || strpbrk(v, " \t'\\") != NULL;
		tb_buf_printf(&out, "%s%s=%s", out.len ? " " : "", o->keyword, quote ? "'" : "");
		for (const char *c = v; *c; c++) {
			if (quote && (*c == '\'' || *c == '\\'))
				tb_buf_append(&out, "\\", 1);
			tb_buf_append(&out, c, 1);
		}
		if (quote)
			tb_buf_append(&out, "'", 1);
	}
	snprintf(buf, len, "%s", tb_buf_str(&out));
	tb_buf_free(&out);
	PQconninfoFree(opts);
}

static void show_origins(const struct tb_config *cfg, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_allowed_origins && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? " " : "", cfg->allowed_origins[i]);
		o += n > 0 ? (size_t)n : 0;
	}
}

const char *tb_config_show(const struct tb_config *cfg, const char *key, bool mask_password, char *buf, size_t len)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	const struct key *k = NULL;
	for (size_t i = 0; i < tb_config_key_count() && !k; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (k == NULL || len == 0)
		return NULL;
	const char *base = (const char *)cfg;
	const char *s;
	switch (k->type) {
	case K_CONNINFO: show_conninfo(*(char *const *)(base + k->offset), mask_password, buf, len); return buf;
	case K_STRING:
	case K_PATH:
		s = *(char *const *)(base + k->offset);
		snprintf(buf, len, "%s", s ? s : "");
		return buf;
	case K_LONG: snprintf(buf, len, "%ld", *(const long *)(base + k->offset)); return buf;
	case K_SIZE: snprintf(buf, len, "%zu", *(const size_t *)(base + k->offset)); return buf;
	case K_BOOL: s = *(const bool *)(base + k->offset) ? "true" : "false"; break;
	case K_ORIGINS: show_origins(cfg, buf, len); return buf;
	case K_REGISTRATION: s = cfg->registration_open ? "open" : "closed"; break;
	case K_LOG_LEVEL: s = (unsigned)cfg->log_level < 4 ? levels[cfg->log_level] : "?"; break;
	case K_SUPERVISOR: s = cfg->supervisor == TB_SUPERVISOR_AUTO ? "auto" : "off"; break;
	default: return NULL;
	}
	snprintf(buf, len, "%s", s);
	return buf;
}
