-- Statistics: when an incident was acknowledged and resolved, and pre-aggregated counts for the
-- stats endpoints (GET /stats, /stats/heatmap, /communities/:id/summary).
--
-- Why triggers, and why deltas:
-- * Status, community, category, visibility and hiding change in many places (PATCH, bulk,
--   merges, authority updates, bans, community boundary edits, deletes, the seed, imports).
--   Triggers on `incidents` see every one of them, in the same transaction as the write, so the
--   rollup can never drift from the table, whoever writes.
-- * The triggers only ever INSERT into the delta tables. Updating a shared counter row instead
--   would make every report of the same community/category/week wait on one row lock until
--   commit, and two bulk transactions touching counters in different orders could deadlock.
--   `incident_stats_compact()` (a periodic job) folds the deltas into the rollups; readers add
--   the deltas not yet folded, so answers are exact at any moment.
-- * The grain is the ISO week (Monday, UTC) of creation: at 1M incidents over two years a daily
--   grain hardly compresses (about as many day × community × category × status rows as there
--   are incidents). A query's partial edge weeks are read from `incidents` itself.

ALTER TABLE incidents ADD COLUMN acknowledged_at timestamptz, ADD COLUMN resolved_at timestamptz;

-- The past, as well as the timeline tells it: the first move out of `reported`, the last move to
-- `resolved`. Rows without such events (seeded history) take their last change as both.
UPDATE incidents i SET
  acknowledged_at = CASE WHEN i.status <> 'reported' THEN coalesce(
      (SELECT min(e.created_at) FROM incident_events e
        WHERE e.incident_id = i.id AND e.type = 'status_changed' AND e.data->>'from' = 'reported'),
      i.updated_at) END,
  resolved_at = CASE WHEN i.status IN ('resolved', 'closed') THEN coalesce(
      (SELECT max(e.created_at) FROM incident_events e
        WHERE e.incident_id = i.id AND e.type = 'status_changed' AND e.data->>'to' = 'resolved'),
      i.updated_at) END
WHERE i.status <> 'reported';

-- Keeps the two times as statuses move. A writer that sets them itself (an import of history)
-- keeps its values.
CREATE FUNCTION incidents_stamp_status_times() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'reported' AND NEW.acknowledged_at IS NULL THEN NEW.acknowledged_at := NEW.updated_at; END IF;
    IF NEW.status IN ('resolved', 'closed') AND NEW.resolved_at IS NULL THEN NEW.resolved_at := NEW.updated_at; END IF;
    RETURN NEW;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF NEW.acknowledged_at IS NOT DISTINCT FROM OLD.acknowledged_at AND OLD.acknowledged_at IS NULL THEN
      NEW.acknowledged_at := now();
    END IF;
    IF NEW.resolved_at IS NOT DISTINCT FROM OLD.resolved_at THEN
      IF NEW.status = 'resolved' THEN
        NEW.resolved_at := now();
      ELSIF NEW.status <> 'closed' THEN
        NEW.resolved_at := NULL; -- reopened
      END IF;
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER incidents_stamp_status_times BEFORE INSERT OR UPDATE OF status ON incidents
  FOR EACH ROW EXECUTE FUNCTION incidents_stamp_status_times();

-- Durations in buckets of a factor √2 (bucket b holds 2^(b/2) .. 2^((b+1)/2) seconds).
CREATE FUNCTION incident_duration_bucket(d interval) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT floor(2 * ln(greatest(1, extract(epoch FROM d))::float8) / ln(2::float8))::smallint
$$;

-- What one incident adds to the rollup: metric 0 its status (value = position in the enum, from
-- 0), metric 1 its time to acknowledge, metric 2 its time to resolve (value = duration bucket).
CREATE FUNCTION incident_stats_keys(created_at timestamptz, acknowledged_at timestamptz,
                                    resolved_at timestamptz, status incident_status)
RETURNS TABLE (metric smallint, value smallint) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 0::smallint, (CASE status WHEN 'reported' THEN 0 WHEN 'acknowledged' THEN 1 WHEN 'in_progress' THEN 2
                        WHEN 'resolved' THEN 3 WHEN 'closed' THEN 4 WHEN 'rejected' THEN 5 ELSE 6 END)::smallint
  UNION ALL
  SELECT 1::smallint, incident_duration_bucket(acknowledged_at - created_at) WHERE acknowledged_at IS NOT NULL
  UNION ALL
  SELECT 2::smallint, incident_duration_bucket(resolved_at - created_at)
  WHERE resolved_at IS NOT NULL AND status IN ('resolved', 'closed')
