-- accounts: a user's sessions ended from the server's side (password change, reset, disable) and
-- the deletion of an account (017_accounts.sql; docs/api.md, PATCH and DELETE /users/me).

-- Ends the user's sessions but the one whose token hash is p_keep (NULL: all of them), and tells
-- the user's open streams at once: a heartbeat NOTIFY on the channel of every board where the user
-- holds a stream makes each stream of the board check its session (tb_stream.c, heartbeat), so the
-- streams of the ended sessions end with revoked session_ended when this commits, not at the
-- supervisor's next heartbeat. The other streams of those boards see one more ": hb". Returns the
-- number of sessions ended.
CREATE OR REPLACE FUNCTION end_sessions(p_user bigint, p_keep bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_ended integer;
BEGIN
    DELETE FROM sessions WHERE user_id = p_user AND token_hash IS DISTINCT FROM p_keep;
    GET DIAGNOSTICS v_ended = ROW_COUNT;
    PERFORM pg_notify(board_channel(b.board_id), '{"type":"hb"}')
       FROM (SELECT DISTINCT board_id FROM streams WHERE user_id = p_user ORDER BY board_id) b;
    RETURN v_ended;
END
$$;

-- Sets the user's password hash to p_new if it is still p_old (the hash whose password the caller
-- checked: a change that commits meanwhile wins, and this one changes nothing), and ends every
-- session but p_keep (end_sessions). True when it changed the password.
CREATE OR REPLACE FUNCTION change_password(p_user bigint, p_old text, p_new text, p_keep bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET password_hash = p_new WHERE id = p_user AND password_hash = p_old;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM end_sessions(p_user, p_keep);
    RETURN true;
END
$$;

-- Uses a reset link: the password becomes p_new and every session of its user ends, when the link
-- p_token_hash exists, was not used and has not expired. Returns the user's lower-cased name, or
-- NULL (the API answers 410 gone) for a link that is unknown, used or expired.
CREATE OR REPLACE FUNCTION use_password_reset(p_token_hash bytea, p_new text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_user bigint;
    v_name text;
BEGIN
    UPDATE password_resets SET used_at = now()
     WHERE token_hash = p_token_hash AND used_at IS NULL AND expires_at > now()
    RETURNING user_id INTO v_user;
    IF v_user IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE users SET password_hash = p_new WHERE id = v_user RETURNING lower(name) INTO v_name;
    PERFORM end_sessions(v_user, NULL);
    RETURN v_name;
END
$$;

-- Deletes the account p_user if its password hash is still p_hash (the one the caller checked).
-- Returns 'deleted'; 'last_admin' when a team with other members would be left without an admin
-- (nothing is deleted); 'changed' when the password changed meanwhile or the user is gone.
-- What goes: the personal boards (their streams hear board.deleted and end), the teams where the
-- user is the only member (with their boards), the memberships (member.removed reaches the team's
-- boards while the name can still be read, and the user's streams there end with access_removed),
-- the sessions, reset links and stream rows (cascade). What stays: the team boards the user made
-- (owner_id NULL) and the notes the user wrote on them (author_id NULL: shown as "deleted user";
-- the BEFORE trigger of items rewrites each note's stored JSON, items.sql).
CREATE OR REPLACE FUNCTION delete_account(p_user bigint, p_hash text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_team bigint;
BEGIN
    -- Lock order as a member change (teams, then members): the user's teams first.
    PERFORM 1 FROM teams t WHERE t.id IN (SELECT team_id FROM team_members WHERE user_id = p_user)
      ORDER BY t.id FOR UPDATE;
    -- NO KEY UPDATE, as a password change takes: a note being written by the user meanwhile checks
    -- its author (FOR KEY SHARE, at its commit) without waiting for this, and this waits for it
    -- when it deletes the board (no deadlock); the user's row is deleted after that.
    PERFORM 1 FROM users WHERE id = p_user AND password_hash = p_hash FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN 'changed';
    END IF;
    IF EXISTS (SELECT 1 FROM team_members m
                WHERE m.user_id = p_user AND m.role = 'admin'
                  AND EXISTS (SELECT 1 FROM team_members o WHERE o.team_id = m.team_id AND o.user_id <> p_user)
                  AND NOT EXISTS (SELECT 1 FROM team_members o
                                   WHERE o.team_id = m.team_id AND o.user_id <> p_user AND o.role = 'admin')) THEN
        RETURN 'last_admin';
    END IF;
    PERFORM set_actor(p_user);
    DELETE FROM boards WHERE owner_id = p_user AND team_id IS NULL;
    FOR v_team IN SELECT m.team_id FROM team_members m WHERE m.user_id = p_user
                     AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.team_id = m.team_id AND o.user_id <> p_user)
                   ORDER BY m.team_id LOOP
        DELETE FROM boards WHERE team_id = v_team; -- first: the members' removal then logs on no board
        DELETE FROM teams WHERE id = v_team;
    END LOOP;
    DELETE FROM team_members WHERE user_id = p_user;
    DELETE FROM users WHERE id = p_user;
    RETURN 'deleted';
END
$$;

-- A new user without a display name gets their login name (023_display_name.sql): POST /users
-- without display_name, teamboard-admin create-user.
CREATE OR REPLACE FUNCTION users_display_name() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.display_name := coalesce(NEW.display_name, NEW.name);
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER users_display_name BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_display_name();

-- Sets the user's display name (PATCH /users/me, already checked and trimmed by lib/api_users.c)
-- and returns the user's JSON, or NULL for a user that is gone. The boards where the user has an
-- open stream get their presence again (announce_presence), so the people there see the new name
-- at once; elsewhere it shows the next time a board is read or an event names the user.
CREATE OR REPLACE FUNCTION set_display_name(p_user bigint, p_name text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_user users;
BEGIN
    UPDATE users SET display_name = p_name WHERE id = p_user RETURNING * INTO v_user;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM announce_presence(b.board_id)
       FROM (SELECT DISTINCT board_id FROM streams WHERE user_id = p_user ORDER BY board_id) b;
    RETURN user_json(v_user);
END
$$;
