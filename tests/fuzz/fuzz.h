/* fuzz.h: what every libFuzzer harness in tests/fuzz/ shares. A harness hands one input to a public
 * function of lib/ and checks the function's contract; ASan and UBSan catch the memory and
 * undefined-behaviour errors, FUZZ_CHECK the broken contracts. Copies are heap blocks of the exact
 * size, so a read past the end is an ASan report, not a silent read of libFuzzer's buffer. */
#ifndef TB_FUZZ_H
#define TB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken contract: say which, then abort (libFuzzer saves the input as a crash). */
#define FUZZ_CHECK(cond)                                                                            \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                    \
		}                                                                                   \
	} while (0)

/* data[0..size) as a NUL-terminated string (an embedded NUL ends it early); caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* data[0..size) in a block of exactly size bytes (no terminator); caller frees. */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* Splits off the first line of [*data, *data + *size) (without its '\n') as a NUL-terminated
 * string and advances past it; caller frees. The whole rest when there is no '\n'. */
static inline char *fuzz_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len = nl ? (size_t)(nl - *data) : *size;
	char *s = fuzz_cstr(*data, len);
	size_t skip = nl ? len + 1 : len;
	*data += skip;
	*size -= skip;
	return s;
}

#endif
