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
-- The notes on the board after event N, each as its latest event at or before N carries it
-- (item.created, item.updated: the note after the change; a note whose latest is its deletion is
-- not there). The notes of the log by a skip scan of the index (board_id, item_id, seq) (one probe
-- per note, not one row per event), then one probe each for its latest event at or before N.
CREATE OR REPLACE FUNCTION board_notes_at(p_board bigint, p_seq bigint) RETURNS TABLE (id bigint, item jsonb)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ids(id) AS (
        SELECT (SELECT min(x.item_id) FROM board_events x WHERE x.board_id = p_board AND x.item_id IS NOT NULL)
        UNION ALL
        SELECT (SELECT min(x.item_id) FROM board_events x WHERE x.board_id = p_board AND x.item_id > ids.id)
          FROM ids WHERE ids.id IS NOT NULL)
    SELECT l.id, l.item
      FROM ids CROSS JOIN LATERAL (SELECT e.item_id AS id, e.type, e.payload -> 'item' AS item FROM board_events e
                                    WHERE e.board_id = p_board AND e.item_id = ids.id AND e.seq <= p_seq
                                    ORDER BY e.seq DESC LIMIT 1) l
     WHERE l.type <> 'item.deleted'
$$;

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

    SELECT coalesce(jsonb_agg(n.item ORDER BY (n.item ->> 'z')::bigint, n.id), '[]'::jsonb)
      INTO v_items FROM board_notes_at(p_board, v_seq) n;

    outcome := 'ok';
    body := (board_json(b, role)
             || jsonb_build_object('title', coalesce(v_titled ->> 'title', v_title),
                                   'version', coalesce((v_ver ->> 'version')::bigint, 1),
                                   'updated_at', coalesce(v_titled -> 'updated_at', to_jsonb(b.created_at)),
                                   'last_event_id', v_seq, 'seq', v_seq, 'last_seq', b.last_seq,
                                   'items', v_items))::text;
END
$$;

