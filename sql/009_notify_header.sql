-- 009_notify_header: a change's NOTIFY puts its seq and type before the event, as
-- "<seq> <type> <event JSON>", or "<seq> <type>" alone when the event is too large for NOTIFY
-- (the holder reads it from the log, as the "ref" form did). A holder forwards the JSON as it
-- came: it no longer parses every event to find out what it is (bench/: with 500 holders on one
-- board, parsing each event was a third of the workers' CPU; docs/performance.md). Heartbeats and
-- presence stay JSON objects, and a holder still takes an event given as JSON (what an older
-- record_event sends). A worker older than this migration would drop the new form (it logs a
-- malformed notification), so an upgrade replaces the workers before it migrates
-- (docs/operations.md, "Upgrades").
CREATE OR REPLACE FUNCTION record_event(p_board bigint, p_type text, p_payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_seq   bigint;
    v_actor bigint := nullif(current_setting('teamboard.actor_id', true), '')::bigint;
    v_text  text;
BEGIN
    UPDATE boards SET last_seq = last_seq + 1 WHERE id = p_board RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO board_events (board_id, seq, type, actor_id, payload)
    VALUES (p_board, v_seq, p_type, v_actor, p_payload);
    v_text := event_json(p_board, v_seq, p_type, v_actor, now(), p_payload)::text;
    IF octet_length(v_text) > 7000 THEN
        v_text := v_seq || ' ' || p_type;
    ELSE
        v_text := v_seq || ' ' || p_type || ' ' || v_text;
    END IF;
    PERFORM pg_notify('board_' || p_board, v_text);
    RETURN v_seq;
END
$$;

CREATE OR REPLACE FUNCTION boards_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM record_event(NEW.id, 'board.updated',
                             jsonb_build_object('board', board_json(NEW, NULL) - 'role' - 'last_event_id',
                                                'changed', CASE WHEN NEW.title IS DISTINCT FROM OLD.title
                                                                THEN '["title"]'::jsonb ELSE '[]'::jsonb END));
    ELSE
        -- The board and its log are gone; holders still hear it (and end their streams).
        PERFORM pg_notify('board_' || OLD.id,
                          (OLD.last_seq + 1) || ' board.deleted ' ||
                          event_json(OLD.id, OLD.last_seq + 1, 'board.deleted',
                                     nullif(current_setting('teamboard.actor_id', true), '')::bigint, now(),
                                     jsonb_build_object('board', jsonb_build_object('id', OLD.id,
                                                                                    'version', OLD.version + 1)))::text);
    END IF;
    RETURN NULL;
END
$$;
