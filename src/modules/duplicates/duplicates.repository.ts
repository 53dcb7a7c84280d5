import type { Queryable } from '../../platform/db/database.js';
import { statementName } from '../../platform/db/statement-name.js';
import type { Visibility } from '../incidents/incidents.policy.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';
import { FROM, SELECT, visibilityCondition, type IncidentRow } from '../incidents/incidents.repository.js';

export interface SimilarRow extends IncidentRow {
  distance: number;
  similarity: number;
}

export interface SimilarFilter {
  /** where to look from: the incident's point as the viewer sees it, or the form's point */
  lon: number;
  lat: number;
  categoryId: string;
  radius: number;
  /** null: distance alone ranks */
  title: string | null;
  /** created within 30 days either side of this time (an incident's), or in the last 30 days (null) */
  around: string | null;
  excludeId: string | null;
  visibility: Visibility;
  limit: number;
}

export const SIMILAR_WINDOW_DAYS = 30;

/** The category's search radius, or null when the category does not exist. */
export async function duplicateRadius(db: Queryable, categoryId: string): Promise<number | null> {
  const { rows } = await db.query<{ duplicate_radius_m: number }>({
    name: 'duplicates.radius',
    text: 'SELECT duplicate_radius_m FROM categories WHERE id = $1',
    values: [categoryId],
  });
  return rows[0]?.duplicate_radius_m ?? null;
}

/** The centre of the incident's blur cell, as presentIncident shows it. */
const cellCentre = (axis: string) =>
  `(floor(${axis}(i.location) / ${BLUR_CELL_DEG}) * ${BLUR_CELL_DEG} + ${BLUR_CELL_DEG / 2})`;
const BLURRED_POINT = `ST_SetSRID(ST_MakePoint(${cellCentre('ST_X')}, ${cellCentre('ST_Y')}), 4326)`;
/** a blur cell's diagonal, in metres of longitude at the equator (the widest it gets) */
const BLUR_MARGIN_M = Math.ceil(BLUR_CELL_DEG * Math.SQRT2 * 111_320);

/**
 * Rows whose exact location this viewer may not see, as SQL (the list query's rule: sensitive
 * categories, unless the viewer reported it or is staff of its community); null when none.
 */
function blurredFor(v: Visibility, param: (value: unknown) => string): string | null {
  if (v.kind === 'all') return null;
  const exact: string[] = [];
  if (v.orReporterId) exact.push(`i.reporter_id = ${param(v.orReporterId)}`);
  if (v.orCommunityIds.length > 0) exact.push(`i.community_id = ANY(${param(v.orCommunityIds)}::uuid[])`);
  return exact.length === 0 ? 'c.sensitive' : `(c.sensitive AND NOT coalesce(${exact.join(' OR ')}, false))`;
}

/**
 * Possible duplicates: same category, within the radius, created in the window, not merged
 * already, visible to the viewer; best score first. A sensitive incident the viewer may not see
 * exactly is matched (and measured) at its blurred point, as the near list does, so a radius
 * cannot find its exact spot. The radius is an index condition on the Mercator column (a box
 * grown by 1/cos(latitude), and by a blur cell where blurred points count) plus the exact
 * distance on the sphere; the candidates are few, so ranking them all is cheap.
 *
 * score = 0.6 × title similarity + 0.4 × (1 − distance / radius)
 */