-- POST /boards/:id/history/restore ("restore this version", lib/api_history.c): makes the changes
-- that bring the board's notes back to their state after event N, in one transaction, so they are
-- one undo step of the caller (undo.sql: a step is a transaction) and each is an ordinary change
-- with its event, live for everyone. For each note:
--   on the board now, not at N (created after N, or restored after a deletion before N): deleted
--     (to the trash, as DELETE does);
--   at N, not on the board now (deleted since): restored from the trash with its id, with its
--     fields as they were at N and a version past its deletion's ("restored": true, as
--     POST .../restore); purged from the trash: 'purged', nothing written;
--   on the board now and at N with other fields: text, color, position, size and z set back (an
--     item.updated whose "before" is what the undo sets back).
-- The board's title is left as it is: a rename is not a note change and no undo step.
-- role is the caller's role, checked and held like every write's (board_role_locked); below
-- editor nothing more happens (outcome NULL). Otherwise outcome is
--   'ok'        body {"restored": N, "events": [the new events, in seq order]} ([] when the notes
--               are as they were at N: nothing written, no undo step);
--   'beyond'    N is past the board's last event (body: last_seq);
--   'pruned'    the log no longer starts at seq 1, so the state at N is not known (body: last_seq);
--   'purged'    a note to bring back was purged from the trash;
--   'changed'   a note was created or restored while the restore took its locks: nothing written,
--               retry.
--   'too_many'  it would change more than c_max_changes (5000) notes (restore_version_changes):
--               nothing written; body: the limit, written only here (api_history.c replies it as
--               max_changes).
--               Measured on 10,000 notes (docs/performance.md, "Restore this version"): about half
--               a millisecond of locks held per note changed, and the same again for its undo, every
--               change an event for every stream of the board and in the reply.
-- Locks in the order of every writer (undo.sql): the board's notes FOR UPDATE in id order, then
-- the trash rows of the notes to bring back, then the board row (as record_event does), so a
-- concurrent PATCH or DELETE either committed before (and is seen) or applies after the restore.
CREATE OR REPLACE FUNCTION board_restore_version(p_user bigint, p_board bigint, p_seq bigint,
                                                 OUT role text, OUT outcome text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    c_max_changes CONSTANT bigint := 5000;
    v_last        bigint;
    v_then        jsonb;
    v_locked      bigint[];
    v_back        bigint[];
BEGIN
    PERFORM set_actor(p_user);
    role := board_role_locked(p_user, p_board);
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'editor') THEN
        RETURN;
    END IF;
    SELECT b.last_seq INTO v_last FROM boards b WHERE b.id = p_board;
    IF p_seq > v_last THEN
        outcome := 'beyond';
    ELSIF v_last > 0 AND coalesce((SELECT min(e.seq) FROM board_events e WHERE e.board_id = p_board), 0) <> 1 THEN
        outcome := 'pruned';
    END IF;
    IF outcome IS NOT NULL THEN
        body := v_last::text;
        RETURN;
    END IF;
    SELECT coalesce(jsonb_object_agg(n.id::text, n.item), '{}'::jsonb) INTO v_then FROM board_notes_at(p_board, p_seq) n;
    SELECT coalesce(array_agg(l.id ORDER BY l.id), '{}') INTO v_locked
      FROM (SELECT i.id FROM items i WHERE i.board_id = p_board ORDER BY i.id FOR UPDATE) l;
    v_back := restore_version_back(v_then, v_locked);
    PERFORM 1 FROM items_trash t WHERE t.item_id IN (SELECT unnest(v_back)) ORDER BY t.item_id FOR UPDATE;
    PERFORM 1 FROM boards b WHERE b.id = p_board FOR NO KEY UPDATE;
    IF (SELECT coalesce(array_agg(i.id ORDER BY i.id), '{}') FROM items i WHERE i.board_id = p_board) <> v_locked THEN
        outcome := 'changed';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(v_back) k(id)
                WHERE NOT EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = k.id AND t.board_id = p_board
                                     AND t.purged_at IS NULL)) THEN
        outcome := 'purged';
        RETURN;
    END IF;
    IF restore_version_changes(p_board, v_then) > c_max_changes THEN
        outcome := 'too_many';
        body := c_max_changes::text;
        RETURN;
    END IF;
    SELECT b.last_seq INTO v_last FROM boards b WHERE b.id = p_board;
    PERFORM restore_version_write(p_board, v_then, v_locked);
    outcome := 'ok';
    body := jsonb_build_object('restored', p_seq,
                               'events', (SELECT coalesce(jsonb_agg(event_json(e.board_id, e.seq, e.type, e.actor_id,
                                                                               e.created_at, e.payload) ORDER BY e.seq),
                                                          '[]'::jsonb)
                                            FROM board_events e WHERE e.board_id = p_board AND e.seq > v_last))::text;
END
$$;

