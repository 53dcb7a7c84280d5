import type { Queryable } from '../../platform/db/database.js';

/** Stored delivery settings; `apiKey` is theirs and secret (never presented). */
export type DeliveryConfig =
  | { kind: 'open311'; endpoint: string; apiKey: string; jurisdictionId?: string | null }
  | { kind: 'webhook'; url: string }
  | { kind: 'none' };

export interface AuthorityRow {
  id: string;
  slug: string;
  name: string;
  jurisdiction: string; // GeoJSON text
  area_m2: number;
  category_ids: string[];
  delivery: DeliveryConfig;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
  /** the webhook secret's version (authorities.secrets.ts); the previous one works until then */
  webhook_secret_version: number;
  webhook_previous_until: Date | null;
}

const COLUMNS = `id, slug, name, ST_AsGeoJSON(jurisdiction, 7) AS jurisdiction, area_m2, category_ids::text[] AS category_ids,
                 delivery, enabled, disabled_reason, created_at, updated_at,
                 webhook_secret_version, webhook_previous_until`;

export async function listAuthorities(db: Queryable): Promise<AuthorityRow[]> {
  const { rows } = await db.query<AuthorityRow>({
    name: 'authorities.list',
    text: `SELECT ${COLUMNS} FROM authorities ORDER BY name, id`,
  });
  return rows;
}

export async function findAuthority(db: Queryable, idOrSlug: string, forUpdate = false): Promise<AuthorityRow | null> {
  const { rows } = await db.query<AuthorityRow>({
    text: `SELECT ${COLUMNS} FROM authorities WHERE id::text = $1 OR slug = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [idOrSlug],
  });
  return rows[0] ?? null;
}

export interface AuthorityWrite {
  slug: string;
  name: string;
  jurisdiction: string; // GeoJSON text, already checked
  categoryIds: string[];
  delivery: DeliveryConfig;
  enabled: boolean;
  disabledReason: string | null;
}

const AREA = (p: string) => `ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(${p}), 4326))`;

export async function insertAuthority(tx: Queryable, a: AuthorityWrite): Promise<AuthorityRow | null> {
  const { rows } = await tx.query<AuthorityRow>({
    text: `INSERT INTO authorities (slug, name, jurisdiction, area_m2, category_ids, delivery, enabled, disabled_reason)
           VALUES ($1, $2, ${AREA('$3')}, ST_Area(${AREA('$3')}::geography), $4::uuid[], $5::jsonb, $6, $7)
           ON CONFLICT (slug) DO NOTHING
           RETURNING ${COLUMNS}`,
    values: [a.slug, a.name, a.jurisdiction, a.categoryIds, JSON.stringify(a.delivery), a.enabled, a.disabledReason],
  });
  return rows[0] ?? null;
}

export async function updateAuthority(tx: Queryable, id: string, a: AuthorityWrite): Promise<AuthorityRow | null> {
  const { rows } = await tx.query<AuthorityRow>({
    text: `UPDATE authorities SET slug = $2, name = $3, jurisdiction = ${AREA('$4')},
                  area_m2 = ST_Area(${AREA('$4')}::geography), category_ids = $5::uuid[], delivery = $6::jsonb,
                  enabled = $7, disabled_reason = $8, updated_at = now()
           WHERE id = $1
           RETURNING ${COLUMNS}`,
    values: [
      id,
      a.slug,
      a.name,
      a.jurisdiction,
      a.categoryIds,
      JSON.stringify(a.delivery),
      a.enabled,
      a.disabledReason,
    ],
  });
  return rows[0] ?? null;
}

export async function deleteAuthority(tx: Queryable, id: string): Promise<void> {
  await tx.query({ text: 'DELETE FROM authorities WHERE id = $1', values: [id] });
}

export async function slugTaken(db: Queryable, slug: string, exceptId: string | null): Promise<boolean> {
  const { rows } = await db.query({
    text: 'SELECT 1 FROM authorities WHERE slug = $1 AND id IS DISTINCT FROM $2',
    values: [slug, exceptId],
  });
  return rows.length > 0;
}

/** The ids among `ids` that are not categories. */
export async function unknownCategories(db: Queryable, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string }>({
    text: `SELECT x.id::text AS id FROM unnest($1::uuid[]) AS x(id)
           WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = x.id)`,
    values: [ids],
  });
  return rows.map((r) => r.id);
}

/** Switched off automatically (their endpoint is gone): routing and forwarding skip it from now on. */
export async function disableAuthority(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query({
    name: 'authorities.disable',
    text: `UPDATE authorities SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
    values: [id, reason.slice(0, 1000)],
  });
}

