-- 008_fk_at_commit: a new note's foreign keys are checked at commit, after items_event has
-- taken the board's row lock, instead of a trigger of its own taking that lock first (006).
-- Writers of one board queue on that lock until the holder's commit is on disk, so whatever a
-- writer does while it holds the lock is done one writer at a time: now the note's JSON (the
-- items_json trigger), its heap and index entries and the RETURNING row are built before the
-- writer queues, and only the event and the commit are done under the lock. Nothing here
-- changes a result; the docs/performance.md section on POST has the figures.
--
-- Why deferred: an immediate RI check on items.board_id fires before items_event (trigger
-- names sort so) and takes FOR KEY SHARE on the board row; a writer doing that while another
-- holds the row's FOR NO KEY UPDATE joins a MultiXact on the row (006 explains the cost). At
-- commit the writer already holds FOR NO KEY UPDATE from record_event's UPDATE of last_seq, and
-- a transaction that holds a stronger lock on a row takes no weaker one. The author's check is
-- deferred too, so that it stays in the queue: two writers by one user holding FOR KEY SHARE on
-- the user's row at once would make a MultiXact there. Only the checks are deferred: ON DELETE
-- CASCADE and SET NULL still act at once, and the API only inserts into a board it has just
-- found, so a failing check (a board deleted mid-request) still fails the request.
ALTER TABLE items ALTER CONSTRAINT items_board_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE items ALTER CONSTRAINT items_author_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- 006's trigger and function, on an installation that has them.
DROP TRIGGER IF EXISTS items_lock_board ON items;
DROP FUNCTION IF EXISTS items_lock_board();