-- The notes to bring back, in id order: those of p_then ({note id: its JSON}) not in p_now (the
-- ids of the notes on the board). A set difference (hashed or sorted), linear in the board's
-- notes. It replaced a `k <> ALL (p_now)` per note, which PostgreSQL 15 hashes in a custom plan
-- but scans in a generic one (what PL/pgSQL may keep after five calls in a worker's connection):
-- quadratic, 2.05 s against 0.017 s for 30,000 notes at N and 29,000 now, and a whole restore of
-- 5,000 notes to a board of 20,000 took 4.8-5.9 s against 1.9-2.6 s.
CREATE OR REPLACE FUNCTION restore_version_back(p_then jsonb, p_now bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(b.id ORDER BY b.id), '{}')
      FROM (SELECT k::bigint AS id FROM jsonb_object_keys(p_then) k EXCEPT SELECT unnest(p_now)) b
$$;

-- True when note i's changeable fields differ from p_item's (a note's JSON as board_history has it).
CREATE OR REPLACE FUNCTION item_differs(i items, p_item jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (i.text, i.color, i.x, i.y, i.w, i.h, i.z) IS DISTINCT FROM
           (p_item ->> 'text', p_item ->> 'color', (p_item ->> 'x')::int, (p_item ->> 'y')::int,
            (p_item ->> 'width')::int, (p_item ->> 'height')::int, (p_item ->> 'z')::int)
$$;

-- How many notes restore_version_write(p_board, p_then, ...) would change: those it deletes, those
-- it restores and those it sets back.
CREATE OR REPLACE FUNCTION restore_version_changes(p_board bigint, p_then jsonb) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM items i
             WHERE i.board_id = p_board AND (NOT p_then ? i.id::text OR item_differs(i, p_then -> i.id::text)))
         + (SELECT count(*) FROM jsonb_object_keys(p_then) k
             WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = k::bigint AND i.board_id = p_board))
$$;

-- The writes of board_restore_version, under its locks: p_then is {note id: its JSON at N},
-- p_now the ids of the notes on the board. Deletions, then restores (in id order), then updates.
CREATE OR REPLACE FUNCTION restore_version_write(p_board bigint, p_then jsonb, p_now bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    DELETE FROM items i WHERE i.board_id = p_board AND NOT p_then ? i.id::text;
    FOR v_id IN SELECT unnest(restore_version_back(p_then, p_now)) LOOP
        PERFORM item_restore_from_trash(p_board, v_id, p_then -> v_id::text);
    END LOOP;
    UPDATE items i SET text = n.item ->> 'text', color = n.item ->> 'color', x = (n.item ->> 'x')::int,
           y = (n.item ->> 'y')::int, w = (n.item ->> 'width')::int, h = (n.item ->> 'height')::int,
           z = (n.item ->> 'z')::int, version = i.version + 1, updated_at = now()
      FROM (SELECT k::bigint AS id, p_then -> k AS item FROM jsonb_object_keys(p_then) k) n
     WHERE i.id = n.id AND i.board_id = p_board AND item_differs(i, n.item);
END
$$;

-- GET /boards/:id/visit (p_seq NULL) and POST /boards/:id/visit {"seq": N} ("since your last
-- visit", 024_visits.sql): the last seq the caller's browser reported having shown on the board.
-- role is the caller's role (viewers and up; NULL: 404, nothing written). outcome 'ok' and body
-- {"seq": S, "seen_at": time or null, "last_event_id": the board's last seq}, S the stored seq
-- after the report (it only grows; 0 and null when the caller never reported one). A seq past the
-- board's last event is taken as the last one (a browser may hold a resume point from before a
-- database restore: its report is not an error). A report is one upsert that writes only when it
-- raises the seq, and logs no event: it is the caller's own bookmark, not a change of the board.
CREATE OR REPLACE FUNCTION board_visit(p_user bigint, p_board bigint, p_seq bigint,
                                       OUT role text, OUT outcome text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v      board_visits;
BEGIN
    SELECT b.last_seq INTO v_last FROM boards b WHERE b.id = p_board AND b.deleted_at IS NULL;
    role := CASE WHEN v_last IS NOT NULL THEN board_role(p_user, p_board) END;
    IF role IS NULL THEN
        RETURN;
    END IF;
    IF p_seq IS NOT NULL THEN
        INSERT INTO board_visits AS x (user_id, board_id, seq) VALUES (p_user, p_board, least(p_seq, v_last))
        ON CONFLICT (user_id, board_id) DO UPDATE SET seq = excluded.seq, seen_at = now() WHERE x.seq < excluded.seq;
    END IF;
    SELECT * INTO v FROM board_visits x WHERE x.user_id = p_user AND x.board_id = p_board;
    outcome := 'ok';
    body := jsonb_build_object('seq', coalesce(v.seq, 0), 'seen_at', v.seen_at, 'last_event_id', v_last)::text;
END
$$;
