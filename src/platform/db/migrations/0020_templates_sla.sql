-- Response templates (texts staff post when they move an incident) and SLA targets per category,
-- with the due dates they give each incident and the escalations of missed ones.

CREATE TABLE response_templates (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- what staff pick it by; not shown to residents
  name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  -- null: a template for every category
  category_id uuid REFERENCES categories (id) ON DELETE CASCADE,
  -- the status a move must go to for this template to apply
  status      incident_status NOT NULL,
  -- {"en": "...", "af": "..."}: both, since it is posted in the reporter's language
  body        jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object' AND body ? 'en' AND body ? 'af'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX response_templates_status_category_idx ON response_templates (status, category_id);
CREATE INDEX response_templates_category_idx ON response_templates (category_id);

CREATE TABLE sla_targets (
  category_id         uuid PRIMARY KEY REFERENCES categories (id) ON DELETE CASCADE,
  -- null: no target of that kind (at most a year)
  acknowledge_minutes integer CHECK (acknowledge_minutes BETWEEN 1 AND 525600),
  resolve_minutes     integer CHECK (resolve_minutes BETWEEN 1 AND 525600),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Stored due dates, so "overdue" is an index range, not a join and an interval sum per row.
ALTER TABLE incidents ADD COLUMN ack_due_at timestamptz, ADD COLUMN resolve_due_at timestamptz;

-- Every writer of incidents (the API, Open311, imports, merges) gets its due dates from here: at
-- insert, and when the category or creation time changes. A change of the targets themselves is
-- carried to the open incidents by the SLA service.
CREATE FUNCTION incidents_set_sla_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- no target row: both NULL (SELECT INTO assigns nulls when nothing is found)
  SELECT NEW.created_at + make_interval(mins => s.acknowledge_minutes),
         NEW.created_at + make_interval(mins => s.resolve_minutes)
    INTO NEW.ack_due_at, NEW.resolve_due_at
    FROM sla_targets s WHERE s.category_id = NEW.category_id;
  RETURN NEW;
END $$;

CREATE TRIGGER incidents_sla_due_insert BEFORE INSERT ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_set_sla_due();
-- PATCH writes category_id on every triage change; only a real change needs the lookup
CREATE TRIGGER incidents_sla_due_update BEFORE UPDATE OF category_id, created_at ON incidents
  FOR EACH ROW
  WHEN (OLD.category_id IS DISTINCT FROM NEW.category_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION incidents_set_sla_due();

-- Only the incidents that can still be late are indexed (the predicates match the overdue
-- filter word for word, so the planner can use them).
CREATE INDEX incidents_ack_due_idx ON incidents (ack_due_at)
  WHERE status = 'reported' AND ack_due_at IS NOT NULL;
CREATE INDEX incidents_resolve_due_idx ON incidents (resolve_due_at)
  WHERE status IN ('reported', 'acknowledged', 'in_progress') AND resolve_due_at IS NOT NULL;

-- When each kind was escalated (sla.service.ts#escalateOverdue): once per incident and kind. The
-- job's candidates are late and not yet escalated, so an escalated incident leaves these indexes and
-- a sweep reads only what is new. Measured on 1M incidents with ~200k late ones, all escalated: a
-- sweep takes ~2 ms; with an "already escalated?" side table it read them all, ~3 s a minute.
ALTER TABLE incidents ADD COLUMN ack_escalated_at timestamptz, ADD COLUMN resolve_escalated_at timestamptz;
CREATE INDEX incidents_ack_escalation_idx ON incidents (ack_due_at)
  WHERE status = 'reported' AND ack_due_at IS NOT NULL AND ack_escalated_at IS NULL;
CREATE INDEX incidents_resolve_escalation_idx ON incidents (resolve_due_at)
  WHERE status IN ('reported', 'acknowledged', 'in_progress') AND resolve_due_at IS NOT NULL
    AND resolve_escalated_at IS NULL;
