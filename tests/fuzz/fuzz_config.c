/* fuzz_config: tb_config_parse on a fuzzed teamboard.conf over the defaults, then tb_config_free.
 * Input: the file's text (an embedded NUL ends it, as it would end the file's string). */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "tb_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	char err[256];
	struct tb_config cfg;
	tb_config_defaults(&cfg);
	memset(err, 'x', sizeof err);
	if (tb_config_parse(&cfg, "fuzz.conf", text, err, sizeof err) == TB_OK) {
		FUZZ_CHECK(cfg.n_allowed_origins <= TB_CONFIG_MAX_ORIGINS);
		FUZZ_CHECK(cfg.max_reply >= 65536);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
	}
	tb_config_free(&cfg);
	free(text);
	return 0;
}
