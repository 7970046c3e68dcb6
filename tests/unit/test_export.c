/* test_export: the pure parts of export and import (lib/api_export.c, lib/tb_jscan.c;
 * docs/export-format.md): a CSV field (RFC 4180 quoting, the formula guard), the Accept that asks
 * for CSV, and the piece-by-piece reader of an import's body, fed in reads of every size from 1
 * byte up (a piece is cut the same wherever the reads end). Each table row carries its __LINE__.
 * tests/integration/test_export.py drives the same code through the real stack. */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tb_api.h"
#include "tb_jscan.h"
#include "tb_test.h"

static const struct {
	int line;
	const char *in;
	bool guard;
	const char *want;
} fields[] = {
	{__LINE__, "plain", true, "plain"},
	{__LINE__, "", true, ""},
	{__LINE__, "a,b", true, "\"a,b\""},
	{__LINE__, "say \"hi\"", true, "\"say \"\"hi\"\"\""},
	{__LINE__, "two\r\nlines", true, "\"two\r\nlines\""},
	{__LINE__, "one\nline", true, "\"one\nline\""},
	{__LINE__, "=SUM(A1)", true, "\"'=SUM(A1)\""},
	{__LINE__, "+1", true, "\"'+1\""},
	{__LINE__, "-1", true, "\"'-1\""},
	{__LINE__, "-1", false, "-1"},
	{__LINE__, "@cmd", true, "\"'@cmd\""},
	{__LINE__, "\tx", true, "\"'\tx\""},
	{__LINE__, "=\"a\",b", true, "\"'=\"\"a\"\",b\""},
	{__LINE__, "a=b", true, "a=b"},
};

static void test_csv_fields(void)
{
	for (size_t i = 0; i < N_ELEMS(fields); i++) {
		tb_case(__FILE__, fields[i].line, "tb_export_csv_field(%s, guard %d)", tb_q(fields[i].in),
		        fields[i].guard);
		struct tb_buf b = {0};
		tb_export_csv_field(&b, fields[i].in, fields[i].guard);
		tb_check_str("field", tb_buf_str(&b), fields[i].want);
		tb_buf_free(&b);
		tb_end();
	}
}

static const struct {
	int line;
	const char *accept;
	bool csv;
} accepts[] = {
	{__LINE__, "text/csv", true},
	{__LINE__, "TEXT/CSV", true},
	{__LINE__, "application/json, text/csv;q=0.5", true},
	{__LINE__, "text/csv; charset=utf-8", true},
	{__LINE__, "application/json", false},
	{__LINE__, "text/csvx", false},
	{__LINE__, "text/*", false},
	{__LINE__, "", false},
	{__LINE__, NULL, false},
};

static void test_accept(void)
{
	for (size_t i = 0; i < N_ELEMS(accepts); i++) {
		tb_case(__FILE__, accepts[i].line, "tb_export_wants_csv(%s)", tb_q(accepts[i].accept));
		tb_check_bool("csv", tb_export_wants_csv(accepts[i].accept), accepts[i].csv);
		tb_end();
	}
}

/* A body read step bytes at a time. */
struct feed {
	const char *text;
	size_t pos, len, step;
};