// ---------------------------------------------------------------------------------------------
// Forwarding

/** Has the incident already been forwarded to this authority? (a `forwarded` event exists) */
export async function wasForwarded(db: Queryable, incidentId: string, authorityId: string): Promise<boolean> {
  const { rows } = await db.query({
    name: 'authorities.wasForwarded',
    text: `SELECT 1 FROM incident_events
           WHERE incident_id = $1 AND type = 'forwarded' AND data->>'authorityId' = $2 LIMIT 1`,
    values: [incidentId, authorityId],
  });
  return rows.length > 0;
}

/** Locks the incident row, so two runners recording the same delivery take turns. */
export async function lockIncident(tx: Queryable, incidentId: string): Promise<boolean> {
  const { rows } = await tx.query({
    name: 'authorities.lockIncident',
    text: 'SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE',
    values: [incidentId],
  });
  return rows.length > 0;
}

export async function setExternalId(tx: Queryable, incidentId: string, externalId: string | null): Promise<void> {
  await tx.query({
    name: 'authorities.setExternalId',
    text: `UPDATE incidents SET external_id = coalesce($2, external_id) WHERE id = $1`,
    values: [incidentId, externalId],
  });
}

export interface DeadForwardRow {
  id: string; // bigint as text
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  dead_at: Date | null;
  created_at: Date;
  incident_id: string | null;
  incident_reference: string | null;
  authority_id: string | null;
  authority_name: string | null;
}

/**
 * Forwarding jobs that failed for good: dead ones, and ones whose every attempt was taken by a
 * runner that then vanished (attempts used up, lease expired, never finished).
 */
const DEAD = `j.name = $1 AND (j.dead_at IS NOT NULL
               OR (j.attempts >= j.max_attempts AND (j.locked_until IS NULL OR j.locked_until < now())))`;

export async function listDeadForwards(
  db: Queryable,
  jobName: string,
  afterId: string | null,
  limit: number,
): Promise<DeadForwardRow[]> {
  const { rows } = await db.query<DeadForwardRow>({
    name: 'authorities.deadForwards',
    text: `SELECT j.id::text AS id, j.attempts, j.max_attempts, j.last_error, j.dead_at, j.created_at,
                  i.id AS incident_id, i.reference AS incident_reference, a.id AS authority_id, a.name AS authority_name
           FROM jobs j
           LEFT JOIN incidents i ON i.id = (j.payload->>'incidentId')::uuid
           LEFT JOIN authorities a ON a.id = (j.payload->>'authorityId')::uuid
           WHERE ${DEAD} AND ($2::bigint IS NULL OR j.id > $2::bigint)
           ORDER BY j.id
           LIMIT $3`,
    values: [jobName, afterId, limit],
  });
  return rows;
}

/** Gives a dead forwarding job its attempts again, due now; false when there is no such dead job. */
export async function replayDeadForward(
  tx: Queryable,
  jobName: string,
  jobId: string,
  maxAttempts: number,
): Promise<{ incidentId: string | null; authorityId: string | null } | null> {
  const { rows } = await tx.query<{ incident_id: string | null; authority_id: string | null }>({
    text: `UPDATE jobs j SET attempts = 0, max_attempts = $3, run_at = now(), dead_at = NULL,
                  locked_until = NULL, locked_by = NULL
           WHERE j.id = $2::bigint AND ${DEAD}
           RETURNING j.payload->>'incidentId' AS incident_id, j.payload->>'authorityId' AS authority_id`,
    values: [jobName, jobId, maxAttempts],
  });
  const row = rows[0];
  return row ? { incidentId: row.incident_id, authorityId: row.authority_id } : null;
}

/** Is the GeoJSON a valid (Multi)Polygon, as PostGIS reads it? (raises when it cannot be read) */
export async function checkJurisdiction(db: Queryable, geojson: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>({
    text: `SELECT ST_IsValid(g) AND GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') AS ok
           FROM (SELECT ST_GeomFromGeoJSON($1) AS g) AS input`,
    values: [geojson],
  });
  return rows[0]?.ok === true;
}
