-- 003_presence: announce a board's viewers with one call, falling back to a reference when the
-- list would not fit in a NOTIFY (8000 bytes). Returns the viewers.
CREATE FUNCTION announce_presence(p_board bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_viewers jsonb := board_viewers(p_board);
    v_text    text := jsonb_build_object('type', 'presence', 'board_id', p_board,
                                         'viewers', v_viewers)::text;
BEGIN
    IF octet_length(v_text) > 7000 THEN
        v_text := jsonb_build_object('type', 'presence', 'board_id', p_board, 'ref', true)::text;
    END IF;
    PERFORM pg_notify('board_' || p_board, v_text);
    RETURN v_viewers;
END
$$;
