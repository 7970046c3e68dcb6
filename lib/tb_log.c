/* tb_log: writes each message as one line, on stderr or appended to a log file. Control
 * characters and non-ASCII bytes in the message are escaped (\xNN), so text that came from a
 * client cannot forge log lines. A log file is shared by every process of an installation (many
 * workers, the supervisor): O_APPEND and one write(2) per line keep lines whole. Rotation is
 * noticed by name: every TB_LOG_REOPEN_SECONDS at most, a write compares the file under the name
 * with the one open and opens the name again when they differ (renamed away, removed). Only a
 * regular file is used: a symlink at the name is not followed, a FIFO or a device is refused. */
#include "tb_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum tb_log_level min_level = TB_LOG_INFO;
static unsigned long request_id;
static const char *program = "teamboard";

static struct {
	int fd; /* -1: stderr */
	char *path;
	time_t checked;       /* CLOCK_MONOTONIC seconds of the last check of the name */
	bool reopen_reported; /* a failed reopen said so on stderr already */
} file = {-1, NULL, 0, false};

static const char *const level_names[TB_LOG__MAX] = {"debug", "info", "warn", "error"};

void tb_log_set_level(enum tb_log_level level)
{
	min_level = level;
}

void tb_log_set_request(unsigned long id)
{
	request_id = id;
}

void tb_log_set_program(const char *name)
{
	program = name && *name ? name : "teamboard";
}

bool tb_log_level_parse(const char *s, enum tb_log_level *out)
{
	for (int i = 0; i < TB_LOG__MAX; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum tb_log_level)i;
			return true;
		}
	}
	return false;
}

static time_t monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* What a path that is not a regular file is, for the notice. */
static const char *kind_of(mode_t mode)
{
	return S_ISLNK(mode)                     ? "a symbolic link"
		: S_ISFIFO(mode)                 ? "a FIFO"
		: S_ISDIR(mode)                  ? "a directory"
		: S_ISSOCK(mode)                 ? "a socket"
		: S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
						 : "not a file";
}

/* Opens the log file for appending: a regular file only. O_NOFOLLOW, so a symlink planted at the
 * name (in a directory others may write) is not followed; O_NONBLOCK, so a FIFO there fails (no
 * reader: ENXIO) or is refused after fstat instead of blocking every write; then the descriptor
 * is made blocking again, as a file's always is. -1 on failure, with errno set and *refused the
 * kind of a path that exists but is not a regular file (else NULL). */
static int open_log(const char *path, const char **refused)
{
	*refused = NULL;
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0640);
	if (fd < 0) {
		int err = errno;
		if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
			*refused = kind_of(st.st_mode);
		errno = err;
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		int err = errno;
		if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
			*refused = kind_of(st.st_mode);
			err = EINVAL;
		}
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* "program: log_file PATH: what: strerror; logging to standard error", or for a path that is not
 * a regular file "program: log_file PATH: not a regular file (a FIFO); logging to standard error". */
static void say_on_stderr(const char *what, const char *path, int err, const char *refused)
{
	char line[1024], why[256];
	if (refused)
		snprintf(why, sizeof why, "not a regular file (%s)", refused);
	else
		snprintf(why, sizeof why, "%s: %s", what, strerror(err));
	int n = snprintf(line, sizeof line, "%s: log_file %s: %s; logging to standard error\n", program, path, why);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
}

void tb_log_close_file(void)
{
	if (file.fd >= 0)
		close(file.fd);
	free(file.path);
	file.fd = -1;
	file.path = NULL;
}

bool tb_log_open_file(const char *path)
{
	tb_log_close_file();
	const char *refused;
	int fd = open_log(path, &refused);
	if (fd < 0) {
		say_on_stderr("cannot open", path, errno, refused);
		return false;
	}
	file.fd = fd;
	file.path = strdup(path);
	file.checked = monotonic_seconds();
	file.reopen_reported = false;
	return true;
}

/* After rotation: the name leads to another file, or to none. Opens the name again; on failure
 * keeps the old file (still writable) and says so once. */
static void check_rotation(void)
{
	time_t now = monotonic_seconds();
	if (file.fd < 0 || now - file.checked < TB_LOG_REOPEN_SECONDS)
		return;
	file.checked = now;
	struct stat by_name, open_now;
	if (stat(file.path, &by_name) == 0 && fstat(file.fd, &open_now) == 0 && by_name.st_ino == open_now.st_ino &&
	    by_name.st_dev == open_now.st_dev)
		return;
	const char *refused;
	int fd = open_log(file.path, &refused);
	if (fd < 0) {
		if (!file.reopen_reported)
			say_on_stderr("cannot open again after rotation", file.path, errno, refused);
		file.reopen_reported = true;
		return;
	}
	close(file.fd);
	file.fd = fd;
	file.reopen_reported = false;
}

void tb_log_write(enum tb_log_level level, const char *file_name, int line, const char *fmt, ...)
{
	if (level < min_level || level >= TB_LOG__MAX)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	char out[sizeof msg * 4 + 320];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	const char *base = strrchr(file_name, '/');
	base = base ? base + 1 : file_name;
	int n = snprintf(out, 320,
	                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %.64s[%ld] req=%lu %.64s:%d: ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
	                 level_names[level], program, (long)getpid(), request_id, base, line);
	size_t len = n < 0 ? 0 : (size_t)n >= 320 ? 319 : (size_t)n;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			len += (size_t)sprintf(out + len, "\\x%02x", *p);
		else
			out[len++] = (char)*p;
	}
	out[len++] = '\n';
	check_rotation();
	/* One write(2) per line keeps lines from concurrent workers whole. */
	ssize_t w = write(file.fd >= 0 ? file.fd : STDERR_FILENO, out, len);
	(void)w;
}
