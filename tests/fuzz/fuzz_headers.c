/* fuzz_headers: the header and query parsers of tb_request.h on one fuzzed value each.
 * Input: the first line is a name (query parameter or cookie name); the rest is the value given to
 * every parser (tb_parse_id gets it unterminated, in a block of its exact length). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_request.h"

static void query(const char *q, const char *name)
{
	static const int64_t bounds[][2] = {{0, INT64_MAX}, {1, 1000}, {INT64_MIN, INT64_MAX}, {-5, 5}};
	char *s = NULL;
	if (tb_query_get(q, name, &s) == TB_OK) {
		FUZZ_CHECK(s != NULL);
		FUZZ_CHECK(strlen(s) <= strlen(q)); /* decoding never grows the text */
		free(s);
	}
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		int64_t v = INT64_C(-777);
		if (tb_query_int(q, name, bounds[i][0], bounds[i][1], &v) == TB_OK)
			FUZZ_CHECK(v >= bounds[i][0] && v <= bounds[i][1]);
	}
}

static void token(enum tb_err err, char *s, const char *from)
{
	if (err != TB_OK)
		return;
	FUZZ_CHECK(s != NULL && strlen(s) <= strlen(from));
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_line(&data, &size);
	char *value = fuzz_cstr(data, size);
	char *exact = fuzz_exact(data, size);
	char *s = NULL;

	query(value, name);
	query(value, "after");
	token(tb_cookie_get(value, name, &s), s, value);
	token(tb_cookie_get(value, "tb_session", &s), s, value);
	token(tb_bearer_get(value, &s), s, value);
	(void)tb_content_type_is_json(value);
	(void)tb_if_match(value, 1);
	(void)tb_if_match(value, INT64_MAX);

	int64_t id = INT64_C(-777);
	if (tb_parse_id(exact, size, &id))
		FUZZ_CHECK(id >= 1);
	uint64_t n = 0;
	if (tb_parse_content_length(value, &n))
		FUZZ_CHECK(strspn(value, "0123456789") == strlen(value) && value[0] != '\0');

	free(name);
	free(value);
	free(exact);
	return 0;
}
