/* test_history: the query of GET /boards/:id/history (lib/api_history.c; docs/api.md, "GET
 * /boards/:id/history"): exactly one of seq and at, seq as an id-like decimal or 0, at an ISO 8601
 * time with its offset, written out for PostgreSQL; what "restore this version" and the visit
 * answer for a rank and an outcome (tb_history_verdict). Each table row carries its __LINE__.
 * tests/integration/test_history.py drives the same inputs through the real stack. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_api.h"
#include "tb_test.h"

/* A query, whether it is accepted, and then the seq (-1: at) and the at written out. */
static const struct {
	int line;
	const char *query;
	bool ok;
	int64_t seq;
	const char *at;
} params[] = {
	{__LINE__, "seq=0", true, 0, ""},
	{__LINE__, "seq=17", true, 17, ""},
	{__LINE__, "seq=9223372036854775807", true, INT64_MAX, ""},
	{__LINE__, "x=1&seq=5&y", true, 5, ""},
	{__LINE__, "at=2026-12-04T10:20:30Z", true, -1, "2026-12-04T10:20:30.000000+00:00"},
	{__LINE__, "at=2026-12-04T10:20:30.5%2B02:00", true, -1, "2026-12-04T10:20:30.500000+02:00"},
	{__LINE__, "at=2026-12-04T10:20:30.123456+00:00", true, -1, "2026-12-04T10:20:30.123456+00:00"},
	{__LINE__, "at=2026-12-04T10:20-0530", true, -1, "2026-12-04T10:20:00.000000-05:30"},
	{__LINE__, "at=2024-02-29t00:00:00,25z", true, -1, "2024-02-29T00:00:00.250000+00:00"},
	{__LINE__, "at=2026-12-04T10:20:30%2B01", true, -1, "2026-12-04T10:20:30.000000+01:00"},
	{__LINE__, "", false, 0, NULL},
	{__LINE__, "seq=", false, 0, NULL},
	{__LINE__, "seq", false, 0, NULL},
	{__LINE__, "seq=-1", false, 0, NULL},
	{__LINE__, "seq=%2B1", false, 0, NULL},
	{__LINE__, "seq=01", false, 0, NULL},
	{__LINE__, "seq=1.0", false, 0, NULL},
	{__LINE__, "seq=abc", false, 0, NULL},
	{__LINE__, "seq=9223372036854775808", false, 0, NULL},
	{__LINE__, "seq=%zz", false, 0, NULL},
	{__LINE__, "seq=1&at=2026-12-04T10:20:30Z", false, 0, NULL},
	{__LINE__, "at=", false, 0, NULL},
	{__LINE__, "at=yesterday", false, 0, NULL},
	{__LINE__, "at=now", false, 0, NULL},
	{__LINE__, "at=2026-12-04", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30", false, 0, NULL},
	{__LINE__, "at=2026-12-04 10:20:30Z", false, 0, NULL},
	{__LINE__, "at=2026-13-04T10:20:30Z", false, 0, NULL},
	{__LINE__, "at=2025-02-29T10:20:30Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T24:00:00Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:60:00Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:60Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30.Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30.1234567Z", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30%2B15:00", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30%2B01:", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30%2B01:60", false, 0, NULL},
	{__LINE__, "at=2026-12-04T10:20:30Zjunk", false, 0, NULL},
	{__LINE__, "at=0000-12-04T10:20:30Z", false, 0, NULL},
	{__LINE__, "at=%zz", false, 0, NULL},
};

static void test_params(void)
{
	for (size_t i = 0; i < N_ELEMS(params); i++) {
		tb_case(__FILE__, params[i].line, "tb_history_params(%s)", tb_q(params[i].query));
		int64_t seq = -2;
		char at[TB_HISTORY_AT_LEN] = "unset";
		bool ok = tb_history_params(params[i].query, &seq, at);
		if (tb_check_bool("accepted", ok, params[i].ok) && ok) {
			tb_check_int("seq", seq, params[i].seq);
			tb_check_str("at", at, params[i].at);
		}
		tb_end();
	}
}

/* What the restore and the visit answer for a rank, the rank the route needs and an outcome. */
static const struct {
	int line;
	enum tb_rank rank, min;
	const char *outcome;
	enum tb_error_id e;
} verdicts[] = {
	{__LINE__, TB_RANK_NONE, TB_RANK_EDITOR, NULL, TB_E_NOT_FOUND},
	{__LINE__, TB_RANK_NONE, TB_RANK_VIEWER, NULL, TB_E_NOT_FOUND},
	{__LINE__, TB_RANK_VIEWER, TB_RANK_EDITOR, NULL, TB_E_FORBIDDEN},
	{__LINE__, TB_RANK_VIEWER, TB_RANK_VIEWER, "ok", TB_E__COUNT},
	{__LINE__, TB_RANK_EDITOR, TB_RANK_EDITOR, "ok", TB_E__COUNT},
	{__LINE__, TB_RANK_OWNER, TB_RANK_EDITOR, "beyond", TB_E_HISTORY_BEYOND},
	{__LINE__, TB_RANK_ADMIN, TB_RANK_EDITOR, "pruned", TB_E_HISTORY_PRUNED},
	{__LINE__, TB_RANK_EDITOR, TB_RANK_EDITOR, "purged", TB_E_NOTE_PURGED},
	{__LINE__, TB_RANK_EDITOR, TB_RANK_EDITOR, "changed", TB_E_BOARD_CHANGED},
	{__LINE__, TB_RANK_EDITOR, TB_RANK_EDITOR, "what", TB_E_INTERNAL},
	{__LINE__, TB_RANK_EDITOR, TB_RANK_EDITOR, NULL, TB_E_INTERNAL},
};

static void test_verdicts(void)
{
	for (size_t i = 0; i < N_ELEMS(verdicts); i++) {
		tb_case(__FILE__, verdicts[i].line, "tb_history_verdict(%d, %d, %s)", (int)verdicts[i].rank,
		        (int)verdicts[i].min, verdicts[i].outcome ? verdicts[i].outcome : "NULL");
		tb_check_int("error", tb_history_verdict(verdicts[i].rank, verdicts[i].min, verdicts[i].outcome),
		             verdicts[i].e);
		tb_end();
	}
}

int main(void)
{
	test_params();
	test_verdicts();
	return tb_done();
}
