-- Moderation (issue 7, point 1): pre-moderated communities, hidden media, and the moderation
-- history.

-- A community whose new reports wait, hidden, until a moderator approves (or rejects) them.
ALTER TABLE communities ADD COLUMN premoderation boolean NOT NULL DEFAULT false;

-- Held for approval: such a report is also hidden (seen by its community's staff and the
-- reporter only); approving clears both, rejecting clears this one and keeps it hidden.
ALTER TABLE incidents ADD COLUMN pending_approval boolean NOT NULL DEFAULT false;
-- the moderators' queue: tiny, since reports leave it once decided
CREATE INDEX incidents_pending_idx ON incidents (community_id, created_at, id) WHERE pending_approval;

-- A photo, video or document a moderator keeps from the public (staff and the uploader still see
-- it), like a hidden comment (0008): hidden rather than deleted, so the decision can be undone.
ALTER TABLE media
  ADD COLUMN hidden_at     timestamptz,
  ADD COLUMN hidden_by     uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN hidden_reason text;

-- What moderators and admins did, for the moderation history that a community's moderators read.
-- Every row has its twin in the audit trail (written in the same transaction); this table exists
-- beside it because the trail is admin-only, holds addresses and request ids, cannot be filtered
-- by community cheaply, and is append-only (an erased person's id here can still be removed).
CREATE TABLE moderation_actions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor_id     uuid REFERENCES users (id) ON DELETE SET NULL,
  action       text NOT NULL,
  target_type  text NOT NULL CHECK (target_type IN ('incident', 'comment', 'media', 'user', 'ban_list')),
  target_id    text NOT NULL,
  -- the community of the incident acted on, when it was done; null for bans (global, admins only)
  community_id uuid REFERENCES communities (id) ON DELETE SET NULL,
  incident_id  uuid REFERENCES incidents (id) ON DELETE SET NULL,
  reason       text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_community_idx ON moderation_actions (community_id, id);
CREATE INDEX moderation_actions_incident_idx ON moderation_actions (incident_id, id) WHERE incident_id IS NOT NULL;
