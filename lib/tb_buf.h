/* tb_buf: a growable byte buffer, always NUL-terminated so it can be read as a C string.
 * Allocation failure aborts (a worker that is out of memory is restarted by its manager). */
#ifndef TB_BUF_H
#define TB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct tb_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

void tb_buf_append(struct tb_buf *b, const char *data, size_t len);
void tb_buf_puts(struct tb_buf *b, const char *s);
void tb_buf_printf(struct tb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer but keeps its memory. */
void tb_buf_reset(struct tb_buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void tb_buf_free(struct tb_buf *b);
/* Returns the contents as a string ("" when empty); valid until the next append. */
const char *tb_buf_str(const struct tb_buf *b);

/* Writes v in decimal into buf (at least TB_I64_LEN bytes) and returns buf: for query parameters. */
#define TB_I64_LEN 21
const char *tb_i64(char *buf, int64_t v);

/* Allocation helpers that abort on failure. */
void *tb_xmalloc(size_t n);
void *tb_xcalloc(size_t n, size_t size);
char *tb_xstrdup(const char *s);
char *tb_xstrndup(const char *s, size_t n);

#endif
