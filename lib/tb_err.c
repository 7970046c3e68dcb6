/* tb_err: names for enum tb_err values, for log lines. */
#include "tb_err.h"

#include <stddef.h>

static const char *const names[TB_ERR__MAX] = {
	[TB_OK] = "ok",
	[TB_ERR_NOMEM] = "out of memory",
	[TB_ERR_INVALID] = "invalid",
	[TB_ERR_RANGE] = "out of range",
	[TB_ERR_TOO_LARGE] = "too large",
	[TB_ERR_NOT_FOUND] = "not found",
	[TB_ERR_IO] = "i/o error",
	[TB_ERR_DB] = "database error",
	[TB_ERR_DB_DOWN] = "database unavailable",
	[TB_ERR_CONFLICT] = "conflict",
	[TB_ERR_TIMEOUT] = "timed out",
};

const char *tb_err_str(enum tb_err err)
{
	if ((unsigned)err >= TB_ERR__MAX || names[err] == NULL)
		return "unknown error";
	return names[err];
}
