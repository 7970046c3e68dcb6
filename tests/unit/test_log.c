/* Unit tests of lib/tb_log.c: one line per message, whatever the message holds. Text from a
 * client (a path, a name) reaches log lines: control characters, backslashes and non-ASCII bytes
 * are written as \xNN, so it can neither forge a line nor hide behind terminal controls.
 * tb_log_open_file: lines appended to the file (0640, close-on-exec), whole under concurrent
 * processes, the file opened again after rotation, stderr (said once) when it cannot be opened or is
 * not a regular file (a symlink, a FIFO, a directory: refused at once, never followed or blocked on). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ---- log_file ---- */

static char tmpdir[256];

/* The whole content of path (caller frees), "" when missing. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 22);
	if (f) {
		size_t n = fread(buf, 1, (1 << 22) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Runs fn with stderr redirected to a pipe; returns what it wrote there (caller frees). */
static char *stderr_of(void (*fn)(void *), void *arg)
{
	int fds[2];
	if (pipe(fds) != 0)
		return NULL;
	int saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *buf = calloc(1, 65536);
	ssize_t n = read(fds[0], buf, 65535);
	close(fds[0]);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void log_two(void *arg)
{
	TB_LOG(TB_LOG_WARN, "first %s", (const char *)arg);
	TB_LOG(TB_LOG_INFO, "second %s", (const char *)arg);
}

static void open_and_log(void *path)
{
	tb_log_open_file(path);
	log_two("line");
}

static void test_file_lines(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/a.log", tmpdir);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("kept\n", f);
		fclose(f);
	}
	tb_log_set_program("test_log");
	tb_case(__FILE__, __LINE__, "tb_log_open_file(existing file): lines appended, none on stderr");
	char *err = stderr_of(open_and_log, path);
	char *got = slurp(path);
	char want[128];
	snprintf(want, sizeof want, " warn test_log[%ld] req=0 test_log.c:", (long)getpid());
	tb_check(err && *err == '\0', "stderr got %s", tb_q(err ? err : "(null)"));
	tb_check(strncmp(got, "kept\n", 5) == 0, "old content not kept: %s", tb_q(got));
	tb_check(strstr(got, want) != NULL, "no line with %s in %s", tb_q(want), tb_q(got));
	tb_check(strstr(got, ": first line\n") && strstr(got, ": second line\n"), "messages: %s", tb_q(got));
	tb_check_uint("lines", count_lines(got), 3);
	free(err);
	free(got);
	tb_end();
	tb_log_close_file();
}

static void test_file_mode(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/new.log", tmpdir);
	mode_t old = umask(0);
	tb_case(__FILE__, __LINE__, "tb_log_open_file(new file): created 0640, close-on-exec");
	if (tb_check(tb_log_open_file(path), "not opened")) {
		struct stat st;
		if (tb_check(stat(path, &st) == 0, "no file"))
			tb_check_uint("mode", st.st_mode & 07777, 0640);
		int fd = -1;
		for (int i = 3; i < 64 && fd < 0; i++) {
			struct stat o;
			if (fstat(i, &o) == 0 && o.st_ino == st.st_ino && o.st_dev == st.st_dev)
				fd = i;
		}
		if (tb_check(fd >= 0, "no descriptor open on it"))
			tb_check(fcntl(fd, F_GETFD) & FD_CLOEXEC, "not close-on-exec");
		tb_check(fd < 0 || (fcntl(fd, F_GETFL) & O_APPEND), "not O_APPEND");
	}
	umask(old);
	tb_log_close_file();
	tb_end();
}

static void open_missing_and_log(void *path)
{
	tb_log_open_file(path);
	log_two("on stderr");
}

static void test_file_cannot_open(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/no/such/dir/x.log", tmpdir);
	tb_case(__FILE__, __LINE__, "tb_log_open_file(in a missing directory): said once, lines on stderr");
	char *err = stderr_of(open_missing_and_log, path);
	tb_check(err && strstr(err, "log_file ") &&
	                 strstr(err,
	                        "x.log: cannot open: No such file or directory; "
	                        "logging to standard error\n"),
	         "no notice: %s", tb_q(err ? err : "(null)"));
	tb_check(err && strstr(err, ": first on stderr\n") && strstr(err, ": second on stderr\n"),
	         "lines not on stderr: %s", tb_q(err ? err : "(null)"));
	tb_check_uint("lines", err ? count_lines(err) : 0, 3);
	free(err);
	tb_end();
}

/* What log_file may not be: tb_log_open_file refuses it at once (a FIFO would block every worker's
 * write, a planted symlink would send the lines elsewhere), says so once, and lines go to stderr.
 * alarm(): a hang fails the test instead of holding it. */
struct refused_case {
	int line;
	const char *what, *name, *notice; /* notice: what follows "log_file <path>: " on stderr */
};

static const struct refused_case refused_cases[] = {
	{__LINE__, "a symlink to a file", "link.log",
         "not a regular file (a symbolic link); logging to standard error\n"},
	{__LINE__, "a dangling symlink", "dangling.log",
         "not a regular file (a symbolic link); logging to standard error\n"},
	{__LINE__, "a FIFO without a reader", "fifo.log", "not a regular file (a FIFO); logging to standard error\n"},
	{__LINE__, "a FIFO with a reader", "fifo-read.log", "not a regular file (a FIFO); logging to standard error\n"},
	{__LINE__, "a directory", "dir.log", "not a regular file (a directory); logging to standard error\n"},
};