export function buildSimilarQuery(f: SimilarFilter): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const hideExact = blurredFor(f.visibility, param);
  const [lon, lat, radius] = [param(f.lon), param(f.lat), param(f.radius)];
  const point = `ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326)::geography`;
  // the same projection as the incidents.location_m column (see 0001_core.sql)
  const pointM = `ST_SetSRID(ST_MakePoint(radians(${lon}::float8) * 6378137, ln(tan(pi() / 4 + radians(${lat}::float8) / 2)) * 6378137), 3857)`;
  const margin = hideExact ? ` + ${BLUR_MARGIN_M}` : '';
  const radiusM = `((${radius}::float8${margin}) / cos(radians(${lat}::float8)) * 1.01)`;
  const distance = hideExact
    ? `(CASE WHEN ${hideExact} THEN ${BLURRED_POINT}::geography <-> ${point} ELSE i.location::geography <-> ${point} END)`
    : `(i.location::geography <-> ${point})`;
  const similarity = f.title === null ? '0::float8' : `similarity(i.title, ${param(f.title)})::float8`;

  const where = [
    `i.location_m && ST_Expand(${pointM}, ${radiusM})`,
    `i.category_id = ${param(f.categoryId)}`,
    `i.status <> 'duplicate'`,
    `i.duplicate_of IS NULL`,
  ];
  if (f.around === null) {
    where.push(`i.created_at >= now() - interval '${SIMILAR_WINDOW_DAYS} days'`);
  } else {
    const around = param(f.around);
    where.push(
      `i.created_at BETWEEN ${around}::timestamptz - interval '${SIMILAR_WINDOW_DAYS} days'
                        AND ${around}::timestamptz + interval '${SIMILAR_WINDOW_DAYS} days'`,
    );
  }
  if (f.excludeId) where.push(`i.id <> ${param(f.excludeId)}`);
  const visible = visibilityCondition(f.visibility, param);
  if (visible) where.push(visible);

  const text = `SELECT * FROM (
      ${SELECT}, ${distance} AS distance, ${similarity} AS similarity
      ${FROM}
      WHERE ${where.join('\n        AND ')}) s
    WHERE s.distance <= ${radius}::float8
    ORDER BY 0.6 * s.similarity + 0.4 * (1 - s.distance / ${radius}::float8) DESC, s.distance, s.id
    LIMIT ${param(f.limit)}`;
  return { text, values };
}

export async function findSimilar(db: Queryable, f: SimilarFilter): Promise<SimilarRow[]> {
  const query = buildSimilarQuery(f);
  const { rows } = await db.query<SimilarRow>({
    name: statementName(query.text),
    text: query.text,
    values: query.values,
  });
  return rows;
}

/** The incidents merged into this one that the viewer may see, oldest first. */
export async function findMergedInto(db: Queryable, id: string, v: Visibility): Promise<IncidentRow[]> {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const where = [`i.duplicate_of = ${param(id)}`];
  const visible = visibilityCondition(v, param);
  if (visible) where.push(visible);
  const text = `${SELECT} ${FROM} WHERE ${where.join(' AND ')} ORDER BY i.created_at, i.id LIMIT 200`;
  const { rows } = await db.query<IncidentRow>({ name: statementName(text), text, values });
  return rows;
}

/** Locks both incidents in id order, so two merges of the same pair cannot deadlock. */
export async function lockPair(tx: Queryable, a: string, b: string): Promise<void> {
  await tx.query({
    name: 'duplicates.lockPair',
    text: 'SELECT id FROM incidents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    values: [[a, b]],
  });
}

export interface MergeCounts {
  followers: number;
  confirmations: number;
}

/**
 * Marks `duplicateId` a duplicate of `originalId` and moves its followers and confirmations
 * there. Someone who confirmed both is counted once; the original's reporter, who cannot
 * confirm their own report, is not counted. Both counters are recounted from the rows.
 */
export async function merge(tx: Queryable, duplicateId: string, originalId: string): Promise<MergeCounts> {
  await tx.query({
    name: 'duplicates.markDuplicate',
    text: `UPDATE incidents SET status = 'duplicate', duplicate_of = $2, version = version + 1, updated_at = now()
           WHERE id = $1`,
    values: [duplicateId, originalId],
  });
  const followers = await tx.query({
    name: 'duplicates.moveFollowers',
    text: `WITH moved AS (DELETE FROM incident_follows WHERE incident_id = $1 RETURNING user_id, created_at)
           INSERT INTO incident_follows (incident_id, user_id, created_at)
           SELECT $2, user_id, created_at FROM moved
           ON CONFLICT (incident_id, user_id) DO NOTHING`,
    values: [duplicateId, originalId],
  });
  const confirmations = await tx.query({
    name: 'duplicates.moveConfirmations',
    text: `WITH moved AS (DELETE FROM incident_confirmations WHERE incident_id = $1 RETURNING user_id, created_at)
           INSERT INTO incident_confirmations (incident_id, user_id, created_at)
           SELECT $2, moved.user_id, moved.created_at FROM moved
           WHERE moved.user_id IS DISTINCT FROM (SELECT reporter_id FROM incidents WHERE id = $2)
           ON CONFLICT (incident_id, user_id) DO NOTHING`,
    values: [duplicateId, originalId],
  });
  await tx.query({
    name: 'duplicates.recount',
    text: `UPDATE incidents i SET confirmations = (SELECT count(*) FROM incident_confirmations k WHERE k.incident_id = i.id)
           WHERE i.id = ANY($1::uuid[])`,
    values: [[duplicateId, originalId]],
  });
  return { followers: followers.rowCount ?? 0, confirmations: confirmations.rowCount ?? 0 };
}
