/* fuzz_notify: tb_stream_notify_header on a fuzzed NOTIFY payload ("<seq> <type>[ <json>]").
 * Input: the payload (an embedded NUL ends it, as PostgreSQL's payloads cannot hold one). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *payload = fuzz_cstr(data, size);
	int64_t seq = 0;
	char type[TB_STREAM_TYPE_MAX + 1];
	const char *json = payload;
	if (tb_stream_notify_header(payload, &seq, type, &json)) {
		size_t n = strlen(payload);
		FUZZ_CHECK(seq >= 1);
		FUZZ_CHECK(memchr(type, '\0', sizeof type) != NULL);
		FUZZ_CHECK(strspn(type, "abcdefghijklmnopqrstuvwxyz_.") == strlen(type));
		FUZZ_CHECK(strchr(type, '.') != NULL);
		FUZZ_CHECK(json == NULL || (json > payload && json <= payload + n));
	}
	free(payload);
	return 0;
}
