-- common: the facts every other file of functions/ and the C code rely on, each defined here
-- once (issue 16): the name of a board's NOTIFY channel, the size above which a notification
-- carries only a reference (PostgreSQL refuses payloads of 8000 bytes and more), the acting
-- user of a transaction, whom the event log records, and how a user is shown to others.

-- The channel a board's events are announced on and its streams LISTEN on. The LISTEN is C's
-- (lib/tb_stream.c, tb_stream_channel: the one other place that spells it); were the two to
-- disagree, no stream would hear a change, and every live test fails.
CREATE OR REPLACE FUNCTION board_channel(p_board bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'board_' || p_board $$;

-- A notification's largest payload: above it a sender sends a reference ("<seq> <type>", or a
-- presence "ref") and the listener reads the rest from the database.
CREATE OR REPLACE FUNCTION notify_limit() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 7000 $$;

-- The acting user of the transaction (the event log's actor), set by every writing statement of
-- the API (lib/tb_api.h, TB_SQL_WITH_ACTOR) and by the functions that write for a user.
CREATE OR REPLACE FUNCTION set_actor(p_user bigint) RETURNS text
LANGUAGE sql AS $$ SELECT set_config('teamboard.actor_id', p_user::text, true) $$;

-- The acting user, or NULL (a change made outside the API: an admin in psql, the supervisor).
CREATE OR REPLACE FUNCTION current_actor() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('teamboard.actor_id', true), '')::bigint $$;

-- How a user is shown to other people: their display name (023_display_name.sql), or "deleted
-- user" for NULL (the author of a note whose account was deleted) and for an id with no user. For
-- what must not show login names (public read-only links): the display name only.
CREATE OR REPLACE FUNCTION user_display(p_user bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT u.display_name FROM users u WHERE u.id = p_user), 'deleted user')
$$;