$$;

-- The heat grid is the blur grid of sensitive incidents (BLUR_CELL_DEG in incidents.presenter.ts):
-- a cell says no more about where an incident is than its blurred location does.
CREATE FUNCTION incident_heat_cell(location geometry) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[floor(ST_X(location) / 0.00225)::integer, floor(ST_Y(location) / 0.00225)::integer]
$$;

CREATE TABLE incident_stats_weekly (
  week         date NOT NULL,
  community_id uuid,
  category_id  uuid NOT NULL,
  -- is_public AND NOT hidden: what the public transparency summary counts
  public       boolean NOT NULL,
  metric       smallint NOT NULL,
  value        smallint NOT NULL,
  -- integer: sum(integer) adds in int8, several times faster than sum(bigint) in numeric
  n            integer NOT NULL
) PARTITION BY LIST (metric);
-- status counts and duration histograms are read by separate queries: each scans its own part
CREATE TABLE incident_stats_weekly_status PARTITION OF incident_stats_weekly FOR VALUES IN (0);
CREATE TABLE incident_stats_weekly_durations PARTITION OF incident_stats_weekly FOR VALUES IN (1, 2);
CREATE UNIQUE INDEX incident_stats_weekly_key ON incident_stats_weekly
  (week, community_id, category_id, public, metric, value) NULLS NOT DISTINCT;
CREATE INDEX incident_stats_weekly_community_idx ON incident_stats_weekly (community_id, week);
-- the keys a fold brought back to nothing, found without reading the table
CREATE INDEX incident_stats_weekly_empty_idx ON incident_stats_weekly (week) WHERE n = 0;

-- The same without the week: the all-time figures (no since/until, the public summary) read a few
-- thousand rows here instead of every week's histogram (~200,000 rows at 1M incidents).
CREATE TABLE incident_stats_total (
  community_id uuid,
  category_id  uuid NOT NULL,
  public       boolean NOT NULL,
  metric       smallint NOT NULL,
  value        smallint NOT NULL,
  n            integer NOT NULL
);
CREATE UNIQUE INDEX incident_stats_total_key ON incident_stats_total
  (community_id, category_id, public, metric, value) NULLS NOT DISTINCT;
CREATE INDEX incident_stats_total_empty_idx ON incident_stats_total (metric) WHERE n = 0;

CREATE TABLE incident_stats_delta (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  week         date NOT NULL,
  community_id uuid,
  category_id  uuid NOT NULL,
  public       boolean NOT NULL,
  metric       smallint NOT NULL,
  value        smallint NOT NULL,
  n            integer NOT NULL
);

CREATE TABLE incident_heat_cells (
  community_id uuid,
  public       boolean NOT NULL,
  cx           integer NOT NULL,
  cy           integer NOT NULL,
  n            integer NOT NULL
);
CREATE UNIQUE INDEX incident_heat_cells_key ON incident_heat_cells (cx, cy, community_id, public) NULLS NOT DISTINCT;
CREATE INDEX incident_heat_cells_empty_idx ON incident_heat_cells (cx) WHERE n = 0;

CREATE TABLE incident_heat_delta (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  community_id uuid,
  public       boolean NOT NULL,
  cx           integer NOT NULL,
  cy           integer NOT NULL,
  n            integer NOT NULL
);

