/* tb_buf: growable NUL-terminated byte buffers and allocation helpers that abort on failure. */
#include "tb_buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_log.h"

static void out_of_memory(size_t n)
{
	TB_LOG(TB_LOG_ERROR, "out of memory allocating %zu bytes", n);
	abort();
}

void *tb_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		out_of_memory(n);
	return p;
}

void *tb_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

char *tb_xstrdup(const char *s)
{
	return tb_xstrndup(s, strlen(s));
}

char *tb_xstrndup(const char *s, size_t n)
{
	char *p = tb_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void reserve(struct tb_buf *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len)
		out_of_memory(extra);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		out_of_memory(cap);
	b->data = p;
	b->cap = cap;
}

void tb_buf_append(struct tb_buf *b, const char *data, size_t len)
{
	reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void tb_buf_puts(struct tb_buf *b, const char *s)
{
	tb_buf_append(b, s, strlen(s));
}

void tb_buf_printf(struct tb_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void tb_buf_reset(struct tb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void tb_buf_free(struct tb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *tb_buf_str(const struct tb_buf *b)
{
	return b->data ? b->data : "";
}

const char *tb_i64(char *buf, int64_t v)
{
	snprintf(buf, TB_I64_LEN, "%" PRId64, v);
	return buf;
}
