-- 015_idempotency_request_hash: an Idempotency-Key used again with another request body is refused
-- (422 idempotency_key_reused, docs/api.md, POST /boards/:id/items) instead of silently getting
-- the first reply. request_hash is the sha256 of the request's fields as the API read them (each
-- field's value or null, in a fixed order: lib/api_items.c, REQUEST_HASH), so the order of the
-- fields and the JSON's spacing and escapes do not count. Rows made before this migration have
-- none (NULL) and repeat as before; they are pruned within 24 hours.
ALTER TABLE idempotency_keys ADD COLUMN request_hash bytea;