-- Statement-level, over the transition tables: a batch (the seed's 50,000 rows, a bulk action)
-- adds one aggregated INSERT per table. Static SQL (so the plans are cached per connection: the
-- first version built the statements dynamically and cost 28 % of report throughput), one
-- function per event since a statement naming old_rows does not compile in an INSERT trigger.
CREATE FUNCTION incidents_stats_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_stats_delta (week, community_id, category_id, public, metric, value, n)
  SELECT date_trunc('week', s.created_at AT TIME ZONE 'UTC')::date, s.community_id, s.category_id,
         s.is_public AND NOT s.hidden, k.metric, k.value, count(*)
  FROM new_rows s, LATERAL incident_stats_keys(s.created_at, s.acknowledged_at, s.resolved_at, s.status) k
  GROUP BY 1, 2, 3, 4, 5, 6;
  INSERT INTO incident_heat_delta (community_id, public, cx, cy, n)
  SELECT s.community_id, s.is_public AND NOT s.hidden, s.cell[1], s.cell[2], count(*)
  FROM (SELECT community_id, is_public, hidden, incident_heat_cell(location) AS cell FROM new_rows) s
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

CREATE FUNCTION incidents_stats_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_stats_delta (week, community_id, category_id, public, metric, value, n)
  SELECT date_trunc('week', s.created_at AT TIME ZONE 'UTC')::date, s.community_id, s.category_id,
         s.is_public AND NOT s.hidden, k.metric, k.value, -count(*)
  FROM old_rows s, LATERAL incident_stats_keys(s.created_at, s.acknowledged_at, s.resolved_at, s.status) k
  GROUP BY 1, 2, 3, 4, 5, 6;
  INSERT INTO incident_heat_delta (community_id, public, cx, cy, n)
  SELECT s.community_id, s.is_public AND NOT s.hidden, s.cell[1], s.cell[2], -count(*)
  FROM (SELECT community_id, is_public, hidden, incident_heat_cell(location) AS cell FROM old_rows) s
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

-- Most updates (versions, "me too" counts, assignments) change nothing counted: only the rows
-- whose counted columns changed are taken out at their old keys and put in at their new ones.
CREATE FUNCTION incidents_stats_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (
    SELECT o.id FROM old_rows o JOIN new_rows w ON w.id = o.id
    WHERE (o.created_at, o.acknowledged_at, o.resolved_at, o.status, o.community_id, o.category_id, o.is_public, o.hidden)
          IS DISTINCT FROM
          (w.created_at, w.acknowledged_at, w.resolved_at, w.status, w.community_id, w.category_id, w.is_public, w.hidden)),
  s AS (
    SELECT o.created_at, o.acknowledged_at, o.resolved_at, o.status, o.community_id, o.category_id,
           o.is_public AND NOT o.hidden AS public, -1 AS sign
    FROM old_rows o WHERE o.id IN (SELECT id FROM changed)
    UNION ALL
    SELECT w.created_at, w.acknowledged_at, w.resolved_at, w.status, w.community_id, w.category_id,
           w.is_public AND NOT w.hidden, 1
    FROM new_rows w WHERE w.id IN (SELECT id FROM changed))
  INSERT INTO incident_stats_delta (week, community_id, category_id, public, metric, value, n)
  SELECT date_trunc('week', s.created_at AT TIME ZONE 'UTC')::date, s.community_id, s.category_id, s.public,
         k.metric, k.value, sum(s.sign)
  FROM s, LATERAL incident_stats_keys(s.created_at, s.acknowledged_at, s.resolved_at, s.status) k
  GROUP BY 1, 2, 3, 4, 5, 6
  HAVING sum(s.sign) <> 0;

  WITH changed AS (
    SELECT o.id FROM old_rows o JOIN new_rows w ON w.id = o.id
    WHERE (incident_heat_cell(o.location), o.community_id, o.is_public AND NOT o.hidden)
          IS DISTINCT FROM (incident_heat_cell(w.location), w.community_id, w.is_public AND NOT w.hidden)),
  s AS (
    SELECT o.community_id, o.is_public AND NOT o.hidden AS public, incident_heat_cell(o.location) AS cell, -1 AS sign
    FROM old_rows o WHERE o.id IN (SELECT id FROM changed)
    UNION ALL
    SELECT w.community_id, w.is_public AND NOT w.hidden, incident_heat_cell(w.location), 1
    FROM new_rows w WHERE w.id IN (SELECT id FROM changed))
  INSERT INTO incident_heat_delta (community_id, public, cx, cy, n)
  SELECT s.community_id, s.public, s.cell[1], s.cell[2], sum(s.sign)
  FROM s GROUP BY 1, 2, 3, 4
  HAVING sum(s.sign) <> 0;
  RETURN NULL;
END $$;

CREATE TRIGGER incidents_stats_insert AFTER INSERT ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_stats_on_insert();
CREATE TRIGGER incidents_stats_update AFTER UPDATE ON incidents
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_stats_on_update();
CREATE TRIGGER incidents_stats_delete AFTER DELETE ON incidents
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_stats_on_delete();

-- Folds the deltas into the rollups; returns how many delta rows it folded. One at a time (an
-- advisory lock: two folds would upsert the same keys); rows come in key order all the same.
CREATE FUNCTION incident_stats_compact() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  folded bigint := 0;
  heat bigint := 0;
BEGIN
  -- per schema: each (test) schema has rollups of its own
  IF NOT pg_try_advisory_xact_lock(hashtext('incident_stats_compact:' || current_schema())) THEN RETURN 0; END IF;
  -- (checked first: IF NOT EXISTS would send a notice on every fold)
  IF to_regclass('pg_temp.incident_stats_folding') IS NULL THEN
    CREATE TEMP TABLE incident_stats_folding (
      week date, community_id uuid, category_id uuid, public boolean, metric smallint, value smallint, n integer
    ) ON COMMIT DELETE ROWS;
  END IF;
  WITH moved AS (DELETE FROM incident_stats_delta RETURNING week, community_id, category_id, public, metric, value, n)
  INSERT INTO incident_stats_folding SELECT week, community_id, category_id, public, metric, value, n FROM moved;
  GET DIAGNOSTICS folded = ROW_COUNT;

  INSERT INTO incident_stats_weekly AS w (week, community_id, category_id, public, metric, value, n)
  SELECT week, community_id, category_id, public, metric, value, sum(n) FROM incident_stats_folding
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (week, community_id, category_id, public, metric, value) DO UPDATE SET n = w.n + excluded.n;
  INSERT INTO incident_stats_total AS t (community_id, category_id, public, metric, value, n)
  SELECT community_id, category_id, public, metric, value, sum(n) FROM incident_stats_folding
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (community_id, category_id, public, metric, value) DO UPDATE SET n = t.n + excluded.n;
  TRUNCATE incident_stats_folding;

  WITH moved AS (DELETE FROM incident_heat_delta RETURNING community_id, public, cx, cy, n),
  summed AS (SELECT community_id, public, cx, cy, sum(n) AS n, count(*) AS rows FROM moved GROUP BY 1, 2, 3, 4),
  upserted AS (
    INSERT INTO incident_heat_cells AS h (community_id, public, cx, cy, n)
    SELECT community_id, public, cx, cy, n FROM summed ORDER BY cx, cy, community_id, public
    ON CONFLICT (cx, cy, community_id, public) DO UPDATE SET n = h.n + excluded.n)
  SELECT coalesce(sum(rows), 0) INTO heat FROM summed;

  -- keys whose count went back to nothing (incidents moved on or deleted)
  IF folded > 0 THEN
    DELETE FROM incident_stats_weekly WHERE n = 0;
    DELETE FROM incident_stats_total WHERE n = 0;
  END IF;
  IF heat > 0 THEN DELETE FROM incident_heat_cells WHERE n = 0; END IF;
  RETURN folded + heat;
END $$;

-- What exists already, counted once.
INSERT INTO incident_stats_weekly (week, community_id, category_id, public, metric, value, n)
SELECT date_trunc('week', i.created_at AT TIME ZONE 'UTC')::date, i.community_id, i.category_id,
       i.is_public AND NOT i.hidden, k.metric, k.value, count(*)
FROM incidents i, LATERAL incident_stats_keys(i.created_at, i.acknowledged_at, i.resolved_at, i.status) k
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO incident_stats_total (community_id, category_id, public, metric, value, n)
SELECT community_id, category_id, public, metric, value, sum(n) FROM incident_stats_weekly GROUP BY 1, 2, 3, 4, 5;

INSERT INTO incident_heat_cells (community_id, public, cx, cy, n)
SELECT i.community_id, i.is_public AND NOT i.hidden, c.cell[1], c.cell[2], count(*)
FROM incidents i, LATERAL (SELECT incident_heat_cell(i.location) AS cell) c
GROUP BY 1, 2, 3, 4;

-- The exact percentiles and the edge weeks of one community read its incidents by creation
-- time: covered, so they come from the index alone (measured: a bitmap heap scan of 5,000 of one
-- community's rows read 20,000 table pages, ~240 ms cold).
CREATE INDEX incidents_community_times_idx ON incidents (community_id, created_at)
  INCLUDE (category_id, status, acknowledged_at, resolved_at, is_public, hidden);

-- The planner's view of the new tables and columns now, not when autovacuum first comes by
-- (without it the heat map was planned for one row and sorted 70,000 on disk).
ANALYZE incident_stats_weekly;
ANALYZE incident_stats_total;
ANALYZE incident_heat_cells;
ANALYZE incidents;
