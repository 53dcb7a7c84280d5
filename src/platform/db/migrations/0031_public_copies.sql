-- Public copies: each incident as a member of the public sees it, rendered once as JSON and kept
-- with the point the public is shown (a sensitive one's blurred point), so a signed-out
-- visitor's list (a box or `near`, nearest first, filtered at most by status, priority and
-- category) is one index-only scan of a covering index: no heap pages, no joins, no per-row
-- formatting. On 1M incidents PostgreSQL answered ~2,200 such 200-row box pages a second against
-- ~580 for the full query (bench/README.md, session 14).
--
-- A copy is never stale: every write that can change what the public sees deletes the copy in
-- the same transaction and queues the incident; until a renderer (incidents.public-copies.ts)
-- makes a new copy, lists take the queued incident from the incidents table itself.
CREATE TABLE incident_public_copies (
  incident_id uuid PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
  -- the point the public sees, as incident_public_point gives it (degrees): boxes and distances
  point       point NOT NULL,
  -- the same point in Web Mercator metres (public_point_m): the index, and the lists' order
  point_m     point NOT NULL,
  -- whether `point` is a blurred one (a distance from it is then rounded to 250 m)
  blurred     boolean NOT NULL,
  category_id uuid NOT NULL,
  status      incident_status NOT NULL,
  priority    incident_priority NOT NULL,
  -- the presented incident without its category (localized per request), as JSON text
  doc         text NOT NULL
);
CREATE INDEX incident_public_copies_point_m_gist ON incident_public_copies USING gist (point_m)
  INCLUDE (incident_id, point, blurred, category_id, status, priority, doc);

-- Incidents whose public copy is missing or outdated (only those the public may see), with
-- where they are (incidents.location_m): a list finds the queued ones in its area by this index,
-- however long the queue (after an upgrade, or a burst of writes with no node running).
CREATE TABLE incident_public_copy_queue (
  incident_id uuid PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
  location_m  point NOT NULL
);
CREATE INDEX incident_public_copy_queue_location_gist ON incident_public_copy_queue USING gist (location_m);

-- The point shown to the public: the centre of its ~250 m cell for a sensitive category
-- (incidents.presenter.ts, BLUR_CELL_DEG), else the exact one.
CREATE FUNCTION incident_public_point(location geometry, sensitive boolean) RETURNS point
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN sensitive
    THEN point(floor(ST_X(location) / 0.00225) * 0.00225 + 0.001125, floor(ST_Y(location) / 0.00225) * 0.00225 + 0.001125)
    ELSE point(ST_X(location), ST_Y(location)) END
$$;

-- Web Mercator metres of a point in degrees, as incidents.location_m (0001_core.sql): planar
-- distances there order points as metres do around any place.
CREATE FUNCTION public_point_m(p point) RETURNS point
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT point(radians(p[0]) * 6378137, ln(tan(pi() / 4 + radians(greatest(-85.0, least(85.0, p[1]))) / 2)) * 6378137)
$$;

CREATE FUNCTION incidents_outdate_public_copies(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
  -- waits for a renderer that holds one of them (it share-locks what it renders): its copy
  -- commits first, and is deleted here
  SELECT 1 FROM incidents WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
  DELETE FROM incident_public_copies WHERE incident_id = ANY (ids);
  INSERT INTO incident_public_copy_queue (incident_id, location_m)
    SELECT id, point(ST_X(location_m), ST_Y(location_m)) FROM incidents WHERE id = ANY (ids) AND is_public AND NOT hidden
  ON CONFLICT (incident_id) DO UPDATE SET location_m = EXCLUDED.location_m;
$$;

-- New incidents: statement-level, so a bulk insert (the seed, an import) queues in one pass.
CREATE FUNCTION incidents_public_copies_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO incident_public_copy_queue (incident_id, location_m)
    SELECT id, point(ST_X(location_m), ST_Y(location_m)) FROM new_rows WHERE is_public AND NOT hidden
  ON CONFLICT (incident_id) DO UPDATE SET location_m = EXCLUDED.location_m;
  RETURN NULL;
END $$;
CREATE TRIGGER incidents_public_copies_inserted AFTER INSERT ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_public_copies_inserted();

-- Any change to an incident, and to the duplicates merged into it (whose `duplicateOf` shows it
-- only while the public may see it).
CREATE FUNCTION incidents_public_copies_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM incidents_outdate_public_copies(ARRAY(
    SELECT id FROM new_rows
    UNION
    SELECT d.id FROM incidents d JOIN new_rows n ON d.duplicate_of = n.id));
  RETURN NULL;
END $$;
CREATE TRIGGER incidents_public_copies_updated AFTER UPDATE ON incidents
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incidents_public_copies_updated();

-- What a copy holds from other tables: the reporter's and assignee's names, the authority's name,
-- whether the category is sensitive (its point and address). The category's slug and name are
-- not in it: categories_version tells the renderer's cache when they changed. One trigger
-- function for the three: its arguments name the columns of incidents that point at the changed row.
CREATE FUNCTION incidents_outdate_public_copies_of() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  referrer text;
  found uuid[];
  ids uuid[] := '{}';
BEGIN
  FOREACH referrer IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT ARRAY(SELECT id FROM incidents WHERE %I = $1)', referrer) INTO found USING NEW.id;
    ids := ids || found;
  END LOOP;
  PERFORM incidents_outdate_public_copies(ids);
  RETURN NULL;
END $$;
CREATE TRIGGER users_public_copies_renamed AFTER UPDATE OF display_name ON users
  FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
  EXECUTE FUNCTION incidents_outdate_public_copies_of('reporter_id', 'assignee_id');
CREATE TRIGGER authorities_public_copies_renamed AFTER UPDATE OF name ON authorities
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION incidents_outdate_public_copies_of('authority_id');
CREATE TRIGGER categories_public_copies_sensitivity AFTER UPDATE OF sensitive ON categories
  FOR EACH ROW WHEN (OLD.sensitive IS DISTINCT FROM NEW.sensitive)
  EXECUTE FUNCTION incidents_outdate_public_copies_of('category_id');

-- One number that changes with every change to the categories, read with each public list in
-- the same snapshot as its rows.
CREATE TABLE categories_version (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version  bigint NOT NULL
);
INSERT INTO categories_version (version) VALUES (1);

CREATE FUNCTION categories_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE categories_version SET version = version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER categories_version_bump AFTER INSERT OR UPDATE OR DELETE ON categories
  FOR EACH STATEMENT EXECUTE FUNCTION categories_version_bump();

-- Every public incident there is now waits for its first copy.
INSERT INTO incident_public_copy_queue (incident_id, location_m)
  SELECT id, point(ST_X(location_m), ST_Y(location_m)) FROM incidents WHERE is_public AND NOT hidden;
