/* tb_fcgi_rec: the FastCGI record protocol (FastCGI Specification 1.0, sections 3 to 6) for the
 * stream host of issue 13, without a socket: the caller feeds the bytes a web server sent, in
 * pieces of any size, and gets what they were: the start of a request (BEGIN_REQUEST, responder
 * role), its parameters (the PARAMS name-value stream, decoded once its empty record came, within
 * limits on each name, each value and the whole), its body (STDIN, in pieces, then its end), an
 * ABORT_REQUEST, or a protocol error, after which the parser takes nothing more and the caller
 * closes the connection. The other direction encodes STDOUT records (split at 65535 bytes) and
 * END_REQUEST. One request per connection, as lighttpd and Apache's mod_proxy_fcgi send them:
 * a second BEGIN_REQUEST, records of another request id, management records (request id 0) and
 * the record types a web server never sends (STDOUT, END_REQUEST, DATA of the filter role, ...)
 * are protocol errors. Tests: tests/unit/test_fcgi_rec.c. */
#ifndef TB_FCGI_REC_H
#define TB_FCGI_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_buf.h"

/* The record types of the specification that this module reads or writes. */
enum tb_fcgi_type {
	TB_FCGI_BEGIN_REQUEST = 1,
	TB_FCGI_ABORT_REQUEST = 2,
	TB_FCGI_END_REQUEST = 3,
	TB_FCGI_PARAMS = 4,
	TB_FCGI_STDIN = 5,
	TB_FCGI_STDOUT = 6,
};

/* The most content one record carries. */
#define TB_FCGI_CONTENT_MAX 65535

/* What one call of tb_fcgi_feed found. */
enum tb_fcgi_kind {
	TB_FCGI_NONE,       /* everything given was taken and nothing completed: feed more */
	TB_FCGI_BEGIN,      /* BEGIN_REQUEST, role responder: request_id and keep_conn are set */
	TB_FCGI_PARAMS_END, /* the parameters are complete: tb_fcgi_param reads them */
	TB_FCGI_STDIN_DATA, /* a piece of the body: data/len point into the bytes fed */
	TB_FCGI_STDIN_END,  /* the body's end (the empty STDIN record) */
	TB_FCGI_ABORT,      /* ABORT_REQUEST: the web server gave up the request */
	TB_FCGI_ERROR,      /* a protocol error (error says which); nothing more is taken */
};

/* The protocol errors. */
enum tb_fcgi_error {
	TB_FCGI_OK,
	TB_FCGI_E_VERSION,    /* a version other than 1 */
	TB_FCGI_E_TYPE,       /* a record type a web server does not send, or a management record */
	TB_FCGI_E_ORDER,      /* out of order: before BEGIN_REQUEST, STDIN before the parameters' end,
	                       * a second BEGIN_REQUEST, PARAMS after their end, anything after STDIN's end */
	TB_FCGI_E_REQUEST_ID, /* a record of another request than the one begun */
	TB_FCGI_E_BEGIN,      /* a BEGIN_REQUEST body that is not 8 bytes */
	TB_FCGI_E_ROLE,       /* a role other than responder */
	TB_FCGI_E_PAIR,       /* a name-value pair cut short, an empty name, a NUL in a name or value */
	TB_FCGI_E_NAME,       /* a name longer than limits.name_max */
	TB_FCGI_E_VALUE,      /* a value longer than limits.value_max */
	TB_FCGI_E_PARAMS,     /* the PARAMS stream longer than limits.params_max */
};

struct tb_fcgi_limits {
	size_t name_max, value_max, params_max; /* bytes */
};

/* One result of tb_fcgi_feed. */
struct tb_fcgi_event {
	enum tb_fcgi_kind kind;
	enum tb_fcgi_error error; /* TB_FCGI_ERROR */
	const char *data;         /* TB_FCGI_STDIN_DATA: into the bytes fed, valid while they are */
	size_t len;
};

/* A connection's parser; zero it, then tb_fcgi_init. Internals are the module's. */
struct tb_fcgi_parser {
	struct tb_fcgi_limits lim;
	unsigned char head[8], begin[8];
	size_t head_len, begin_len;
	unsigned type;
	uint16_t id;             /* the record's */
	size_t content, padding; /* left of the record's */
	bool empty;              /* the record has no content */
	uint16_t request_id;     /* the request's, once begun */
	bool keep_conn;          /* FCGI_KEEP_CONN was set */
	int stage;               /* 0 before BEGIN, 1 parameters, 2 body, 3 after the body */
	struct tb_buf params;    /* the PARAMS stream, then the decoded "name\0value\0" pairs */
	size_t n_params;
	enum tb_fcgi_error error;
};

void tb_fcgi_init(struct tb_fcgi_parser *p, const struct tb_fcgi_limits *lim);
void tb_fcgi_free(struct tb_fcgi_parser *p);

/* Takes bytes from in[0..len) up to the first thing that completes and describes it in *ev;
 * returns how many bytes it took. Call again with the rest while it took less than len or found
 * something (ev->kind != TB_FCGI_NONE); after TB_FCGI_ERROR it takes nothing. */
size_t tb_fcgi_feed(struct tb_fcgi_parser *p, const char *in, size_t len, struct tb_fcgi_event *ev);

/* The value of the parameter name once TB_FCGI_PARAMS_END came; NULL when absent (the first of
 * several of one name counts). */
const char *tb_fcgi_param(const struct tb_fcgi_parser *p, const char *name);

/* Frees the parameters once they are no longer read (a held stream keeps no copy of them):
 * tb_fcgi_param finds none afterwards. */
void tb_fcgi_forget_params(struct tb_fcgi_parser *p);

/* Whether the parser is inside a record (a connection closing now cut one short). */
bool tb_fcgi_mid_record(const struct tb_fcgi_parser *p);

/* The error's name for the log ("version", "order", ...). */
const char *tb_fcgi_error_name(enum tb_fcgi_error e);

/* Appends len bytes of data as STDOUT records of request id, at most TB_FCGI_CONTENT_MAX each;
 * len 0 appends the empty record that ends the output. */
void tb_fcgi_stdout(struct tb_buf *out, uint16_t id, const char *data, size_t len);
/* Appends END_REQUEST of request id: app_status, protocol status REQUEST_COMPLETE (0). */
void tb_fcgi_end_request(struct tb_buf *out, uint16_t id, uint32_t app_status);

#endif
