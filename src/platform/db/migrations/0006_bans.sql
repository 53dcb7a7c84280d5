-- Bans. An account can be banned (it can no longer sign in), and an email address or a whole
-- email domain can be put on the ban list: accounts on it can still use Buurtwag, but what
-- they report stays hidden from the public and is never published (a shadow ban, so a spammer
-- does not simply come back under a new address). Banned accounts' reports are hidden as well.
CREATE TABLE ban_list (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind       text NOT NULL CHECK (kind IN ('email', 'domain')),
  value      text NOT NULL CHECK (value = lower(value)),
  reason     text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, value)
);

-- hidden: seen only by the community's staff and the reporter, whatever is_public says
ALTER TABLE incidents ADD COLUMN hidden boolean NOT NULL DEFAULT false;
