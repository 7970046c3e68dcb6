-- 014_editing_idempotency: two small tables for issue 17's server side (tables and indexes only;
-- the statements that use them are in lib/api_items.c, the pruning in lib/tb_supervisor.c).
--
-- idempotency_keys: POST /boards/:id/items with an Idempotency-Key header. The row is inserted in
-- the statement that inserts the note, so a second request with the same key either finds the
-- row or fails on the primary key and rolls its own note back (the API then answers with the
-- stored reply): one key makes one note, also for requests that run at the same time. status and
-- body are the reply as first sent; item_id and version rebuild its Location and ETag. The note
-- may be deleted later: item_id has no foreign key, and the stored reply is still what a repeat
-- gets. The supervisor deletes rows older than 24 hours.
CREATE TABLE idempotency_keys (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    board_id   bigint      NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    key        text        NOT NULL CHECK (key ~ '^[A-Za-z0-9_-]{1,64}$'),
    item_id    bigint      NOT NULL,
    version    bigint      NOT NULL,
    status     integer     NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, board_id, key)
);
CREATE INDEX idempotency_keys_board_idx ON idempotency_keys (board_id);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- editing_announcements: the last "being edited" announcement of a user for a note
-- (POST/DELETE /boards/:id/items/:item/editing), so that a user announces a note at most once per
-- second (editing = true) and an end goes out only after an announcement it ends. The
-- announcements themselves are NOTIFYs, never stored. The supervisor deletes rows older than an
-- hour (a badge lasts 30 s without a repeat).
CREATE TABLE editing_announcements (
    user_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id bigint      NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    editing boolean     NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX editing_announcements_item_idx ON editing_announcements (item_id);
CREATE INDEX editing_announcements_sent_idx ON editing_announcements (sent_at);
