-- events: every committed change of a board goes into its event log (board_events, 002_events.sql)
-- and is announced on the board's channel, board_<id>, where the stream holders LISTEN.
--
-- A change's NOTIFY puts its seq and type before the event, as "<seq> <type> <event JSON>", or
-- "<seq> <type>" alone when the event would not fit well under NOTIFY's 8000-byte limit (the holder
-- then reads it from the log). A holder forwards the JSON as it came: it does not parse every event
-- to find out what it is (bench/: with 500 holders on one board, parsing each event was a third of
-- the workers' CPU; 009_notify_header.sql, docs/performance.md). Heartbeats and presence are JSON
-- objects (presence.sql).

-- The JSON of one event as streams, replays and polls deliver it. PL/pgSQL so that its plan is
-- kept for the session (an SQL function with a sub-select is planned at every call; 004_perf.sql).
CREATE OR REPLACE FUNCTION event_json(p_board bigint, p_seq bigint, p_type text, p_actor bigint,
                                      p_at timestamptz, p_payload jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('seq', p_seq, 'type', p_type, 'board_id', p_board, 'at', p_at,
                              'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name,
                                                                  'display_name', u.display_name)
                                          FROM users u WHERE u.id = p_actor))
           || p_payload;
END
$$;

-- Appends one event to a board's log and announces it. seq comes from boards.last_seq under the
-- board row's lock, so seq order is commit order and a reader of "seq > N" never skips an event
-- that commits late. The actor is the setting teamboard.actor_id of the transaction. The step
-- (the request that made the event: its transaction), the note and the undo_of / redo_of of the
-- payload go into their columns for undo and redo (018_undo.sql, functions/undo.sql). Returns the
-- seq, or NULL when the board is gone (a cascade).
CREATE OR REPLACE FUNCTION record_event(p_board bigint, p_type text, p_payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_seq   bigint;
    v_actor bigint := current_actor();
    v_text  text;
BEGIN
    UPDATE boards SET last_seq = last_seq + 1 WHERE id = p_board RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO board_events (board_id, seq, type, actor_id, payload, step, item_id, undo_of, redo_of)
    VALUES (p_board, v_seq, p_type, v_actor, p_payload, pg_current_xact_id()::text::bigint,
            CASE WHEN p_type LIKE 'item.%' THEN (p_payload -> 'item' ->> 'id')::bigint END,
            (p_payload ->> 'undo_of')::bigint, (p_payload ->> 'redo_of')::bigint);
    v_text := event_json(p_board, v_seq, p_type, v_actor, now(), p_payload)::text;
    IF octet_length(v_text) > notify_limit() THEN
        v_text := v_seq || ' ' || p_type;
    ELSE
        v_text := v_seq || ' ' || p_type || ' ' || v_text;
    END IF;
    PERFORM pg_notify(board_channel(p_board), v_text);
    RETURN v_seq;
END
$$;

-- Note changes. A deletion's event carries the note as it was, with the deletion's version (one
-- past the note's last: what a client compares), and the note goes to the trash (items_trash,
-- 016_trash.sql) with who deleted it, unless its board is going too (a purge: record_event finds
-- no board). A restore (api_trash.c) inserts the note again with its id after setting
-- teamboard.restore_id to that id: its item.created says "restored": true. An update's event
-- carries "before", the changed fields' values before it, which an undo sets back. An undo or redo
-- (functions/undo.sql) sets teamboard.undo_of / teamboard.redo_of to the seq it reverses before
-- its write, and the event carries it. An import (lib/api_import.c) writes the notes and their
-- history itself: it sets teamboard.importing to the new board's id, and that board's notes log
-- nothing here.
CREATE OR REPLACE FUNCTION items_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_changed jsonb;
    v_before  jsonb;
    v_payload jsonb;
    v_tags    jsonb := jsonb_strip_nulls(jsonb_build_object(
                  'undo_of', nullif(current_setting('teamboard.undo_of', true), '')::bigint,
                  'redo_of', nullif(current_setting('teamboard.redo_of', true), '')::bigint));
BEGIN
    IF TG_OP = 'INSERT' AND NEW.board_id::text = current_setting('teamboard.importing', true) THEN
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        v_payload := jsonb_build_object('item', item_json(NEW)) || v_tags;
        IF NEW.id::text = current_setting('teamboard.restore_id', true) THEN
            v_payload := v_payload || '{"restored": true}'::jsonb;
        END IF;
        PERFORM record_event(NEW.board_id, 'item.created', v_payload);
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_agg(f), '[]'::jsonb), coalesce(jsonb_object_agg(f, item_json(OLD) -> f), '{}'::jsonb)
          INTO v_changed, v_before FROM unnest(ARRAY[
            CASE WHEN NEW.text IS DISTINCT FROM OLD.text THEN 'text' END,
            CASE WHEN NEW.color IS DISTINCT FROM OLD.color THEN 'color' END,
            CASE WHEN NEW.x IS DISTINCT FROM OLD.x THEN 'x' END,
            CASE WHEN NEW.y IS DISTINCT FROM OLD.y THEN 'y' END,
            CASE WHEN NEW.w IS DISTINCT FROM OLD.w THEN 'width' END,
            CASE WHEN NEW.h IS DISTINCT FROM OLD.h THEN 'height' END,
            CASE WHEN NEW.z IS DISTINCT FROM OLD.z THEN 'z' END]) AS f WHERE f IS NOT NULL;
        PERFORM record_event(NEW.board_id, 'item.updated',
                             jsonb_build_object('item', item_json(NEW), 'changed', v_changed, 'before', v_before)
                             || v_tags);
    ELSIF record_event(OLD.board_id, 'item.deleted',
                       jsonb_build_object('item', item_json(OLD) || jsonb_build_object('version', OLD.version + 1))
                       || v_tags)
          IS NOT NULL THEN
        INSERT INTO items_trash (item_id, board_id, item, deleted_by)
        VALUES (OLD.id, OLD.board_id, item_json(OLD),
                current_actor());
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER items_event AFTER INSERT OR UPDATE OR DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION items_event();

