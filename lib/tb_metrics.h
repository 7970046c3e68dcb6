/* tb_metrics: per-host counters shared by every Teamboard process of one database on this host
 * (workers, pools, supervisor). They live in a small shared-memory file, so they survive worker
 * restarts; increments are atomic adds. The same file holds the table of held workers (one slot
 * per process holding a stream or running a poll), against which the stream limits are checked.
 * Other gauges (registry rows, leader) are read from PostgreSQL when the metrics are served. */
#ifndef TB_METRICS_H
#define TB_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_buf.h"
#include "tb_err.h"

struct tb_config;
struct tb_app;
struct tb_req;
struct tb_resp;

enum tb_metric {
	TB_M_EVENTS_SENT,     /* events written to streams (live) */
	TB_M_EVENTS_REPLAYED, /* events written to streams from the log on resume */
	TB_M_HEARTBEATS,      /* heartbeats and keep-alives written to streams */
	TB_M_STREAMS_OPENED,
	TB_M_STREAMS_REFUSED, /* 503: max_streams, max_streams_per_user or _per_address reached */
	TB_M_CLOSED_CLIENT_GONE,
	TB_M_CLOSED_LIFETIME,
	TB_M_CLOSED_REVOKED,
	TB_M_CLOSED_RECYCLED,
	TB_M_CLOSED_ERROR,
	TB_M_POLLS,                 /* JSON polls of the event log */
	TB_M_CLOSED_SLOW_CLIENT,    /* a write to the client passed write_timeout (streams and polls) */
	TB_M_LARGE_REPLIES_REFUSED, /* 503 busy: max_large_replies_per_address or max_large_replies (tb_server.c) */
	TB_M__MAX
};

/* Maps the counters for cfg's database on this host (a file under /dev/shm, else /tmp, named
 * from the user id and a hash of the conninfo). On failure counting goes on in process memory. */
enum tb_err tb_metrics_open(const struct tb_config *cfg);
/* The same at an explicit path (tests). */
enum tb_err tb_metrics_open_path(const char *path);
void tb_metrics_add(enum tb_metric m, uint64_t n);
uint64_t tb_metrics_get(enum tb_metric m);
/* Prometheus name and labels of a counter, e.g. "teamboard_streams_closed_total{reason=\"lifetime\"}". */
const char *tb_metrics_name(enum tb_metric m);

/* Unmaps the shared counters; counting goes on in process memory (from zero). For tests. */
void tb_metrics_close(void);
/* Writes 16 hex digits naming cfg's database and host and a NUL into out: FNV-1a 64 of the
 * connection string's settings but its password ("keyword=value" NUL each), a NUL, host_name. The
 * same processes of one installation on one host get the same id, whatever the password. */
void tb_metrics_instance_id(const struct tb_config *cfg, char out[17]);
/* True when addr (REMOTE_ADDR, IPv4 or IPv6 text) is in allow: addresses and CIDRs separated by
 * spaces, tabs or commas. An IPv4-mapped IPv6 address ("::ffff:127.0.0.1") counts as its IPv4
 * address. Unparsable entries never match (they are logged once per process). */
bool tb_metrics_allowed(const char *allow, const char *addr);

/* ---- held workers ----
 * A process holding a stream or running a JSON poll claims one slot (its pid, kind, user, client
 * address, board) in the shared file and releases it when done; so does a process writing a large
 * REST reply (TB_HOLD_REPLY). A stream or poll slot whose pid no longer exists is free, so a
 * killed worker (or a CGI process: one per request) frees its slot by dying. A reply slot is
 * different: time decides. It counts until the deadline set when it was claimed, unless its owner
 * releases it sooner, whether its process is alive, dead or its pid reused: the web server may hold
 * the client's connection (and mod_fcgid the process) after the program gave up or died. The count
 * is of processes really held, whatever the stream registry in PostgreSQL says. A process holds at
 * most one slot. */
enum tb_hold_kind { TB_HOLD_STREAM, TB_HOLD_POLL, TB_HOLD_REPLY, TB_HOLD__MAX };

/* Limits a new stream or poll is checked against; streams and polls count together, large
 * replies not at all. per_host and per_user: at most that many (0 refuses all); per_address: 0
 * means no limit. */
