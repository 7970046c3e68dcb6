-- 011_authz_in_statement: a write checks the caller's role in the statement that writes, and
-- locks the membership row that role comes from (FOR SHARE) until its commit. Before this, the
-- API loaded the role in one statement and wrote in the next, so a removal or demotion that
-- committed in between did not stop the write: an editor's writes committed after the removal's
-- 204, and a rogue admin undid their own demotion or removal by repeating the change.
--
-- How the locks serialise (READ COMMITTED):
-- - FOR SHARE conflicts with the row lock of a member's DELETE (FOR UPDATE) and of a role
--   UPDATE (FOR NO KEY UPDATE); FOR KEY SHARE would not see a role change. A write that holds it
--   commits before the removal can; a write that waits for it reads the row again after the
--   removal's commit (no row, or the new role) and is refused.
-- - A member change takes the team row FOR UPDATE first, as team_keeps_admin (001) does, so
--   member changes of one team run one at a time: a rogue admin's change and the change that
--   demotes them cannot both pass their check, and two admins demoting each other cannot
--   deadlock on each other's membership rows.
-- - A new board of a team takes the team row FOR KEY SHARE before the creator's membership row:
--   the same order as a member change (team, then members), so the foreign key check at the end
--   of the INSERT cannot wait on a member change that waits on this creator's row.
-- - Item and board writes lock the membership row before the board row (record_event), as a
--   member change does (its trigger logs on the team's boards after changing the row). A rename
--   also takes the team row FOR KEY SHARE first (board_role_for_rename says why).
--
-- It also decides what a demoted creator keeps: the creator of a team's board ranks as its owner
-- only while they are an editor or admin of the team. A creator demoted to viewer is a viewer of
-- the board like any other (010 made leaving the team lose the board; this makes a demotion
-- count too). Promoted again, they are its owner again.

-- The role on a team's board of a member whose team role is p_member_role (NULL: not a member);
-- p_creator: they created the board. The one place that says when a creator is the owner.
CREATE FUNCTION team_board_role(p_creator boolean, p_member_role text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_creator AND p_member_role IN ('editor', 'admin') THEN 'owner' ELSE p_member_role END
$$;

CREATE OR REPLACE FUNCTION board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE team_board_role(b.owner_id = p_user,
                                             (SELECT m.role FROM team_members m
                                               WHERE m.team_id = b.team_id AND m.user_id = p_user)) END
              FROM boards b WHERE b.id = p_board);
END
$$;

-- board_role for a write: the same answer, and the caller's membership row of the board's team
-- stays locked FOR SHARE until the transaction ends. Called in the WHERE of the writing
-- statement. A personal board has no membership row: its owner cannot change.
CREATE FUNCTION board_role_locked(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_team  bigint;
    v_owner bigint;
    v_role  text;
BEGIN
    SELECT b.team_id, b.owner_id INTO v_team, v_owner FROM boards b WHERE b.id = p_board;
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

-- board_role_locked for a rename (PATCH /boards/:id), which takes the team row FOR KEY SHARE
-- first. A rename updates its board row twice in one transaction (the title, then last_seq in
-- record_event), and PostgreSQL checks the foreign key team_id again on the second update of a
-- row its own transaction wrote: that check takes the team row FOR KEY SHARE. Taken only then, it
-- would wait for a member change that holds the team row FOR UPDATE and waits for this caller's
-- membership row (a deadlock, seen in test_authz_races); taken first, it keeps the order of every
-- other writer: team, then membership, then board. Other writes leave the team row alone, so that
-- all the writers of a team do not share a lock on one row.
CREATE FUNCTION board_role_for_rename(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM teams t JOIN boards b ON b.team_id = t.id WHERE b.id = p_board FOR KEY SHARE OF t;
    RETURN board_role_locked(p_user, p_board);
END
$$;

-- The caller's role in a team for a member change (add, role change, removal, leaving): takes
-- the team row FOR UPDATE, then the caller's membership row FOR SHARE, and returns the role as
-- it is once both are held; NULL when the caller is not a member. A non-member takes no lock.
CREATE FUNCTION team_role_locked(p_user bigint, p_team bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
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

-- The caller's role in a team for creating a board in it: the team row FOR KEY SHARE (the lock
-- the board's foreign key takes anyway), then the caller's membership row FOR SHARE.
CREATE FUNCTION team_role_for_board(p_user bigint, p_team bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
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

-- One page of a board's notes for GET /boards/:id (api_boards.c): the notes after the cursor
-- (p_z, p_id) in (z, id) order (NULL: from the first), as many as fit in p_budget bytes of their
-- JSON texts and the ", " between them, and at least one. items: the texts joined with ", ";
-- next: the cursor "<z>.<id>" of the page's last note when notes are left, else NULL. A board
-- that fits (nearly all) costs one sum over the notes' sizes (octet_length reads no TOASTed
-- text) before the same string_agg as before; only a larger one is walked note by note. Both
-- statements see one snapshot (STABLE), so a note written in between changes no page.
CREATE FUNCTION board_items_page(p_board bigint, p_z integer, p_id bigint, p_budget bigint,
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
