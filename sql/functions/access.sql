-- access: a user's role on a board or in a team, the one place that decides who may do what
-- (docs/api.md, "Roles"). A read asks board_role; a write asks a *_locked function in the
-- statement that writes (the WHERE of its UPDATE, INSERT ... SELECT or DELETE), which also locks
-- the membership row the role comes from (FOR SHARE) until the transaction ends, so that a removal
-- or demotion that commits meanwhile cannot let the write through (011_authz_in_statement.sql).
--
-- How the locks serialise (READ COMMITTED):
-- - FOR SHARE conflicts with the row lock of a member's DELETE (FOR UPDATE) and of a role
--   UPDATE (FOR NO KEY UPDATE); FOR KEY SHARE would not see a role change. A write that holds it
--   commits before the removal can; a write that waits for it reads the row again after the
--   removal's commit (no row, or the new role) and is refused.
-- - A member change takes the team row FOR UPDATE first, as team_keeps_admin (teams.sql) does, so
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
-- The board functions are PL/pgSQL rather than SQL although their bodies are single queries:
-- PostgreSQL cannot inline an SQL function with a FROM or a sub-select, so it planned the body
-- again at every call (board_role runs on nearly every request); PL/pgSQL keeps the plans for the
-- whole session (004_perf.sql).

-- The role on a team's board of a member whose team role is p_member_role (NULL: not a member);
-- p_creator: they created the board. The one place that says when a creator is the owner: only
-- while they are an editor or admin of the team. A creator who left the team loses the board
-- (010_owner_in_team.sql); one demoted to viewer is a viewer of it like any other (011); promoted
-- again, they are its owner again. The board stays the team's: its admins keep it.
CREATE OR REPLACE FUNCTION team_board_role(p_creator boolean, p_member_role text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_creator AND p_member_role IN ('editor', 'admin') THEN 'owner' ELSE p_member_role END
$$;

-- A user's role on a board: 'owner', 'admin', 'editor', 'viewer', or NULL (no access: the API
-- answers 404, as if the board did not exist). A personal board (no team) is its owner's alone. A
-- board in the trash (016_trash.sql) has no role for anyone: trashed_board_role says who may
-- restore it.
CREATE OR REPLACE FUNCTION board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE team_board_role(b.owner_id = p_user,
                                             (SELECT m.role FROM team_members m
                                               WHERE m.team_id = b.team_id AND m.user_id = p_user)) END
              FROM boards b WHERE b.id = p_board AND b.deleted_at IS NULL);
END
$$;

-- board_role for a write: the same answer, and the caller's membership row of the board's team
-- stays locked FOR SHARE until the transaction ends. Called in the WHERE of the writing
-- statement. A personal board has no membership row: its owner cannot change.
CREATE OR REPLACE FUNCTION board_role_locked(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
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

-- board_role_locked for a rename (PATCH /boards/:id), which takes the team row FOR KEY SHARE
-- first. A rename updates its board row twice in one transaction (the title, then last_seq in
-- record_event), and PostgreSQL checks the foreign key team_id again on the second update of a
-- row its own transaction wrote: that check takes the team row FOR KEY SHARE. Taken only then, it
-- would wait for a member change that holds the team row FOR UPDATE and waits for this caller's
-- membership row (a deadlock, seen in test_authz_races); taken first, it keeps the order of every
-- other writer: team, then membership, then board. Other writes leave the team row alone, so that
-- all the writers of a team do not share a lock on one row.
CREATE OR REPLACE FUNCTION board_role_for_rename(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM teams t JOIN boards b ON b.team_id = t.id WHERE b.id = p_board FOR KEY SHARE OF t;
    RETURN board_role_locked(p_user, p_board);
END
$$;

-- The caller's role in a team for a member change (add, role change, removal, leaving): takes
-- the team row FOR UPDATE, then the caller's membership row FOR SHARE, and returns the role as
-- it is once both are held; NULL when the caller is not a member. A non-member takes no lock.
CREATE OR REPLACE FUNCTION team_role_locked(p_user bigint, p_team bigint) RETURNS text
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
CREATE OR REPLACE FUNCTION team_role_for_board(p_user bigint, p_team bigint) RETURNS text
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

-- The role a user would have on a board that is in the trash (NULL when it is not in the trash,
-- or for no role): GET /trash and POST /boards/:id/restore let 'owner' and 'admin' restore it and
-- answer everyone else 404, as for any board they cannot see (api_trash.c).
CREATE OR REPLACE FUNCTION trashed_board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE team_board_role(b.owner_id = p_user,
                                             (SELECT m.role FROM team_members m
                                               WHERE m.team_id = b.team_id AND m.user_id = p_user)) END
              FROM boards b WHERE b.id = p_board AND b.deleted_at IS NOT NULL);
END
$$;

-- trashed_board_role for the restore: the same answer with the locks of board_role_for_rename
-- (the team row FOR KEY SHARE, then the caller's membership row FOR SHARE), since the restore
-- updates its board row twice too (deleted_at, then last_seq for its event).
CREATE OR REPLACE FUNCTION trashed_board_role_locked(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
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
