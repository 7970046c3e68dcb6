-- 017_accounts: accounts that change their password, are reset, disabled or deleted (docs/api.md,
-- PATCH and DELETE /users/me, POST /password-resets/:token; docs/operations.md, the admin
-- commands). The functions are in sql/functions/accounts.sql.

-- A disabled account cannot sign in (403 account_disabled) and has no session; NULL: enabled.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- A deleted account's personal boards go with it, the team boards it made stay the team's: their
-- owner_id becomes NULL (a team board's creator is its owner only while a member, access.sql, so
-- nothing else changes). A personal board always has an owner.
ALTER TABLE boards ALTER COLUMN owner_id DROP NOT NULL;
ALTER TABLE boards DROP CONSTRAINT boards_owner_id_fkey;
ALTER TABLE boards ADD CONSTRAINT boards_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE boards ADD CONSTRAINT boards_personal_has_owner CHECK (owner_id IS NOT NULL OR team_id IS NOT NULL);

-- One-time password reset links made by `teamboard-admin reset-password NAME`: only the SHA-256
-- of the token's 32 random bytes is kept (as for sessions). A link is used once (used_at) and
-- valid until expires_at (one hour); making a new one for a user drops the user's older ones.
CREATE TABLE password_resets (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
