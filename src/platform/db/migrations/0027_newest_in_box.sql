-- "Newest first within a box": the map's pins from zoom 14 (sort=-createdAt with a bbox).
--
-- On 1M incidents a 2 km box in a dense area holds ~8,000 of them. Postgres had two plans, both
-- slow (60–90 ms): walk the created_at index newest first and drop every row outside the box
-- (~50,000 heap rows read for 200 kept), or read all ~8,000 rows in the box from the heap and
-- sort them. With the box's index also holding created_at, a KNN scan on the second column
-- (created_at <-> a far-future instant: nearest to it = newest) finds the newest rows inside
-- the box from the index alone and reads only those from the heap: 8–14 ms for the same box.
-- For boxes holding most of the table the walk stays cheaper; incidents.repository.ts chooses
-- between the two with the estimate below.
--
-- The composite index replaces the plain one: it serves every query that used it (&& and the
-- distance KNN of bbox lists measured the same, 3.1 ms per W4 page), so a create still updates
-- one spatial index on location.
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;

CREATE INDEX incidents_location_created_gist ON incidents USING gist (location, created_at);
DROP INDEX incidents_location_gist;

-- How many incidents the planner's statistics put inside a box; NULL without statistics (a new
-- or never-analyzed table), when the caller lets the planner choose alone.
CREATE FUNCTION incidents_in_box_estimate(box geometry) RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN public._postgis_selectivity('incidents'::regclass, 'location', box)
         * greatest((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'incidents'::regclass), 0);
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END $$;
