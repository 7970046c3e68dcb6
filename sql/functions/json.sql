-- json: the JSON shapes shared by every route that returns a user, a team or a board (docs/api.md).
-- A note's shape is in items.sql, an event's in events.sql.

CREATE OR REPLACE FUNCTION user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'name', u.name, 'display_name', u.display_name,
                              'created_at', u.created_at)
$$;

CREATE OR REPLACE FUNCTION team_json(p_team bigint, p_role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', t.id, 'name', t.name, 'role', p_role, 'created_at', t.created_at,
               'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', u.id, 'name', u.name,
                                                                        'display_name', u.display_name,
                                                                        'role', m.role)
                                                     ORDER BY lower(u.name)), '[]'::jsonb)
                             FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE m.team_id = t.id))
      FROM teams t WHERE t.id = p_team
$$;

CREATE OR REPLACE FUNCTION board_json(b boards, p_role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'title', b.title, 'team_id', b.team_id,
                              'owner_id', b.owner_id, 'role', p_role, 'version', b.version,
                              'last_event_id', b.last_seq,
                              'created_at', b.created_at, 'updated_at', b.updated_at)
$$;
