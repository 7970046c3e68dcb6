-- 006_board_lock: a new note takes its board's row lock before anything else touches the board
-- row, so that concurrent writers of one board queue on that lock instead of piling up a
-- MultiXact on the row (bench/: POST a note on one board, 32 connections, 8 workers:
-- 720-900 -> 1,260-1,290 req/s; docs/performance.md). Nothing here changes a result.
--
-- Why: the foreign key items.board_id makes PostgreSQL take FOR KEY SHARE on the board row
-- (its RI check fires before items_event, trigger names sort so), while another writer holds
-- the row's FOR NO KEY UPDATE lock from record_event's "UPDATE boards SET last_seq". The two
-- modes do not conflict, so every waiting writer joined a MultiXact on the row, and every later
-- visit of the row's versions had to read the MultiXact's members (perf: 12 % of all CPU in
-- GetMultiXactIdMembers). Taking FOR NO KEY UPDATE first (the lock that
-- record_event takes anyway, held to the commit either way) leaves the RI check nothing to do:
-- a transaction that holds a stronger lock on a row takes no weaker one.
CREATE FUNCTION items_lock_board() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM boards WHERE id = NEW.board_id FOR NO KEY UPDATE;
    RETURN NEW;
END
$$;

CREATE TRIGGER items_lock_board BEFORE INSERT ON items
    FOR EACH ROW EXECUTE FUNCTION items_lock_board();
