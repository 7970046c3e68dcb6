/* fuzz_request: tb_req_init from fuzzed CGI meta-variables, then tb_req_read_body through a fake
 * tb_io, then the header parsers the pipeline applies to what tb_req_init copied.
 * Input: byte 0 picks the fake reader's behaviour (chunk size, an error instead of EOF), byte 1 the
 * body limit; then "NAME=VALUE" lines up to an empty line; the rest is the body. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz.h"
#include "tb_request.h"

#define MAX_VARS 32

struct env {
	char *names[MAX_VARS], *values[MAX_VARS];
	size_t n;
};

struct reader {
	const uint8_t *body;
	size_t len, off, chunk;
	bool fail_at_end; /* -1 (EIO) instead of EOF once the body is read */
	bool fail_midway; /* -1 (ETIMEDOUT, the transport's deadline) after half the body */
};

static const char *get(void *ctx, const char *name)
{
	struct env *e = ctx;
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->names[i], name) == 0)
			return e->values[i];
	}
	return NULL;
}

static ssize_t fake_read(void *ctx, char *buf, size_t len)
{
	struct reader *r = ctx;
	if (r->fail_midway && r->off >= r->len / 2 && r->len > 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r->off == r->len) {
		errno = EIO;
		return r->fail_at_end ? -1 : 0;
	}
	size_t n = r->len - r->off;
	if (n > len)
		n = len;
	if (n > r->chunk)
		n = r->chunk;
	memcpy(buf, r->body + r->off, n);
	r->off += n;
	return (ssize_t)n;
}

static ssize_t fake_write(void *ctx, const char *buf, size_t len)
{
	return (ssize_t)len;
}

static int fake_flush(void *ctx)
{
	return 0;
}

/* What the pipeline does with the copied headers; each result only has to obey its contract. */
static void parse_headers(const struct tb_req *req)
{
	char *s = NULL;
	int64_t v = 0;
	if (req->content_type)
		(void)tb_content_type_is_json(req->content_type);
	if (req->cookie && tb_cookie_get(req->cookie, "tb_session", &s) == TB_OK)
		free(s);
	if (req->authorization && tb_bearer_get(req->authorization, &s) == TB_OK)
		free(s);
	(void)tb_if_match(req->if_match, 7);
	if (tb_query_int(req->query, "after", 0, INT64_MAX, &v) == TB_OK)
		FUZZ_CHECK(v >= 0);
	if (tb_query_get(req->query, "last_event_id", &s) == TB_OK)
		free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {0, 1, 16, 1024, 65536};
	if (size < 2)
		return 0;
	struct reader r = {
		.chunk = (data[0] & 7) == 7 ? SIZE_MAX : (size_t)1 << (2 * (data[0] & 7)),
		.fail_at_end = data[0] & 8,
		.fail_midway = data[0] & 16,
	};
	size_t max = limits[data[1] % (sizeof limits / sizeof limits[0])];
	data += 2;
	size -= 2;

	struct env e = {.n = 0};
	while (size > 0 && e.n < MAX_VARS) {
		char *line = fuzz_line(&data, &size);
		if (line[0] == '\0') {
			free(line);
			break;
		}
		char *eq = strchr(line, '=');
		e.names[e.n] = line;
		e.values[e.n] = eq ? eq + 1 : line + strlen(line);
		if (eq)
			*eq = '\0';
		e.n++;
	}
	r.body = data;
	r.len = size;

	struct tb_io io = {.ctx = &r, .read = fake_read, .write = fake_write, .flush = fake_flush, .client_fd = -1};
	struct tb_req req;
	if (tb_req_init(&req, get, &e, &io) == TB_OK) {
		FUZZ_CHECK(req.path != NULL && req.query != NULL);
		FUZZ_CHECK(!(req.has_content_length && req.content_length_bad));
		parse_headers(&req);
		enum tb_err err = tb_req_read_body(&req, max);
		if (err == TB_ERR_TIMEOUT)
			FUZZ_CHECK(r.fail_midway);
		if (err == TB_OK) {
			FUZZ_CHECK(req.body.len <= max);
			FUZZ_CHECK(!req.has_content_length || req.body.len == req.content_length);
			FUZZ_CHECK(req.body.len == 0 || memcmp(req.body.data, r.body, req.body.len) == 0);
		}
		tb_req_free(&req);
	}
	for (size_t i = 0; i < e.n; i++)
		free(e.names[i]);
	return 0;
}
