/* fuzz_json: request bodies as the pipeline sees them: tb_json_parse (strict, UTF-8, depth), then
 * tb_json_validate against every field table of the API's routes (tb_api.h's tb_api_*_fields, the
 * tables the pipeline itself uses) and one with a boolean field, and the borrowed getters.
 * Input: the body, exactly as many bytes as given (no terminator). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_api.h"
#include "tb_json.h"

static const struct tb_field flag_fields[] = {
	/* no resource has one yet: TB_FIELD_BOOL */
	{"open", TB_FIELD_BOOL, 0, 0, false, true, NULL, NULL},
};

static void validate(struct json_object *obj, struct tb_fields t)
{
	char msg[256];
	for (int require = 0; require <= 1; require++) {
		memset(msg, 'x', sizeof msg);
		if (tb_json_validate(t.v, t.n, obj, require, msg, sizeof msg) != TB_OK) {
			FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
			continue;
		}
		for (size_t i = 0; i < t.n; i++) { /* what the handlers read after validation */
			const char *s;
			int64_t v;
			if (t.v[i].type == TB_FIELD_STRING || t.v[i].type == TB_FIELD_TEXT) {
				if (tb_json_str(obj, t.v[i].name, &s)) {
					size_t len = strlen(s);
					FUZZ_CHECK(!tb_has_control(s, len, t.v[i].type == TB_FIELD_TEXT));
					size_t chars = tb_utf8_length(s, len);
					FUZZ_CHECK(chars >= (size_t)t.v[i].min && chars <= (size_t)t.v[i].max);
				}
			} else if (t.v[i].type == TB_FIELD_INT && tb_json_int(obj, t.v[i].name, &v)) {
				FUZZ_CHECK(v >= t.v[i].min && v <= t.v[i].max);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_exact(data, size);
	struct json_object *obj = NULL;
	if (tb_json_parse(text, size, TB_JSON_MAX_DEPTH, &obj) == TB_OK) {
		const struct tb_fields tables[] = {
			tb_api_credentials,  tb_api_team_fields,        tb_api_member_fields, tb_api_member_role_fields,
			tb_api_board_fields, tb_api_board_patch_fields, tb_api_item_fields,   TB_FIELDS(flag_fields),
		};
		for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
			validate(obj, tables[i]);
		json_object_put(obj);
	}
	(void)tb_has_control(text, size, false);
	(void)tb_has_control(text, size, true);
	free(text);
	return 0;
}
