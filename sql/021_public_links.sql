-- 021_public_links: public read-only links to a board (issue 15 item 2; docs/api.md, "Public
-- links"). Whoever has a link's token may read the board and follow its events, as a guest, and
-- write nothing. The functions are in sql/functions/links.sql.

-- One row per link. Only the SHA-256 of the token's 32 random bytes is kept (as for sessions and
-- reset links). Deleting the row is revoking the link; the board's deletion takes its links along.
CREATE TABLE board_links (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id   bigint      NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE,
    created_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX board_links_board_idx ON board_links (board_id);

-- A guest's stream has no user: user_id NULL and the link it was opened with. No foreign key on
-- link_id: the row outlives its link until the stream has told its guest "revoked".
ALTER TABLE streams ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE streams ADD COLUMN link_id bigint;
ALTER TABLE streams ADD CONSTRAINT streams_user_or_link CHECK ((user_id IS NULL) <> (link_id IS NULL));
