-- General webhooks: admin-registered receivers of every public incident event (or some types).
-- Each keeps its place in the event log (seq): events go out in order, each until it is accepted,
-- so nothing is skipped; a receiver failing for three days is switched off with the reason, and
-- switching it on again resumes where it stopped.
CREATE TABLE webhooks (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  url              text NOT NULL,
  -- event types (incident.created, incident.updated, …); empty: all of them
  events           text[] NOT NULL DEFAULT '{}',
  enabled          boolean NOT NULL DEFAULT true,
  disabled_reason  text,
  delivered_seq    bigint NOT NULL,
  failures         integer NOT NULL DEFAULT 0,
  failing_since    timestamptz,
  retry_at         timestamptz,
  last_error       text,
  secret_version   integer NOT NULL DEFAULT 1,
  previous_until   timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
