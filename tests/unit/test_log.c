/* Unit tests of lib/tb_log.c: one line per message, whatever the message holds. Text from a
 * client (a path, a name) reaches log lines: control characters, backslashes and non-ASCII bytes
 * are written as \xNN, so it can neither forge a line nor hide behind terminal controls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_log.h"
#include "tb_test.h"

struct log_case {
	int line;
	const char *msg, *want; /* want: what follows "file:line: " on the line */
};

static const struct log_case cases[] = {
	{__LINE__, "plain text", "plain text"},
	{__LINE__, "two\nlines", "two\\x0alines"},
	{__LINE__, "cr\rhere", "cr\\x0dhere"},
	{__LINE__, "esc \x1b[31mred", "esc \\x1b[31mred"},
	{__LINE__, "del\x7f", "del\\x7f"},
	{__LINE__, "back\\slash", "back\\x5cslash"},
	{__LINE__, "caf\xc3\xa9", "caf\\xc3\\xa9"},
	{__LINE__, "c1 \xc2\x9b control", "c1 \\xc2\\x9b control"},
	{__LINE__, "line sep \xe2\x80\xa8 end", "line sep \\xe2\\x80\\xa8 end"},
};

/* Logs msg with stderr redirected to a pipe and returns what was written (caller frees). */
static char *logged(const char *msg)
{
	int fds[2];
	if (pipe(fds) != 0)
		return NULL;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	TB_LOG(TB_LOG_ERROR, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *buf = calloc(1, 65536);
	ssize_t n = read(fds[0], buf, 65535);
	close(fds[0]);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return buf;
}

static void test_escapes(void)
{
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const struct log_case *c = &cases[i];
		tb_case(__FILE__, c->line, "TB_LOG(%s)", tb_q(c->msg));
		char *got = logged(c->msg);
		const char *body = got ? strstr(got, "test_log.c:") : NULL;
		body = body ? strstr(body, ": ") : NULL;
		if (tb_check(body != NULL, "no log line: %s", got ? tb_q(got) : "(null)")) {
			body += 2;
			size_t n = strlen(body);
			if (tb_check(n > 0 && body[n - 1] == '\n' && memchr(body, '\n', n - 1) == NULL,
			             "not exactly one line: %s", tb_q(body))) {
				char *copy = strndup(body, n - 1);
				tb_check_str("message", copy, c->want);
				free(copy);
			}
		}
		free(got);
		tb_end();
	}
}

int main(void)
{
	test_escapes();
	return tb_done();
}
