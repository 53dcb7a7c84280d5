-- Privacy (issue 7, points 8 and 9): consent history, one-time export links, and erasure.

-- Which terms and privacy notice a person accepted, and when: a history, never overwritten, so
-- the version in force at any past moment can be shown. Kept after erasure (it names no one:
-- only the pseudonymous user id).
CREATE TABLE consents (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('terms')),
  version       text NOT NULL CHECK (length(version) BETWEEN 1 AND 50),
  -- false: registered by a client that did not send acceptTerms (the API before consent existed)
  explicit      boolean NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_user_idx ON consents (user_id, created_at);

-- A data export the person asked for, after typing their password again: the link holds a
-- random token, of which only a SHA-256 is stored; it works once, until expires_at.
CREATE TABLE privacy_exports (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privacy_exports_user_idx ON privacy_exports (user_id);

-- An erased account keeps its row (the id is the pseudonym the audit trail and old reports point
-- at) without anything that names the person.
ALTER TABLE users ADD COLUMN erased_at timestamptz;
