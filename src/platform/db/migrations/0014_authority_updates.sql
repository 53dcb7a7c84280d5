-- Status updates that authorities push back (a signed webhook to /api/v1/hooks/authorities/:id).
-- Their update_id is kept per authority, so a retried or replayed update changes nothing twice.
CREATE TABLE authority_updates (
  authority_id uuid NOT NULL REFERENCES authorities (id) ON DELETE CASCADE,
  update_id    text NOT NULL,
  incident_id  uuid REFERENCES incidents (id) ON DELETE SET NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (authority_id, update_id)
);
