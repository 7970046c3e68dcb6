-- invites: invite links to a team (020_invites.sql; docs/api.md, "Invite links"). A link is open
-- while it has not expired and has uses left; revoking it deletes it.

-- An invite as its team's admins see it (GET /teams/:id/invites): never its token.
CREATE OR REPLACE FUNCTION invite_json(i team_invites) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'team_id', i.team_id, 'role', i.role, 'created_at', i.created_at,
                              'created_by', i.created_by, 'expires_at', i.expires_at,
                              'max_uses', i.max_uses, 'uses', i.uses)
$$;

-- Accepts the open invite whose token hashes to p_token_hash for p_user, in the lock order of
-- every member change (team_role_locked, team_keeps_admin, delete_account): the team row FOR
-- UPDATE first, so the accepts of a team and its member changes run one at a time, then the
-- invite's row. The use is counted by an UPDATE that re-checks the invite (uses < max_uses, not
-- expired, still there) on the row it locks, so concurrent accepts never pass max_uses. Returns
-- one row (outcome, team_id, team): 'joined' with the team as its new member sees it (team_json);
-- 'member' (nothing changed: p_user is in the team already) with the team's id; 'gone' (no such
-- open invite: unknown, expired, used up or revoked) with NULLs. member.added reaches the team's
-- boards through team_members_event, with p_user as the actor.
CREATE OR REPLACE FUNCTION accept_invite(p_user bigint, p_token_hash bytea)
RETURNS TABLE (outcome text, team_id bigint, team jsonb)
LANGUAGE plpgsql AS $$
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
