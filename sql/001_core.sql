-- 001_core: users, sessions, teams and their members, boards and their items.
-- Applied by `teamboard-admin migrate` inside one transaction with search_path = teamboard.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Names are unique regardless of case: "Alice" and "alice" are one person.
CREATE UNIQUE INDEX users_name_key ON users (lower(name));

-- Only the SHA-256 of a session token is kept; a stolen table yields no usable token.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE teams (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
    team_id  bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE boards (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id    bigint REFERENCES teams (id) ON DELETE CASCADE,
    title      text NOT NULL,
    version    bigint NOT NULL DEFAULT 1,
    last_seq   bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX boards_owner_idx ON boards (owner_id);
CREATE INDEX boards_team_idx ON boards (team_id);

CREATE TABLE items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id   bigint NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    text       text NOT NULL DEFAULT '',
    color      text NOT NULL DEFAULT '#fff59d',
    x          integer NOT NULL DEFAULT 0,
    y          integer NOT NULL DEFAULT 0,
    w          integer NOT NULL DEFAULT 200,
    h          integer NOT NULL DEFAULT 150,
    z          integer NOT NULL DEFAULT 0,
    author_id  bigint REFERENCES users (id) ON DELETE SET NULL,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_board_idx ON items (board_id, id);

-- A user's role on a board: 'owner' for its owner, else the role in the board's team, else NULL
-- (no access: the API answers 404, as if the board did not exist).
CREATE FUNCTION board_role(p_user bigint, p_board bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN b.owner_id = p_user THEN 'owner'
                ELSE (SELECT m.role FROM team_members m
                       WHERE m.team_id = b.team_id AND m.user_id = p_user) END
      FROM boards b WHERE b.id = p_board
$$;

-- A team keeps at least one admin. The team row is locked first, so two concurrent demotions
-- are serialised and the second one sees the first (READ COMMITTED takes a new snapshot per query).
CREATE FUNCTION team_keeps_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
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
CREATE TRIGGER team_members_keep_admin AFTER UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION team_keeps_admin();

-- JSON shapes shared by every route that returns a user, team, board or item.
CREATE FUNCTION user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'name', u.name, 'created_at', u.created_at)
$$;

CREATE FUNCTION team_json(p_team bigint, p_role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', t.id, 'name', t.name, 'role', p_role, 'created_at', t.created_at,
               'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', u.id, 'name', u.name,
                                                                        'role', m.role)
                                                     ORDER BY lower(u.name)), '[]'::jsonb)
                             FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE m.team_id = t.id))
      FROM teams t WHERE t.id = p_team
$$;

CREATE FUNCTION item_json(i items) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'board_id', i.board_id, 'text', i.text, 'color', i.color,
                              'x', i.x, 'y', i.y, 'width', i.w, 'height', i.h, 'z', i.z,
                              'author_id', i.author_id, 'version', i.version,
                              'created_at', i.created_at, 'updated_at', i.updated_at)
$$;

CREATE FUNCTION board_json(b boards, p_role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'title', b.title, 'team_id', b.team_id,
                              'owner_id', b.owner_id, 'role', p_role, 'version', b.version,
                              'last_event_id', b.last_seq,
                              'created_at', b.created_at, 'updated_at', b.updated_at)
$$;
