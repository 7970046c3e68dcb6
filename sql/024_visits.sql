-- 024_visits: "since your last visit" (issue 14, item 4; docs/api.md, "GET /boards/:id/visit";
-- docs/design.md, "Time travel"). A table only; board_visit (functions/history.sql) reads and
-- writes it.
--
-- One row per user and board: the last seq the user's browser reported having shown (seq) and
-- when. The browser reports it (POST /boards/:id/visit) when it opens the board and, at most every
-- few seconds, as live events arrive, so what is stored is what the person saw, live changes
-- included, and a busy board costs no write per event. seq only grows. The row goes with its
-- user or board.
CREATE TABLE board_visits (
    user_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    board_id bigint      NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    seq      bigint      NOT NULL CHECK (seq >= 0),
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, board_id)
);
-- A board's delete cascades here.
CREATE INDEX board_visits_board_idx ON board_visits (board_id);
