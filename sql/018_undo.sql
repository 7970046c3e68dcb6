-- 018_undo: undo and redo per person (issue 14, item 3; docs/api.md, "Undo and redo";
-- docs/design.md, "Undo and redo"). Columns and indexes only; record_event fills them and
-- board_undo (functions/undo.sql) reads them.
--
-- The log stays append-only (the runtime role has no UPDATE on board_events): whether a change
-- is undone is itself in the log, as the undo event that points at it.
--   step     the request (transaction) that made the event: pg_current_xact_id(). An undo
--            reverses every note change of the caller's newest step, so a request that changes
--            several notes is one undo step. NULL for events from before this migration, which
--            are never undone (their item.updated has no "before").
--   item_id  the note of an item.* event (payload item.id), for "who changed this note since".
--   undo_of  this event undoes the event with that seq (its payload says "undo_of" too).
--   redo_of  this event redoes the undo event with that seq ("redo_of").
-- A change is undone when an event has undo_of = its seq, an undo is redone when one has
-- redo_of = its seq; the unique indexes make each happen at most once, even when two undos of
-- one person race.
ALTER TABLE board_events ADD COLUMN step bigint,
                         ADD COLUMN item_id bigint,
                         ADD COLUMN undo_of bigint,
                         ADD COLUMN redo_of bigint;
-- A person's newest note changes on a board (the undo and redo stacks).
CREATE INDEX board_events_actor_idx ON board_events (board_id, actor_id, seq)
    WHERE step IS NOT NULL AND item_id IS NOT NULL;
-- A note's changes after a seq (the conflict check).
CREATE INDEX board_events_item_idx ON board_events (board_id, item_id, seq) WHERE item_id IS NOT NULL;
CREATE UNIQUE INDEX board_events_undo_of_idx ON board_events (board_id, undo_of) WHERE undo_of IS NOT NULL;
CREATE UNIQUE INDEX board_events_redo_of_idx ON board_events (board_id, redo_of) WHERE redo_of IS NOT NULL;
