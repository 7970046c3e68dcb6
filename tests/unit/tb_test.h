/* tb_test: a tiny TAP producer for the table-driven unit tests of lib/ (like lighttpd's
 * src/t/test_burl.c, but reporting instead of aborting). Each table row is one case:
 *
 *	tb_case(__FILE__, row->line, "tb_parse_id(%s)", tb_q(row->in));
 *	tb_check_int("value", got, row->want);
 *	tb_end();
 *
 * prints `ok N - tb_parse_id("1")` or `not ok N - tb_parse_id("1") (test_x.c:42: value: got 0, want 1)`,
 * where 42 is the __LINE__ of the table row. tb_done() prints the plan `1..N` last and returns 0:
 * under automake's tap-driver.sh the "not ok" lines are the failures and a nonzero exit status
 * would be reported as a second, separate ERROR. A program that dies midway prints no plan, which
 * tap-driver.sh reports as an error. Everything lives in this header (static) so each test is one
 * .c file; the functions are static inline so a test that does not use one gets no warning. */
#ifndef TB_TEST_H
#define TB_TEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tb_err.h"

#define TB_TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct tb_test_state {
	unsigned n;      /* cases reported so far */
	unsigned failed; /* of which not ok */
	bool open;       /* between tb_case and tb_end */
	const char *file;
	int line; /* __LINE__ of the table row */
	char desc[512];
	char msg[2048]; /* failures of the open case, "; "-separated */
	char q[8][512]; /* rotating buffers for tb_q/tb_qn */
	unsigned qi;
};

static struct tb_test_state tb_test;

static inline const char *tb_test_base(const char *file)
{
	const char *s = strrchr(file, '/');
	return s ? s + 1 : file;
}

/* A printable, double-quoted rendering of len bytes of s ("(null)" for NULL): C escapes for
 * control and non-ASCII bytes, "..." past about 120 bytes. Valid until 8 more calls. */
static inline const char *tb_qn(const char *s, size_t len)
{
	char *out = tb_test.q[tb_test.qi++ % 8];
	size_t o = 0, cap = sizeof tb_test.q[0];
	if (s == NULL)
		return "(null)";
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 120) {
			o += (size_t)snprintf(out + o, cap - o, "...(%zu bytes)", len);
			break;
		}
		if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c == '\r')
			o += (size_t)snprintf(out + o, cap - o, "\\r");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, cap - o, "\\t");
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (o + 2 > cap)
		o = cap - 2;
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static inline const char *tb_q(const char *s)
{
	return tb_qn(s, s ? strlen(s) : 0);
}

/* Opens a case: file is __FILE__, line the table row's __LINE__, fmt the description. */
static inline TB_TEST_PRINTF(3, 4) void tb_case(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tb_test.open = true;
	tb_test.file = tb_test_base(file);
	tb_test.line = line;
	tb_test.msg[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(tb_test.desc, sizeof tb_test.desc, fmt, ap);
	va_end(ap);
}

/* Records a failure of the open case; returns false so checks can be chained. */
static inline TB_TEST_PRINTF(1, 2) bool tb_fail(const char *fmt, ...)
{
	va_list ap;
	size_t len = strlen(tb_test.msg);
	if (len > 0 && len + 2 < sizeof tb_test.msg) {
		memcpy(tb_test.msg + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(tb_test.msg + len, sizeof tb_test.msg - len, fmt, ap);
	va_end(ap);
	if (tb_test.msg[0] == '\0') /* an empty message still fails the case */
		snprintf(tb_test.msg, sizeof tb_test.msg, "failed");
	return false;
}

static inline TB_TEST_PRINTF(2, 3) bool tb_check(bool cond, const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	if (cond)
		return true;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	return tb_fail("%s", m);
}

static inline bool tb_check_int(const char *what, intmax_t got, intmax_t want)
{
	return got == want || tb_fail("%s: got %jd, want %jd", what, got, want);
}

static inline bool tb_check_uint(const char *what, uintmax_t got, uintmax_t want)
{
	return got == want || tb_fail("%s: got %ju, want %ju", what, got, want);
}

static inline bool tb_check_bool(const char *what, bool got, bool want)
{
	return got == want || tb_fail("%s: got %s, want %s", what, got ? "true" : "false", want ? "true" : "false");
}

/* Compares strings; NULL equals only NULL. */
static inline bool tb_check_str(const char *what, const char *got, const char *want)
{
	if (got == NULL || want == NULL ? got == want : strcmp(got, want) == 0)
		return true;
	return tb_fail("%s: got %s, want %s", what, tb_q(got), tb_q(want));
}

static inline bool tb_check_mem(const char *what, const char *got, size_t got_len, const char *want, size_t want_len)
{
	if (got_len == want_len && (want_len == 0 || (got && want && memcmp(got, want, want_len) == 0)))
		return true;
	return tb_fail("%s: got %s, want %s", what, tb_qn(got, got_len), tb_qn(want, want_len));
}

static inline bool tb_check_prefix(const char *what, const char *got, const char *prefix)
{
	if (got && strncmp(got, prefix, strlen(prefix)) == 0)
		return true;
	return tb_fail("%s: got %s, want it to begin with %s", what, tb_q(got), tb_q(prefix));
}

static inline bool tb_check_contains(const char *what, const char *got, const char *needle)
{
	if (got && strstr(got, needle))
		return true;
	return tb_fail("%s: got %s, want it to contain %s", what, tb_q(got), tb_q(needle));
}

static inline bool tb_check_err(const char *what, enum tb_err got, enum tb_err want)
{
	if (got == want)
		return true;
	return tb_fail("%s: got %d (%s), want %d (%s)", what, (int)got, tb_err_str(got), (int)want, tb_err_str(want));
}

/* Writes text into a TAP line: '#' is escaped so a description never reads as a directive. */
static inline void tb_test_put(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '#')
			fputs("\\#", stdout);
		else if (*p == '\n' || *p == '\r')
			fputc(' ', stdout);
		else
			fputc(*p, stdout);
	}
}

/* Closes the open case and prints its TAP line. */
static inline void tb_end(void)
{
	bool ok = tb_test.msg[0] == '\0';
	tb_test.n++;
	if (!ok)
		tb_test.failed++;
	printf("%sok %u - ", ok ? "" : "not ", tb_test.n);
	tb_test_put(tb_test.desc);
	if (!ok) {
		printf(" (%s:%d: ", tb_test.file, tb_test.line);
		tb_test_put(tb_test.msg);
		fputc(')', stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
	tb_test.open = false;
}

/* Prints the plan and a summary comment; the result is main's exit status (see the top). */
static inline int tb_done(void)
{
	if (tb_test.open)
		tb_end();
	printf("1..%u\n", tb_test.n);
	if (tb_test.failed)
		printf("# %u of %u cases failed\n", tb_test.failed, tb_test.n);
	fflush(stdout);
	return 0;
}

/* Gives up on the whole program (a temp file cannot be made, ...): tap-driver.sh reports it. */
static inline void tb_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
}

#endif
