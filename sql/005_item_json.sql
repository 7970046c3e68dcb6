-- 005_item_json: every note keeps its JSON text (item_json_text) in items.json, written by a
-- BEFORE trigger whenever the note is written, so GET /boards/:id joins stored texts instead of
-- building one JSON object per note per read (bench/: 2.95M -> 0.49M PostgreSQL instructions for
-- a board of 50 notes; docs/performance.md). A note is read far more often than it is written.
-- If item_json_text ever changes, the migration that changes it must rewrite items.json too (as
-- the UPDATE below does).

ALTER TABLE items ADD COLUMN json text;

CREATE FUNCTION items_json() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.json := item_json_text(NEW)::text;
    RETURN NEW;
END
$$;

-- The notes there are already: without items_event, which would log an item.updated for each.
ALTER TABLE items DISABLE TRIGGER items_event;
UPDATE items i SET json = item_json_text(i)::text;
ALTER TABLE items ENABLE TRIGGER items_event;

ALTER TABLE items ALTER COLUMN json SET NOT NULL;

CREATE TRIGGER items_json BEFORE INSERT OR UPDATE ON items
    FOR EACH ROW EXECUTE FUNCTION items_json();
