/* test_json: tb_json_parse (strict RFC 8259, depth, UTF-8, NUL, trailing bytes), tb_json_validate
 * against a field table shaped like the item's and board's (types, null, ranges, lengths in
 * characters, control characters, valid() hooks, required fields), tb_utf8_length and
 * tb_has_control. One table per function; each row carries its __LINE__. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tb_buf.h"
#include "tb_json.h"
#include "tb_test.h"

static char sentinel_obj;
#define SENTINEL ((struct json_object *)(void *)&sentinel_obj)

/* ---- tb_json_parse ---- */

struct parse_case {
	int line;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int depth;  /* 0: TB_JSON_MAX_DEPTH */
	enum tb_err err;
	json_type type; /* of the result when TB_OK */
};

static const struct parse_case parse_cases[] = {
	{__LINE__, "{\"a\":1}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\"}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{\"a\":1} ", 0, 0, TB_OK, json_type_object},
	{__LINE__, " \t\r\n{\"a\":1}\r\n\t ", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "{\"a\":\"x\\u0000y\"}", 0, 0, TB_OK, json_type_object}, /* an escape, not a NUL byte */
	/* any JSON value parses; "not an object" is the caller's 422 */
	{__LINE__, "[1,2]", 0, 0, TB_OK, json_type_array},
	{__LINE__, "[]", 0, 0, TB_OK, json_type_array},
	{__LINE__, "\"s\"", 0, 0, TB_OK, json_type_string},
	{__LINE__, "123", 0, 0, TB_OK, json_type_int},
	{__LINE__, " 123 ", 0, 0, TB_OK, json_type_int},
	{__LINE__, "-1.5", 0, 0, TB_OK, json_type_double},
	{__LINE__, "true", 0, 0, TB_OK, json_type_boolean},
	{__LINE__, "null", 0, 0, TB_OK, json_type_null},
	/* trailing bytes */
	{__LINE__, "{\"a\":1}x", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1}{}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1},", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1} 1", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "123 4", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "[1][2]", 0, 0, TB_ERR_INVALID, 0},
	/* truncated, empty */
	{__LINE__, "{\"a\":", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\"", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "[1,", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "\"abc", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "tru", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1}", 6, 0, TB_ERR_INVALID, 0}, /* len is what counts, not the NUL */
	{__LINE__, "", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "   ", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "\n", 0, 0, TB_ERR_INVALID, 0},
	/* NUL bytes */
	{__LINE__, "{\"a\":1}\0", 8, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":\"x\0y\"}", 11, 0, TB_ERR_INVALID, 0},
	{__LINE__, "\0{\"a\":1}", 8, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1}\0garbage", 15, 0, TB_ERR_INVALID, 0},
	/* an escaped NUL in a member name: json-c keeps names as C strings, so "role\u0000zz" would
	 * silently become "role"; in a value it is kept (the field check refuses it) */
	{__LINE__, "{\"role\\u0000zz\":\"admin\"}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"\\u0000\":1}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1,\"b\\u0000\":2}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":{\"x\\u0000\":1}}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "[{\"a\":[1],\"b\\u0000\":2}]", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\\\\u0000\":1}", 0, 0, TB_OK, json_type_object}, /* "a\\u0000": a backslash, then u0000 */
	{__LINE__, "{\"a\\u0001\":\"x\\u0000\"}", 0, 0, TB_OK, json_type_object},
	{__LINE__, "[\"\\u0000\",{\"a\":\"\\u0000\"}]", 0, 0, TB_OK, json_type_array},
	/* invalid UTF-8 (RFC 3629), in values and in keys */
	{__LINE__, "{\"a\":\"\xff\"}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":\"\xc3\"}", 0, 0, TB_ERR_INVALID, 0}, /* truncated sequence */
	{__LINE__, "{\"a\":\"\x80\"}", 0, 0, TB_ERR_INVALID, 0}, /* lone continuation byte */
	{__LINE__, "{\"a\":\"\xe2\x82\"}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"\xfe\":1}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":\"\xc0\xaf\"}", 0, 0, TB_ERR_INVALID, 0},         /* overlong "/" */
	{__LINE__, "{\"a\":\"\xed\xa0\x80\"}", 0, 0, TB_ERR_INVALID, 0},     /* UTF-16 surrogate */
	{__LINE__, "{\"a\":\"\xf4\x90\x80\x80\"}", 0, 0, TB_ERR_INVALID, 0}, /* above U+10FFFF */
	/* not JSON (RFC 8259), whatever json-c's lenient mode takes */
	{__LINE__, "{'a':1}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":1,}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "[1,]", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{a:1}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":01}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":+1}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":.5}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":NaN}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":Infinity}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":\"\t\"}", 0, 0, TB_ERR_INVALID, 0}, /* raw control character in a string */
	{__LINE__, "/* c */ {}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":True}", 0, 0, TB_ERR_INVALID, 0},
	/* a duplicate member: json-c keeps the last one silently (the body rules refuse duplicates) */
	{__LINE__, "{\"a\":1,\"a\":2}", 0, 0, TB_ERR_INVALID, 0},
	{__LINE__, "{\"a\":{\"b\":1,\"b\":1}}", 0, 0, TB_ERR_INVALID, 0},
	/* an explicit smaller depth */
	{__LINE__, "[[]]", 0, 2, TB_OK, json_type_array},
	{__LINE__, "[[[]]]", 0, 2, TB_ERR_INVALID, 0},
};

