-- Map clusters (GET /incidents/clusters): public incidents counted per cell of ~2 km, by
-- category and status, so a low-zoom map over a million incidents reads a few thousand rollup
-- rows instead of aggregating the incidents themselves (~1 s per request at 1M rows).
--
-- Cells are 8 × 8 cells of the blur grid (incident_heat_cell, 0.00225°): a sensitive incident's
-- exact point and its blurred point always fall into the same cell, so the counts and centres
-- say no more than the blurred locations do. Centres are kept as sums of blur-cell indices
-- (exact integers, whatever order deltas fold in), never of exact coordinates.
--
-- Maintained like the stats rollups of 0021: statement-level triggers only INSERT into a delta
-- table (no shared counter row to wait on), a periodic job folds it in, readers add the rest.
-- Public = is_public AND NOT hidden (pre-moderated reports are hidden until approved).

CREATE TABLE incident_map_cells (
  cx          integer NOT NULL,
  cy          integer NOT NULL,
  category_id uuid NOT NULL,
  status      incident_status NOT NULL,
  n           integer NOT NULL,
  -- sums of the blur-cell indices of the incidents counted: the centre is sum / n
  sbx         bigint NOT NULL,
  sby         bigint NOT NULL
);
CREATE UNIQUE INDEX incident_map_cells_key ON incident_map_cells (cx, cy, category_id, status);
CREATE INDEX incident_map_cells_empty_idx ON incident_map_cells (cx) WHERE n = 0;

CREATE TABLE incident_map_delta (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cx          integer NOT NULL,
  cy          integer NOT NULL,
  category_id uuid NOT NULL,
  status      incident_status NOT NULL,
  n           integer NOT NULL,
  sbx         bigint NOT NULL,
  sby         bigint NOT NULL
);

-- the rollup cell of a blur cell index (floor division: indices are negative south and west)
CREATE FUNCTION incident_map_cell(blur integer) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT floor(blur::float8 / 8)::integer
$$;

CREATE FUNCTION incidents_map_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_map_delta (cx, cy, category_id, status, n, sbx, sby)
  SELECT incident_map_cell(s.cell[1]), incident_map_cell(s.cell[2]), s.category_id, s.status,
         count(*), sum(s.cell[1]), sum(s.cell[2])
  FROM (SELECT category_id, status, incident_heat_cell(location) AS cell FROM new_rows
        WHERE is_public AND NOT hidden) s
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

CREATE FUNCTION incidents_map_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_map_delta (cx, cy, category_id, status, n, sbx, sby)
  SELECT incident_map_cell(s.cell[1]), incident_map_cell(s.cell[2]), s.category_id, s.status,
         -count(*), -sum(s.cell[1]), -sum(s.cell[2])
  FROM (SELECT category_id, status, incident_heat_cell(location) AS cell FROM old_rows
        WHERE is_public AND NOT hidden) s
  GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

-- Only rows whose counted columns changed are taken out at their old key and put in at the new.
CREATE FUNCTION incidents_map_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (
    SELECT o.id FROM old_rows o JOIN new_rows w ON w.id = o.id
    WHERE (incident_heat_cell(o.location), o.category_id, o.status, o.is_public AND NOT o.hidden)
          IS DISTINCT FROM (incident_heat_cell(w.location), w.category_id, w.status, w.is_public AND NOT w.hidden)),
  s AS (
    SELECT o.category_id, o.status, incident_heat_cell(o.location) AS cell, -1 AS sign
    FROM old_rows o WHERE o.is_public AND NOT o.hidden AND o.id IN (SELECT id FROM changed)
    UNION ALL
    SELECT w.category_id, w.status, incident_heat_cell(w.location), 1
    FROM new_rows w WHERE w.is_public AND NOT w.hidden AND w.id IN (SELECT id FROM changed))
  INSERT INTO incident_map_delta (cx, cy, category_id, status, n, sbx, sby)
  SELECT incident_map_cell(s.cell[1]), incident_map_cell(s.cell[2]), s.category_id, s.status,
         sum(s.sign), sum(s.sign * s.cell[1]), sum(s.sign * s.cell[2])
  FROM s GROUP BY 1, 2, 3, 4
  HAVING sum(s.sign) <> 0 OR sum(s.sign * s.cell[1]) <> 0 OR sum(s.sign * s.cell[2]) <> 0;
  RETURN NULL;
END $$;

CREATE TRIGGER incidents_map_insert AFTER INSERT ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_map_on_insert();
CREATE TRIGGER incidents_map_update AFTER UPDATE ON incidents
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_map_on_update();
CREATE TRIGGER incidents_map_delete AFTER DELETE ON incidents
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_map_on_delete();

-- Folds the deltas into the cells; returns how many delta rows it folded. One fold at a time per
-- schema (two would upsert the same keys); keys in order all the same.
CREATE FUNCTION incident_map_compact() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  folded bigint := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('incident_map_compact:' || current_schema())) THEN RETURN 0; END IF;
  WITH moved AS (DELETE FROM incident_map_delta RETURNING cx, cy, category_id, status, n, sbx, sby),
  summed AS (SELECT cx, cy, category_id, status, sum(n)::integer AS n, sum(sbx)::bigint AS sbx,
                    sum(sby)::bigint AS sby, count(*) AS rows
             FROM moved GROUP BY 1, 2, 3, 4),
  upserted AS (
    INSERT INTO incident_map_cells AS m (cx, cy, category_id, status, n, sbx, sby)
    SELECT cx, cy, category_id, status, n, sbx, sby FROM summed ORDER BY cx, cy, category_id, status
    ON CONFLICT (cx, cy, category_id, status)
    DO UPDATE SET n = m.n + excluded.n, sbx = m.sbx + excluded.sbx, sby = m.sby + excluded.sby)
  SELECT coalesce(sum(rows), 0) INTO folded FROM summed;
  IF folded > 0 THEN DELETE FROM incident_map_cells WHERE n = 0; END IF;
  RETURN folded;
END $$;

INSERT INTO incident_map_cells (cx, cy, category_id, status, n, sbx, sby)
SELECT incident_map_cell(c.cell[1]), incident_map_cell(c.cell[2]), i.category_id, i.status,
       count(*), sum(c.cell[1]), sum(c.cell[2])
FROM incidents i, LATERAL (SELECT incident_heat_cell(i.location) AS cell) c
WHERE i.is_public AND NOT i.hidden
GROUP BY 1, 2, 3, 4;

ANALYZE incident_map_cells;
