-- The conversation on an incident. Comments and internal notes are timeline events
-- (incident_events, types 'comment' and 'internal_note'); moderators hide a comment rather than
-- delete it, so the thread keeps its shape and the decision can be undone.
ALTER TABLE incident_events
  ADD COLUMN hidden_at     timestamptz,
  ADD COLUMN hidden_by     uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN hidden_reason text;

-- "Me too": one per person. The count lives on the incident too, kept in the same transaction as
-- these rows, so lists and the incident JSON read it without counting.
CREATE TABLE incident_confirmations (
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, user_id)
);
ALTER TABLE incidents ADD COLUMN confirmations integer NOT NULL DEFAULT 0 CHECK (confirmations >= 0);

-- Who follows what: the primary key answers "the followers of these incidents" (notifications,
-- realtime), the second index "what do I follow, newest first" (GET /me/following).
CREATE TABLE incident_follows (
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_follows_user_idx ON incident_follows (user_id, created_at DESC, incident_id DESC);

-- Reporters of earlier incidents follow them, as new reporters do.
INSERT INTO incident_follows (incident_id, user_id, created_at)
SELECT id, reporter_id, created_at FROM incidents WHERE reporter_id IS NOT NULL;
