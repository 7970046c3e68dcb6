/* tb_fcgi_rec: the FastCGI record codec (see tb_fcgi_rec.h). A record is an 8-byte header
 * (version, type, request id, content length, padding length, reserved), its content and its
 * padding; the parser keeps the header until it is whole, the PARAMS content until the stream's
 * empty record, the BEGIN_REQUEST body, and nothing of STDIN (its pieces point into the input). */
#include "tb_fcgi_rec.h"

#include <string.h>

#define STAGE_BEFORE 0
#define STAGE_PARAMS 1
#define STAGE_BODY 2
#define STAGE_DONE 3

#define ROLE_RESPONDER 1
#define FLAG_KEEP_CONN 1

void tb_fcgi_init(struct tb_fcgi_parser *p, const struct tb_fcgi_limits *lim)
{
	memset(p, 0, sizeof *p);
	p->lim = *lim;
}

void tb_fcgi_free(struct tb_fcgi_parser *p)
{
	tb_buf_free(&p->params);
}

bool tb_fcgi_mid_record(const struct tb_fcgi_parser *p)
{
	return p->head_len > 0;
}

const char *tb_fcgi_error_name(enum tb_fcgi_error e)
{
	static const char *const names[] = {
		[TB_FCGI_OK] = "ok",
		[TB_FCGI_E_VERSION] = "version",
		[TB_FCGI_E_TYPE] = "type",
		[TB_FCGI_E_ORDER] = "order",
		[TB_FCGI_E_REQUEST_ID] = "request_id",
		[TB_FCGI_E_BEGIN] = "begin",
		[TB_FCGI_E_ROLE] = "role",
		[TB_FCGI_E_PAIR] = "pair",
		[TB_FCGI_E_NAME] = "name",
		[TB_FCGI_E_VALUE] = "value",
		[TB_FCGI_E_PARAMS] = "params",
	};
	return (size_t)e < sizeof names / sizeof names[0] ? names[e] : "unknown";
}

static size_t fail(struct tb_fcgi_parser *p, struct tb_fcgi_event *ev, enum tb_fcgi_error e, size_t used)
{
	p->error = e;
	ev->kind = TB_FCGI_ERROR;
	ev->error = e;
	return used;
}

/* ---- the name-value pairs ---- */

/* Reads one length (1 byte below 128, else 4 bytes with the top bit set); false when cut short. */
static bool pair_len(const unsigned char *s, size_t n, size_t *at, size_t *out)
{
	if (*at >= n)
		return false;
	if (s[*at] < 0x80) {
		*out = s[(*at)++];
		return true;
	}
	if (n - *at < 4)
		return false;
	*out = ((size_t)(s[*at] & 0x7f) << 24) | ((size_t)s[*at + 1] << 16) | ((size_t)s[*at + 2] << 8) | s[*at + 3];
	*at += 4;
	return true;
}

/* Decodes the whole PARAMS stream into "name\0value\0" pairs in place of it. */
static enum tb_fcgi_error decode_params(struct tb_fcgi_parser *p)
{
	const unsigned char *s = (const unsigned char *)p->params.data;
	size_t n = p->params.len, at = 0;
	struct tb_buf pairs = {0};
	enum tb_fcgi_error e = TB_FCGI_OK;
	while (at < n && e == TB_FCGI_OK) {
		size_t nl = 0, vl = 0;
		bool cut = !pair_len(s, n, &at, &nl) || !pair_len(s, n, &at, &vl);
		if (!cut && nl > p->lim.name_max)
			e = TB_FCGI_E_NAME; /* the limits first: a name of 2 GB is too long, not cut short */
		else if (!cut && vl > p->lim.value_max)
			e = TB_FCGI_E_VALUE;
		else if (cut || nl > n - at || vl > n - at - nl || nl == 0 || memchr(s + at, '\0', nl + vl) != NULL)
			e = TB_FCGI_E_PAIR;
		if (e != TB_FCGI_OK)
			break;
		tb_buf_append(&pairs, (const char *)s + at, nl);
		tb_buf_append(&pairs, "", 1);
		tb_buf_append(&pairs, (const char *)s + at + nl, vl);
		tb_buf_append(&pairs, "", 1);
		at += nl + vl;
		p->n_params++;
	}
	tb_buf_free(&p->params);
	p->params = pairs;
	return e;
}

const char *tb_fcgi_param(const struct tb_fcgi_parser *p, const char *name)
{
	if (p->stage < STAGE_BODY)
		return NULL;
	const char *s = p->params.data;
	for (size_t i = 0; i < p->n_params; i++) {
		const char *value = s + strlen(s) + 1;
		if (strcmp(s, name) == 0)
			return value;
		s = value + strlen(value) + 1;
	}
	return NULL;
}

void tb_fcgi_forget_params(struct tb_fcgi_parser *p)
{
	tb_buf_free(&p->params);
	p->n_params = 0;
}

/* ---- records ---- */