-- Board changes. A rename's board.updated carries "before": {"title": <the old title>}, so time
-- travel (functions/history.sql) knows the title before a board's first rename. Bumping last_seq is itself an UPDATE of boards: the WHEN clause keeps that
-- from firing this trigger again. DELETE /boards/:id puts the board in the trash (deleted_at,
-- 016_trash.sql) and logs board.deleted, which ends every stream of it; POST /boards/:id/restore
-- takes it out and logs board.restored. The row itself is deleted by the supervisor's purge of a
-- board in the trash (no stream can be open: nothing to announce), or by a cascade from its owner
-- or team while it is live (announced, as the log goes with it).
CREATE OR REPLACE FUNCTION boards_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        PERFORM record_event(NEW.id, 'board.deleted',
                             jsonb_build_object('board', jsonb_build_object('id', NEW.id, 'version', NEW.version)));
    ELSIF TG_OP = 'UPDATE' AND NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN
        PERFORM record_event(NEW.id, 'board.restored',
                             jsonb_build_object('board', board_json(NEW, NULL) - 'role' - 'last_event_id'));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM record_event(NEW.id, 'board.updated',
                             jsonb_build_object('board', board_json(NEW, NULL) - 'role' - 'last_event_id',
                                                'changed', CASE WHEN NEW.title IS DISTINCT FROM OLD.title
                                                                THEN '["title"]'::jsonb ELSE '[]'::jsonb END,
                                                'before', CASE WHEN NEW.title IS DISTINCT FROM OLD.title
                                                               THEN jsonb_build_object('title', OLD.title)
                                                               ELSE '{}'::jsonb END));
    ELSIF OLD.deleted_at IS NULL THEN
        -- The board and its log are gone; holders still hear it (and end their streams).
        PERFORM pg_notify(board_channel(OLD.id),
                          (OLD.last_seq + 1) || ' board.deleted ' ||
                          event_json(OLD.id, OLD.last_seq + 1, 'board.deleted',
                                     current_actor(), now(),
                                     jsonb_build_object('board', jsonb_build_object('id', OLD.id,
                                                                                    'version', OLD.version + 1)))::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER boards_updated AFTER UPDATE ON boards
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION boards_event();
CREATE OR REPLACE TRIGGER boards_deleted AFTER DELETE ON boards
    FOR EACH ROW EXECUTE FUNCTION boards_event();

-- Membership changes reach every board of the team: access may have changed for a viewer. A board
-- in the trash has no streams and no roles: it is left alone.
CREATE OR REPLACE FUNCTION team_members_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_row  team_members := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    v_type text := CASE TG_OP WHEN 'INSERT' THEN 'member.added' WHEN 'UPDATE' THEN 'member.updated'
                              ELSE 'member.removed' END;
    v_member jsonb;
    v_board bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.role = OLD.role THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object('team_id', v_row.team_id, 'user_id', v_row.user_id, 'name', u.name,
                              'display_name', u.display_name,
                              'role', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE v_row.role END)
      INTO v_member FROM users u WHERE u.id = v_row.user_id;
    FOR v_board IN SELECT id FROM boards WHERE team_id = v_row.team_id AND deleted_at IS NULL ORDER BY id LOOP
        PERFORM record_event(v_board, v_type, jsonb_build_object('member', v_member));
    END LOOP;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER team_members_event AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION team_members_event();
