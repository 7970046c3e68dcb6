-- 023_display_name: a display name beside the login name (issue 15 item 3; docs/api.md, user and
-- PATCH /users/me). The login name stays what signs in and what every old client reads; the
-- display name is what people see of each other: 1 to 100 characters of any script, one line,
-- trimmed. Every user has one: existing users get their login name, and a new user without one
-- gets theirs (the trigger users_display_name, functions/accounts.sql). The API checks the value
-- as Unicode characters (lib/api_users.c); the constraint below is the database's own floor.
ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = name;
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_display_name_check
    CHECK (char_length(display_name) BETWEEN 1 AND 100 AND display_name = btrim(display_name)
           AND display_name !~ '[\x01-\x1f\x7f]');
