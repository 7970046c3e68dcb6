-- 019_history: time travel (issue 14, item 4; docs/api.md, "GET /boards/:id/history";
-- docs/design.md, "Time travel"). Indexes and a data move only; board_history
-- (functions/history.sql) reads them.
--
-- A note's state after event N is the payload of its latest event at or before N (item.created
-- and item.updated carry the whole note after the change; item.deleted: the note is gone), found
-- per note through board_events_item_idx (board_id, item_id, seq) of 018_undo.sql. Events logged
-- before 018 have no item_id: it is filled here from their payload, so those notes are found too.
UPDATE board_events SET item_id = (payload -> 'item' ->> 'id')::bigint
 WHERE item_id IS NULL AND type LIKE 'item.%' AND payload -> 'item' ? 'id';

-- The board's own events (board.updated, board.deleted, board.restored) are few among its note
-- events: the latest at or before N, and the first after it, are found here without walking the
-- note events in between (a board of 100,000 events answers in a few milliseconds).
CREATE INDEX board_events_board_idx ON board_events (board_id, seq) WHERE type LIKE 'board.%';
