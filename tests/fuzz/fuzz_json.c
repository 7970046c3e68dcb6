/* fuzz_json: request bodies as the pipeline sees them: tb_json_parse (strict, UTF-8, depth), then
 * tb_json_validate against every resource's field table and the borrowed getters.
 * The tables are copies of the static ones in lib/api_*.c (the credentials' table is public), so
 * every field type, bound and validator runs; keep them in step when a resource's fields change.
 * Input: the body, exactly as many bytes as given (no terminator). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_api.h"
#include "tb_json.h"

static bool color_ok(const char *s) /* lib/api_items.c */
{
	return s[0] == '#' && strlen(s) == 7 && strspn(s + 1, "0123456789abcdefABCDEF") == 6;
}

static bool role_ok(const char *s) /* lib/api_teams.c */
{
	return strcmp(s, "viewer") == 0 || strcmp(s, "editor") == 0 || strcmp(s, "admin") == 0;
}

static const struct tb_field item_fields[] = {
	{"text", TB_FIELD_TEXT, 0, 10000, false, false, NULL, NULL},
	{"color", TB_FIELD_STRING, 7, 7, false, false, color_ok, "a color like \"#ffcc00\""},
	{"x", TB_FIELD_INT, -100000, 100000, false, false, NULL, NULL},
	{"y", TB_FIELD_INT, -100000, 100000, false, false, NULL, NULL},
	{"width", TB_FIELD_INT, 20, 4000, false, false, NULL, NULL},
	{"height", TB_FIELD_INT, 20, 4000, false, false, NULL, NULL},
	{"z", TB_FIELD_INT, -1000000, 1000000, false, false, NULL, NULL},
};
static const struct tb_field board_fields[] = {
	{"title", TB_FIELD_STRING, 1, 200, true, false, NULL, NULL},
	{"team_id", TB_FIELD_ID, 0, 0, false, true, NULL, NULL},
};
static const struct tb_field member_fields[] = {
	{"name", TB_FIELD_STRING, 1, 64, true, false, NULL, NULL},
	{"role", TB_FIELD_STRING, 1, 16, true, false, role_ok, "viewer, editor or admin"},
};
static const struct tb_field flag_fields[] = { /* no resource has one yet: TB_FIELD_BOOL */
	{"open", TB_FIELD_BOOL, 0, 0, false, true, NULL, NULL},
};

struct table {
	const struct tb_field *fields;
	size_t n;
};

static void validate(struct json_object *obj, struct table t)
{
	char msg[256];
	for (int require = 0; require <= 1; require++) {
		memset(msg, 'x', sizeof msg);
		if (tb_json_validate(t.fields, t.n, obj, require, msg, sizeof msg) != TB_OK) {
			FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
			continue;
		}
		for (size_t i = 0; i < t.n; i++) { /* what the handlers read after validation */
			const char *s;
			int64_t v;
			if (t.fields[i].type == TB_FIELD_STRING || t.fields[i].type == TB_FIELD_TEXT) {
				if (tb_json_str(obj, t.fields[i].name, &s)) {
					size_t len = strlen(s);
					FUZZ_CHECK(!tb_has_control(s, len, t.fields[i].type == TB_FIELD_TEXT));
					size_t chars = tb_utf8_length(s, len);
					FUZZ_CHECK(chars >= (size_t)t.fields[i].min && chars <= (size_t)t.fields[i].max);
				}
			} else if (t.fields[i].type == TB_FIELD_INT && tb_json_int(obj, t.fields[i].name, &v)) {
				FUZZ_CHECK(v >= t.fields[i].min && v <= t.fields[i].max);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_exact(data, size);
	struct json_object *obj = NULL;
	if (tb_json_parse(text, size, TB_JSON_MAX_DEPTH, &obj) == TB_OK) {
		struct table tables[] = {
			{item_fields, sizeof item_fields / sizeof item_fields[0]},
			{board_fields, sizeof board_fields / sizeof board_fields[0]},
			{member_fields, sizeof member_fields / sizeof member_fields[0]},
			{flag_fields, 1},
			{NULL, 0},
		};
		tables[4].fields = tb_api_credential_fields(&tables[4].n);
		for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
			validate(obj, tables[i]);
		json_object_put(obj);
	}
	(void)tb_has_control(text, size, false);
	(void)tb_has_control(text, size, true);
	free(text);
	return 0;
}
