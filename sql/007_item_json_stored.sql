-- 007_item_json_stored: item_json(i) reads the note's stored JSON text (items.json, written by
-- the items_json trigger whenever the note is written, 005) instead of building the object
-- again: a POST built it three times (the BEFORE trigger, the event in items_event, the reply),
-- now once. Same object: items.json is item_json_text(i), the very expression item_json used.
-- Every row item_json is called with has been through items_json: a stored row, the final row
-- of RETURNING, or NEW in an AFTER trigger.
CREATE OR REPLACE FUNCTION item_json(i items) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT i.json::jsonb
$$;