static ssize_t feed_read(void *ctx, char *buf, size_t len)
{
	struct feed *f = ctx;
	size_t n = f->len - f->pos;
	if (n > f->step)
		n = f->step;
	if (n > len)
		n = len;
	memcpy(buf, f->text + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

/* The pieces as "key[index]=text|" ("key=text|" for a whole member). */
static bool collect(void *ctx, const char *key, long index, const char *text, size_t len)
{
	struct tb_buf *out = ctx;
	if (index >= 0)
		tb_buf_printf(out, "%s[%ld]=", key, index);
	else
		tb_buf_printf(out, "%s=", key);
	tb_buf_append(out, text, len);
	tb_buf_append(out, "|", 1);
	return strcmp(key, "stop") != 0;
}

static const struct {
	int line;
	const char *body;
	bool with_length;
	enum tb_err err;
	const char *pieces;
} scans[] = {
	{__LINE__, "{\"a\":1,\"list\":[{\"x\":\"]}\\\"\"},[1,[2]],\"s\",3],\"b\":{\"c\":[]}}", true, TB_OK,
         "a=1|list=[|list[0]={\"x\":\"]}\\\"\"}|list[1]=[1,[2]]|list[2]=\"s\"|list[3]=3|b={\"c\":[]}|"},
	{__LINE__, " \n{ \"list\" : [ ] , \"a\" : true } \r\n", false, TB_OK, "list=[|a=true|"},
	{__LINE__, "{}", true, TB_OK, ""},
	{__LINE__, "{\"list\":{\"not\":\"array\"}}", true, TB_OK, "list={\"not\":\"array\"}|"},
	{__LINE__, "{\"a\":1} x", true, TB_ERR_INVALID, "a=1|"},
	{__LINE__, "[]", true, TB_ERR_INVALID, ""},
	{__LINE__, "", false, TB_ERR_INVALID, ""},
	{__LINE__, "{\"a\":1", true, TB_ERR_INVALID, "a=1|"},
	{__LINE__, "{\"a\" 1}", true, TB_ERR_INVALID, ""},
	{__LINE__, "{\"a\":1,}", true, TB_ERR_INVALID, "a=1|"},
	{__LINE__, "{\"list\":[1,]}", true, TB_ERR_INVALID, "list=[|list[0]=1|"},
	{__LINE__, "{\"list\":[1 2]}", true, TB_ERR_INVALID, "list=[|list[0]=1|"},
	{__LINE__, "{\"a\":\"open}", true, TB_ERR_INVALID, ""},
	{__LINE__, "{\"k\\u0041\":1}", true, TB_ERR_INVALID, ""},
	{__LINE__, "{\"big\":\"0123456789012345678901234567890123456789\"}", true, TB_ERR_RANGE, ""},
	{__LINE__, "{\"stop\":1,\"a\":2}", true, TB_ERR_CONFLICT, "stop=1|"},
};

static void test_scan(void)
{
	for (size_t i = 0; i < N_ELEMS(scans); i++) {
		for (size_t step = 1; step <= 9; step += 4) {
			tb_case(__FILE__, scans[i].line, "tb_jscan_run(%s), reads of %zu", tb_q(scans[i].body), step);
			struct feed f = {scans[i].body, 0, strlen(scans[i].body), step};
			struct tb_req req = {0};
			req.io = (struct tb_io){&f, feed_read, NULL, NULL, -1, 0};
			req.has_content_length = scans[i].with_length;
			req.content_length = f.len;
			static const char *const arrays[] = {"list", NULL};
			struct tb_jscan s;
			tb_jscan_init(&s, &req, 1000, 32, arrays);
			struct tb_buf out = {0};
			tb_check_err("result", tb_jscan_run(&s, collect, &out), scans[i].err);
			tb_check_str("pieces", out.data ? out.data : "", scans[i].pieces);
			tb_buf_free(&out);
			tb_jscan_free(&s);
			tb_end();
		}
	}
}

/* More body than max_total: too large, whether or not Content-Length said so. */
static void test_scan_total(void)
{
	static const char body[] = "{\"a\":\"0123456789\",\"b\":\"0123456789\"}";
	tb_case(__FILE__, __LINE__, "tb_jscan_run: a body over max_total");
	struct feed f = {body, 0, sizeof body - 1, 8};
	struct tb_req req = {0};
	req.io = (struct tb_io){&f, feed_read, NULL, NULL, -1, 0};
	struct tb_jscan s;
	tb_jscan_init(&s, &req, 20, 64, NULL);
	struct tb_buf out = {0};
	tb_check_err("result", tb_jscan_run(&s, collect, &out), TB_ERR_TOO_LARGE);
	tb_buf_free(&out);
	tb_jscan_free(&s);
	tb_end();
}

/* Stored JSON texts as PostgreSQL writes them (jsonb's ": " and ", ", json_build_object's " : ")
 * and some it never writes: the copy (tb_export_*(copy true)) must give json-c's bytes for each,
 * by copying or by falling back to json-c. */
static const struct {
	int line;
	const char *json;
	const char *author;
} stored[] = {
	{__LINE__,
         "{\"item\": {\"x\": 1, \"y\": 0, \"z\": 0, \"id\": 9000001000000, \"text\": \"note 0\", \"color\": "
         "\"#fff59d\", \"width\": 200, \"height\": 150, \"version\": 1, \"board_id\": 1, \"author_id\": 1, "
         "\"created_at\": \"2026-01-01T00:00:00+00:00\", \"updated_at\": \"2026-12-04T19:20:53.6892+00:00\"}}",
         "alice"},
	{__LINE__,
         "{\"item\": {\"x\": -1, \"id\": 7, \"author_id\": null, \"version\": 2}, \"before\": {\"x\": 1, \"y\": 0},"
         " \"changed\": [\"text\", \"x\", \"y\"], \"undo_of\": 12}",
         NULL},
	{__LINE__, "{\"item\": {\"id\": 7}}", "bob"},
	{__LINE__,
         "{\"item\": {\"id\": 7, \"text\": \"a\\nb\\t\\\"c\\\" \\\\ \\u001f\\u0001 /\", \"author_id\": 3}, \"restored\": true}",
         "a \"quoted\"\n\x01 name"},
	{__LINE__,
         "{\"board\": {\"id\": 4, \"title\": \"Retro \\\"24\\\"\", \"version\": 2, \"created_at\": \"t\", "
         "\"updated_at\": \"u\", \"team_id\": null}, \"before\": {\"title\": \"old\"}, \"changed\": [\"title\"]}",
         NULL},
	{__LINE__, "{\"board\": {\"version\": 3}}", NULL},
	{__LINE__, "{\"board\": {}, \"before\": {}, \"changed\": []}", NULL},
	{__LINE__, "{\"member\": {\"name\": null, \"role\": \"editor\", \"user_id\": 5}}", NULL},
	{__LINE__, "{\"item\" : {\"id\" : 1, \"board_id\" : 1, \"text\" : \"x\", \"author_id\" : 1}}", "a"},
	/* not written by PostgreSQL: json-c decides */
	{__LINE__, "{\"item\": {\"id\": 7, \"text\": \"caf\\u00e9 \\/ \\u0008 \\u0000\", \"author_id\": 3}}", "a"},
	{__LINE__, "{\"item\": {\"id\": 7, \"x\": 1.5, \"y\": -0, \"z\": 012, \"version\": 123456789012345678901}}",
         NULL},
	{__LINE__, "{\"item\": {\"id\": 7, \"id\": 8}}", NULL},
	{__LINE__, "{\"item\": null, \"before\": {\"x\": {\"deep\": [1, 2, {\"a\": \"b c\"}]}}}", NULL},
	{__LINE__, "{\"item\": [1, 2], \"board\": \"b\", \"member\": 5}", NULL},
	{__LINE__, "{\"item\": {\"id\": 1, \"text\": \"raw\ttab\"}}", NULL},
	{__LINE__, "{\"restored\": true, \"undo_of\": 1, \"redo_of\": 2, \"other\": 3}", NULL},
	{__LINE__, "{}", NULL},
	{__LINE__, "[]", NULL},
	{__LINE__, "not json", NULL},
	{__LINE__, "{\"item\": {\"id\": 1}", NULL},
	{__LINE__, "{\"item\": {\"id\": 1}} x", NULL},
	{__LINE__, "", NULL},
};

static void test_copy_is_json_c(void)
{
	for (size_t i = 0; i < N_ELEMS(stored); i++) {
		tb_case(__FILE__, stored[i].line, "tb_export_payload / tb_export_note_text(%s)", tb_q(stored[i].json));
		size_t len = strlen(stored[i].json);
		struct tb_buf got = {0}, want = {0};
		tb_export_payload(&got, stored[i].json, len, stored[i].author, true);
		tb_export_payload(&want, stored[i].json, len, stored[i].author, false);
		tb_check_str("payload", tb_buf_str(&got), tb_buf_str(&want));
		tb_buf_reset(&got);
		tb_buf_reset(&want);
		tb_export_note_text(&got, stored[i].json, len, stored[i].author, true);
		tb_export_note_text(&want, stored[i].json, len, stored[i].author, false);
		tb_check_str("note", tb_buf_str(&got), tb_buf_str(&want));
		/* the note inside: a note's own text (items.json) */
		const char *inner = strstr(stored[i].json, "{\"id\"");
		if (inner) {
			const char *close = strchr(inner, '}');
			size_t n = (size_t)(close ? close + 1 - inner : (ptrdiff_t)strlen(inner));
			tb_buf_reset(&got);
			tb_buf_reset(&want);
			tb_export_note_text(&got, inner, n, stored[i].author, true);
			tb_export_note_text(&want, inner, n, stored[i].author, false);
			tb_check_str("inner note", tb_buf_str(&got), tb_buf_str(&want));
		}
		tb_buf_free(&got);
		tb_buf_free(&want);
		tb_end();
	}
}

/* The plain case is copied: the expected bytes spelled out once. */
static void test_copy_bytes(void)
{
	tb_case(__FILE__, __LINE__, "tb_export_payload of an item.updated");
	struct tb_buf b = {0};
	const char *p = stored[1].json;
	tb_export_payload(&b, p, strlen(p), "x\"y", true);
	tb_check_str(
		"payload", tb_buf_str(&b),
		",\"item\":{\"id\":7,\"x\":-1,\"author\":\"x\\\"y\",\"version\":2},\"changed\":[\"text\",\"x\",\"y\"],"
		"\"before\":{\"x\":1,\"y\":0},\"undo_of\":12");
	tb_buf_free(&b);
	tb_end();
}

int main(void)
{
	test_csv_fields();
	test_accept();
	test_scan();
	test_scan_total();
	test_copy_is_json_c();
	test_copy_bytes();
	return tb_done();
}
