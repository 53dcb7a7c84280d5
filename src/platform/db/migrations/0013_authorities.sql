-- Authorities: the councils and utilities that incidents are forwarded to. An incident is routed
-- to the enabled authority whose jurisdiction holds its point and that handles its category
-- (an empty category list = every category); where jurisdictions nest, the smallest one wins.
CREATE TABLE authorities (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug            text NOT NULL UNIQUE,
  name            text NOT NULL,
  jurisdiction    geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(jurisdiction)),
  -- square metres on the spheroid: "most specific wins" sorts by it
  area_m2         double precision NOT NULL,
  category_ids    uuid[] NOT NULL DEFAULT '{}',
  -- {kind:'open311', endpoint, apiKey, jurisdictionId?} | {kind:'webhook', url} | {kind:'none'};
  -- holds their secrets (an Open311 api key): the API never returns this column whole
  delivery        jsonb NOT NULL DEFAULT '{"kind":"none"}'::jsonb
                  CHECK (delivery->>'kind' IN ('open311', 'webhook', 'none')),
  enabled         boolean NOT NULL DEFAULT true,
  disabled_reason text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX authorities_jurisdiction_gist ON authorities USING gist (jurisdiction);

ALTER TABLE incidents
  ADD COLUMN authority_id uuid REFERENCES authorities (id) ON DELETE SET NULL,
  -- the authority's own id for the incident (an Open311 service_request_id), once delivered
  ADD COLUMN external_id text;
CREATE INDEX incidents_authority_idx ON incidents (authority_id) WHERE authority_id IS NOT NULL;

-- A job that failed for good (attempts exhausted, or its handler gave up) stays with its time of
-- death, for operators to inspect and replay.
ALTER TABLE jobs ADD COLUMN dead_at timestamptz;
CREATE INDEX jobs_dead_idx ON jobs (name, dead_at) WHERE dead_at IS NOT NULL;
