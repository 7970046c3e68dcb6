-- sql/schema.sql: the schema after `teamboard-admin migrate`, GENERATED: do not edit.
-- Regenerate after changing sql/: python3 tests/harness/tbschema.py --write (sql/README.md);
-- tests/integration/test_migrate_schema.py fails while it is stale.
--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: teamboard; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA teamboard;

--
-- Name: accept_invite(bigint, bytea); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.accept_invite(p_user bigint, p_token_hash bytea) RETURNS TABLE(outcome text, team_id bigint, team jsonb)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_team bigint;
    v_role text;
BEGIN
    SELECT i.team_id INTO v_team FROM team_invites i
     WHERE i.token_hash = p_token_hash AND i.expires_at > now() AND i.uses < i.max_uses;
    IF v_team IS NULL THEN
        RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;
    PERFORM 1 FROM teams t WHERE t.id = v_team FOR UPDATE;
    IF EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = v_team AND m.user_id = p_user) THEN
        RETURN QUERY SELECT 'member'::text, v_team, NULL::jsonb;
        RETURN;
    END IF;
    UPDATE team_invites i SET uses = i.uses + 1
     WHERE i.token_hash = p_token_hash AND i.expires_at > now() AND i.uses < i.max_uses
    RETURNING i.role INTO v_role;
    IF v_role IS NULL THEN
        RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;
    PERFORM set_actor(p_user);
    INSERT INTO team_members (team_id, user_id, role) VALUES (v_team, p_user, v_role);
    RETURN QUERY SELECT 'joined'::text, v_team, team_json(v_team, v_role);
END
$$;

--
-- Name: announce_presence(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.announce_presence(p_board bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_viewers jsonb := board_viewers(p_board);
    v_text    text := jsonb_build_object('type', 'presence', 'board_id', p_board,
                                         'viewers', v_viewers, 'guests', board_guests(p_board))::text;
BEGIN
    IF octet_length(v_text) > notify_limit() THEN
        v_text := jsonb_build_object('type', 'presence', 'board_id', p_board, 'ref', true)::text;
    END IF;
    PERFORM pg_notify(board_channel(p_board), v_text);
    RETURN v_viewers;
END
$$;

--
-- Name: board_author_names(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_author_names(p_board bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'display_name', u.display_name) ORDER BY u.id),
                    '[]'::jsonb)
      FROM users u WHERE u.id IN (SELECT i.author_id FROM items i WHERE i.board_id = p_board)
$$;

--
-- Name: board_authors(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_authors(p_board bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'display_name', u.display_name)
                              ORDER BY u.id), '[]'::jsonb)
      FROM users u WHERE u.id IN (SELECT i.author_id FROM items i WHERE i.board_id = p_board)
$$;

