-- Notifications. The notifier follows the event log (incident_events.seq) from its stored place,
-- like the general webhooks: each event is turned into one in-app notification and at most one
-- outbound delivery per channel for each recipient, in the same transaction that moves the place
-- on, so an event is fanned out exactly once whatever crashes.

-- Where the notifier is in the event log (one row). It starts at the present: old events are
-- not announced when this migration runs.
CREATE TABLE notification_cursor (
  id            boolean PRIMARY KEY DEFAULT true CHECK (id),
  delivered_seq bigint NOT NULL
);
INSERT INTO notification_cursor (delivered_seq) SELECT coalesce(max(seq), 0) FROM incident_events;

-- In-app notifications: the list at GET /me/notifications. One per event and person.
CREATE TABLE notifications (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  event_id    bigint NOT NULL REFERENCES incident_events (id) ON DELETE CASCADE,
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  kind        text NOT NULL,
  -- what the message says (reference, title, status move, comment excerpt) as it was then
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  read_at     timestamptz,
  UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

-- Outbound messages (email, Web Push): the unique key (event, person, channel) is what makes a
-- message go out at most once, whatever retries and dead workers do (notifications.jobs.ts).
-- pending → sending → sent; pending → digest (waits in the person's digest) → sent with it;
-- a definite refusal puts sending back to pending; a send whose outcome nobody knows (a worker
-- died mid-send) ends as unknown, never sent again.
CREATE TABLE notification_deliveries (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id    bigint NOT NULL REFERENCES incident_events (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel     text NOT NULL CHECK (channel IN ('email', 'push')),
  kind        text NOT NULL,
  state       text NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'sending', 'sent', 'digest', 'failed', 'unknown', 'skipped')),
  digest_id   bigint,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  claimed_at  timestamptz,
  sent_at     timestamptz,
  UNIQUE (event_id, user_id, channel)
);
-- "how many mails did this person get lately" (the digest rule)
CREATE INDEX notification_deliveries_recent_idx ON notification_deliveries (user_id, channel, created_at);
CREATE INDEX notification_deliveries_sending_idx ON notification_deliveries (claimed_at) WHERE state = 'sending';
CREATE INDEX notification_deliveries_digest_idx ON notification_deliveries (digest_id) WHERE digest_id IS NOT NULL;

-- One open digest per person at a time: the events that arrived in a flood wait here and go out
-- as one mail at flush_at.
CREATE TABLE notification_digests (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  state      text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'sending', 'sent', 'unknown')),
  flush_at   timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  sent_at    timestamptz
);
CREATE UNIQUE INDEX notification_digests_open_idx ON notification_digests (user_id) WHERE state = 'open';
CREATE INDEX notification_digests_due_idx ON notification_digests (flush_at) WHERE state = 'open';

-- Per person: {channels: {email, push, inApp}, kinds: {<kind>: {email, push, inApp}}, reporterUpdates}.
-- A missing switch is on.
CREATE TABLE notification_preferences (
  user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  settings   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Web Push subscriptions (RFC 8030 endpoint, RFC 8291 keys), one row per browser.
CREATE TABLE push_subscriptions (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint   text NOT NULL UNIQUE,
  p256dh     text NOT NULL,
  auth       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);
