/* tb_log: one escaped line per message, on stderr (the web server's error log) or, once
 * tb_log_open_file has succeeded, appended to teamboard.conf's log_file:
 *     2026-11-28T05:12:13.593Z info teamboard.fcgi[13203] req=0 tb_supervisor.c:367: message
 * (time UTC, level, program[pid], request id, file:line, message; docs/operations.md, "Logs").
 * Never pass passwords, tokens or cookies. */
#ifndef TB_LOG_H
#define TB_LOG_H

#include <stdbool.h>

enum tb_log_level { TB_LOG_DEBUG, TB_LOG_INFO, TB_LOG_WARN, TB_LOG_ERROR, TB_LOG__MAX };

/* A log file is checked at most this often (when a line is written) for having been renamed or
 * removed (log rotation); then it is opened again by its name. */
#define TB_LOG_REOPEN_SECONDS 5

#define TB_LOG(level, ...) tb_log_write((level), __FILE__, __LINE__, __VA_ARGS__)

void tb_log_write(enum tb_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Messages below level are dropped. */
void tb_log_set_level(enum tb_log_level level);
/* Parses "debug" | "info" | "warn" | "error"; returns false for anything else. */
bool tb_log_level_parse(const char *s, enum tb_log_level *out);
/* Sets the request id printed on each line until the next call (0: none). */
void tb_log_set_request(unsigned long id);
/* Names the program on each line (default "teamboard"); name must outlive the logging. */
void tb_log_set_program(const char *name);
/* From now on appends each line to the file at path (O_APPEND, created 0640 if missing,
 * close-on-exec; one write(2) per line, so lines of concurrent processes stay whole). path must
 * name a regular file: a symlink is not followed and a FIFO, directory or device is refused at
 * once (never blocked on). Returns false when it cannot be opened or is refused: then says so once
 * on stderr ("log_file PATH: not a regular file (a FIFO); ...") and goes on logging to stderr.
 * A file renamed or removed under it is opened again by name (see TB_LOG_REOPEN_SECONDS). */
bool tb_log_open_file(const char *path);
/* Back to stderr; closes the log file, if any. */
void tb_log_close_file(void);

#endif
