-- Accounts: password hashes, roles per community, refresh-token families, and the per-user token
-- epoch that lets logout, password changes, bans and role changes end access tokens early.

ALTER TABLE users
  ADD COLUMN password_hash text,
  -- access tokens carry the epoch they were made in; raising it ends them all
  ADD COLUMN token_epoch integer NOT NULL DEFAULT 0,
  ADD COLUMN banned_at timestamptz;
-- emails are stored normalized (trimmed, lower case); this keeps them unique whatever the case
CREATE UNIQUE INDEX users_email_lower_idx ON users (lower(email));

CREATE TABLE user_roles (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('admin', 'moderator', 'responder')),
  community_id uuid REFERENCES communities (id) ON DELETE CASCADE,
  granted_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- admin is global; moderator and responder belong to one community
  CHECK ((role = 'admin') = (community_id IS NULL))
);
CREATE UNIQUE INDEX user_roles_unique_idx
  ON user_roles (user_id, role, coalesce(community_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Opaque refresh tokens, stored as SHA-256 hashes. A family is one sign-in: each refresh spends
-- the token and makes the next; presenting a spent token again revokes the whole family.
CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  family_id   uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  spent_at    timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
