/* api_history: time travel (issue 14, item 4; docs/api.md, "GET /boards/:id/history";
 * docs/design.md, "Time travel"). GET /boards/:id/history?seq=N (or ?at=<ISO 8601 time>) answers
 * the board as it was after event N (after the last event logged at or before that time): its
 * title and every note with its fields then, in GET /boards/:id's shape, plus "seq" and
 * "last_seq". The work is one statement, board_history() (sql/functions/history.sql), which reads
 * each note's latest event at or before N from the log. Here: the query's parameters (pure, unit
 * tested in tests/unit/test_history.c) and the answer for the outcome. Viewers and up.
 * POST /boards/:id/history/restore {"seq": N} ("restore this version", editors and up) brings the
 * notes back to their state after N in one statement, board_restore_version(): one undo step,
 * every change an ordinary event. GET and POST /boards/:id/visit ("since your last visit",
 * viewers and up) read and raise the last seq the caller's browser reported having shown
 * (board_visit(), sql/024_visits.sql). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_api.h"

static const char SQL_HISTORY[] =
	"SELECT role, outcome, body FROM board_history($1::bigint, $2::bigint, $3::bigint, $4::timestamptz)";

/* n digits at s into *out; false unless all are digits. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* The offset at s ("Z", "+HH", "+HHMM", "+HH:MM"; a space for '+', as an unescaped '+' in a query
 * reads): *minutes east of UTC; false unless it is the whole rest of s. */
static bool offset(const char *s, int *minutes)
{
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*minutes = 0;
		return true;
	}
	int sign = s[0] == '-' ? -1 : 1, h = 0, m = 0;
	if (s[0] != '+' && s[0] != '-' && s[0] != ' ')
		return false;
	if (!digits(s + 1, 2, &h) || h > 14)
		return false;
	const char *p = s + 3 + (s[3] == ':');
	if (*p != '\0' && (!digits(p, 2, &m) || m > 59 || p[2] != '\0'))
		return false;
	if (*p == '\0' && s[3] == ':')
		return false;
	*minutes = sign * (h * 60 + m);
	return true;
}

bool tb_history_parse_at(const char *s, char out[TB_HISTORY_AT_LEN])
{
	int y, mo, d, h, mi, sec = 0, off;
	size_t len = strlen(s);
	if (len < 17 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59)
		return false;
	const char *p = s + 16;
	char frac[7] = "000000";
	if (*p == ':') {
		if (!digits(p + 1, 2, &sec) || sec > 59)
			return false;
		p += 3;
		if (*p == '.' || *p == ',') {
			size_t n = 0;
			for (p++; isdigit((unsigned char)*p); p++, n++) {
				if (n >= 6)
					return false;
				frac[n] = *p;
			}
			if (n == 0)
				return false;
		}
	}
	if (!offset(p, &off))
		return false;
	int aoff = off < 0 ? -off : off;
	snprintf(out, TB_HISTORY_AT_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%s%c%02d:%02d", y, mo, d, h, mi, sec, frac,
	         off < 0 ? '-' : '+', aoff / 60, aoff % 60);
	return true;
}

bool tb_history_params(const char *query, int64_t *seq, char at[TB_HISTORY_AT_LEN])
{
	char *s = NULL, *t = NULL;
	enum tb_err es = tb_query_get(query, "seq", &s);
	enum tb_err et = tb_query_get(query, "at", &t);
	bool ok = false;
	if (es == TB_OK && et == TB_ERR_NOT_FOUND) {
		int64_t n = 0;
		ok = strcmp(s, "0") == 0 || tb_parse_id(s, strlen(s), &n);
		*seq = n;
		at[0] = '\0';
	} else if (et == TB_OK && es == TB_ERR_NOT_FOUND) {
		ok = tb_history_parse_at(t, at);
		*seq = -1;
	}
	free(s);
	free(t);
	return ok;
}

