/* tb_sse: the text/event-stream format (WHATWG HTML, "Server-sent events"). Fields are written so
 * that nothing can break out of them: id and event refuse CR, LF and NUL; data is split on line
 * breaks into several data: lines, which the browser joins back with "\n". */
#ifndef TB_SSE_H
#define TB_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_buf.h"

/* Appends one event: "id: <id>\n" (when id >= 0), "event: <type>\n" (when type), the data lines
 * and a blank line. Returns false (nothing appended) when type holds CR, LF or NUL. */
bool tb_sse_event(struct tb_buf *out, int64_t id, const char *type, const char *data, size_t len);
/* Appends a comment line (": text\n\n"), invisible to EventSource: a keep-alive. */
void tb_sse_comment(struct tb_buf *out, const char *text);
/* Appends "retry: <ms>\n\n": how long the browser waits before reconnecting. */
void tb_sse_retry(struct tb_buf *out, long ms);
/* True when an Accept header asks for text/event-stream. */
bool tb_sse_accepts(const char *accept);

#endif
