/* test_trash: what a restore answers (lib/api_trash.c; docs/api.md, "Trash"), as the pure
 * functions that decide it: tb_trash_state reads a state query's names, tb_trash_note_verdict and
 * tb_trash_board_verdict give the status for every rank and state. Each table row carries its
 * __LINE__. The integration tests (tests/integration/test_trash.py, test_authz_matrix.py) drive
 * the same statuses through the real stack. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_api.h"
#include "tb_test.h"

static const struct {
	int line;
	const char *in;
	enum tb_trash_state want;
} state_cases[] = {
	{__LINE__, "live", TB_TRASH_LIVE},    {__LINE__, "trash", TB_TRASH_IN}, {__LINE__, "purged", TB_TRASH_PURGED},
	{__LINE__, "", TB_TRASH_NONE},        {__LINE__, NULL, TB_TRASH_NONE},  {__LINE__, "Live", TB_TRASH_NONE},
	{__LINE__, "trashed", TB_TRASH_NONE},
};

static void test_state(void)
{
	for (size_t i = 0; i < N_ELEMS(state_cases); i++) {
		tb_case(__FILE__, state_cases[i].line, "tb_trash_state(%s)", tb_q(state_cases[i].in));
		tb_check_int("state", tb_trash_state(state_cases[i].in), state_cases[i].want);
		tb_end();
	}
}

#define GO TB_E__COUNT /* the restore goes on */

enum { NOTE, BOARD };

/* Statuses for ranks none, viewer, editor, admin, owner in each state. */
static const struct {
	int line, kind;
	enum tb_trash_state state;
	enum tb_error_id want[5];
} verdict_cases[] = {
	{__LINE__,
         NOTE,
         TB_TRASH_NONE,
         {TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND}},
	{__LINE__, NOTE, TB_TRASH_IN, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, GO, GO, GO}},
	{__LINE__,
         NOTE,
         TB_TRASH_LIVE,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_NOTE_NOT_DELETED, TB_E_NOTE_NOT_DELETED, TB_E_NOTE_NOT_DELETED}},
	{__LINE__,
         NOTE,
         TB_TRASH_PURGED,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_NOTE_PURGED, TB_E_NOTE_PURGED, TB_E_NOTE_PURGED}},
	{__LINE__,
         BOARD,
         TB_TRASH_NONE,
         {TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND}},
	{__LINE__, BOARD, TB_TRASH_IN, {TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, GO, GO}},
	{__LINE__,
         BOARD,
         TB_TRASH_LIVE,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_FORBIDDEN, TB_E_BOARD_NOT_DELETED, TB_E_BOARD_NOT_DELETED}},
	{__LINE__,
         BOARD,
         TB_TRASH_PURGED,
         {TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_NOT_FOUND, TB_E_BOARD_PURGED, TB_E_BOARD_PURGED}},
};

static void test_verdicts(void)
{
	static const char *const ranks[] = {"none", "viewer", "editor", "admin", "owner"};
	for (size_t i = 0; i < N_ELEMS(verdict_cases); i++) {
		for (int r = TB_RANK_NONE; r <= TB_RANK_OWNER; r++) {
			tb_case(__FILE__, verdict_cases[i].line, "%s verdict, rank %s, state %d",
			        verdict_cases[i].kind == NOTE ? "note" : "board", ranks[r],
			        (int)verdict_cases[i].state);
			enum tb_error_id got = verdict_cases[i].kind == NOTE
				? tb_trash_note_verdict((enum tb_rank)r, verdict_cases[i].state)
				: tb_trash_board_verdict((enum tb_rank)r, verdict_cases[i].state);
			tb_check_int("error id", got, verdict_cases[i].want[r]);
			tb_end();
		}
	}
}

/* The new errors are in the table with their statuses and codes (test_resp holds the table to
 * docs/api.md and web/js/errors.js). */
static void test_errors(void)
{
	size_t n;
	const struct tb_error *t = tb_resp_errors(&n);
	tb_case(__FILE__, __LINE__, "409 not_deleted, 410 gone");
	tb_check_int("note not deleted", t[TB_E_NOTE_NOT_DELETED].status, 409);
	tb_check_str("code", t[TB_E_NOTE_NOT_DELETED].code, "not_deleted");
	tb_check_int("board not deleted", t[TB_E_BOARD_NOT_DELETED].status, 409);
	tb_check_str("code", t[TB_E_BOARD_NOT_DELETED].code, "not_deleted");
	tb_check_int("note purged", t[TB_E_NOTE_PURGED].status, 410);
	tb_check_str("code", t[TB_E_NOTE_PURGED].code, "gone");
	tb_check_int("board purged", t[TB_E_BOARD_PURGED].status, 410);
	tb_check_str("code", t[TB_E_BOARD_PURGED].code, "gone");
	tb_end();
}

int main(void)
{
	test_state();
	test_verdicts();
	test_errors();
	return tb_done();
}
