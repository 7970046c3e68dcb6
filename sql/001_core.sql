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

-- Who may see and change a board: sql/functions/access.sql (board_role). A team keeps an admin:
-- sql/functions/teams.sql. The JSON of a user, team, board and note: sql/functions/json.sql and
-- sql/functions/items.sql.