static void make_refused(const char *name, const char *path, int *reader)
{
	char target[600];
	snprintf(target, sizeof target, "%s/target.log", tmpdir);
	*reader = -1;
	if (strcmp(name, "link.log") == 0) {
		int fd = open(target, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			close(fd);
		tb_check_int("symlink", symlink(target, path), 0);
	} else if (strcmp(name, "dangling.log") == 0) {
		snprintf(target, sizeof target, "%s/nowhere.log", tmpdir);
		tb_check_int("symlink", symlink(target, path), 0);
	} else if (strncmp(name, "fifo", 4) == 0) {
		tb_check_int("mkfifo", mkfifo(path, 0600), 0);
		if (strcmp(name, "fifo-read.log") == 0)
			*reader = open(path, O_RDONLY | O_NONBLOCK);
	} else {
		tb_check_int("mkdir", mkdir(path, 0700), 0);
	}
}

static void test_file_refused(void)
{
	for (size_t i = 0; i < N_ELEMS(refused_cases); i++) {
		const struct refused_case *c = &refused_cases[i];
		char path[600], want[800], target[600], nowhere[600];
		snprintf(path, sizeof path, "%s/%s", tmpdir, c->name);
		snprintf(target, sizeof target, "%s/target.log", tmpdir);
		snprintf(nowhere, sizeof nowhere, "%s/nowhere.log", tmpdir);
		tb_case(__FILE__, c->line, "tb_log_open_file(%s): refused at once, said once, lines on stderr",
		        c->what);
		int reader;
		make_refused(c->name, path, &reader);
		alarm(20);
		char *err = stderr_of(open_missing_and_log, path);
		alarm(0);
		snprintf(want, sizeof want, "log_file %s: %s", path, c->notice);
		tb_check(err && strstr(err, want), "no notice %s in %s", tb_q(want), tb_q(err ? err : "(null)"));
		tb_check(err && strstr(err, ": first on stderr\n") && strstr(err, ": second on stderr\n"),
		         "lines not on stderr: %s", tb_q(err ? err : "(null)"));
		tb_check_uint("lines", err ? count_lines(err) : 0, 3);
		char *t = slurp(target);
		tb_check(t == NULL || *t == '\0', "the symlink's target was written: %s", tb_q(t ? t : ""));
		tb_check_int("nothing made where the dangling symlink points", access(nowhere, F_OK), -1);
		if (reader >= 0) {
			char buf[64];
			tb_check(read(reader, buf, sizeof buf) <= 0, "the FIFO's reader got a line");
			close(reader);
		}
		free(t);
		free(err);
		tb_log_close_file();
		tb_end();
	}
}

/* Four processes, 300 lines each of 3000 bytes: every line whole. */
static void test_file_concurrent(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/c.log", tmpdir);
	tb_case(__FILE__, __LINE__, "4 processes x 300 lines into one log_file: every line whole");
	if (tb_check(tb_log_open_file(path), "not opened")) {
		static char big[1901];
		memset(big, 'x', 1900);
		for (int p = 0; p < 4; p++) {
			pid_t pid = fork();
			if (pid == 0) {
				for (int i = 0; i < 300; i++)
					TB_LOG(TB_LOG_INFO, "%s<end>", big);
				_exit(0);
			}
		}
		for (int p = 0; p < 4; p++)
			wait(NULL);
		char *got = slurp(path);
		tb_check_uint("lines", count_lines(got), 1200);
		size_t bad = 0;
		for (char *l = got, *nl; (nl = strchr(l, '\n')); l = nl + 1)
			bad += !(nl - l > 1905 && strncmp(nl - 5, "<end>", 5) == 0 && memchr(l, 'Z', 30));
		tb_check_uint("malformed lines", bad, 0);
		free(got);
	}
	tb_log_close_file();
	tb_end();
}

/* logrotate's default: rename the file away; the next line after TB_LOG_REOPEN_SECONDS goes to
 * a new file under the name. */
static void test_file_rotation(void)
{
	char path[512], old[512];
	snprintf(path, sizeof path, "%s/r.log", tmpdir);
	snprintf(old, sizeof old, "%s/r.log.1", tmpdir);
	tb_case(__FILE__, __LINE__, "log_file renamed away: opened again by name within %d s", TB_LOG_REOPEN_SECONDS);
	if (tb_check(tb_log_open_file(path), "not opened")) {
		TB_LOG(TB_LOG_INFO, "before rotation");
		rename(path, old);
		sleep(TB_LOG_REOPEN_SECONDS + 1);
		TB_LOG(TB_LOG_INFO, "after rotation");
		char *a = slurp(old), *b = slurp(path);
		tb_check(strstr(a, "before rotation") && !strstr(a, "after rotation"), "old file: %s", tb_q(a));
		tb_check(strstr(b, "after rotation") && !strstr(b, "before rotation"), "new file: %s", tb_q(b));
		free(a);
		free(b);
	}
	tb_log_close_file();
	tb_end();
}

static void remove_tree(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
	test_escapes();
	snprintf(tmpdir, sizeof tmpdir, "%s/tb-test-log.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_file_lines();
	test_file_mode();
	test_file_cannot_open();
	test_file_refused();
	test_file_concurrent();
	test_file_rotation();
	remove_tree();
	return tb_done();
}
