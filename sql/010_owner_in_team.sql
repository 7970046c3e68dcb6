-- 010_owner_in_team: the creator of a team's board ranks as its owner only while they are a
-- member of that team. Before this, board_role answered 'owner' for the creator whatever the
-- team said, so a member who left or was removed kept full access to the boards they had made
-- there (reading, renaming, deleting, streaming), against docs/api.md: "they lose access to the
-- team's boards at once". A personal board (no team) is still its owner's alone. The board stays
-- the team's: its admins keep it, and the creator is its owner again if they rejoin.
CREATE OR REPLACE FUNCTION board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN b.team_id IS NULL
                        THEN CASE WHEN b.owner_id = p_user THEN 'owner' END
                        ELSE (SELECT CASE WHEN b.owner_id = p_user THEN 'owner' ELSE m.role END
                                FROM team_members m
                               WHERE m.team_id = b.team_id AND m.user_id = p_user) END
              FROM boards b WHERE b.id = p_board);
END
$$;
