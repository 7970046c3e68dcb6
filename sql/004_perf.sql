-- 004_perf: cheaper reads and writes of notes, found by bench/ (docs/performance.md). Nothing here
-- changes a result: the same rows, keys and values, computed with less work.

-- A new note goes on top: POST /boards/:id/items reads max(z) of the board. Without an index on z
-- that read visits every note of the board, so each insert got slower as the board grew (a board
-- of 13,000 notes: 42 million instructions per insert, 1.4 million with this index).
CREATE INDEX items_board_z_idx ON items (board_id, z);

-- board_role and event_json were SQL functions that the planner cannot inline (their bodies have
-- a FROM or a sub-select), so PostgreSQL parsed and planned their bodies again at every call:
-- board_role runs on nearly every request, event_json in every change's trigger. PL/pgSQL keeps
-- the plans for the whole session. Same bodies, same results.
CREATE OR REPLACE FUNCTION board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.owner_id = p_user THEN 'owner'
                        ELSE (SELECT m.role FROM team_members m
                               WHERE m.team_id = b.team_id AND m.user_id = p_user) END
              FROM boards b WHERE b.id = p_board);
END
$$;

CREATE OR REPLACE FUNCTION event_json(p_board bigint, p_seq bigint, p_type text, p_actor bigint,
                                      p_at timestamptz, p_payload jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('seq', p_seq, 'type', p_type, 'board_id', p_board, 'at', p_at,
                              'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                                          FROM users u WHERE u.id = p_actor))
           || p_payload;
END
$$;

-- The JSON of a note, built as json text: GET /boards/:id aggregates every note of the board,
-- and building jsonb (then printing it) cost two and a half times as much. item_json, used by
-- the event log and the other replies, is now this text read as jsonb, so the shape of a note is
-- still written down once. (json keeps the key order below; jsonb sorts keys: same object.)
CREATE FUNCTION item_json_text(i items) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', i.id, 'board_id', i.board_id, 'text', i.text, 'color', i.color,
                             'x', i.x, 'y', i.y, 'width', i.w, 'height', i.h, 'z', i.z,
                             'author_id', i.author_id, 'version', i.version,
                             'created_at', i.created_at, 'updated_at', i.updated_at)
$$;

CREATE OR REPLACE FUNCTION item_json(i items) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT item_json_text(i)::jsonb
$$;
