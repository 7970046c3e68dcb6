-- history: time travel (issue 14, item 4; docs/api.md, "GET /boards/:id/history"; docs/design.md,
-- "Time travel"). The board as it was after event N, computed from the log alone: the log is the
-- board's history (kept for the board's life by default), and every note event carries the whole
-- note (item.created and item.updated the note after the change, item.deleted the note as it
-- was), so no replay and no snapshot is needed.
--
-- board_history(user, board, seq, at): exactly one of seq and at is given (the handler checks).
-- at picks the last event logged at or before that time (0 when none). Returns one row
-- (role, outcome, body):
--   role NULL                    no such board, in the trash, or the caller cannot see it (404)
--   outcome 'beyond', body L     seq is past the board's last event L (400)
--   outcome 'pruned', body L     the log no longer starts at seq 1 (event_retention_* pruned it):
--                                the notes untouched since the pruned part are not in it (410)
--   outcome 'ok', body           the board's JSON as GET /boards/:id's, with the title, version and
--                                updated_at it had after N, "last_event_id" and "seq" N, "last_seq"
--                                L and "items": each note's latest event at or before N unless
--                                that is its deletion, in z, then id order.
-- The notes come from the index (board_id, item_id, seq) (018_undo.sql): the board's notes by a
-- skip scan, then each one's latest event at or before N, two index probes per note whatever the
-- number of events; the board's own events from board_events_board_idx (019_history.sql).
-- 100,000 events: docs/performance.md.
CREATE OR REPLACE FUNCTION board_history(p_user bigint, p_board bigint, p_seq bigint, p_at timestamptz,
                                         OUT role text, OUT outcome text, OUT body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    b        boards;
    v_seq    bigint;
    v_oldest bigint;
    v_ver    jsonb;
    v_titled jsonb;
    v_next   record;
    v_title  text;
    v_items  jsonb;
BEGIN
    SELECT * INTO b FROM boards WHERE id = p_board;
    role := CASE WHEN b.id IS NOT NULL THEN board_role(p_user, p_board) END;
    IF role IS NULL THEN
        RETURN;
    END IF;
    IF p_seq IS NOT NULL AND p_seq > b.last_seq THEN
        outcome := 'beyond';
        body := b.last_seq::text;
        RETURN;
    END IF;
    SELECT min(seq) INTO v_oldest FROM board_events WHERE board_id = p_board;
    IF b.last_seq > 0 AND coalesce(v_oldest, 0) <> 1 THEN
        outcome := 'pruned';
        body := b.last_seq::text;
        RETURN;
    END IF;
    v_seq := coalesce(p_seq, (SELECT max(seq) FROM board_events WHERE board_id = p_board AND created_at <= p_at), 0);

    -- The board: its version from its latest own event at or before N (every version is logged;
    -- none: the creation's, 1); its title and updated_at from the latest that carries them, else
    -- the title before the first rename after N (its "before"), else the title it has now.
    SELECT e.payload -> 'board' INTO v_ver FROM board_events e
     WHERE e.board_id = p_board AND e.type LIKE 'board.%' AND e.seq <= v_seq ORDER BY e.seq DESC LIMIT 1;
    SELECT e.payload -> 'board' INTO v_titled FROM board_events e
     WHERE e.board_id = p_board AND e.type LIKE 'board.%' AND e.seq <= v_seq AND e.payload -> 'board' ? 'title'
     ORDER BY e.seq DESC LIMIT 1;
    IF v_titled IS NULL THEN
        SELECT e.type, e.payload INTO v_next FROM board_events e
         WHERE e.board_id = p_board AND e.type LIKE 'board.%' AND e.seq > v_seq AND e.payload -> 'board' ? 'title'
         ORDER BY e.seq LIMIT 1;
        v_title := coalesce(v_next.payload -> 'before' ->> 'title',
                            CASE WHEN v_next.type = 'board.restored' OR v_next.payload -> 'changed' = '[]'::jsonb
                                 THEN v_next.payload -> 'board' ->> 'title' END,
                            b.title);
    END IF;

    -- Each note's latest event at or before N: the notes of the log by a skip scan of the index
    -- (board_id, item_id, seq) (one probe per note, not one row per event), then one probe each.
    WITH RECURSIVE ids(id) AS (
        SELECT (SELECT min(x.item_id) FROM board_events x WHERE x.board_id = p_board AND x.item_id IS NOT NULL)
        UNION ALL
        SELECT (SELECT min(x.item_id) FROM board_events x WHERE x.board_id = p_board AND x.item_id > ids.id)
          FROM ids WHERE ids.id IS NOT NULL)
    SELECT coalesce(jsonb_agg(l.item ORDER BY (l.item ->> 'z')::bigint, l.id), '[]'::jsonb)
      INTO v_items
      FROM ids CROSS JOIN LATERAL (SELECT e.item_id AS id, e.type, e.payload -> 'item' AS item FROM board_events e
                                    WHERE e.board_id = p_board AND e.item_id = ids.id AND e.seq <= v_seq
                                    ORDER BY e.seq DESC LIMIT 1) l
     WHERE l.type <> 'item.deleted';

    outcome := 'ok';
    body := (board_json(b, role)
             || jsonb_build_object('title', coalesce(v_titled ->> 'title', v_title),
                                   'version', coalesce((v_ver ->> 'version')::bigint, 1),
                                   'updated_at', coalesce(v_titled -> 'updated_at', to_jsonb(b.created_at)),
                                   'last_event_id', v_seq, 'seq', v_seq, 'last_seq', b.last_seq,
                                   'items', v_items))::text;
END
$$;
