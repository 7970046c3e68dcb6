/* tb_sse: formatting of Server-Sent Events. */
#include "tb_sse.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

bool tb_sse_event(struct tb_buf *out, int64_t id, const char *type, const char *data, size_t len)
{
	if (type && strpbrk(type, "\r\n") != NULL)
		return false;
	if (id >= 0)
		tb_buf_printf(out, "id: %" PRId64 "\n", id);
	if (type)
		tb_buf_printf(out, "event: %s\n", type);
	/* CRLF, CR and LF all end a line in the stream: each piece becomes its own data: line. */
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || data[i] == '\n' || data[i] == '\r' || data[i] == '\0') {
			tb_buf_puts(out, "data: ");
			tb_buf_append(out, data + start, i - start);
			tb_buf_puts(out, "\n");
			if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
				i++;
			start = i + 1;
		}
	}
	tb_buf_puts(out, "\n");
	return true;
}

void tb_sse_comment(struct tb_buf *out, const char *text)
{
	tb_buf_puts(out, ": ");
	tb_buf_append(out, text, strcspn(text, "\r\n"));
	tb_buf_puts(out, "\n\n");
}

void tb_sse_retry(struct tb_buf *out, long ms)
{
	tb_buf_printf(out, "retry: %ld\n\n", ms);
}

bool tb_sse_accepts(const char *accept)
{
	if (accept == NULL)
		return false;
	for (const char *p = accept; (p = strcasestr(p, "text/event-stream")) != NULL; p++) {
		/* refuse an explicit q=0 */
		const char *end = strchr(p, ',');
		const char *q = strstr(p, "q=0");
		if (q == NULL || (end && q > end) || strncmp(q, "q=0.", 4) == 0)
			return true;
	}
	return false;
}
