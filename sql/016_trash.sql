-- 016_trash: the trash (issue 14, items 1 and 2; docs/api.md, "Trash"). Tables, columns and
-- indexes only; the triggers that fill them are in functions/events.sql, the roles in
-- functions/access.sql, the routes in lib/api_trash.c, the purge in lib/tb_supervisor.c.
--
-- A deleted board stays in boards, marked deleted_at (and deleted_by), with its notes and its
-- log, until the supervisor purges it trash_days later. Every read of boards goes through
-- board_role / board_role_locked, which see no role on a board in the trash, and the list
-- (GET /boards) skips them: a board in the trash is invisible everywhere but GET /trash.
ALTER TABLE boards ADD COLUMN deleted_at timestamptz,
                   ADD COLUMN deleted_by bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX boards_trash_idx ON boards (deleted_at) WHERE deleted_at IS NOT NULL;

-- A deleted note leaves items (so that no query of items has to learn about deleted notes, and
-- items' indexes, its unique ids and the (z, id) order of a board stay as they were) and comes
-- here, written by the DELETE's trigger: item is its JSON as it was (items.json, with its last
-- version), deleted_by and deleted_at who deleted it and when. A restore deletes the row and
-- inserts the note again with its id. The supervisor purges a row trash_days after deleted_at:
-- item becomes NULL and purged_at is set, a tombstone that answers 410 to a restore; the row
-- goes with its board.
CREATE TABLE items_trash (
    item_id    bigint      PRIMARY KEY,
    board_id   bigint      NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    item       jsonb,
    deleted_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    purged_at  timestamptz,
    CHECK ((item IS NULL) = (purged_at IS NOT NULL))
);
-- GET /boards/:id/trash: a board's notes in the trash, newest first.
CREATE INDEX items_trash_board_idx ON items_trash (board_id, deleted_at DESC, item_id DESC)
    WHERE purged_at IS NULL;
-- The supervisor's purge by age.
CREATE INDEX items_trash_deleted_idx ON items_trash (deleted_at) WHERE purged_at IS NULL;

-- A purged board: its id, who could restore it (owner_id, team_id: no foreign keys, the team or
-- user may go too) and when it was deleted and purged. POST /boards/:id/restore answers 410 from
-- this row to those who could have restored the board, 404 to everyone else.
CREATE TABLE board_tombstones (
    board_id   bigint      PRIMARY KEY,
    owner_id   bigint,                 -- NULL: a team board whose creator deleted their account
    team_id    bigint,
    deleted_at timestamptz NOT NULL,
    purged_at  timestamptz NOT NULL DEFAULT now()
);
