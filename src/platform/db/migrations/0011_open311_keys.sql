-- API keys of Open311 clients (a council's back office, FixMyStreet, an app). Only a SHA-256 of
-- each key is kept: the key itself is shown once, when it is made (`open311 keys create`).
CREATE TABLE open311_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  key_hash      text NOT NULL UNIQUE,
  -- the first characters, so people can tell their keys apart without the secret
  key_prefix    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