static void check_parse(int line, const char *desc, const char *text, size_t len, int depth, enum tb_err want_err,
                        json_type want_type)
{
	struct json_object *obj = SENTINEL;
	tb_case(__FILE__, line, "tb_json_parse(%s, depth %d)", desc, depth);
	enum tb_err err = tb_json_parse(text, len, depth, &obj);
	if (tb_check_err("result", err, want_err)) {
		if (err == TB_OK)
			tb_check(obj != SENTINEL && json_object_get_type(obj) == want_type, "type: got %s, want %s",
			         obj == SENTINEL ? "(not written)" : json_type_to_name(json_object_get_type(obj)),
			         json_type_to_name(want_type));
		else
			tb_check(obj == SENTINEL, "out written on failure");
	}
	if (obj != SENTINEL)
		json_object_put(obj);
	tb_end();
}

static void test_parse(void)
{
	for (size_t i = 0; i < N_ELEMS(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		check_parse(c->line, tb_qn(c->text, len), c->text, len, c->depth ? c->depth : TB_JSON_MAX_DEPTH, c->err,
		            c->type);
	}
}

/* Nesting: TB_JSON_MAX_DEPTH (32) levels parse, 33 do not (API contract: "nesting > 32"). */
struct depth_case {
	int line;
	int levels;
	bool objects; /* {"a":{"a":{}}} rather than [[[]]] */
	enum tb_err err;
};

static const struct depth_case depth_cases[] = {
	{__LINE__, 1, false, TB_OK},
	{__LINE__, 31, false, TB_OK},
	{__LINE__, 32, false, TB_OK},
	{__LINE__, 33, false, TB_ERR_INVALID},
	{__LINE__, 1000, false, TB_ERR_INVALID},
	{__LINE__, 32, true, TB_OK},
	{__LINE__, 33, true, TB_ERR_INVALID},
	{__LINE__, 100000, true, TB_ERR_INVALID},
};

static void test_depth(void)
{
	for (size_t i = 0; i < N_ELEMS(depth_cases); i++) {
		const struct depth_case *c = &depth_cases[i];
		struct tb_buf b = {0};
		for (int l = 0; l < c->levels; l++)
			tb_buf_puts(&b, c->objects ? (l + 1 < c->levels ? "{\"a\":" : "{") : "[");
		for (int l = 0; l < c->levels; l++)
			tb_buf_puts(&b, c->objects ? "}" : "]");
		char desc[64];
		snprintf(desc, sizeof desc, "%d nested %s", c->levels, c->objects ? "objects" : "arrays");
		check_parse(c->line, desc, b.data, b.len, TB_JSON_MAX_DEPTH, c->err,
		            c->objects ? json_type_object : json_type_array);
		tb_buf_free(&b);
	}
}

/* ---- tb_json_validate ---- */

static bool is_color(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* An object field's own table, shaped like PATCH /users/me's password change. */
static const struct tb_field change_fields[] = {
	{"current", TB_FIELD_TEXT, 1, 100, true, false, NULL, NULL},
	{"new", TB_FIELD_TEXT, 8, 100, true, false, NULL, NULL},
};
static const struct tb_fields change_table = TB_FIELDS(change_fields);

/* Shaped like the board's and item's tables (docs/api-contract.txt, FIELDS). */
static const struct tb_field fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL},
	{"text", TB_FIELD_TEXT, 0, 10000, false, false, NULL, NULL},
	{"color", TB_FIELD_STRING, 7, 7, false, false, is_color, "#rrggbb"},
	{"x", TB_FIELD_INT, -100000, 100000, false, false, NULL, NULL},
	{"width", TB_FIELD_INT, 20, 4000, false, false, NULL, NULL},
	{"z", TB_FIELD_INT, -1000000, 1000000, false, false, NULL, NULL},
	{"big", TB_FIELD_INT, INT64_MIN, INT64_MAX, false, false, NULL, NULL},
	{"team_id", TB_FIELD_ID, 0, 0, false, true, NULL, NULL}, /* ID: bounds come from the type */
	{"owner_id", TB_FIELD_ID, 0, 0, false, false, NULL, NULL},
	{"done", TB_FIELD_BOOL, 0, 0, false, false, NULL, NULL},
	{"note", TB_FIELD_TEXT, 0, 10, false, true, NULL, NULL},
	{"password", TB_FIELD_TEXT, 8, 1024, true, false, NULL, NULL},
	{"change", TB_FIELD_OBJECT, 0, 0, false, false, NULL, NULL},
};

