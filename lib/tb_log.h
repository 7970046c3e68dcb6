/* tb_log: one escaped line per message on stderr (the web server's error log):
 * time, level, pid, request id, file:line, message. Never pass passwords, tokens or cookies. */
#ifndef TB_LOG_H
#define TB_LOG_H

#include <stdbool.h>

enum tb_log_level { TB_LOG_DEBUG, TB_LOG_INFO, TB_LOG_WARN, TB_LOG_ERROR, TB_LOG__MAX };

#define TB_LOG(level, ...) tb_log_write((level), __FILE__, __LINE__, __VA_ARGS__)

void tb_log_write(enum tb_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Messages below level are dropped. */
void tb_log_set_level(enum tb_log_level level);
/* Parses "debug" | "info" | "warn" | "error"; returns false for anything else. */
bool tb_log_level_parse(const char *s, enum tb_log_level *out);
/* Sets the request id printed on each line until the next call (0: none). */
void tb_log_set_request(unsigned long id);

#endif
