-- presence: who is viewing a board now (the users with an open stream of it, and how many guests
-- follow it through a public link), announced on the board's channel as a JSON object (type
-- "presence") when a stream opens or closes.

-- The users viewing a board now (distinct, by name).
CREATE OR REPLACE FUNCTION board_viewers(p_board bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', v.id, 'name', v.name, 'display_name', v.display_name)
                              ORDER BY lower(v.name)),
                    '[]'::jsonb)
      FROM (SELECT DISTINCT u.id, u.name, u.display_name FROM streams s JOIN users u ON u.id = s.user_id
             WHERE s.board_id = p_board) v
$$;

-- How many guests follow a board now: the streams opened through a public link (links.sql). A guest
-- has no account, so each stream is one guest.
CREATE OR REPLACE FUNCTION board_guests(p_board bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM streams s WHERE s.board_id = p_board AND s.user_id IS NULL
$$;

-- The presence a guest is sent: the viewers by id and display name (no login name) and the guests.
CREATE OR REPLACE FUNCTION public_presence(p_board bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', 'presence', 'board_id', p_board,
                              'viewers', coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', v -> 'user_id',
                                                                                       'display_name', v -> 'display_name')
                                                                ORDER BY (v ->> 'user_id')::bigint)
                                                     FROM jsonb_array_elements(board_viewers(p_board)) v), '[]'::jsonb),
                              'guests', board_guests(p_board))
$$;

-- Announces a board's viewers with one call, falling back to a reference when the list would not
-- fit in a NOTIFY (8000 bytes). Returns the viewers.
CREATE OR REPLACE FUNCTION announce_presence(p_board bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_viewers jsonb := board_viewers(p_board);
    v_text    text := jsonb_build_object('type', 'presence', 'board_id', p_board,
                                         'viewers', v_viewers, 'guests', board_guests(p_board))::text;
BEGIN
    IF octet_length(v_text) > notify_limit() THEN
        v_text := jsonb_build_object('type', 'presence', 'board_id', p_board, 'ref', true)::text;
    END IF;
    PERFORM pg_notify(board_channel(p_board), v_text);
    RETURN v_viewers;
END
$$;