#define E_ACUTE "\xc3\xa9"      /* U+00E9, 2 bytes */
#define EURO "\xe2\x82\xac"     /* U+20AC, 3 bytes */
#define GRIN "\xf0\x9f\x98\x80" /* U+1F600, 4 bytes */

struct validate_case {
	int line;
	const char *json; /* with "%s" when rep is set */
	const char *rep;  /* repeated count times into json's %s */
	size_t count;
	bool require;
	enum tb_err err;
	const char *field; /* the message begins with this name */
	const char *hint;  /* and contains this, or NULL */
};

static const struct validate_case validate_cases[] = {
	/* required fields: with require only */
	{__LINE__, "{}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{}", NULL, 0, true, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\"}", NULL, 0, true, TB_ERR_INVALID, "password", NULL},
	{__LINE__, "{\"password\":\"12345678\"}", NULL, 0, true, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\",\"password\":\"12345678\"}", NULL, 0, true, TB_OK, NULL, NULL},
	{__LINE__, "{\"title\":\"a\"}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"x\":1}", NULL, 0, false, TB_OK, NULL, NULL},
	/* an object field: any object (its members are the route's: test_validate_member) */
	{__LINE__, "{\"change\":{\"current\":\"a\"}}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"change\":\"12345678\"}", NULL, 0, false, TB_ERR_INVALID, "change", "an object"},
	{__LINE__, "{\"change\":[]}", NULL, 0, false, TB_ERR_INVALID, "change", "an object"},
	{__LINE__, "{\"change\":null}", NULL, 0, false, TB_ERR_INVALID, "change", "not null"},
	/* unknown fields, whatever their value */
	{__LINE__, "{\"nope\":1}", NULL, 0, false, TB_ERR_INVALID, "nope", NULL},
	{__LINE__, "{\"x\":1,\"nope\":null}", NULL, 0, false, TB_ERR_INVALID, "nope", NULL},
	{__LINE__, "{\"X\":1}", NULL, 0, false, TB_ERR_INVALID, "X", NULL},
	{__LINE__, "{\"x \":1}", NULL, 0, false, TB_ERR_INVALID, "x ", NULL},
	{__LINE__, "{\"\":1}", NULL, 0, false, TB_ERR_INVALID, "", NULL},
	{__LINE__, "{\"id\":5}", NULL, 0, false, TB_ERR_INVALID, "id", NULL},
	/* INT: type */
	{__LINE__, "{\"x\":0}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"x\":-0}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"x\":\"1\"}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":1.0}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":1.5}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":1e2}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":true}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":false}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":null}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":[1]}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":{}}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	/* INT: range edges */
	{__LINE__, "{\"x\":-100001}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":-100000}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"x\":100000}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"x\":100001}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"width\":19}", NULL, 0, false, TB_ERR_INVALID, "width", NULL},
	{__LINE__, "{\"width\":20}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"width\":4000}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"width\":4001}", NULL, 0, false, TB_ERR_INVALID, "width", NULL},
	{__LINE__, "{\"width\":0}", NULL, 0, false, TB_ERR_INVALID, "width", NULL},
	{__LINE__, "{\"width\":-20}", NULL, 0, false, TB_ERR_INVALID, "width", NULL},
	{__LINE__, "{\"z\":-1000001}", NULL, 0, false, TB_ERR_INVALID, "z", NULL},
	{__LINE__, "{\"z\":-1000000}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"z\":1000000}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"z\":1000001}", NULL, 0, false, TB_ERR_INVALID, "z", NULL},
	/* INT: beyond int64 (json-c saturates such numbers; they must not pass as the bound) */
	{__LINE__, "{\"x\":4294967296}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"x\":99999999999999999999}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	{__LINE__, "{\"big\":9223372036854775807}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"big\":-9223372036854775808}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"big\":9223372036854775808}", NULL, 0, false, TB_ERR_INVALID, "big", NULL},
	{__LINE__, "{\"big\":18446744073709551615}", NULL, 0, false, TB_ERR_INVALID, "big", NULL},
	{__LINE__, "{\"big\":18446744073709551616}", NULL, 0, false, TB_ERR_INVALID, "big", NULL},
	{__LINE__, "{\"big\":99999999999999999999}", NULL, 0, false, TB_ERR_INVALID, "big", NULL},
	{__LINE__, "{\"x\":-99999999999999999999}", NULL, 0, false, TB_ERR_INVALID, "x", NULL},
	/* ID */
	{__LINE__, "{\"team_id\":1}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"team_id\":9223372036854775807}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"team_id\":null}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"team_id\":0}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":-1}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":9223372036854775808}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":18446744073709551616}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":1.0}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":2.5}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":\"1\"}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"team_id\":true}", NULL, 0, false, TB_ERR_INVALID, "team_id", NULL},
	{__LINE__, "{\"owner_id\":1}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"owner_id\":null}", NULL, 0, false, TB_ERR_INVALID, "owner_id", NULL},
	/* BOOL */
	{__LINE__, "{\"done\":true}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"done\":false}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"done\":1}", NULL, 0, false, TB_ERR_INVALID, "done", NULL},
	{__LINE__, "{\"done\":0}", NULL, 0, false, TB_ERR_INVALID, "done", NULL},
	{__LINE__, "{\"done\":\"true\"}", NULL, 0, false, TB_ERR_INVALID, "done", NULL},
	{__LINE__, "{\"done\":null}", NULL, 0, false, TB_ERR_INVALID, "done", NULL},
	/* STRING: type, null, length in characters */
	{__LINE__, "{\"title\":5}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":true}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":[\"a\"]}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":{}}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":null}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"%s\"}", "a", 1, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"title\":\"%s\"}", "a", 200, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"title\":\"%s\"}", "a", 201, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"%s\"}", E_ACUTE, 200, false, TB_OK, NULL, NULL}, /* 400 bytes */
	{__LINE__, "{\"title\":\"%s\"}", E_ACUTE, 201, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"%s\"}", EURO, 200, false, TB_OK, NULL, NULL}, /* 600 bytes */
	{__LINE__, "{\"title\":\"%s\"}", GRIN, 200, false, TB_OK, NULL, NULL}, /* 800 bytes */
	{__LINE__, "{\"title\":\"%s\"}", GRIN, 201, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"%s\"}", "\\u00e9", 200, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"title\":\"%s\"}", "\\ud83d\\ude00", 200, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"title\":\"%s\"}", "\\ud83d\\ude00", 201, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\" \"}", NULL, 0, false, TB_OK, NULL, NULL},
	/* STRING: no control character at all */
	{__LINE__, "{\"title\":\"a\\nb\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\tb\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\rb\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"\\u0001\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u001f\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u007f\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u0085\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u009f\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u0000\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u0000\\n\"}", NULL, 0, false, TB_ERR_INVALID, "title", NULL},
	{__LINE__, "{\"title\":\"a\\u00a0\\u0105\"}", NULL, 0, false, TB_OK, NULL, NULL}, /* not C1 */
	/* TEXT: \n \r \t allowed, other control characters not */
	{__LINE__, "{\"text\":\"\"}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"text\":\"a\\nb\\tc\\r\\n\"}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"text\":\"a\\u0001b\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"\\u000b\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"\\u001b[31m\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"\\u007f\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"\\u0085\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"a\\u0000b\"}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"%s\"}", "a", 10000, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"text\":\"%s\"}", "a", 10001, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":\"%s\"}", "\\n", 10000, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"text\":\"%s\"}", EURO, 10000, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"text\":\"%s\"}", EURO, 10001, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":null}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"text\":1}", NULL, 0, false, TB_ERR_INVALID, "text", NULL},
	{__LINE__, "{\"note\":null}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"note\":\"%s\"}", "a", 10, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"note\":\"%s\"}", "a", 11, false, TB_ERR_INVALID, "note", NULL},
	{__LINE__, "{\"password\":\"%s\"}", "a", 7, false, TB_ERR_INVALID, "password", NULL},
	{__LINE__, "{\"password\":\"%s\"}", E_ACUTE, 8, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"password\":\"%s\"}", "a", 1024, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"password\":\"%s\"}", "a", 1025, false, TB_ERR_INVALID, "password", NULL},
	/* valid() and its hint */
	{__LINE__, "{\"color\":\"#aabbcc\"}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"color\":\"#AABBCC\"}", NULL, 0, false, TB_OK, NULL, NULL},
	{__LINE__, "{\"color\":\"aabbccd\"}", NULL, 0, false, TB_ERR_INVALID, "color", "#rrggbb"},
	{__LINE__, "{\"color\":\"#aabbcg\"}", NULL, 0, false, TB_ERR_INVALID, "color", "#rrggbb"},
	{__LINE__, "{\"color\":\"#abc\"}", NULL, 0, false, TB_ERR_INVALID, "color", NULL},
	{__LINE__, "{\"color\":\"#aabbccdd\"}", NULL, 0, false, TB_ERR_INVALID, "color", NULL},
	{__LINE__, "{\"color\":7}", NULL, 0, false, TB_ERR_INVALID, "color", NULL},
	/* several fields: every one is checked, the bad one is named */
	{__LINE__, "{\"x\":1,\"width\":30,\"z\":5,\"text\":\"t\",\"color\":\"#000000\"}", NULL, 0, false, TB_OK, NULL,
         NULL},
	{__LINE__, "{\"x\":1,\"width\":3000,\"z\":5000000}", NULL, 0, false, TB_ERR_INVALID, "z", NULL},
	{__LINE__, "{\"title\":\"ok\",\"width\":5,\"password\":\"12345678\"}", NULL, 0, true, TB_ERR_INVALID, "width",
         NULL},
	/* not an object */
	{__LINE__, "[]", NULL, 0, false, TB_ERR_INVALID, NULL, NULL},
	{__LINE__, "[{\"x\":1}]", NULL, 0, false, TB_ERR_INVALID, NULL, NULL},
	{__LINE__, "\"x\"", NULL, 0, false, TB_ERR_INVALID, NULL, NULL},
	{__LINE__, "5", NULL, 0, false, TB_ERR_INVALID, NULL, NULL},
	{__LINE__, "null", NULL, 0, false, TB_ERR_INVALID, NULL, NULL},
};

