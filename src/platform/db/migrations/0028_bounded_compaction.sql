-- Folding the stats and map deltas in bounded batches.
--
-- The folds of 0021 and 0026 took every pending delta in one statement. After a bulk write (the
-- seed, an import, a bulk action) that is hundreds of thousands of rows: on 1M seeded incidents
-- PostgreSQL took 5.6 s for the two folds, and embedded PGlite — one session for the whole app —
-- held every request behind them long enough for 50 of them to time out waiting for a
-- connection. Now a call folds at most max_rows delta rows of each table, oldest first (the
-- deltas add up in any order; readers add whatever is left), and the jobs call again while a
-- batch came back full, each batch its own statement so requests get the database in between.
-- A batch is the id range up to its max_rows-th row, read from the primary key (a join with the
-- batch's ids hashed the whole delta table: 300 ms for 10,000 rows with 600,000 pending, against
-- 11 ms).
-- The same SQL as before otherwise; the calls without an argument still fold everything.

DROP FUNCTION incident_map_compact();
CREATE FUNCTION incident_map_compact(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  folded bigint := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('incident_map_compact:' || current_schema())) THEN RETURN 0; END IF;
  WITH moved AS (DELETE FROM incident_map_delta d
            WHERE d.id <= coalesce((SELECT id FROM incident_map_delta ORDER BY id OFFSET CASE WHEN max_rows IS NULL THEN 9223372036854775806 ELSE greatest(max_rows, 1) - 1 END LIMIT 1), 9223372036854775807)
            RETURNING d.cx, d.cy, d.category_id, d.status, d.n, d.sbx, d.sby),
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

-- Returns the larger of the two batches it folded (stats deltas, heat deltas), so that a result
-- of max_rows means "one of them may have more".
DROP FUNCTION incident_stats_compact();
CREATE FUNCTION incident_stats_compact(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
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
  WITH moved AS (DELETE FROM incident_stats_delta d
            WHERE d.id <= coalesce((SELECT id FROM incident_stats_delta ORDER BY id OFFSET CASE WHEN max_rows IS NULL THEN 9223372036854775806 ELSE greatest(max_rows, 1) - 1 END LIMIT 1), 9223372036854775807)
            RETURNING d.week, d.community_id, d.category_id, d.public, d.metric, d.value, d.n)
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

  WITH moved AS (DELETE FROM incident_heat_delta d
            WHERE d.id <= coalesce((SELECT id FROM incident_heat_delta ORDER BY id OFFSET CASE WHEN max_rows IS NULL THEN 9223372036854775806 ELSE greatest(max_rows, 1) - 1 END LIMIT 1), 9223372036854775807)
            RETURNING d.community_id, d.public, d.cx, d.cy, d.n),
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
  RETURN greatest(folded, heat);
END $$;
