/* tb_log: writes each message as one line on stderr. Control characters and non-ASCII bytes in the
 * message are escaped (\xNN), so text that came from a client cannot forge log lines. */
#include "tb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum tb_log_level min_level = TB_LOG_INFO;
static unsigned long request_id;

static const char *const level_names[TB_LOG__MAX] = {"debug", "info", "warn", "error"};

void tb_log_set_level(enum tb_log_level level)
{
	min_level = level;
}

void tb_log_set_request(unsigned long id)
{
	request_id = id;
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

void tb_log_write(enum tb_log_level level, const char *file, int line, const char *fmt, ...)
{
	if (level < min_level || level >= TB_LOG__MAX)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	char out[sizeof msg * 4 + 256];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	int n = snprintf(out, 256, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%ld] req=%lu %s:%d: ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 (long)(tv.tv_usec / 1000), level_names[level], (long)getpid(), request_id, base,
	                 line);
	size_t len = n < 0 ? 0 : (size_t)n >= 256 ? 255 : (size_t)n;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			len += (size_t)sprintf(out + len, "\\x%02x", *p);
		else
			out[len++] = (char)*p;
	}
	out[len++] = '\n';
	/* One write(2) per line keeps lines from concurrent workers whole. */
	ssize_t w = write(STDERR_FILENO, out, len);
	(void)w;
}