/* Builds the row's JSON text: json with rep repeated count times in place of its "%s". */
static char *build_json(const struct validate_case *c)
{
	struct tb_buf b = {0};
	if (c->rep == NULL) {
		tb_buf_puts(&b, c->json);
	} else {
		const char *p = strstr(c->json, "%s");
		tb_buf_append(&b, c->json, (size_t)(p - c->json));
		for (size_t i = 0; i < c->count; i++)
			tb_buf_puts(&b, c->rep);
		tb_buf_puts(&b, p + 2);
	}
	return b.data;
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static void test_validate(void)
{
	for (size_t i = 0; i < N_ELEMS(validate_cases); i++) {
		const struct validate_case *c = &validate_cases[i];
		char *text = build_json(c);
		char msg[256];
		memset(msg, 0, sizeof msg);
		if (c->rep)
			tb_case(__FILE__, c->line, "tb_json_validate(%s x %zu in %s, require %d)", tb_q(c->rep),
			        c->count, tb_q(c->json), c->require);
		else
			tb_case(__FILE__, c->line, "tb_json_validate(%s, require %d)", tb_q(text), c->require);
		enum json_tokener_error jerr;
		struct json_object *obj = json_tokener_parse_verbose(text, &jerr);
		if (jerr != json_tokener_success) {
			tb_fail("bad test row: json-c cannot parse it (%s)", json_tokener_error_desc(jerr));
		} else {
			enum tb_err err = tb_json_validate(fields, N_ELEMS(fields), obj, c->require, msg, sizeof msg);
			if (tb_check_err("result", err, c->err) && err != TB_OK) {
				tb_check(msg[0] != '\0', "empty message");
				if (c->field) {
					size_t n = strlen(c->field);
					tb_check(strncmp(msg, c->field, n) == 0 && !is_name_char(msg[n]),
					         "message %s does not begin with the field name %s", tb_q(msg),
					         tb_q(c->field));
				}
				if (c->hint)
					tb_check_contains("message", msg, c->hint);
			}
		}
		json_object_put(obj);
		free(text);
		tb_end();
	}
}

/* The message fits the buffer it is given, however small. */
static const struct {
	int line;
	size_t len;
} small_msg_cases[] = {
	{__LINE__, 1},
	{__LINE__, 2},
	{__LINE__, 8},
};

static void test_validate_small_msg(void)
{
	for (size_t i = 0; i < N_ELEMS(small_msg_cases); i++) {
		char msg[16];
		size_t len = small_msg_cases[i].len;
		memset(msg, 'Z', sizeof msg);
		struct json_object *obj = json_tokener_parse("{\"x\":\"a long enough message\"}");
		tb_case(__FILE__, small_msg_cases[i].line, "tb_json_validate message in %zu bytes", len);
		tb_check_err("result", tb_json_validate(fields, N_ELEMS(fields), obj, false, msg, len), TB_ERR_INVALID);
		tb_check(memchr(msg, '\0', len) != NULL, "message not NUL-terminated within %zu bytes", len);
		for (size_t j = len; j < sizeof msg; j++)
			if (msg[j] != 'Z') {
				tb_fail("byte %zu written past msg_len", j);
				break;
			}
		json_object_put(obj);
		tb_end();
	}
}

/* ---- tb_json_str, tb_json_int ---- */

struct getter_case {
	int line;
	const char *key;
	bool is_int;
	bool found;
	const char *want_str;
	int64_t want_int;
};

static const struct getter_case getter_cases[] = {
	{__LINE__, "s", false, true, "abc", 0},    {__LINE__, "e", false, true, "", 0},
	{__LINE__, "nope", false, false, NULL, 0}, {__LINE__, "i", true, true, NULL, 42},
	{__LINE__, "neg", true, true, NULL, -7},   {__LINE__, "max", true, true, NULL, INT64_MAX},
	{__LINE__, "nope", true, false, NULL, 0},
};

static void test_getters(void)
{
	struct json_object *obj =
		json_tokener_parse("{\"s\":\"abc\",\"e\":\"\",\"i\":42,\"neg\":-7,\"max\":9223372036854775807}");
	for (size_t i = 0; i < N_ELEMS(getter_cases); i++) {
		const struct getter_case *c = &getter_cases[i];
		tb_case(__FILE__, c->line, "tb_json_%s(%s)", c->is_int ? "int" : "str", tb_q(c->key));
		if (c->is_int) {
			int64_t v = -1;
			bool found = tb_json_int(obj, c->key, &v);
			if (tb_check_bool("found", found, c->found) && found)
				tb_check_int("value", v, c->want_int);
		} else {
			const char *s = NULL;
			bool found = tb_json_str(obj, c->key, &s);
			if (tb_check_bool("found", found, c->found) && found)
				tb_check_str("value", s, c->want_str);
		}
		tb_end();
	}
	json_object_put(obj);
}

/* ---- tb_utf8_length ---- */

struct utf8_case {
	int line;
	const char *s;
	size_t len; /* SIZE_MAX: strlen(s) */
	size_t want;
};

static const struct utf8_case utf8_cases[] = {
	{__LINE__, "", SIZE_MAX, 0},
	{__LINE__, "a", SIZE_MAX, 1},
	{__LINE__, "abc", SIZE_MAX, 3},
	{__LINE__, E_ACUTE, SIZE_MAX, 1},
	{__LINE__, EURO, SIZE_MAX, 1},
	{__LINE__, GRIN, SIZE_MAX, 1},
	{__LINE__, "a" E_ACUTE EURO GRIN, SIZE_MAX, 4},
	{__LINE__, E_ACUTE E_ACUTE E_ACUTE, SIZE_MAX, 3},
	{__LINE__, "\xc2\x85", SIZE_MAX, 1},
	{__LINE__, "abc", 2, 2},
	{__LINE__, "abc", 0, 0},
	{__LINE__, "a\0b", 3, 3},
	{__LINE__, "\0", 1, 1},
	{__LINE__, "x" GRIN "y" GRIN, SIZE_MAX, 4},
};

static void test_utf8_length(void)
{
	for (size_t i = 0; i < N_ELEMS(utf8_cases); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		size_t len = c->len == SIZE_MAX ? strlen(c->s) : c->len;
		tb_case(__FILE__, c->line, "tb_utf8_length(%s, %zu)", tb_qn(c->s, len), len);
		tb_check_uint("length", tb_utf8_length(c->s, len), c->want);
		tb_end();
	}
}

/* ---- tb_has_control ---- */

struct control_case {
	int line;
	const char *s;
	size_t len;     /* SIZE_MAX: strlen(s) */
	bool want_line; /* allow_text false */
	bool want_text; /* allow_text true */
};

static const struct control_case control_cases[] = {
	{__LINE__, "", SIZE_MAX, false, false},
	{__LINE__, "abc", SIZE_MAX, false, false},
	{__LINE__, " ~!", SIZE_MAX, false, false},
	{__LINE__, "a\nb", SIZE_MAX, true, false},
	{__LINE__, "a\rb", SIZE_MAX, true, false},
	{__LINE__, "\t", SIZE_MAX, true, false},
	{__LINE__, "\r\n", SIZE_MAX, true, false},
	{__LINE__, "\x01", SIZE_MAX, true, true},
	{__LINE__, "a\x0b", SIZE_MAX, true, true},   /* vertical tab */
	{__LINE__, "a\x0c", SIZE_MAX, true, true},   /* form feed */
	{__LINE__, "\x1b[0m", SIZE_MAX, true, true}, /* escape */
	{__LINE__, "\x1f", SIZE_MAX, true, true},
	{__LINE__, "\x7f", SIZE_MAX, true, true}, /* DEL */
	{__LINE__, "a\0b", 3, true, true},
	{__LINE__, "ab\0", 3, true, true},
	{__LINE__, "\n\0", 2, true, true},
	{__LINE__, "\xc2\x80", SIZE_MAX, true, true},   /* U+0080, C1 */
	{__LINE__, "\xc2\x85", SIZE_MAX, true, true},   /* U+0085 NEL */
	{__LINE__, "\xc2\x9f", SIZE_MAX, true, true},   /* U+009F */
	{__LINE__, "\xc2\xa0", SIZE_MAX, false, false}, /* U+00A0, not a control */
	/* continuation bytes 0x80-0x9f inside other characters are not C1 controls */
	{__LINE__, "\xc4\x85", SIZE_MAX, false, false},     /* U+0105 */
	{__LINE__, EURO, SIZE_MAX, false, false},           /* e2 82 ac */
	{__LINE__, GRIN, SIZE_MAX, false, false},           /* f0 9f 98 80 */
	{__LINE__, "\xe2\x80\x8f", SIZE_MAX, false, false}, /* U+200F */
	{__LINE__, E_ACUTE "\x01", SIZE_MAX, true, true},
	{__LINE__, "abc\x01", 3, false, false}, /* past len */
};

static void test_has_control(void)
{
	for (size_t i = 0; i < N_ELEMS(control_cases); i++) {
		const struct control_case *c = &control_cases[i];
		size_t len = c->len == SIZE_MAX ? strlen(c->s) : c->len;
		tb_case(__FILE__, c->line, "tb_has_control(%s, %zu)", tb_qn(c->s, len), len);
		tb_check_bool("allow_text false", tb_has_control(c->s, len, false), c->want_line);
		tb_check_bool("allow_text true", tb_has_control(c->s, len, true), c->want_text);
		tb_end();
	}
}

/* tb_json_validate_member: an object member against its own table, every required field, the
 * message naming "key.field"; anything that is not an object member is left to tb_json_validate. */
struct member_case {
	int line;
	const char *json;
	enum tb_err err;
	const char *msg_start; /* the message begins with this, or NULL */
};

static const struct member_case member_cases[] = {
	{__LINE__, "{\"change\":{\"current\":\"a\",\"new\":\"12345678\"}}", TB_OK, NULL},
	{__LINE__, "{\"change\":{\"current\":\"a\"}}", TB_ERR_INVALID, "change.new: is required"},
	{__LINE__, "{\"change\":{}}", TB_ERR_INVALID, "change.current: is required"},
	{__LINE__, "{\"change\":{\"current\":\"a\",\"new\":\"short\"}}", TB_ERR_INVALID,
         "change.new: must be 8 to 100 characters"},
	{__LINE__, "{\"change\":{\"current\":\"a\",\"new\":\"12345678\",\"x\":1}}", TB_ERR_INVALID,
         "change.x: unknown field"},
	{__LINE__, "{\"change\":{\"current\":1,\"new\":\"12345678\"}}", TB_ERR_INVALID,
         "change.current: must be a string"},
	{__LINE__, "{\"change\":\"x\"}", TB_OK, NULL},
	{__LINE__, "{\"other\":{}}", TB_OK, NULL},
	{__LINE__, "[]", TB_OK, NULL},
};

static void test_validate_member(void)
{
	for (size_t i = 0; i < N_ELEMS(member_cases); i++) {
		const struct member_case *c = &member_cases[i];
		struct json_object *obj = NULL;
		char msg[160] = "";
		tb_case(__FILE__, c->line, "tb_json_validate_member(%s)", tb_q(c->json));
		if (tb_check_int("parse", tb_json_parse(c->json, strlen(c->json), 32, &obj), TB_OK)) {
			enum tb_err err = tb_json_validate_member(&change_table, obj, "change", msg, sizeof msg);
			if (tb_check_int("result", err, c->err) && c->msg_start)
				tb_check(strncmp(msg, c->msg_start, strlen(c->msg_start)) == 0, "message %s",
				         tb_q(msg));
		}
		json_object_put(obj);
		tb_end();
	}
}

int main(void)
{
	test_validate_member();
	test_parse();
	test_depth();
	test_validate();
	test_validate_small_msg();
	test_getters();
	test_utf8_length();
	test_has_control();
	return tb_done();
}