void tb_api_history(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	int64_t seq = -1;
	char at[TB_HISTORY_AT_LEN], uid[24], bid[24], sq[24];
	if (!tb_history_params(req->query, &seq, at)) {
		tb_resp_fail(resp, TB_E_BAD_HISTORY);
		return;
	}
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), seq >= 0 ? tb_i64(sq, seq) : NULL,
	                        seq >= 0 ? NULL : at};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, SQL_HISTORY, 4, params, &r)))
		return;
	const char *outcome = PQntuples(r) == 1 && !PQgetisnull(r, 0, 1) ? PQgetvalue(r, 0, 1) : "";
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		tb_resp_fail(resp, TB_E_NOT_FOUND);
	} else if (strcmp(outcome, "ok") == 0) {
		tb_api_reply_row(resp, 200, r, 2, -1);
	} else if (strcmp(outcome, "beyond") == 0 || strcmp(outcome, "pruned") == 0) {
		int64_t last = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		tb_resp_fail_with(resp, outcome[0] == 'b' ? TB_E_HISTORY_BEYOND : TB_E_HISTORY_PRUNED, "last_event_id",
		                  json_object_new_int64(last));
	} else {
		tb_resp_fail(resp, TB_E_INTERNAL);
	}
	PQclear(r);
}

static const struct tb_field seq_fields[] = {
	{"seq", TB_FIELD_INT, 0, INT64_MAX, true, false, NULL, NULL},
};
const struct tb_fields tb_api_seq_fields = TB_FIELDS(seq_fields);

static const char SQL_RESTORE[] =
	"SELECT role, outcome, body FROM board_restore_version($1::bigint, $2::bigint, $3::bigint)";
static const char SQL_VISIT[] = "SELECT role, outcome, body FROM board_visit($1::bigint, $2::bigint, $3::bigint)";

enum tb_error_id tb_history_verdict(enum tb_rank rank, enum tb_rank min, const char *outcome)
{
	if (rank == TB_RANK_NONE)
		return TB_E_NOT_FOUND;
	if (rank < min)
		return TB_E_FORBIDDEN;
	static const struct {
		const char *outcome;
		enum tb_error_id e;
	} table[] = {
		{"ok", TB_E__COUNT},          {"beyond", TB_E_HISTORY_BEYOND}, {"pruned", TB_E_HISTORY_PRUNED},
		{"purged", TB_E_NOTE_PURGED}, {"changed", TB_E_BOARD_CHANGED}, {"too_many", TB_E_RESTORE_TOO_LARGE},
	};
	for (size_t i = 0; outcome && i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(outcome, table[i].outcome) == 0)
			return table[i].e;
	}
	return TB_E_INTERNAL;
}

/* Runs sql (role, outcome, body) with the caller, the board and seq (NULL: none) and answers it:
 * 200 with the body, or the verdict's error; "beyond" and "pruned" carry "last_event_id" (the
 * body), "too_many" carries "max_changes" (the body: the limit is board_restore_version's). min is
 * the rank the route needs. */
static void seq_route(struct tb_app *app, struct tb_req *req, struct tb_resp *resp, const char *sql, enum tb_rank min)
{
	int64_t seq = -1;
	char uid[24], bid[24], sq[24];
	bool with_seq = app->body_json && tb_json_int(app->body_json, "seq", &seq);
	const char *params[] = {tb_i64(uid, req->user_id), tb_i64(bid, req->ids[0]), with_seq ? tb_i64(sq, seq) : NULL};
	PGresult *r = NULL;
	if (tb_resp_db_failed(resp, tb_db_query(&app->db, sql, 3, params, &r)))
		return;
	enum tb_rank rank = PQntuples(r) == 1 ? tb_api_rank(PQgetvalue(r, 0, 0)) : TB_RANK_NONE;
	const char *outcome = PQntuples(r) == 1 && !PQgetisnull(r, 0, 1) ? PQgetvalue(r, 0, 1) : NULL;
	enum tb_error_id e = tb_history_verdict(rank, min, outcome);
	if (e == TB_E__COUNT) {
		tb_api_reply_row(resp, 200, r, 2, -1);
	} else if (e == TB_E_HISTORY_BEYOND || e == TB_E_HISTORY_PRUNED || e == TB_E_RESTORE_TOO_LARGE) {
		tb_resp_fail_with(resp, e, e == TB_E_RESTORE_TOO_LARGE ? "max_changes" : "last_event_id",
		                  json_object_new_int64(strtoll(PQgetvalue(r, 0, 2), NULL, 10)));
	} else {
		tb_resp_fail(resp, e);
	}
	PQclear(r);
}

void tb_api_history_restore(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	seq_route(app, req, resp, SQL_RESTORE, TB_RANK_EDITOR);
}

void tb_api_visit_get(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	seq_route(app, req, resp, SQL_VISIT, TB_RANK_VIEWER);
}

void tb_api_visit_report(struct tb_app *app, struct tb_req *req, struct tb_resp *resp)
{
	seq_route(app, req, resp, SQL_VISIT, TB_RANK_VIEWER);
}
