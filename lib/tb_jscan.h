/* tb_jscan: reads one JSON object from a request body piece by piece, never holding it whole
 * (POST /boards/import, api_import.c). The object's members are handed to a callback one at a
 * time as their raw text; a member whose value is an array named by the caller is handed element
 * by element instead. Each piece is at most max_piece bytes; the caller parses it with json-c
 * (tb_json_parse), which checks what this scanner does not: the scanner only finds where values
 * begin and end (strings, escapes, nesting), and the grammar of the top level. */
#ifndef TB_JSCAN_H
#define TB_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_buf.h"
#include "tb_request.h"

/* One piece: the member key (its decoded text: the scanner takes keys of plain characters only,
 * no escapes, at most 63 bytes), index the element's place in an array member (from 0), or -1 for
 * a member's whole value; text/len its raw JSON text. An array member of arrays comes first as
 * the piece "[" alone (index -1: the array begins; no whole value is ever just that), then its
 * elements, indexes 0, 1, ... Returns false to stop the scan (the caller
 * keeps its own reason); tb_jscan_run then returns TB_ERR_CONFLICT. */
typedef bool (*tb_jscan_fn)(void *ctx, const char *key, long index, const char *text, size_t len);

struct tb_jscan {
	struct tb_req *req;        /* its io reads the body; its Content-Length, when given, is the body's end */
	size_t max_total;          /* more body than this: TB_ERR_TOO_LARGE */
	size_t max_piece;          /* a larger piece: TB_ERR_RANGE, with key and index set to the piece */
	const char *const *arrays; /* NULL-terminated keys whose array values come element by element */
	/* out */
	size_t total; /* body bytes read */
	char key[64]; /* the key of the piece the scan stopped in */
	long index;   /* and its index (-1: the member's whole value) */
	/* internal */
	char chunk[8192];
	size_t pos, len;
	int back; /* a byte given back, or -1 */
	enum tb_err err;
	struct tb_buf piece;
};

/* Starts a scan of req's body (max_total bytes at most; pieces of max_piece) over arrays. */
void tb_jscan_init(struct tb_jscan *s, struct tb_req *req, size_t max_total, size_t max_piece,
                   const char *const *arrays);
/* Reads the whole body and calls fn for each piece in order. TB_OK: the body was one object
 * (whitespace around it) and fn took every piece. TB_ERR_INVALID: not JSON as the scanner reads
 * it (400), TB_ERR_TOO_LARGE: over max_total (413), TB_ERR_RANGE: a piece over max_piece,
 * TB_ERR_TIMEOUT: the body's deadline passed (408), TB_ERR_IO: a failed or short read,
 * TB_ERR_CONFLICT: fn returned false. */
enum tb_err tb_jscan_run(struct tb_jscan *s, tb_jscan_fn fn, void *ctx);
void tb_jscan_free(struct tb_jscan *s);

#endif
