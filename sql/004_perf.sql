-- 004_perf: cheaper reads and writes of notes, found by bench/ (docs/performance.md). Nothing here
-- changes a result: the same rows, keys and values, computed with less work.

-- A new note goes on top: POST /boards/:id/items reads max(z) of the board. Without an index on z
-- that read visits every note of the board, so each insert got slower as the board grew (a board
-- of 13,000 notes: 42 million instructions per insert, 1.4 million with this index).
CREATE INDEX items_board_z_idx ON items (board_id, z);

-- It also made board_role and event_json PL/pgSQL (sql/functions/access.sql and events.sql say
-- why) and built a note's JSON as json text, item_json_text (sql/functions/items.sql).