/* A whole header: checks what may come now and sets up the record. */
static enum tb_fcgi_error header(struct tb_fcgi_parser *p)
{
	const unsigned char *h = p->head;
	p->type = h[1];
	p->id = (uint16_t)(h[2] << 8 | h[3]);
	p->content = (size_t)h[4] << 8 | h[5];
	p->padding = h[6];
	p->begin_len = 0;
	if (h[0] != 1)
		return TB_FCGI_E_VERSION;
	if (p->id == 0 ||
	    (p->type != TB_FCGI_BEGIN_REQUEST && p->type != TB_FCGI_ABORT_REQUEST && p->type != TB_FCGI_PARAMS &&
	     p->type != TB_FCGI_STDIN))
		return TB_FCGI_E_TYPE;
	if (p->type == TB_FCGI_BEGIN_REQUEST)
		return p->stage != STAGE_BEFORE ? TB_FCGI_E_ORDER : p->content != 8 ? TB_FCGI_E_BEGIN : TB_FCGI_OK;
	if (p->stage == STAGE_BEFORE)
		return TB_FCGI_E_ORDER;
	if (p->id != p->request_id)
		return TB_FCGI_E_REQUEST_ID;
	if (p->type == TB_FCGI_PARAMS && p->stage != STAGE_PARAMS)
		return TB_FCGI_E_ORDER;
	if (p->type == TB_FCGI_STDIN && p->stage != STAGE_BODY)
		return TB_FCGI_E_ORDER;
	if (p->type == TB_FCGI_PARAMS && p->content > p->lim.params_max - p->params.len)
		return TB_FCGI_E_PARAMS;
	return TB_FCGI_OK;
}

/* The record (content and padding) is over: what it completes. */
static enum tb_fcgi_error record_end(struct tb_fcgi_parser *p, bool empty, struct tb_fcgi_event *ev)
{
	p->head_len = 0;
	switch (p->type) {
	case TB_FCGI_BEGIN_REQUEST:
		if ((p->begin[0] << 8 | p->begin[1]) != ROLE_RESPONDER)
			return TB_FCGI_E_ROLE;
		p->request_id = p->id;
		p->keep_conn = (p->begin[2] & FLAG_KEEP_CONN) != 0;
		p->stage = STAGE_PARAMS;
		ev->kind = TB_FCGI_BEGIN;
		return TB_FCGI_OK;
	case TB_FCGI_ABORT_REQUEST: ev->kind = TB_FCGI_ABORT; return TB_FCGI_OK;
	case TB_FCGI_PARAMS:
		if (!empty)
			return TB_FCGI_OK;
		p->stage = STAGE_BODY;
		ev->kind = TB_FCGI_PARAMS_END;
		return decode_params(p);
	default:
		if (empty) {
			p->stage = STAGE_DONE;
			ev->kind = TB_FCGI_STDIN_END;
		}
		return TB_FCGI_OK;
	}
}

/* Takes content bytes of the current record from in[0..len); returns how many. */
static size_t content(struct tb_fcgi_parser *p, const char *in, size_t len, struct tb_fcgi_event *ev)
{
	size_t n = len < p->content ? len : p->content;
	if (p->type == TB_FCGI_PARAMS) {
		tb_buf_append(&p->params, in, n);
	} else if (p->type == TB_FCGI_BEGIN_REQUEST) {
		memcpy(p->begin + p->begin_len, in, n);
		p->begin_len += n;
	} else if (p->type == TB_FCGI_STDIN && n > 0) {
		ev->kind = TB_FCGI_STDIN_DATA;
		ev->data = in;
		ev->len = n;
	}
	p->content -= n;
	return n;
}

size_t tb_fcgi_feed(struct tb_fcgi_parser *p, const char *in, size_t len, struct tb_fcgi_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (p->error != TB_FCGI_OK)
		return fail(p, ev, p->error, 0);
	size_t used = 0;
	while (used < len || (p->head_len == 8 && p->content == 0 && p->padding == 0)) {
		if (p->head_len < 8) {
			size_t n = 8 - p->head_len < len - used ? 8 - p->head_len : len - used;
			memcpy(p->head + p->head_len, in + used, n);
			p->head_len += n;
			used += n;
			if (p->head_len < 8)
				break;
			enum tb_fcgi_error e = header(p);
			if (e != TB_FCGI_OK)
				return fail(p, ev, e, used);
			p->empty = p->content == 0;
			continue;
		}
		if (p->content > 0) {
			used += content(p, in + used, len - used, ev);
			if (ev->kind != TB_FCGI_NONE)
				return used;
			continue;
		}
		if (p->padding > 0) {
			size_t n = p->padding < len - used ? p->padding : len - used;
			p->padding -= n;
			used += n;
			continue;
		}
		enum tb_fcgi_error e = record_end(p, p->empty, ev);
		if (e != TB_FCGI_OK)
			return fail(p, ev, e, used);
		if (ev->kind != TB_FCGI_NONE)
			return used;
	}
	return used;
}

/* ---- encoding ---- */

static void record_head(struct tb_buf *out, unsigned type, uint16_t id, size_t len)
{
	const char h[8] = {1, (char)type, (char)(id >> 8), (char)(id & 0xff), (char)(len >> 8), (char)(len & 0xff),
	                   0, 0};
	tb_buf_append(out, h, sizeof h);
}

void tb_fcgi_stdout(struct tb_buf *out, uint16_t id, const char *data, size_t len)
{
	do {
		size_t n = len < TB_FCGI_CONTENT_MAX ? len : TB_FCGI_CONTENT_MAX;
		record_head(out, TB_FCGI_STDOUT, id, n);
		if (n > 0)
			tb_buf_append(out, data, n);
		data += n;
		len -= n;
	} while (len > 0);
}

void tb_fcgi_end_request(struct tb_buf *out, uint16_t id, uint32_t app_status)
{
	const char body[8] = {(char)(app_status >> 24),
	                      (char)(app_status >> 16),
	                      (char)(app_status >> 8),
	                      (char)app_status,
	                      0,
	                      0,
	                      0,
	                      0};
	record_head(out, TB_FCGI_END_REQUEST, id, sizeof body);
	tb_buf_append(out, body, sizeof body);
}
