-- Emergency escalation. A critical incident, or one in an emergency category, alerts the
-- community's on-duty responders at once and climbs a ladder (moderators, admins, an external
-- emergency system) until staff acknowledge it. Each rung happens once per incident: the primary
-- key of emergency_alert_levels is what makes a job that runs twice, or on two nodes, alert nobody
-- twice (emergency.service.ts).

ALTER TABLE categories ADD COLUMN emergency boolean NOT NULL DEFAULT false;

-- Responders who are on duty now, per community. Set by the responder themself
-- (PUT/DELETE /me/on-duty?communityId=…); nobody on duty means every responder is alerted.
CREATE TABLE on_duty (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  since        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (community_id, user_id)
);
CREATE INDEX on_duty_user_idx ON on_duty (user_id);

-- One alert per incident. active → acknowledged (staff said they have it) | exhausted (every
-- level was tried) | stopped (the incident was closed first).
CREATE TABLE emergency_alerts (
  incident_id     uuid PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
  community_id    uuid REFERENCES communities (id) ON DELETE SET NULL,
  reason          text NOT NULL CHECK (reason IN ('critical', 'emergency_category')),
  state           text NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'acknowledged', 'exhausted', 'stopped')),
  level           integer NOT NULL DEFAULT 0,
  started_at      timestamptz NOT NULL,
  -- when the next level is due while nobody acknowledges
  escalates_at    timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid REFERENCES users (id) ON DELETE SET NULL,
  webhook_sent_at timestamptz
);
CREATE INDEX emergency_alerts_active_idx ON emergency_alerts (escalates_at) WHERE state = 'active';

-- Each level that was alerted, once: (incident, level) is the idempotency key.
CREATE TABLE emergency_alert_levels (
  incident_id uuid NOT NULL REFERENCES emergency_alerts (incident_id) ON DELETE CASCADE,
  level       integer NOT NULL CHECK (level BETWEEN 1 AND 4),
  alerted_at  timestamptz NOT NULL,
  PRIMARY KEY (incident_id, level)
);

-- Who each level alerted; the notifier's `emergency` rule reads it (notifications.rules.ts).
CREATE TABLE emergency_alert_recipients (
  incident_id uuid NOT NULL,
  level       integer NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (incident_id, level, user_id),
  FOREIGN KEY (incident_id, level) REFERENCES emergency_alert_levels (incident_id, level) ON DELETE CASCADE
);
