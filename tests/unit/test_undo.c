/* test_undo: what POST /boards/:id/undo and /redo answer (lib/api_undo.c; docs/api.md, "Undo and
 * redo"), as tb_undo_verdict gives it for every rank and outcome of board_undo(). Each table row
 * carries its __LINE__. tests/integration/test_undo.py drives the same statuses through the real
 * stack. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tb_api.h"
#include "tb_test.h"

#define GO TB_E__COUNT /* 200 */

/* Answers for ranks none, viewer, editor, admin, owner. */
static const struct {
	int line;
	const char *outcome;
	bool redo;
	enum tb_error_id want[5];
} cases[] = {
	{__LINE__, NULL, false, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_INTERNAL, TB_E_INTERNAL, TB_E_INTERNAL}},
	{__LINE__, "ok", false, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, GO, GO, GO}},
	{__LINE__, "ok", true, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, GO, GO, GO}},
	{__LINE__,
         "empty",
         false,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_NOTHING_TO_UNDO, TB_E_NOTHING_TO_UNDO, TB_E_NOTHING_TO_UNDO}},
	{__LINE__,
         "empty",
         true,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_NOTHING_TO_REDO, TB_E_NOTHING_TO_REDO, TB_E_NOTHING_TO_REDO}},
	{__LINE__,
         "conflict",
         false,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_UNDO_CONFLICT, TB_E_UNDO_CONFLICT, TB_E_UNDO_CONFLICT}},
	{__LINE__,
         "conflict",
         true,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_REDO_CONFLICT, TB_E_REDO_CONFLICT, TB_E_REDO_CONFLICT}},
	{__LINE__,
         "purged",
         false,
         {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_NOTE_PURGED, TB_E_NOTE_PURGED, TB_E_NOTE_PURGED}},
	{__LINE__, "Ok", false, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_INTERNAL, TB_E_INTERNAL, TB_E_INTERNAL}},
	{__LINE__, "", true, {TB_E_NOT_FOUND, TB_E_FORBIDDEN, TB_E_INTERNAL, TB_E_INTERNAL, TB_E_INTERNAL}},
};

static void test_verdict(void)
{
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		for (int rank = TB_RANK_NONE; rank <= TB_RANK_OWNER; rank++) {
			tb_case(__FILE__, cases[i].line, "tb_undo_verdict(rank %d, %s, %s)", rank,
			        tb_q(cases[i].outcome), cases[i].redo ? "redo" : "undo");
			tb_check_int("error", tb_undo_verdict((enum tb_rank)rank, cases[i].outcome, cases[i].redo),
			             cases[i].want[rank]);
			tb_end();
		}
	}
}

int main(void)
{
	test_verdict();
	return tb_done();
}
