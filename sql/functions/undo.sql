-- undo: undo and redo per person (POST /boards/:id/undo and /redo, lib/api_undo.c; docs/design.md,
-- "Undo and redo"). The state is the event log itself (018_undo.sql): every note change is an
-- event with its actor and its step (the request that made it); an undo is an ordinary change
-- whose event says "undo_of": <seq>, a redo one that says "redo_of": <seq of the undo>.
--
--   undo stack  the caller's note changes on the board (ordinary ones and redos) that no event
--               undoes, newest first;
--   redo stack  the caller's undos that no event redoes and that are newer than the caller's
--               last ordinary note change on the board (a new change clears the redo stack).
-- (018_undo.sql's unique indexes keep any event from being undone or redone twice.)
--
-- Undo reverses the newest step of the undo stack, redo the newest of the redo stack, each of its
-- events newest first: an item.created is reversed by deleting the note (it goes to the trash), an
-- item.deleted by restoring it from the trash (same id, last content), an item.updated by setting
-- its "before" values back. A redo reverses the undo's own event the same way.

-- The step the caller would undo (p_redo false) or redo (true) on the board; NULL: nothing.
-- It walks the caller's note events down from the newest, one index probe each, and jumps over
-- what is settled: undo and redo keep a stack discipline, so when an undo u took back s, every
-- change of the caller between s and u had been undone already (s was the newest not undone),
-- and when a redo r took back u, every undo between u and r had been redone (u was the newest
-- not redone) and no ordinary change came between them (it would have cleared the redo). So:
--   undo: an undo event jumps below the seq it undid; the first other event is the candidate;
--   redo: a redo event jumps below the undo it redid; the first undo event is the candidate, an
--         ordinary change ends the walk (it cleared the redo stack).
-- The walk takes as many probes as there are such nested ranges on top, not as many events.
CREATE OR REPLACE FUNCTION undo_step(p_user bigint, p_board bigint, p_redo boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_below bigint := 9223372036854775807;
    v_ev    record;
BEGIN
    LOOP
        SELECT e.step, e.undo_of, e.redo_of INTO v_ev FROM board_events e
         WHERE e.board_id = p_board AND e.actor_id = p_user AND e.step IS NOT NULL AND e.item_id IS NOT NULL
           AND e.seq < v_below
         ORDER BY e.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        ELSIF NOT p_redo AND v_ev.undo_of IS NULL THEN
            RETURN v_ev.step;
        ELSIF NOT p_redo THEN
            v_below := v_ev.undo_of;
        ELSIF v_ev.undo_of IS NOT NULL THEN
            RETURN v_ev.step;
        ELSIF v_ev.redo_of IS NULL THEN
            RETURN NULL;
        ELSE
            v_below := v_ev.redo_of;
        END IF;
    END LOOP;
END
$$;

-- Where each event of a step finds its note, checked under the note's lock before anything is
-- written: 'ok', 'conflict' (with body {"event": <the other person's newest change of the note>}
-- when someone else changed it after the event; without, when the note is not where the event
-- left it), or 'purged' (an undone deletion whose note was purged from the trash).
CREATE OR REPLACE FUNCTION undo_check(p_user bigint, p_board bigint, p_events board_events[],
                                      OUT outcome text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_ev    board_events;
    v_other board_events;
BEGIN
    outcome := 'ok';
    FOREACH v_ev IN ARRAY p_events LOOP
        SELECT e.* INTO v_other FROM board_events e
         WHERE e.board_id = p_board AND e.item_id = v_ev.item_id AND e.seq > v_ev.seq
           AND e.actor_id IS DISTINCT FROM p_user
         ORDER BY e.seq DESC LIMIT 1;
        IF FOUND THEN
            outcome := 'conflict';
            body := jsonb_build_object('event', event_json(p_board, v_other.seq, v_other.type, v_other.actor_id,
                                                           v_other.created_at, v_other.payload))::text;
            RETURN;
        END IF;
        IF v_ev.type = 'item.deleted' THEN
            IF NOT EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = v_ev.item_id AND t.board_id = p_board) THEN
                outcome := 'conflict';
            ELSIF EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = v_ev.item_id AND t.purged_at IS NOT NULL) THEN
                outcome := 'purged';
            END IF;
        ELSIF NOT EXISTS (SELECT 1 FROM items i WHERE i.id = v_ev.item_id AND i.board_id = p_board) THEN
            outcome := 'conflict';
        END IF;
        IF outcome <> 'ok' THEN
            RETURN;
        END IF;
    END LOOP;
END
$$;

-- Brings note p_id of board p_board back from the trash (POST .../restore: trash_restore_note):
-- the same id, a version past the deletion's, its author and creation time as they were; its
-- text, color, position, size and z from p_fields ({"text", "color", "x", "y", "width",
-- "height", "z"}: restore this version, history.sql), or, when p_fields is NULL, its last content
-- (an undo of the deletion, the trash's restore). OVERRIDING SYSTEM VALUE: items.id is an
-- identity, the id came from it, so it never comes again. An author who is gone since is NULL, as
-- their notes are. Its trigger logs an item.created with "restored": true (teamboard.restore_id,
-- items_event in events.sql). Nothing happens when the note is not in the board's trash (never
-- deleted, or purged): the callers check.
CREATE OR REPLACE FUNCTION item_restore_from_trash(p_board bigint, p_id bigint, p_fields jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('teamboard.restore_id', p_id::text, true);
    WITH t AS (DELETE FROM items_trash t WHERE t.item_id = p_id AND t.board_id = p_board AND t.purged_at IS NULL
               RETURNING t.item)
    INSERT INTO items (id, board_id, text, color, x, y, w, h, z, author_id, version, created_at, updated_at)
    OVERRIDING SYSTEM VALUE
    SELECT p_id, p_board, n.item ->> 'text', n.item ->> 'color', (n.item ->> 'x')::int, (n.item ->> 'y')::int,
           (n.item ->> 'width')::int, (n.item ->> 'height')::int, (n.item ->> 'z')::int,
           (SELECT u.id FROM users u WHERE u.id = (t.item ->> 'author_id')::bigint),
           (t.item ->> 'version')::bigint + 2, (t.item ->> 'created_at')::timestamptz, now()
      FROM t CROSS JOIN LATERAL (SELECT coalesce(p_fields, t.item) AS item) n;
    PERFORM set_config('teamboard.restore_id', '', true);
END
$$;

-- POST /boards/:id/items/:id/restore (api_trash.c): as p_user, brings note p_id of board p_board
-- back from the trash with its last content (item_restore_from_trash) when p_user is an editor or
-- more there (board_role_locked) and the note is in the board's trash, not purged. One row
-- (version, json) of the restored note, or none: nothing written, the caller reads the state
-- again to say why. Locks as the statement it replaces did: the caller's membership row, then the
-- trash row, then (the note's event) the board row.
CREATE OR REPLACE FUNCTION trash_restore_note(p_user bigint, p_board bigint, p_id bigint)
RETURNS TABLE (version bigint, json jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_actor(p_user);
    IF board_role_locked(p_user, p_board) IN ('owner', 'admin', 'editor')
       AND EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = p_id AND t.board_id = p_board AND t.purged_at IS NULL
                   FOR UPDATE) THEN
        PERFORM item_restore_from_trash(p_board, p_id, NULL);
        RETURN QUERY SELECT i.version, item_json(i) FROM items i WHERE i.id = p_id AND i.board_id = p_board;
    END IF;
END
$$;

-- Reverses one event (checked by undo_check), tagged with p_tag ('teamboard.undo_of' or
-- 'teamboard.redo_of'): its note's trigger logs the change with that tag. Returns the new seq.
CREATE OR REPLACE FUNCTION undo_reverse(p_board bigint, p_ev board_events, p_tag text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_before jsonb := p_ev.payload -> 'before';
BEGIN
    PERFORM set_config(p_tag, p_ev.seq::text, true);
    IF p_ev.type = 'item.created' THEN
        DELETE FROM items WHERE id = p_ev.item_id AND board_id = p_board;
    ELSIF p_ev.type = 'item.deleted' THEN
        PERFORM item_restore_from_trash(p_board, p_ev.item_id, NULL);
    ELSE
        UPDATE items i SET text = coalesce(v_before ->> 'text', i.text), color = coalesce(v_before ->> 'color', i.color),
               x = coalesce((v_before ->> 'x')::int, i.x), y = coalesce((v_before ->> 'y')::int, i.y),
               w = coalesce((v_before ->> 'width')::int, i.w), h = coalesce((v_before ->> 'height')::int, i.h),
               z = coalesce((v_before ->> 'z')::int, i.z), version = i.version + 1, updated_at = now()
         WHERE i.id = p_ev.item_id AND i.board_id = p_board;
    END IF;
    PERFORM set_config(p_tag, '', true);
    RETURN (SELECT b.last_seq FROM boards b WHERE b.id = p_board);
END
$$;

-- POST /boards/:id/undo (p_redo false) and /redo (true), in one statement: role is the caller's
-- role on the board, checked and held like every write's (board_role_locked); below editor
-- nothing more happens (outcome NULL). Otherwise outcome is
--   'ok'        body {"undone" | "redone": [the seqs reversed], "events": [the new events]};
--   'empty'     nothing to undo or redo;
--   'conflict'  someone else changed a note of the step since (body: {"event": ...}, see
--               undo_check), or two undos of the caller kept taking the same step; nothing written;
--   'purged'    the note to bring back was purged from the trash; nothing written.
-- The notes of the step are locked (FOR UPDATE, in id order: items, then items_trash, as a PATCH
-- and a restore take them), then the board row (as record_event does after them), before the
-- check, so a concurrent change of one either committed first (and is seen: 409) or waits for
-- the undo and then applies on top of it: never lost.
CREATE OR REPLACE FUNCTION board_undo(p_user bigint, p_board bigint, p_redo boolean,
                                      OUT role text, OUT outcome text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_step   bigint;
    v_now    bigint;
    v_events board_events[];
    v_ev     board_events;
    v_new    bigint[] := '{}';
BEGIN
    PERFORM set_actor(p_user);
    role := board_role_locked(p_user, p_board);
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'editor') THEN
        RETURN;
    END IF;
    FOR i IN 1..3 LOOP
        v_step := undo_step(p_user, p_board, p_redo);
        IF v_step IS NULL THEN
            outcome := 'empty';
            RETURN;
        END IF;
        SELECT array_agg(e ORDER BY e.seq DESC) INTO v_events FROM board_events e
         WHERE e.board_id = p_board AND e.actor_id = p_user AND e.step = v_step AND e.item_id IS NOT NULL
           AND (e.undo_of IS NOT NULL) = p_redo;
        PERFORM 1 FROM items i WHERE i.id IN (SELECT x.item_id FROM unnest(v_events) x) ORDER BY i.id FOR UPDATE;
        PERFORM 1 FROM items_trash t WHERE t.item_id IN (SELECT x.item_id FROM unnest(v_events) x)
          ORDER BY t.item_id FOR UPDATE;
        -- Another undo of the caller may have taken this step while we waited: take the next.
        EXIT WHEN undo_step(p_user, p_board, p_redo) = v_step;
        IF i = 3 THEN
            outcome := 'conflict';
            RETURN;
        END IF;
    END LOOP;
    -- The board row's lock, which record_event takes for every event (after the notes', as every
    -- writer does): from here to the commit no other change of the board commits, so the caller's
    -- stack cannot change under the undo (a change of theirs committing in between would land
    -- inside the range the undo settles). One look more: a change that came before the lock.
    PERFORM 1 FROM boards b WHERE b.id = p_board FOR NO KEY UPDATE;
    v_now := undo_step(p_user, p_board, p_redo);
    IF v_now IS DISTINCT FROM v_step THEN
        outcome := CASE WHEN v_now IS NULL THEN 'empty' ELSE 'conflict' END;
        RETURN;
    END IF;
    SELECT c.outcome, c.body INTO outcome, body FROM undo_check(p_user, p_board, v_events) c;
    IF outcome <> 'ok' THEN
        RETURN;
    END IF;
    FOREACH v_ev IN ARRAY v_events LOOP
        v_new := v_new || undo_reverse(p_board, v_ev, CASE WHEN p_redo THEN 'teamboard.redo_of'
                                                          ELSE 'teamboard.undo_of' END);
    END LOOP;
    body := jsonb_build_object(CASE WHEN p_redo THEN 'redone' ELSE 'undone' END,
                               (SELECT jsonb_agg(x.seq ORDER BY x.seq) FROM unnest(v_events) x),
                               'events', (SELECT jsonb_agg(event_json(e.board_id, e.seq, e.type, e.actor_id,
                                                                      e.created_at, e.payload) ORDER BY e.seq)
                                            FROM board_events e WHERE e.board_id = p_board AND e.seq = ANY (v_new)))::text;
END
$$;