--
-- Name: board_channel(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_channel(p_board bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'board_' || p_board $$;

--
-- Name: board_guests(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_guests(p_board bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT count(*) FROM streams s WHERE s.board_id = p_board AND s.user_id IS NULL
$$;

--
-- Name: board_history(bigint, bigint, bigint, timestamp with time zone); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_history(p_user bigint, p_board bigint, p_seq bigint, p_at timestamp with time zone, OUT role text, OUT outcome text, OUT body text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: board_items_page(bigint, integer, bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_items_page(p_board bigint, p_z integer, p_id bigint, p_budget bigint, OUT items text, OUT next text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: boards; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.boards (
    id bigint NOT NULL,
    owner_id bigint,
    team_id bigint,
    title text NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by bigint,
    CONSTRAINT boards_personal_has_owner CHECK (((owner_id IS NOT NULL) OR (team_id IS NOT NULL)))
);

--
-- Name: board_json(teamboard.boards, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_json(b teamboard.boards, p_role text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', b.id, 'title', b.title, 'team_id', b.team_id,
                              'owner_id', b.owner_id, 'role', p_role, 'version', b.version,
                              'last_event_id', b.last_seq,
                              'created_at', b.created_at, 'updated_at', b.updated_at)
$$;

--
-- Name: board_link(bytea); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_link(p_token_hash bytea, OUT link_id bigint, OUT board_id bigint) RETURNS SETOF record
    LANGUAGE sql STABLE
    AS $$
    SELECT l.id, l.board_id FROM board_links l JOIN boards b ON b.id = l.board_id AND b.deleted_at IS NULL
     WHERE l.token_hash = p_token_hash
$$;

--
-- Name: board_links_deleted(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_links_deleted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM streams s WHERE s.link_id = OLD.id) THEN
        PERFORM pg_notify(board_channel(OLD.board_id), '{"type":"hb"}');
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: board_notes_at(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_notes_at(p_board bigint, p_seq bigint) RETURNS TABLE(id bigint, item jsonb)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: board_restore_version(bigint, bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_restore_version(p_user bigint, p_board bigint, p_seq bigint, OUT role text, OUT outcome text, OUT body text) RETURNS record
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: board_role(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_role(p_user bigint, p_board bigint) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE team_board_role(b.owner_id = p_user,
                                             (SELECT m.role FROM team_members m
                                               WHERE m.team_id = b.team_id AND m.user_id = p_user)) END
              FROM boards b WHERE b.id = p_board AND b.deleted_at IS NULL);
END
$$;

--
-- Name: board_role_for_rename(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_role_for_rename(p_user bigint, p_board bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM teams t JOIN boards b ON b.team_id = t.id WHERE b.id = p_board FOR KEY SHARE OF t;
    RETURN board_role_locked(p_user, p_board);
END
$$;

--
-- Name: board_role_locked(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_role_locked(p_user bigint, p_board bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_team  bigint;
    v_owner bigint;
    v_role  text;
BEGIN
    SELECT b.team_id, b.owner_id INTO v_team, v_owner FROM boards b WHERE b.id = p_board AND b.deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_team IS NULL THEN
        RETURN CASE WHEN v_owner = p_user THEN 'owner' END;
    END IF;
    SELECT m.role INTO v_role FROM team_members m
     WHERE m.team_id = v_team AND m.user_id = p_user FOR SHARE;
    RETURN team_board_role(v_owner = p_user, v_role);
END
$$;

--
-- Name: board_undo(bigint, bigint, boolean); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_undo(p_user bigint, p_board bigint, p_redo boolean, OUT role text, OUT outcome text, OUT body text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_step   bigint;
    v_now    bigint;
    v_events board_events[];
    v_ev     board_events;
    v_new    bigint[] := '{}';
BEGIN
    PERFORM set_actor(p_user);
    role := board_role_locked(p_user, p_board);
    IF role IS NULL OR role NOT IN ('owner', 'admin', 'editor') THEN
        RETURN;
    END IF;
    FOR i IN 1..3 LOOP
        v_step := undo_step(p_user, p_board, p_redo);
        IF v_step IS NULL THEN
            outcome := 'empty';
            RETURN;
        END IF;
        SELECT array_agg(e ORDER BY e.seq DESC) INTO v_events FROM board_events e
         WHERE e.board_id = p_board AND e.actor_id = p_user AND e.step = v_step AND e.item_id IS NOT NULL
           AND (e.undo_of IS NOT NULL) = p_redo;
        PERFORM 1 FROM items i WHERE i.id IN (SELECT x.item_id FROM unnest(v_events) x) ORDER BY i.id FOR UPDATE;
        PERFORM 1 FROM items_trash t WHERE t.item_id IN (SELECT x.item_id FROM unnest(v_events) x)
          ORDER BY t.item_id FOR UPDATE;
        -- Another undo of the caller may have taken this step while we waited: take the next.
        EXIT WHEN undo_step(p_user, p_board, p_redo) = v_step;
        IF i = 3 THEN
            outcome := 'conflict';
            RETURN;
        END IF;
    END LOOP;
    -- The board row's lock, which record_event takes for every event (after the notes', as every
    -- writer does): from here to the commit no other change of the board commits, so the caller's
    -- stack cannot change under the undo (a change of theirs committing in between would land
    -- inside the range the undo settles). One look more: a change that came before the lock.
    PERFORM 1 FROM boards b WHERE b.id = p_board FOR NO KEY UPDATE;
    v_now := undo_step(p_user, p_board, p_redo);
    IF v_now IS DISTINCT FROM v_step THEN
        outcome := CASE WHEN v_now IS NULL THEN 'empty' ELSE 'conflict' END;
        RETURN;
    END IF;
    SELECT c.outcome, c.body INTO outcome, body FROM undo_check(p_user, p_board, v_events) c;
    IF outcome <> 'ok' THEN
        RETURN;
    END IF;
    FOREACH v_ev IN ARRAY v_events LOOP
        v_new := v_new || undo_reverse(p_board, v_ev, CASE WHEN p_redo THEN 'teamboard.redo_of'
                                                          ELSE 'teamboard.undo_of' END);
    END LOOP;
    body := jsonb_build_object(CASE WHEN p_redo THEN 'redone' ELSE 'undone' END,
                               (SELECT jsonb_agg(x.seq ORDER BY x.seq) FROM unnest(v_events) x),
                               'events', (SELECT jsonb_agg(event_json(e.board_id, e.seq, e.type, e.actor_id,
                                                                      e.created_at, e.payload) ORDER BY e.seq)
                                            FROM board_events e WHERE e.board_id = p_board AND e.seq = ANY (v_new)))::text;
END
$$;

--
-- Name: board_viewers(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_viewers(p_board bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', v.id, 'name', v.name, 'display_name', v.display_name)
                              ORDER BY lower(v.name)),
                    '[]'::jsonb)
      FROM (SELECT DISTINCT u.id, u.name, u.display_name FROM streams s JOIN users u ON u.id = s.user_id
             WHERE s.board_id = p_board) v
$$;

--
-- Name: board_visit(bigint, bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.board_visit(p_user bigint, p_board bigint, p_seq bigint, OUT role text, OUT outcome text, OUT body text) RETURNS record
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: boards_event(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.boards_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        PERFORM record_event(NEW.id, 'board.deleted',
                             jsonb_build_object('board', jsonb_build_object('id', NEW.id, 'version', NEW.version)));
    ELSIF TG_OP = 'UPDATE' AND NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN
        PERFORM record_event(NEW.id, 'board.restored',
                             jsonb_build_object('board', board_json(NEW, NULL) - 'role' - 'last_event_id'));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM record_event(NEW.id, 'board.updated',
                             jsonb_build_object('board', board_json(NEW, NULL) - 'role' - 'last_event_id',
                                                'changed', CASE WHEN NEW.title IS DISTINCT FROM OLD.title
                                                                THEN '["title"]'::jsonb ELSE '[]'::jsonb END,
                                                'before', CASE WHEN NEW.title IS DISTINCT FROM OLD.title
                                                               THEN jsonb_build_object('title', OLD.title)
                                                               ELSE '{}'::jsonb END));
    ELSIF OLD.deleted_at IS NULL THEN
        -- The board and its log are gone; holders still hear it (and end their streams).
        PERFORM pg_notify(board_channel(OLD.id),
                          (OLD.last_seq + 1) || ' board.deleted ' ||
                          event_json(OLD.id, OLD.last_seq + 1, 'board.deleted',
                                     current_actor(), now(),
                                     jsonb_build_object('board', jsonb_build_object('id', OLD.id,
                                                                                    'version', OLD.version + 1)))::text);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: change_password(bigint, text, text, bytea); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.change_password(p_user bigint, p_old text, p_new text, p_keep bytea) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE users SET password_hash = p_new WHERE id = p_user AND password_hash = p_old;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM end_sessions(p_user, p_keep);
    RETURN true;
END
$$;

--
-- Name: current_actor(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.current_actor() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('teamboard.actor_id', true), '')::bigint $$;

--
-- Name: delete_account(bigint, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.delete_account(p_user bigint, p_hash text) RETURNS text
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: end_sessions(bigint, bytea); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.end_sessions(p_user bigint, p_keep bytea) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: event_json(bigint, bigint, text, bigint, timestamp with time zone, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.event_json(p_board bigint, p_seq bigint, p_type text, p_actor bigint, p_at timestamp with time zone, p_payload jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN jsonb_build_object('seq', p_seq, 'type', p_type, 'board_id', p_board, 'at', p_at,
                              'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name,
                                                                  'display_name', u.display_name)
                                          FROM users u WHERE u.id = p_actor))
           || p_payload;
END
$$;

--
-- Name: grant_runtime(name); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.grant_runtime(p_role name) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_role   oid := (SELECT oid FROM pg_roles WHERE rolname = p_role);
    v_schema oid := (SELECT oid FROM pg_namespace WHERE nspname = 'teamboard');
    v_db     oid := (SELECT oid FROM pg_database WHERE datname = current_database());
    v_bad    text;
BEGIN
    IF v_role IS NULL THEN
        RAISE EXCEPTION 'runtime role "%" does not exist', p_role
            USING HINT = 'Create it first: CREATE ROLE ... LOGIN (docs/deploy.md).';
    END IF;
    SELECT string_agg(a, ', ') INTO v_bad FROM pg_roles r,
           LATERAL unnest(ARRAY[CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                                CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                                CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
                                CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
                                CASE WHEN r.rolreplication THEN 'REPLICATION' END]) a
     WHERE r.oid = v_role;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" has %', p_role, v_bad
            USING HINT = format('ALTER ROLE %I NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOREPLICATION',
                                p_role);
    END IF;
    IF pg_has_role(v_role, (SELECT nspowner FROM pg_namespace WHERE oid = v_schema), 'MEMBER') THEN
        RAISE EXCEPTION 'runtime role "%" is, or is a member of, the owner of schema teamboard', p_role
            USING HINT = 'The runtime role must be a role of its own, not a member of the owner.';
    END IF;
    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', '
                      ORDER BY pg_describe_object(d.classid, d.objid, d.objsubid)) INTO v_bad
      FROM pg_shdepend d
     WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = v_role AND d.deptype = 'o'
       AND (d.dbid = v_db OR (d.classid = 'pg_database'::regclass AND d.objid = v_db));
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" owns %', p_role, v_bad
            USING HINT = format('As a superuser, in this database: REASSIGN OWNED BY %I TO %I',
                                p_role, current_user);
    END IF;
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO v_bad
      FROM pg_proc p
     WHERE p.pronamespace = v_schema AND p.prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c ~ '^search_path=.*\mpg_temp$');
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER function without a fixed search_path: %', v_bad
            USING HINT = 'Give it SET search_path = teamboard, pg_temp.';
    END IF;

    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('GRANT USAGE ON SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('REVOKE ALL ON TABLE teamboard.schema_migrations FROM %I', p_role);
    EXECUTE format('REVOKE UPDATE ON TABLE teamboard.board_events FROM %I', p_role);
    EXECUTE format('REVOKE ALL ON FUNCTION teamboard.grant_runtime(name) FROM %I', p_role);

    IF pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE oid = v_db), 'USAGE') THEN
        EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC, %I', current_database(), p_role);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), p_role);
    END IF;
    -- PostgreSQL 15 no longer lets PUBLIC create in schema public; older versions did.
    FOR v_bad IN SELECT n.nspname FROM pg_namespace n
                  WHERE has_schema_privilege(v_role, n.oid, 'CREATE')
                    AND pg_has_role(current_user, n.nspowner, 'USAGE') LOOP
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, %I', v_bad, p_role);
    END LOOP;
    SELECT string_agg(x, ', ') INTO v_bad FROM (
        SELECT 'database ' || quote_ident(current_database()) AS x
         WHERE has_database_privilege(v_role, v_db, 'CREATE')
        UNION ALL
        SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n
         WHERE has_schema_privilege(v_role, n.oid, 'CREATE')) c;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" may create objects in %', p_role, v_bad
            USING HINT = 'As a superuser: REVOKE CREATE ON SCHEMA ... FROM PUBLIC (and from the role).';
    END IF;
END
$_$;

--
-- Name: team_invites; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.team_invites (
    id bigint NOT NULL,
    team_id bigint NOT NULL,
    token_hash bytea NOT NULL,
    role text NOT NULL,
    created_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    max_uses integer NOT NULL,
    uses integer DEFAULT 0 NOT NULL,
    CONSTRAINT team_invites_check CHECK (((uses >= 0) AND (uses <= max_uses))),
    CONSTRAINT team_invites_max_uses_check CHECK (((max_uses >= 1) AND (max_uses <= 1000))),
    CONSTRAINT team_invites_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'editor'::text, 'admin'::text])))
);

--
-- Name: invite_json(teamboard.team_invites); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.invite_json(i teamboard.team_invites) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', i.id, 'team_id', i.team_id, 'role', i.role, 'created_at', i.created_at,
                              'created_by', i.created_by, 'expires_at', i.expires_at,
                              'max_uses', i.max_uses, 'uses', i.uses)
$$;

--
-- Name: items; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.items (
    id bigint NOT NULL,
    board_id bigint NOT NULL,
    text text DEFAULT ''::text NOT NULL,
    color text DEFAULT '#fff59d'::text NOT NULL,
    x integer DEFAULT 0 NOT NULL,
    y integer DEFAULT 0 NOT NULL,
    w integer DEFAULT 200 NOT NULL,
    h integer DEFAULT 150 NOT NULL,
    z integer DEFAULT 0 NOT NULL,
    author_id bigint,
    version bigint DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    json text NOT NULL
);

--
-- Name: item_differs(teamboard.items, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.item_differs(i teamboard.items, p_item jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (i.text, i.color, i.x, i.y, i.w, i.h, i.z) IS DISTINCT FROM
           (p_item ->> 'text', p_item ->> 'color', (p_item ->> 'x')::int, (p_item ->> 'y')::int,
            (p_item ->> 'width')::int, (p_item ->> 'height')::int, (p_item ->> 'z')::int)
$$;

--
-- Name: item_json(teamboard.items); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.item_json(i teamboard.items) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT i.json::jsonb
$$;

--
-- Name: item_json_text(teamboard.items); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.item_json_text(i teamboard.items) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object('id', i.id, 'board_id', i.board_id, 'text', i.text, 'color', i.color,
                             'x', i.x, 'y', i.y, 'width', i.w, 'height', i.h, 'z', i.z,
                             'author_id', i.author_id, 'version', i.version,
                             'created_at', i.created_at, 'updated_at', i.updated_at)
$$;

--
-- Name: item_restore_from_trash(bigint, bigint, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.item_restore_from_trash(p_board bigint, p_id bigint, p_fields jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('teamboard.restore_id', p_id::text, true);
    WITH t AS (DELETE FROM items_trash t WHERE t.item_id = p_id AND t.board_id = p_board AND t.purged_at IS NULL
               RETURNING t.item)
    INSERT INTO items (id, board_id, text, color, x, y, w, h, z, author_id, version, created_at, updated_at)
    OVERRIDING SYSTEM VALUE
    SELECT p_id, p_board, n.item ->> 'text', n.item ->> 'color', (n.item ->> 'x')::int, (n.item ->> 'y')::int,
           (n.item ->> 'width')::int, (n.item ->> 'height')::int, (n.item ->> 'z')::int,
           (SELECT u.id FROM users u WHERE u.id = (t.item ->> 'author_id')::bigint),
           (t.item ->> 'version')::bigint + 2, (t.item ->> 'created_at')::timestamptz, now()
      FROM t CROSS JOIN LATERAL (SELECT coalesce(p_fields, t.item) AS item) n;
    PERFORM set_config('teamboard.restore_id', '', true);
END
$$;

--
-- Name: items_event(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.items_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_changed jsonb;
    v_before  jsonb;
    v_payload jsonb;
    v_tags    jsonb := jsonb_strip_nulls(jsonb_build_object(
                  'undo_of', nullif(current_setting('teamboard.undo_of', true), '')::bigint,
                  'redo_of', nullif(current_setting('teamboard.redo_of', true), '')::bigint));
BEGIN
    IF TG_OP = 'INSERT' AND NEW.board_id::text = current_setting('teamboard.importing', true) THEN
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        v_payload := jsonb_build_object('item', item_json(NEW)) || v_tags;
        IF NEW.id::text = current_setting('teamboard.restore_id', true) THEN
            v_payload := v_payload || '{"restored": true}'::jsonb;
        END IF;
        PERFORM record_event(NEW.board_id, 'item.created', v_payload);
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT coalesce(jsonb_agg(f), '[]'::jsonb), coalesce(jsonb_object_agg(f, item_json(OLD) -> f), '{}'::jsonb)
          INTO v_changed, v_before FROM unnest(ARRAY[
            CASE WHEN NEW.text IS DISTINCT FROM OLD.text THEN 'text' END,
            CASE WHEN NEW.color IS DISTINCT FROM OLD.color THEN 'color' END,
            CASE WHEN NEW.x IS DISTINCT FROM OLD.x THEN 'x' END,
            CASE WHEN NEW.y IS DISTINCT FROM OLD.y THEN 'y' END,
            CASE WHEN NEW.w IS DISTINCT FROM OLD.w THEN 'width' END,
            CASE WHEN NEW.h IS DISTINCT FROM OLD.h THEN 'height' END,
            CASE WHEN NEW.z IS DISTINCT FROM OLD.z THEN 'z' END]) AS f WHERE f IS NOT NULL;
        PERFORM record_event(NEW.board_id, 'item.updated',
                             jsonb_build_object('item', item_json(NEW), 'changed', v_changed, 'before', v_before)
                             || v_tags);
    ELSIF record_event(OLD.board_id, 'item.deleted',
                       jsonb_build_object('item', item_json(OLD) || jsonb_build_object('version', OLD.version + 1))
                       || v_tags)
          IS NOT NULL THEN
        INSERT INTO items_trash (item_id, board_id, item, deleted_by)
        VALUES (OLD.id, OLD.board_id, item_json(OLD),
                current_actor());
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: items_json(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.items_json() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.json := item_json_text(NEW)::text;
    RETURN NEW;
END
$$;

--
-- Name: login_attempt(text, text, integer, integer); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.login_attempt(p_account text, p_address text, p_max integer, p_window integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    wait double precision;
BEGIN
    INSERT INTO login_throttle (kind, key) VALUES ('account', p_account), ('address', p_address)
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM login_throttle
      WHERE (kind, key) IN (('account', p_account), ('address', p_address))
      ORDER BY kind, key FOR UPDATE;
    UPDATE login_throttle SET failures = 0, window_start = now(), blocked_until = NULL
     WHERE (kind, key) IN (('account', p_account), ('address', p_address))
       AND greatest(window_start, blocked_until) <= now() - make_interval(secs => p_window);
    SELECT extract(epoch FROM max(blocked_until) - now()) INTO wait FROM login_throttle
     WHERE (kind, key) IN (('account', p_account), ('address', p_address)) AND blocked_until > now();
    IF wait IS NOT NULL THEN
        RETURN greatest(ceil(wait), 1)::integer;
    END IF;
    UPDATE login_throttle
       SET failures = failures + 1,
           blocked_until = CASE WHEN failures + 1 >= p_max
                                THEN now() + make_interval(secs => least(900, 60 * 2 ^ least(failures + 1 - p_max, 10)))
                           END
     WHERE (kind, key) IN (('account', p_account), ('address', p_address));
    RETURN 0;
END
$$;

--
-- Name: login_succeeded(text, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.login_succeeded(p_account text, p_address text) RETURNS void
    LANGUAGE sql
    AS $$
    DELETE FROM login_throttle WHERE kind = 'account' AND key = p_account;
    UPDATE login_throttle SET failures = greatest(failures - 1, 0), blocked_until = NULL
     WHERE kind = 'address' AND key = p_address;
$$;

--
-- Name: notify_limit(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.notify_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 7000 $$;

--
-- Name: public_board_json(teamboard.boards); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.public_board_json(b teamboard.boards) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT board_json(b, 'guest') - 'team_id' - 'owner_id'
           || jsonb_build_object('authors', board_author_names(b.id))
$$;

--
-- Name: public_event_json(bigint, bigint, text, bigint, timestamp with time zone, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.public_event_json(p_board bigint, p_seq bigint, p_type text, p_actor bigint, p_at timestamp with time zone, p_payload jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('seq', p_seq, 'type', p_type, 'board_id', p_board, 'at', p_at,
                              'actor', (SELECT jsonb_build_object('id', u.id, 'display_name', u.display_name)
                                          FROM users u WHERE u.id = p_actor))
           || CASE WHEN p_type LIKE 'member.%' THEN '{}'::jsonb
                   ELSE p_payload #- '{board,team_id}' #- '{board,owner_id}' END
$$;

--
-- Name: public_presence(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.public_presence(p_board bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('type', 'presence', 'board_id', p_board,
                              'viewers', coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', v -> 'user_id',
                                                                                       'display_name', v -> 'display_name')
                                                                ORDER BY (v ->> 'user_id')::bigint)
                                                     FROM jsonb_array_elements(board_viewers(p_board)) v), '[]'::jsonb),
                              'guests', board_guests(p_board))
$$;

--
-- Name: record_event(bigint, text, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.record_event(p_board bigint, p_type text, p_payload jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_seq   bigint;
    v_actor bigint := current_actor();
    v_text  text;
BEGIN
    UPDATE boards SET last_seq = last_seq + 1 WHERE id = p_board RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO board_events (board_id, seq, type, actor_id, payload, step, item_id, undo_of, redo_of)
    VALUES (p_board, v_seq, p_type, v_actor, p_payload, pg_current_xact_id()::text::bigint,
            CASE WHEN p_type LIKE 'item.%' THEN (p_payload -> 'item' ->> 'id')::bigint END,
            (p_payload ->> 'undo_of')::bigint, (p_payload ->> 'redo_of')::bigint);
    v_text := event_json(p_board, v_seq, p_type, v_actor, now(), p_payload)::text;
    IF octet_length(v_text) > notify_limit() THEN
        v_text := v_seq || ' ' || p_type;
    ELSE
        v_text := v_seq || ' ' || p_type || ' ' || v_text;
    END IF;
    PERFORM pg_notify(board_channel(p_board), v_text);
    RETURN v_seq;
END
$$;

--
-- Name: restore_version_back(jsonb, bigint[]); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.restore_version_back(p_then jsonb, p_now bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT coalesce(array_agg(b.id ORDER BY b.id), '{}')
      FROM (SELECT k::bigint AS id FROM jsonb_object_keys(p_then) k EXCEPT SELECT unnest(p_now)) b
$$;

--
-- Name: restore_version_changes(bigint, jsonb); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.restore_version_changes(p_board bigint, p_then jsonb) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT (SELECT count(*) FROM items i
             WHERE i.board_id = p_board AND (NOT p_then ? i.id::text OR item_differs(i, p_then -> i.id::text)))
         + (SELECT count(*) FROM jsonb_object_keys(p_then) k
             WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = k::bigint AND i.board_id = p_board))
$$;

--
-- Name: restore_version_write(bigint, jsonb, bigint[]); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.restore_version_write(p_board bigint, p_then jsonb, p_now bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: set_actor(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.set_actor(p_user bigint) RETURNS text
    LANGUAGE sql
    AS $$ SELECT set_config('teamboard.actor_id', p_user::text, true) $$;

--
-- Name: set_display_name(bigint, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.set_display_name(p_user bigint, p_name text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: team_board_role(boolean, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_board_role(p_creator boolean, p_member_role text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_creator AND p_member_role IN ('editor', 'admin') THEN 'owner' ELSE p_member_role END
$$;

--
-- Name: team_json(bigint, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_json(p_team bigint, p_role text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', t.id, 'name', t.name, 'role', p_role, 'created_at', t.created_at,
               'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', u.id, 'name', u.name,
                                                                        'display_name', u.display_name,
                                                                        'role', m.role)
                                                     ORDER BY lower(u.name)), '[]'::jsonb)
                             FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE m.team_id = t.id))
      FROM teams t WHERE t.id = p_team
$$;

--
-- Name: team_keeps_admin(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_keeps_admin() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.role = 'admin' AND (TG_OP = 'DELETE' OR NEW.role <> 'admin') THEN
        PERFORM 1 FROM teams WHERE id = OLD.team_id FOR UPDATE;
        IF FOUND AND NOT EXISTS (SELECT 1 FROM team_members
                                  WHERE team_id = OLD.team_id AND role = 'admin') THEN
            RAISE EXCEPTION 'team % would have no admin', OLD.team_id USING ERRCODE = 'TB409';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: team_members_event(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_members_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_row  team_members := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    v_type text := CASE TG_OP WHEN 'INSERT' THEN 'member.added' WHEN 'UPDATE' THEN 'member.updated'
                              ELSE 'member.removed' END;
    v_member jsonb;
    v_board bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.role = OLD.role THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object('team_id', v_row.team_id, 'user_id', v_row.user_id, 'name', u.name,
                              'display_name', u.display_name,
                              'role', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE v_row.role END)
      INTO v_member FROM users u WHERE u.id = v_row.user_id;
    FOR v_board IN SELECT id FROM boards WHERE team_id = v_row.team_id AND deleted_at IS NULL ORDER BY id LOOP
        PERFORM record_event(v_board, v_type, jsonb_build_object('member', v_member));
    END LOOP;
    RETURN NULL;
END
$$;

--
-- Name: team_role_for_board(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_role_for_board(p_user bigint, p_team bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_role text;
BEGIN
    PERFORM 1 FROM team_members WHERE team_id = p_team AND user_id = p_user;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM teams WHERE id = p_team FOR KEY SHARE;
    SELECT role INTO v_role FROM team_members WHERE team_id = p_team AND user_id = p_user FOR SHARE;
    RETURN v_role;
END
$$;

--
-- Name: team_role_locked(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.team_role_locked(p_user bigint, p_team bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_role text;
BEGIN
    PERFORM 1 FROM team_members WHERE team_id = p_team AND user_id = p_user;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM teams WHERE id = p_team FOR UPDATE;
    SELECT role INTO v_role FROM team_members WHERE team_id = p_team AND user_id = p_user FOR SHARE;
    RETURN v_role;
END
$$;

--
-- Name: trash_restore_note(bigint, bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.trash_restore_note(p_user bigint, p_board bigint, p_id bigint) RETURNS TABLE(version bigint, json jsonb)
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_actor(p_user);
    IF board_role_locked(p_user, p_board) IN ('owner', 'admin', 'editor')
       AND EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = p_id AND t.board_id = p_board AND t.purged_at IS NULL
                   FOR UPDATE) THEN
        PERFORM item_restore_from_trash(p_board, p_id, NULL);
        RETURN QUERY SELECT i.version, item_json(i) FROM items i WHERE i.id = p_id AND i.board_id = p_board;
    END IF;
END
$$;

--
-- Name: trashed_board_role(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.trashed_board_role(p_user bigint, p_board bigint) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE team_board_role(b.owner_id = p_user,
                                             (SELECT m.role FROM team_members m
                                               WHERE m.team_id = b.team_id AND m.user_id = p_user)) END
              FROM boards b WHERE b.id = p_board AND b.deleted_at IS NOT NULL);
END
$$;

--
-- Name: trashed_board_role_locked(bigint, bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.trashed_board_role_locked(p_user bigint, p_board bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_team  bigint;
    v_owner bigint;
    v_role  text;
BEGIN
    SELECT b.team_id, b.owner_id INTO v_team, v_owner FROM boards b
     WHERE b.id = p_board AND b.deleted_at IS NOT NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_team IS NULL THEN
        RETURN CASE WHEN v_owner = p_user THEN 'owner' END;
    END IF;
    PERFORM 1 FROM teams t WHERE t.id = v_team FOR KEY SHARE;
    SELECT m.role INTO v_role FROM team_members m
     WHERE m.team_id = v_team AND m.user_id = p_user FOR SHARE;
    RETURN team_board_role(v_owner = p_user, v_role);
END
$$;

--
-- Name: board_events; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.board_events (
    board_id bigint NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    actor_id bigint,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    step bigint,
    item_id bigint,
    undo_of bigint,
    redo_of bigint
);

--
-- Name: undo_check(bigint, bigint, teamboard.board_events[]); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.undo_check(p_user bigint, p_board bigint, p_events teamboard.board_events[], OUT outcome text, OUT body text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_ev    board_events;
    v_other board_events;
BEGIN
    outcome := 'ok';
    FOREACH v_ev IN ARRAY p_events LOOP
        SELECT e.* INTO v_other FROM board_events e
         WHERE e.board_id = p_board AND e.item_id = v_ev.item_id AND e.seq > v_ev.seq
           AND e.actor_id IS DISTINCT FROM p_user
         ORDER BY e.seq DESC LIMIT 1;
        IF FOUND THEN
            outcome := 'conflict';
            body := jsonb_build_object('event', event_json(p_board, v_other.seq, v_other.type, v_other.actor_id,
                                                           v_other.created_at, v_other.payload))::text;
            RETURN;
        END IF;
        IF v_ev.type = 'item.deleted' THEN
            IF NOT EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = v_ev.item_id AND t.board_id = p_board) THEN
                outcome := 'conflict';
            ELSIF EXISTS (SELECT 1 FROM items_trash t WHERE t.item_id = v_ev.item_id AND t.purged_at IS NOT NULL) THEN
                outcome := 'purged';
            END IF;
        ELSIF NOT EXISTS (SELECT 1 FROM items i WHERE i.id = v_ev.item_id AND i.board_id = p_board) THEN
            outcome := 'conflict';
        END IF;
        IF outcome <> 'ok' THEN
            RETURN;
        END IF;
    END LOOP;
END
$$;

--
-- Name: undo_reverse(bigint, teamboard.board_events, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.undo_reverse(p_board bigint, p_ev teamboard.board_events, p_tag text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_before jsonb := p_ev.payload -> 'before';
BEGIN
    PERFORM set_config(p_tag, p_ev.seq::text, true);
    IF p_ev.type = 'item.created' THEN
        DELETE FROM items WHERE id = p_ev.item_id AND board_id = p_board;
    ELSIF p_ev.type = 'item.deleted' THEN
        PERFORM item_restore_from_trash(p_board, p_ev.item_id, NULL);
    ELSE
        UPDATE items i SET text = coalesce(v_before ->> 'text', i.text), color = coalesce(v_before ->> 'color', i.color),
               x = coalesce((v_before ->> 'x')::int, i.x), y = coalesce((v_before ->> 'y')::int, i.y),
               w = coalesce((v_before ->> 'width')::int, i.w), h = coalesce((v_before ->> 'height')::int, i.h),
               z = coalesce((v_before ->> 'z')::int, i.z), version = i.version + 1, updated_at = now()
         WHERE i.id = p_ev.item_id AND i.board_id = p_board;
    END IF;
    PERFORM set_config(p_tag, '', true);
    RETURN (SELECT b.last_seq FROM boards b WHERE b.id = p_board);
END
$$;

--
-- Name: undo_step(bigint, bigint, boolean); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.undo_step(p_user bigint, p_board bigint, p_redo boolean) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_below bigint := 9223372036854775807;
    v_ev    record;
BEGIN
    LOOP
        SELECT e.step, e.undo_of, e.redo_of INTO v_ev FROM board_events e
         WHERE e.board_id = p_board AND e.actor_id = p_user AND e.step IS NOT NULL AND e.item_id IS NOT NULL
           AND e.seq < v_below
         ORDER BY e.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        ELSIF NOT p_redo AND v_ev.undo_of IS NULL THEN
            RETURN v_ev.step;
        ELSIF NOT p_redo THEN
            v_below := v_ev.undo_of;
        ELSIF v_ev.undo_of IS NOT NULL THEN
            RETURN v_ev.step;
        ELSIF v_ev.redo_of IS NULL THEN
            RETURN NULL;
        ELSE
            v_below := v_ev.redo_of;
        END IF;
    END LOOP;
END
$$;

--
-- Name: use_password_reset(bytea, text); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.use_password_reset(p_token_hash bytea, p_new text) RETURNS text
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: user_display(bigint); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.user_display(p_user bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((SELECT u.display_name FROM users u WHERE u.id = p_user), 'deleted user')
$$;

--
-- Name: users; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.users (
    id bigint NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone,
    display_name text NOT NULL,
    CONSTRAINT users_display_name_check CHECK ((((char_length(display_name) >= 1) AND (char_length(display_name) <= 100)) AND (display_name = btrim(display_name)) AND (display_name !~ '[\x01-\x1f\x7f]'::text)))
);

--
-- Name: user_json(teamboard.users); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.user_json(u teamboard.users) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', u.id, 'name', u.name, 'display_name', u.display_name,
                              'created_at', u.created_at)
$$;

--
-- Name: users_display_name(); Type: FUNCTION; Schema: teamboard; Owner: -
--

CREATE FUNCTION teamboard.users_display_name() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.display_name := coalesce(NEW.display_name, NEW.name);
    RETURN NEW;
END
$$;

--
-- Name: board_links; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.board_links (
    id bigint NOT NULL,
    board_id bigint NOT NULL,
    token_hash bytea NOT NULL,
    created_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: board_links_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.board_links ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.board_links_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: board_tombstones; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.board_tombstones (
    board_id bigint NOT NULL,
    owner_id bigint,
    team_id bigint,
    deleted_at timestamp with time zone NOT NULL,
    purged_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: board_visits; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.board_visits (
    user_id bigint NOT NULL,
    board_id bigint NOT NULL,
    seq bigint NOT NULL,
    seen_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT board_visits_seq_check CHECK ((seq >= 0))
);

--
-- Name: boards_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.boards ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.boards_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: editing_announcements; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.editing_announcements (
    user_id bigint NOT NULL,
    item_id bigint NOT NULL,
    editing boolean NOT NULL,
    sent_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: idempotency_keys; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.idempotency_keys (
    user_id bigint NOT NULL,
    board_id bigint NOT NULL,
    key text NOT NULL,
    item_id bigint NOT NULL,
    version bigint NOT NULL,
    status integer NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    request_hash bytea,
    CONSTRAINT idempotency_keys_key_check CHECK ((key ~ '^[A-Za-z0-9_-]{1,64}$'::text))
);

--
-- Name: items_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: items_trash; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.items_trash (
    item_id bigint NOT NULL,
    board_id bigint NOT NULL,
    item jsonb,
    deleted_by bigint,
    deleted_at timestamp with time zone DEFAULT now() NOT NULL,
    purged_at timestamp with time zone,
    CONSTRAINT items_trash_check CHECK (((item IS NULL) = (purged_at IS NOT NULL)))
);

--
-- Name: login_throttle; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.login_throttle (
    kind text NOT NULL,
    key text NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    window_start timestamp with time zone DEFAULT now() NOT NULL,
    blocked_until timestamp with time zone,
    CONSTRAINT login_throttle_failures_check CHECK ((failures >= 0)),
    CONSTRAINT login_throttle_key_check CHECK ((octet_length(key) <= 200)),
    CONSTRAINT login_throttle_kind_check CHECK ((kind = ANY (ARRAY['account'::text, 'address'::text])))
);

--
-- Name: password_resets; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.password_resets (
    token_hash bytea NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone
);

--
-- Name: schema_migrations; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.schema_migrations (
    version text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    checksum text NOT NULL
);

--
-- Name: sessions; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.sessions (
    token_hash bytea NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

--
-- Name: streams; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.streams (
    id bigint NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    backend_pid integer NOT NULL,
    board_id bigint NOT NULL,
    user_id bigint,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    link_id bigint,
    in_host boolean DEFAULT false NOT NULL,
    address text,
    session_hash bytea,
    CONSTRAINT streams_address_check CHECK ((length(address) <= 64)),
    CONSTRAINT streams_session_hash_check CHECK ((length(session_hash) = 32)),
    CONSTRAINT streams_user_or_link CHECK (((user_id IS NULL) <> (link_id IS NULL)))
);

--
-- Name: streams_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.streams ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.streams_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: supervisor_status; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.supervisor_status (
    id integer NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    since timestamp with time zone NOT NULL,
    last_run timestamp with time zone NOT NULL,
    report jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT supervisor_status_id_check CHECK ((id = 1))
);

--
-- Name: team_invites_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.team_invites ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.team_invites_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: team_members; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.team_members (
    team_id bigint NOT NULL,
    user_id bigint NOT NULL,
    role text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT team_members_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'editor'::text, 'admin'::text])))
);

--
-- Name: teams; Type: TABLE; Schema: teamboard; Owner: -
--

CREATE TABLE teamboard.teams (
    id bigint NOT NULL,
    name text NOT NULL,
    created_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: teams_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.teams ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.teams_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: users_id_seq; Type: SEQUENCE; Schema: teamboard; Owner: -
--

ALTER TABLE teamboard.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME teamboard.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: board_events board_events_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_events
    ADD CONSTRAINT board_events_pkey PRIMARY KEY (board_id, seq);

--
-- Name: board_links board_links_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_links
    ADD CONSTRAINT board_links_pkey PRIMARY KEY (id);

--
-- Name: board_links board_links_token_hash_key; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_links
    ADD CONSTRAINT board_links_token_hash_key UNIQUE (token_hash);

--
-- Name: board_tombstones board_tombstones_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_tombstones
    ADD CONSTRAINT board_tombstones_pkey PRIMARY KEY (board_id);

--
-- Name: board_visits board_visits_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_visits
    ADD CONSTRAINT board_visits_pkey PRIMARY KEY (user_id, board_id);

--
-- Name: boards boards_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.boards
    ADD CONSTRAINT boards_pkey PRIMARY KEY (id);

--
-- Name: editing_announcements editing_announcements_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.editing_announcements
    ADD CONSTRAINT editing_announcements_pkey PRIMARY KEY (user_id, item_id);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, board_id, key);

--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (id);

--
-- Name: items_trash items_trash_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items_trash
    ADD CONSTRAINT items_trash_pkey PRIMARY KEY (item_id);

--
-- Name: login_throttle login_throttle_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.login_throttle
    ADD CONSTRAINT login_throttle_pkey PRIMARY KEY (kind, key);

--
-- Name: password_resets password_resets_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.password_resets
    ADD CONSTRAINT password_resets_pkey PRIMARY KEY (token_hash);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash);

--
-- Name: streams streams_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.streams
    ADD CONSTRAINT streams_pkey PRIMARY KEY (id);

--
-- Name: supervisor_status supervisor_status_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.supervisor_status
    ADD CONSTRAINT supervisor_status_pkey PRIMARY KEY (id);

--
-- Name: team_invites team_invites_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_invites
    ADD CONSTRAINT team_invites_pkey PRIMARY KEY (id);

--
-- Name: team_invites team_invites_token_hash_key; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_invites
    ADD CONSTRAINT team_invites_token_hash_key UNIQUE (token_hash);

--
-- Name: team_members team_members_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_members
    ADD CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id);

--
-- Name: teams teams_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: board_events_actor_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_events_actor_idx ON teamboard.board_events USING btree (board_id, actor_id, seq) WHERE ((step IS NOT NULL) AND (item_id IS NOT NULL));

--
-- Name: board_events_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_events_board_idx ON teamboard.board_events USING btree (board_id, seq) WHERE (type ~~ 'board.%'::text);

--
-- Name: board_events_created_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_events_created_idx ON teamboard.board_events USING btree (created_at);

--
-- Name: board_events_item_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_events_item_idx ON teamboard.board_events USING btree (board_id, item_id, seq) WHERE (item_id IS NOT NULL);

--
-- Name: board_events_redo_of_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE UNIQUE INDEX board_events_redo_of_idx ON teamboard.board_events USING btree (board_id, redo_of) WHERE (redo_of IS NOT NULL);

--
-- Name: board_events_undo_of_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE UNIQUE INDEX board_events_undo_of_idx ON teamboard.board_events USING btree (board_id, undo_of) WHERE (undo_of IS NOT NULL);

--
-- Name: board_links_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_links_board_idx ON teamboard.board_links USING btree (board_id);

--
-- Name: board_visits_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX board_visits_board_idx ON teamboard.board_visits USING btree (board_id);

--
-- Name: boards_owner_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX boards_owner_idx ON teamboard.boards USING btree (owner_id);

--
-- Name: boards_team_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX boards_team_idx ON teamboard.boards USING btree (team_id);

--
-- Name: boards_trash_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX boards_trash_idx ON teamboard.boards USING btree (deleted_at) WHERE (deleted_at IS NOT NULL);

--
-- Name: editing_announcements_item_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX editing_announcements_item_idx ON teamboard.editing_announcements USING btree (item_id);

--
-- Name: editing_announcements_sent_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX editing_announcements_sent_idx ON teamboard.editing_announcements USING btree (sent_at);

--
-- Name: idempotency_keys_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX idempotency_keys_board_idx ON teamboard.idempotency_keys USING btree (board_id);

--
-- Name: idempotency_keys_created_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX idempotency_keys_created_idx ON teamboard.idempotency_keys USING btree (created_at);

--
-- Name: items_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX items_board_idx ON teamboard.items USING btree (board_id, id);

--
-- Name: items_board_z_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX items_board_z_idx ON teamboard.items USING btree (board_id, z);

--
-- Name: items_trash_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX items_trash_board_idx ON teamboard.items_trash USING btree (board_id, deleted_at DESC, item_id DESC) WHERE (purged_at IS NULL);

--
-- Name: items_trash_deleted_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX items_trash_deleted_idx ON teamboard.items_trash USING btree (deleted_at) WHERE (purged_at IS NULL);

--
-- Name: login_throttle_expiry; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX login_throttle_expiry ON teamboard.login_throttle USING btree (GREATEST(window_start, blocked_until));

--
-- Name: password_resets_user_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX password_resets_user_idx ON teamboard.password_resets USING btree (user_id);

--
-- Name: sessions_expires_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX sessions_expires_idx ON teamboard.sessions USING btree (expires_at);

--
-- Name: sessions_user_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX sessions_user_idx ON teamboard.sessions USING btree (user_id);

--
-- Name: streams_board_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX streams_board_idx ON teamboard.streams USING btree (board_id);

--
-- Name: streams_host_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX streams_host_idx ON teamboard.streams USING btree (host);

--
-- Name: streams_host_pid_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX streams_host_pid_idx ON teamboard.streams USING btree (host, pid);

--
-- Name: streams_user_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX streams_user_idx ON teamboard.streams USING btree (user_id);

--
-- Name: team_invites_team_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX team_invites_team_idx ON teamboard.team_invites USING btree (team_id);

--
-- Name: team_members_user_idx; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE INDEX team_members_user_idx ON teamboard.team_members USING btree (user_id);

--
-- Name: users_name_key; Type: INDEX; Schema: teamboard; Owner: -
--

CREATE UNIQUE INDEX users_name_key ON teamboard.users USING btree (lower(name));

--
-- Name: board_links board_links_deleted; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER board_links_deleted AFTER DELETE ON teamboard.board_links FOR EACH ROW EXECUTE FUNCTION teamboard.board_links_deleted();

--
-- Name: boards boards_deleted; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER boards_deleted AFTER DELETE ON teamboard.boards FOR EACH ROW EXECUTE FUNCTION teamboard.boards_event();

--
-- Name: boards boards_updated; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER boards_updated AFTER UPDATE ON teamboard.boards FOR EACH ROW WHEN ((old.version IS DISTINCT FROM new.version)) EXECUTE FUNCTION teamboard.boards_event();

--
-- Name: items items_event; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER items_event AFTER INSERT OR DELETE OR UPDATE ON teamboard.items FOR EACH ROW EXECUTE FUNCTION teamboard.items_event();

--
-- Name: items items_json; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER items_json BEFORE INSERT OR UPDATE ON teamboard.items FOR EACH ROW EXECUTE FUNCTION teamboard.items_json();

--
-- Name: team_members team_members_event; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER team_members_event AFTER INSERT OR DELETE OR UPDATE ON teamboard.team_members FOR EACH ROW EXECUTE FUNCTION teamboard.team_members_event();

--
-- Name: team_members team_members_keep_admin; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER team_members_keep_admin AFTER DELETE OR UPDATE ON teamboard.team_members FOR EACH ROW EXECUTE FUNCTION teamboard.team_keeps_admin();

--
-- Name: users users_display_name; Type: TRIGGER; Schema: teamboard; Owner: -
--

CREATE TRIGGER users_display_name BEFORE INSERT ON teamboard.users FOR EACH ROW EXECUTE FUNCTION teamboard.users_display_name();

--
-- Name: board_events board_events_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_events
    ADD CONSTRAINT board_events_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: board_links board_links_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_links
    ADD CONSTRAINT board_links_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: board_links board_links_created_by_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_links
    ADD CONSTRAINT board_links_created_by_fkey FOREIGN KEY (created_by) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- Name: board_visits board_visits_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_visits
    ADD CONSTRAINT board_visits_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: board_visits board_visits_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.board_visits
    ADD CONSTRAINT board_visits_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: boards boards_deleted_by_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.boards
    ADD CONSTRAINT boards_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- Name: boards boards_owner_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.boards
    ADD CONSTRAINT boards_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- Name: boards boards_team_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.boards
    ADD CONSTRAINT boards_team_id_fkey FOREIGN KEY (team_id) REFERENCES teamboard.teams(id) ON DELETE CASCADE;

--
-- Name: editing_announcements editing_announcements_item_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.editing_announcements
    ADD CONSTRAINT editing_announcements_item_id_fkey FOREIGN KEY (item_id) REFERENCES teamboard.items(id) ON DELETE CASCADE;

--
-- Name: editing_announcements editing_announcements_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.editing_announcements
    ADD CONSTRAINT editing_announcements_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: idempotency_keys idempotency_keys_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.idempotency_keys
    ADD CONSTRAINT idempotency_keys_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: idempotency_keys idempotency_keys_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.idempotency_keys
    ADD CONSTRAINT idempotency_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: items items_author_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items
    ADD CONSTRAINT items_author_id_fkey FOREIGN KEY (author_id) REFERENCES teamboard.users(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

--
-- Name: items items_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items
    ADD CONSTRAINT items_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

--
-- Name: items_trash items_trash_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items_trash
    ADD CONSTRAINT items_trash_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: items_trash items_trash_deleted_by_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.items_trash
    ADD CONSTRAINT items_trash_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- Name: password_resets password_resets_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.password_resets
    ADD CONSTRAINT password_resets_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: streams streams_board_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.streams
    ADD CONSTRAINT streams_board_id_fkey FOREIGN KEY (board_id) REFERENCES teamboard.boards(id) ON DELETE CASCADE;

--
-- Name: streams streams_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.streams
    ADD CONSTRAINT streams_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: team_invites team_invites_created_by_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_invites
    ADD CONSTRAINT team_invites_created_by_fkey FOREIGN KEY (created_by) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- Name: team_invites team_invites_team_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_invites
    ADD CONSTRAINT team_invites_team_id_fkey FOREIGN KEY (team_id) REFERENCES teamboard.teams(id) ON DELETE CASCADE;

--
-- Name: team_members team_members_team_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_members
    ADD CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES teamboard.teams(id) ON DELETE CASCADE;

--
-- Name: team_members team_members_user_id_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.team_members
    ADD CONSTRAINT team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES teamboard.users(id) ON DELETE CASCADE;

--
-- Name: teams teams_created_by_fkey; Type: FK CONSTRAINT; Schema: teamboard; Owner: -
--

ALTER TABLE ONLY teamboard.teams
    ADD CONSTRAINT teams_created_by_fkey FOREIGN KEY (created_by) REFERENCES teamboard.users(id) ON DELETE SET NULL;

--
-- PostgreSQL database dump complete
--
