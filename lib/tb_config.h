/* tb_config: teamboard.conf, "key = value" lines, '#' comments (a whole line, or after a value
 * when the '#' follows white space: "host_name = web1  # per host" is web1, while
 * "database = password=a#b" keeps its '#'). Every key is known here with its type and bounds; an
 * unknown key, a duplicate or a bad value (database: what libpq cannot parse; log_file: not an
 * absolute path) is an error naming file and line. */
#ifndef TB_CONFIG_H
#define TB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_err.h"
#include "tb_log.h"

#define TB_CONFIG_MAX_ORIGINS 16

enum tb_supervisor_mode { TB_SUPERVISOR_OFF, TB_SUPERVISOR_AUTO };

struct tb_config {
	char *database;   /* libpq conninfo */
	size_t max_body;  /* bytes */
	long session_ttl; /* seconds */
	bool cookie_secure;
	char *allowed_origins[TB_CONFIG_MAX_ORIGINS]; /* "scheme://host[:port]", NULL-terminated */
	size_t n_allowed_origins;
	bool registration_open;
	enum tb_log_level log_level;
	/* live boards */
	long heartbeat_interval; /* seconds */
	long stream_max_seconds; /* 0 = unlimited */
	long max_streams;        /* per host */
	long max_streams_per_user;
	long max_guest_streams;         /* streams and polls of public links' guests, together, per host */
	long event_retention_days;      /* 0 = events are kept for the board's life */
	long event_retention_per_board; /* 0 = no cap */
	long trash_days;                /* deleted boards and notes are purged after this; 0 = never */
	long replay_limit;
	enum tb_supervisor_mode supervisor;
	char *metrics_allow; /* space-separated addresses or CIDRs */
	char *host_name;     /* this host in the stream registry (default: gethostname) */
	/* hostile and slow clients */
	long write_timeout;                 /* seconds a write to the client may block in all */
	long body_timeout;                  /* seconds to read a whole request body (else 408) */
	size_t max_reply;                   /* bytes: a poll page or a board's items stop before this */
	long max_streams_per_address;       /* open streams and polls per client address and host; 0 = no limit */
	long login_max_failures;            /* failed sign-ins per account or address in login_window; 0 = off */
	long login_window;                  /* seconds */
	long max_large_replies_per_address; /* REST replies over 256 KiB in flight per address and host; 0 = no limit */
	long max_large_replies; /* REST replies over 256 KiB in flight on this host, all addresses; 0 = no limit */
	long reply_linger;      /* seconds such a reply still counts once abandoned: the web server's Timeout + 5 */
	long password_cost;     /* yescrypt's cost for new password hashes: 1 (fastest) ... 11; each step doubles */
	size_t max_import;      /* bytes: the largest body of POST /boards/import (its own limit, not max_body) */
	/* logging */
	char *log_file; /* NULL: standard error (the web server's error log) */
};

/* Heartbeats: the supervisor NOTIFYs every board with an open stream each heartbeat_interval.
 * Silence counts as lost after TB_HEARTBEAT_MISSED intervals: a stream then writes its own
 * keep-alive (tb_stream.c), the supervisor recycles a holder that answered none of that many
 * (tb_supervisor.c, with 2 s more for the answer's own way), and the metrics call a supervisor
 * down that reported in none of that many of its own intervals (api_metrics.c). */
#define TB_HEARTBEAT_MISSED 2

/* The seconds of silence after which heartbeats count as lost: TB_HEARTBEAT_MISSED intervals. */
static inline long tb_heartbeat_window(const struct tb_config *cfg)
{
	return TB_HEARTBEAT_MISSED * cfg->heartbeat_interval;
}

/* Fills cfg with the defaults (caller frees with tb_config_free). */
void tb_config_defaults(struct tb_config *cfg);
/* Parses text as a config file named name, on top of what cfg holds. On error returns
 * TB_ERR_INVALID and writes "name:line: message" into errbuf; cfg may be partly updated. */
enum tb_err tb_config_parse(struct tb_config *cfg, const char *name, const char *text, char *errbuf, size_t errlen);
/* Reads and parses the file at path (defaults first). Errors as for tb_config_parse. */
enum tb_err tb_config_load(struct tb_config *cfg, const char *path, char *errbuf, size_t errlen);
void tb_config_free(struct tb_config *cfg);

/* The number of keys, and the name of key i (0 <= i < tb_config_key_count()), in the order of
 * the key table (the order of conf/teamboard.conf.sample). NULL beyond the last. */
size_t tb_config_key_count(void);
const char *tb_config_key_name(size_t i);
/* The value of key in cfg as a config file would spell it, written into buf (truncated to len):
 * "" for an unset string (log_file) or no origins. With mask_password, a password in database is
 * shown as ******** (database is shown in libpq's keyword = value form). NULL for an unknown key. */
const char *tb_config_show(const struct tb_config *cfg, const char *key, bool mask_password, char *buf, size_t len);

#endif
