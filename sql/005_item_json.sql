-- 005_item_json: every note keeps its JSON text in items.json, written by the items_json trigger
-- whenever the note is written (sql/functions/items.sql says why). A note is read far more often
-- than it is written.

ALTER TABLE items ADD COLUMN json text;

-- The notes there are already, with the shape item_json_text had then (written out: a migration
-- runs before sql/functions/, sql/README.md), and without the triggers: items_event would log an
-- item.updated for each.
ALTER TABLE items DISABLE TRIGGER USER;
UPDATE items i SET json = json_build_object('id', i.id, 'board_id', i.board_id, 'text', i.text, 'color', i.color,
                                            'x', i.x, 'y', i.y, 'width', i.w, 'height', i.h, 'z', i.z,
                                            'author_id', i.author_id, 'version', i.version,
                                            'created_at', i.created_at, 'updated_at', i.updated_at)::text;
ALTER TABLE items ENABLE TRIGGER USER;

ALTER TABLE items ALTER COLUMN json SET NOT NULL;
