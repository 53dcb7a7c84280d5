import type { Queryable } from '../../platform/db/database.js';

export interface CommunityRow {
  id: string;
  slug: string;
  name: string;
  parent_id: string | null;
  anonymous_reporting: boolean;
  premoderation: boolean;
  boundary: string; // GeoJSON text
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, slug, name, parent_id, anonymous_reporting, premoderation, ST_AsGeoJSON(boundary, 7) AS boundary, created_at, updated_at`;

export async function listCommunities(db: Queryable): Promise<CommunityRow[]> {
  const { rows } = await db.query<CommunityRow>({
    name: 'communities.list',
    text: `SELECT ${COLUMNS} FROM communities ORDER BY name, id`,
  });
  return rows;
}

export async function findCommunity(db: Queryable, idOrSlug: string, forUpdate = false): Promise<CommunityRow | null> {
  const { rows } = await db.query<CommunityRow>({
    text: `SELECT ${COLUMNS} FROM communities WHERE id::text = $1 OR slug = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [idOrSlug],
  });
  return rows[0] ?? null;
}

/**
 * Checks a GeoJSON boundary with PostGIS itself. Returns null when it cannot be read or is not a
 * valid (Multi)Polygon.
 */
export async function checkBoundary(db: Queryable, geojson: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>({
    text: `SELECT ST_IsValid(g) AND GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') AS ok
           FROM (SELECT ST_GeomFromGeoJSON($1) AS g) AS input`,
    values: [geojson],
  });
  return rows[0]?.ok === true;
}

export interface CommunityWrite {
  slug: string;
  name: string;
  parentId: string | null;
  anonymousReporting: boolean;
  premoderation: boolean;
  boundary: string; // GeoJSON text, already checked
}

const BOUNDARY = (p: string) => `ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(${p}), 4326))`;

export async function insertCommunity(tx: Queryable, c: CommunityWrite): Promise<CommunityRow | null> {
  const { rows } = await tx.query<CommunityRow>({
    text: `INSERT INTO communities (slug, name, parent_id, boundary, area_m2, anonymous_reporting, premoderation)
           VALUES ($1, $2, $3, ${BOUNDARY('$4')}, ST_Area(${BOUNDARY('$4')}::geography), $5, $6)
           ON CONFLICT (slug) DO NOTHING
           RETURNING ${COLUMNS}`,
    values: [c.slug, c.name, c.parentId, c.boundary, c.anonymousReporting, c.premoderation],
  });
  return rows[0] ?? null;
}

export async function updateCommunity(tx: Queryable, id: string, c: CommunityWrite): Promise<CommunityRow | null> {
  const { rows } = await tx.query<CommunityRow>({
    text: `UPDATE communities SET slug = $2, name = $3, parent_id = $4, boundary = ${BOUNDARY('$5')},
                  area_m2 = ST_Area(${BOUNDARY('$5')}::geography), anonymous_reporting = $6, premoderation = $7,
                  updated_at = now()
           WHERE id = $1
           RETURNING ${COLUMNS}`,
    values: [id, c.slug, c.name, c.parentId, c.boundary, c.anonymousReporting, c.premoderation],
  });
  return rows[0] ?? null;
}

export async function deleteCommunity(tx: Queryable, id: string): Promise<void> {
  await tx.query({ text: 'DELETE FROM communities WHERE id = $1', values: [id] });
}

export async function hasChildren(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({ text: 'SELECT 1 FROM communities WHERE parent_id = $1 LIMIT 1', values: [id] });
  return rows.length > 0;
}

export async function slugTaken(db: Queryable, slug: string, exceptId: string | null): Promise<boolean> {
  const { rows } = await db.query({
    text: 'SELECT 1 FROM communities WHERE slug = $1 AND id IS DISTINCT FROM $2',
    values: [slug, exceptId],
  });
  return rows.length > 0;
}

/** Is `candidate` the community itself or one of its descendants? (a parent there would make a cycle) */
export async function isSelfOrDescendant(db: Queryable, communityId: string, candidate: string): Promise<boolean> {
  const { rows } = await db.query({
    text: `WITH RECURSIVE tree AS (
             SELECT id FROM communities WHERE id = $1
             UNION ALL SELECT m.id FROM communities m JOIN tree ON m.parent_id = tree.id)
           SELECT 1 FROM tree WHERE id = $2`,
    values: [communityId, candidate],
  });
  return rows.length > 0;
}

/**
 * Re-derives the community of every incident inside the given GeoJSON areas (the old and new
 * boundary of a changed community), so each incident belongs to the smallest community holding it.
 */
export async function reassignIncidents(tx: Queryable, areas: string[]): Promise<number> {
  if (areas.length === 0) return 0;
  const { rowCount } = await tx.query({
    text: `WITH area AS (
             SELECT ST_Union(ST_SetSRID(ST_GeomFromGeoJSON(a), 4326)) AS geom FROM unnest($1::text[]) AS a)
           UPDATE incidents i
           SET community_id = (SELECT m.id FROM communities m
                               WHERE ST_Intersects(m.boundary, i.location)
                               ORDER BY m.area_m2 ASC, m.id LIMIT 1)
           FROM area
           WHERE i.location && area.geom AND ST_Intersects(area.geom, i.location)`,
    values: [areas],
  });
  return rowCount;
}

export interface CommunityStaffRow {
  id: string;
  display_name: string;
  roles: Array<'moderator' | 'responder'>;
}

/** The moderators and responders of a community who can still act (not banned, not erased), by name. */
export async function listCommunityStaff(db: Queryable, communityId: string): Promise<CommunityStaffRow[]> {
  const { rows } = await db.query<CommunityStaffRow>({
    name: 'communities.staff',
    text: `SELECT u.id, u.display_name, array_agg(r.role::text ORDER BY r.role) AS roles
           FROM user_roles r JOIN users u ON u.id = r.user_id
           WHERE r.community_id = $1 AND r.role IN ('moderator', 'responder')
             AND u.banned_at IS NULL AND u.erased_at IS NULL
           GROUP BY u.id, u.display_name
           ORDER BY lower(u.display_name), u.id`,
    values: [communityId],
  });
  return rows;
}
