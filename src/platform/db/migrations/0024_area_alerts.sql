-- Area alerts (issue 8, point 2): a person asks to hear about new public reports in a community,
-- or within a circle around a point, optionally only some categories, at once or once a day.
-- Delivery goes through the notifier (0023): an area alert is one more recipient rule.

CREATE TABLE area_alerts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  community_id uuid REFERENCES communities (id) ON DELETE CASCADE,
  center       geometry(Point, 4326),
  radius_m     integer CHECK (radius_m BETWEEN 50 AND 20000),
  -- a box holding the circle: what the GiST index answers "which circles may hold this point"
  -- with (a per-row ST_DWithin radius cannot use an index); ST_DWithin then checks the metres
  area         geometry(Polygon, 4326),
  -- null: every category
  category_ids uuid[] CHECK (category_ids IS NULL OR cardinality(category_ids) > 0),
  frequency    text NOT NULL DEFAULT 'immediate' CHECK (frequency IN ('immediate', 'daily')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((community_id IS NOT NULL AND center IS NULL AND radius_m IS NULL AND area IS NULL)
      OR (community_id IS NULL AND center IS NOT NULL AND radius_m IS NOT NULL AND area IS NOT NULL))
);
CREATE INDEX area_alerts_area_gist ON area_alerts USING gist (area);
CREATE INDEX area_alerts_community_idx ON area_alerts (community_id) WHERE community_id IS NOT NULL;
CREATE INDEX area_alerts_user_idx ON area_alerts (user_id, created_at, id);

-- The daily digest: one mail per person per (South African) day, claimed before it is sent so it
-- goes out at most once, like the notifier's deliveries.
CREATE TABLE area_alert_digests (
  user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  day      date NOT NULL,
  state    text NOT NULL DEFAULT 'sending' CHECK (state IN ('sending', 'sent', 'unknown')),
  items    integer NOT NULL DEFAULT 0,
  sent_at  timestamptz,
  PRIMARY KEY (user_id, day)
);
