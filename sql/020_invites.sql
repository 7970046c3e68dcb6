-- 020_invites: invite links to a team (issue 15 item 1; docs/api.md, "Invite links"). A team
-- admin makes a link with a role, an expiry and a number of uses; whoever opens it sees the team's
-- name and the role, and a signed-in user who accepts it joins the team with that role. The
-- functions are in sql/functions/invites.sql.
--
-- As for sessions and reset links, only the SHA-256 of the token's 32 random bytes is kept: a
-- stolen table yields no usable link. uses never passes max_uses (the CHECK backs up the accept's
-- WHERE, which concurrent accepts re-check on the row they wait for). Revoking a link deletes its
-- row; links expired or used up are deleted when an admin of the team makes a new one.
CREATE TABLE team_invites (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id    bigint      NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE,
    role       text        NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    max_uses   integer     NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
    uses       integer     NOT NULL DEFAULT 0 CHECK (uses BETWEEN 0 AND max_uses)
);
CREATE INDEX team_invites_team_idx ON team_invites (team_id);
