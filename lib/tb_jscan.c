/* tb_jscan: the piece-by-piece reader of one JSON object (POST /boards/import). A byte at a time
 * from an 8 KiB chunk of the body; a value's end is found by its nesting depth outside strings
 * (a string ends at an unescaped quote), a scalar's at the first delimiter. What a piece holds
 * is json-c's to judge: a malformed piece is still cut at some point, and tb_json_parse refuses
 * it. */
#include "tb_jscan.h"

#include <errno.h>
#include <string.h>

enum { END = -1, FAIL = -2 };

void tb_jscan_init(struct tb_jscan *s, struct tb_req *req, size_t max_total, size_t max_piece,
                   const char *const *arrays)
{
	memset(s, 0, sizeof *s);
	s->req = req;
	s->max_total = max_total;
	s->max_piece = max_piece;
	s->arrays = arrays;
	s->back = -1;
	s->index = -1;
}

void tb_jscan_free(struct tb_jscan *s)
{
	tb_buf_free(&s->piece);
}

static int fail(struct tb_jscan *s, enum tb_err err)
{
	if (s->err == TB_OK)
		s->err = err;
	return FAIL;
}

/* The next byte of the body, END at its end, FAIL (s->err set) on an error. */
static int next(struct tb_jscan *s)
{
	if (s->back >= 0) {
		int c = s->back;
		s->back = -1;
		return c;
	}
	if (s->pos < s->len)
		return (unsigned char)s->chunk[s->pos++];
	if (s->err)
		return FAIL;
	struct tb_req *req = s->req;
	size_t want = sizeof s->chunk;
	if (req->has_content_length) {
		if (s->total >= req->content_length)
			return END;
		if (req->content_length - s->total < want)
			want = (size_t)(req->content_length - s->total);
	}
	ssize_t got = req->io.read(req->io.ctx, s->chunk, want);
	if (got < 0)
		return fail(s, errno == ETIMEDOUT ? TB_ERR_TIMEOUT : TB_ERR_IO);
	if (got == 0)
		return req->has_content_length ? fail(s, TB_ERR_IO) : END;
	s->total += (size_t)got;
	if (s->total > s->max_total)
		return fail(s, TB_ERR_TOO_LARGE);
	s->pos = 1;
	s->len = (size_t)got;
	return (unsigned char)s->chunk[0];
}

/* The next byte that is not JSON whitespace. */
static int skip_ws(struct tb_jscan *s)
{
	int c;
	do
		c = next(s);
	while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	return c;
}

static bool keep(struct tb_jscan *s, int c)
{
	if (s->piece.len >= s->max_piece) {
		fail(s, TB_ERR_RANGE);
		return false;
	}
	char ch = (char)c;
	tb_buf_append(&s->piece, &ch, 1);
	return true;
}

/* Reads the rest of a string whose opening quote is kept already. */
static bool string_rest(struct tb_jscan *s)
{
	for (bool esc = false;;) {
		int c = next(s);
		if (c < 0)
			return c == END ? fail(s, TB_ERR_INVALID), false : false;
		if (!keep(s, c))
			return false;
		if (esc)
			esc = false;
		else if (c == '\\')
			esc = true;
		else if (c == '"')
			return true;
	}
}

/* Reads one value that begins with c into s->piece (reset first). */
static bool value(struct tb_jscan *s, int c)
{
	tb_buf_reset(&s->piece);
	if (c < 0)
		return c == END ? fail(s, TB_ERR_INVALID), false : false;
	if (strchr(",:]}", c)) /* no value begins so (NUL included) */
		return fail(s, TB_ERR_INVALID), false;
	if (!keep(s, c))
		return false;
	if (c == '"')
		return string_rest(s);
	if (c != '{' && c != '[') { /* a scalar: up to a delimiter, which is given back */
		for (;;) {
			c = next(s);
			if (c == FAIL)
				return false;
			if (c == END || strchr(",]} \t\r\n", c)) {
				s->back = c == END ? -1 : c;
				return true;
			}
			if (!keep(s, c))
				return false;
		}
	}
	for (long depth = 1; depth > 0;) {
		c = next(s);
		if (c < 0)
			return c == END ? fail(s, TB_ERR_INVALID), false : false;
		if (!keep(s, c))
			return false;
		if (c == '"' && !string_rest(s))
			return false;
		depth += c == '{' || c == '[' ? 1 : c == '}' || c == ']' ? -1 : 0;
	}
	return true;
}

static bool is_array(const struct tb_jscan *s, const char *key)
{
	for (size_t i = 0; s->arrays && s->arrays[i]; i++) {
		if (strcmp(s->arrays[i], key) == 0)
			return true;
	}
	return false;
}

/* Reads a member's key (c is its first byte) into s->key: a plain string of at most 63 bytes. */
static bool member_key(struct tb_jscan *s, int c)
{
	if (c != '"')
		return c == FAIL ? false : (fail(s, TB_ERR_INVALID), false);
	size_t n = 0;
	for (;;) {
		c = next(s);
		if (c == '"')
			break;
		if (c < 0x20 || c == '\\' || n + 1 >= sizeof s->key)
			return c == FAIL ? false : (fail(s, TB_ERR_INVALID), false);
		s->key[n++] = (char)c;
	}
	s->key[n] = '\0';
	s->index = -1;
	c = skip_ws(s);
	return c == ':' || (c != FAIL && (fail(s, TB_ERR_INVALID), false));
}

/* An array member's elements, one piece each; the '[' is read. */
static bool elements(struct tb_jscan *s, tb_jscan_fn fn, void *ctx)
{
	int c = skip_ws(s);
	if (c == ']')
		return true;
	for (s->index = 0;; s->index++) {
		if (!value(s, c))
			return false;
		if (!fn(ctx, s->key, s->index, s->piece.data, s->piece.len))
			return fail(s, TB_ERR_CONFLICT), false;
		c = skip_ws(s);
		if (c == ']')
			return true;
		if (c != ',')
			return c == FAIL ? false : (fail(s, TB_ERR_INVALID), false);
		c = skip_ws(s);
	}
}

enum tb_err tb_jscan_run(struct tb_jscan *s, tb_jscan_fn fn, void *ctx)
{
	int c = skip_ws(s);
	if (c != '{')
		return c == FAIL ? s->err : TB_ERR_INVALID;
	c = skip_ws(s);
	if (c == '}')
		goto end;
	for (;;) {
		if (!member_key(s, c))
			return s->err;
		c = skip_ws(s);
		if (c == '[' && is_array(s, s->key)) {
			if (!fn(ctx, s->key, -1, "[", 1))
				return TB_ERR_CONFLICT;
			if (!elements(s, fn, ctx))
				return s->err;
		} else if (!value(s, c)) {
			return s->err;
		} else if (!fn(ctx, s->key, -1, s->piece.data, s->piece.len)) {
			return TB_ERR_CONFLICT;
		}
		c = skip_ws(s);
		if (c == '}')
			break;
		if (c != ',')
			return c == FAIL ? s->err : TB_ERR_INVALID;
		c = skip_ws(s);
	}
end:
	c = skip_ws(s);
	return c == END ? TB_OK : c == FAIL ? s->err : TB_ERR_INVALID;
}
