-- items: a note's JSON, kept in items.json, and the pages of a board's notes.
--
-- The JSON of a note is built as json text: GET /boards/:id aggregates every note of the board,
-- and building jsonb (then printing it) cost two and a half times as much (004_perf.sql). json
-- keeps the key order below; jsonb sorts keys: same object.
CREATE OR REPLACE FUNCTION item_json_text(i items) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', i.id, 'board_id', i.board_id, 'text', i.text, 'color', i.color,
                             'x', i.x, 'y', i.y, 'width', i.w, 'height', i.h, 'z', i.z,
                             'author_id', i.author_id, 'version', i.version,
                             'created_at', i.created_at, 'updated_at', i.updated_at)
$$;

-- Every note keeps that text in items.json, written by this BEFORE trigger whenever the note is
-- written, so GET /boards/:id joins stored texts instead of building one JSON object per note per
-- read (bench/: 2.95M -> 0.49M PostgreSQL instructions for a board of 50 notes;
-- docs/performance.md). A note is read far more often than it is written. If item_json_text
-- changes, a new numbered migration must rewrite items.json (as 005_item_json.sql did, with the
-- expression written out: a migration runs before this file, sql/README.md).
CREATE OR REPLACE FUNCTION items_json() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.json := item_json_text(NEW)::text;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER items_json BEFORE INSERT OR UPDATE ON items
    FOR EACH ROW EXECUTE FUNCTION items_json();

-- item_json(i), used by the event log and the other replies, reads the note's stored text instead
-- of building the object again: a POST built it three times (the BEFORE trigger, the event in
-- items_event, the reply), now once (007_item_json_stored.sql). Every row item_json is called with
-- has been through items_json: a stored row, the final row of RETURNING, or NEW in an AFTER trigger.
CREATE OR REPLACE FUNCTION item_json(i items) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT i.json::jsonb
$$;

-- One page of a board's notes for GET /boards/:id (api_boards.c): the notes after the cursor
-- (p_z, p_id) in (z, id) order (NULL: from the first), as many as fit in p_budget bytes of their
-- JSON texts and the ", " between them, and at least one. items: the texts joined with ", ";
-- next: the cursor "<z>.<id>" of the page's last note when notes are left, else NULL. A board
-- that fits (nearly all) costs one sum over the notes' sizes (octet_length reads no TOASTed
-- text) before the same string_agg as before; only a larger one is walked note by note. Both
-- statements see one snapshot (STABLE), so a note written in between changes no page.
CREATE OR REPLACE FUNCTION board_items_page(p_board bigint, p_z integer, p_id bigint, p_budget bigint,
                                            OUT items text, OUT next text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_total bigint;
    v_used  bigint := 0;
    v_parts text[] := '{}';
    v_last  text;
    v_row   record;
BEGIN
    SELECT sum(octet_length(i.json) + 2) INTO v_total FROM items i
     WHERE i.board_id = p_board AND (p_z IS NULL OR (i.z, i.id) > (p_z, p_id));
    IF v_total IS NULL OR v_total <= p_budget THEN
        SELECT string_agg(i.json, ', ' ORDER BY i.z, i.id) INTO items FROM items i
         WHERE i.board_id = p_board AND (p_z IS NULL OR (i.z, i.id) > (p_z, p_id));
        RETURN;
    END IF;
    FOR v_row IN SELECT i.json, i.z, i.id FROM items i
                  WHERE i.board_id = p_board AND (p_z IS NULL OR (i.z, i.id) > (p_z, p_id))
                  ORDER BY i.z, i.id LOOP
        IF v_used > 0 AND v_used + octet_length(v_row.json) + 2 > p_budget THEN
            next := v_last;
            EXIT;
        END IF;
        v_parts := v_parts || v_row.json;
        v_used := v_used + octet_length(v_row.json) + 2;
        v_last := v_row.z || '.' || v_row.id;
    END LOOP;
    items := array_to_string(v_parts, ', ');
END
$$;

-- The people who wrote a board's notes, for GET /boards/:id (docs/api.md, "authors"): one
-- {"id", "name", "display_name"} per distinct author_id of the board's live notes, by id. A note
-- carries only author_id (its JSON is stored, and a display name changes without touching the
-- note), so a client shows its author from this list; a note whose author_id is null, or not
-- here, shows "deleted user" (user_display, common.sql).
CREATE OR REPLACE FUNCTION board_authors(p_board bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'display_name', u.display_name)
                              ORDER BY u.id), '[]'::jsonb)
      FROM users u WHERE u.id IN (SELECT i.author_id FROM items i WHERE i.board_id = p_board)
$$;

-- The same for what must show people by display name only (public read-only links, issue 15 item
-- 2): one {"id", "display_name"} per author, by id; no login names.
CREATE OR REPLACE FUNCTION board_author_names(p_board bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'display_name', u.display_name) ORDER BY u.id),
                    '[]'::jsonb)
      FROM users u WHERE u.id IN (SELECT i.author_id FROM items i WHERE i.board_id = p_board)
$$;