struct tb_hold_limits {
	long per_host, per_user, per_address;
};

/* The table's size: more concurrent holds per host are refused like a limit. */
#define TB_HOLD_SLOTS 4096

/* Counts the live slots and claims one for this process when every limit leaves room, as one step
 * under an exclusive flock(2) on the shared file, so concurrent claims cannot both take the last
 * place. kind: TB_HOLD_STREAM or TB_HOLD_POLL (TB_HOLD_REPLY: TB_ERR_INVALID, see
 * tb_metrics_hold_reply). addr is REMOTE_ADDR (may be NULL; truncated to 47 bytes). TB_OK: claimed
 * (release with tb_metrics_unhold); TB_ERR_TOO_LARGE: a limit is reached, nothing claimed;
 * TB_ERR_IO: no shared file (process memory) or it cannot be locked: the caller must count some
 * other way. */
enum tb_err tb_metrics_hold(enum tb_hold_kind kind, int64_t user_id, const char *addr, int64_t board_id,
                            const struct tb_hold_limits *lim);
/* The longest time a reply slot may count (hold_ms is cut to it). A deadline further off than this
 * cannot come from a claim on this clock (a file of an earlier boot under /tmp): such a slot is
 * free. */
#define TB_HOLD_REPLY_MAX_MS ((int64_t)4 * 3600 * 1000)

/* Claims a slot of kind TB_HOLD_REPLY for this process, as tb_metrics_hold does, when fewer than
 * per_address live reply slots have this addr_key (the client's address, an IPv6 one by its /64:
 * tb_auth_address_key) and fewer than per_host in all; 0 means no limit for either. Streams and
 * polls do not count. The slot counts for hold_ms (1 … TB_HOLD_REPLY_MAX_MS) from now, whatever
 * becomes of this process, unless tb_metrics_unhold or tb_metrics_linger end it sooner. Same
 * results as tb_metrics_hold. */
enum tb_err tb_metrics_hold_reply(const char *addr_key, long per_address, long per_host, int64_t hold_ms);
/* Lets this process's reply slot count for at most ms more (it never outlasts its claim's
 * deadline), then it is free by itself; the process's next hold or unhold releases it sooner. For
 * a reply whose client stopped reading: the web server may keep the process busy after the program
 * gave up (mod_fcgid until Apache's Timeout). A stream or poll slot is released at once. */
void tb_metrics_linger(int64_t ms);
/* Releases this process's slot (lingering or not); a no-op when it holds none. */
void tb_metrics_unhold(void);
/* Counts the live slots by kind into held[]; false (held[] zeroed) without the shared file. */
bool tb_metrics_held(uint64_t held[TB_HOLD__MAX]);

/* The live poll slots of other processes: out[0] all, out[1] user_id's, out[2] addr's (as
 * tb_metrics_hold compares them). For a stream host's registration, which counts its streams in
 * the registry and the polls here. false (all 0) without the shared file. No lock: the caller
 * serialises with the polls some other way (tb_stream_lock_registry). */
bool tb_metrics_held_polls(int64_t user_id, const char *addr, long out[3]);

/* The gauges read from PostgreSQL when the metrics are served. */
struct tb_metrics_gauges {
	bool have_db;                /* false: the database did not answer; the gauges are left out */
	int64_t streams_open;        /* registry rows of this host */
	int64_t streams_open_all;    /* registry rows of all hosts */
	bool leader;                 /* the supervisor that reported within two intervals runs on this host */
	bool have_held;              /* the held-slot gauges below come from the shared file */
	uint64_t held[TB_HOLD__MAX]; /* processes holding a stream / running a poll / writing a large reply */
};
/* Appends the Prometheus text exposition (format 0.0.4) of every counter and of g to out, each
 * series labelled host="<host>" (escaped as the format requires) except the all-hosts gauge. */
void tb_metrics_render(struct tb_buf *out, const char *host, const struct tb_metrics_gauges *g);

/* GET /api/v1/metrics (api_metrics.c): the exposition, to addresses in cfg->metrics_allow only
 * (403 otherwise). No session needed. A database that does not answer leaves the gauges out. */
void tb_api_metrics(struct tb_app *app, struct tb_req *req, struct tb_resp *resp);

#endif
