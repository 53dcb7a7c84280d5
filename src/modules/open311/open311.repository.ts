import type { Queryable } from '../../platform/db/database.js';
import { statementName } from '../../platform/db/statement-name.js';
import type { CategoryRow } from '../categories/categories.repository.js';
import type { Visibility } from '../incidents/incidents.policy.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';
import { FROM, SELECT, visibilityCondition, type IncidentRow } from '../incidents/incidents.repository.js';
import type { Status } from '../incidents/incidents.schemas.js';

/** Services are the active categories, in the order the app shows them. */
export async function listServices(db: Queryable): Promise<CategoryRow[]> {
  const { rows } = await db.query<CategoryRow>({
    name: 'open311.services',
    text: `SELECT id, slug, name, description, icon, color, active, sensitive, sort_order, attributes
           FROM categories WHERE active ORDER BY sort_order, slug`,
  });
  return rows;
}

export async function findService(db: Queryable, code: string): Promise<CategoryRow | null> {
  const { rows } = await db.query<CategoryRow>({
    name: 'open311.service',
    text: `SELECT id, slug, name, description, icon, color, active, sensitive, sort_order, attributes
           FROM categories WHERE active AND slug = $1`,
    values: [code],
  });
  return rows[0] ?? null;
}

/** GET /requests, decided: either a list of ids, or the filters. */
export interface RequestFilter {
  /** given ids (uuids and references): every other filter is ignored, as the spec says */
  ids: { uuids: string[]; references: string[] } | null;
  serviceCodes: string[] | null;
  statuses: Status[] | null;
  /** requested_datetime (created_at) range, both ends included */
  from: string | null;
  to: string | null;
  updatedAfter: string | null;
  updatedBefore: string | null;
  bbox: [number, number, number, number] | null;
  near: { lon: number; lat: number; radius: number } | null;
  visibility: Visibility;
  limit: number;
  offset: number;
}

/** Newest first, or nearest first around `near`; ties in id order so pages never overlap. */
export async function listRequests(db: Queryable, f: RequestFilter): Promise<IncidentRow[]> {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const where: string[] = [];
  let order = 'i.created_at DESC, i.id DESC';

  if (f.ids) {
    where.push(`(i.id = ANY(${param(f.ids.uuids)}::uuid[]) OR i.reference = ANY(${param(f.ids.references)}::text[]))`);
  } else {
    if (f.serviceCodes) where.push(`c.slug = ANY(${param(f.serviceCodes)}::text[])`);
    if (f.statuses) where.push(`i.status = ANY(${param(f.statuses)}::incident_status[])`);
    if (f.from) where.push(`i.created_at >= ${param(f.from)}::timestamptz`);
    if (f.to) where.push(`i.created_at <= ${param(f.to)}::timestamptz`);
    if (f.updatedAfter) where.push(`i.updated_at >= ${param(f.updatedAfter)}::timestamptz`);
    if (f.updatedBefore) where.push(`i.updated_at < ${param(f.updatedBefore)}::timestamptz`);
    // Places are matched where the public sees them (blurred for sensitive categories): a filter
    // on the exact point would let tiny boxes or radii find it. The index narrows on the exact
    // point with a margin of one blur cell; the public point decides.
    if (f.bbox) {
      const [a, b, c, d] = f.bbox.map((n) => param(n));
      const box = `ST_MakeEnvelope(${a}, ${b}, ${c}, ${d}, 4326)`;
      where.push(`i.location && ST_Expand(${box}, ${BLUR_CELL_DEG})`, `${PUBLIC_POINT} && ${box}`);
    }
    if (f.near) {
      const point = `ST_SetSRID(ST_MakePoint(${param(f.near.lon)}::float8, ${param(f.near.lat)}::float8), 4326)`;
      const [dLon, dLat] = degreesAround(f.near.lat, f.near.radius);
      where.push(
        `i.location && ST_Expand(${point}, ${param(dLon + BLUR_CELL_DEG)}::float8, ${param(dLat + BLUR_CELL_DEG)}::float8)`,
        `ST_DWithin(${PUBLIC_POINT}::geography, ${point}::geography, ${param(f.near.radius)}::float8)`,
      );
      order = `${PUBLIC_POINT}::geography <-> ${point}::geography, i.id`;
    }
  }
  const visible = visibilityCondition(f.visibility, param);
  if (visible) where.push(visible);

  const text = `${SELECT} ${FROM}
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${order}
    LIMIT ${param(f.limit)} OFFSET ${param(f.offset)}`;
  const { rows } = await db.query<IncidentRow>({ name: statementName(text), text, values });
  return rows;
}

/** Where the public sees an incident: the centre of its blur cell in a sensitive category (as presentIncident). */
const cell = (axis: 'ST_X' | 'ST_Y') =>
  `(floor(${axis}(i.location) / ${BLUR_CELL_DEG}) * ${BLUR_CELL_DEG} + ${BLUR_CELL_DEG / 2})`;
const PUBLIC_POINT = `(CASE WHEN c.sensitive THEN ST_SetSRID(ST_MakePoint(${cell('ST_X')}, ${cell('ST_Y')}), 4326) ELSE i.location END)`;

/** Half the sides of a box (degrees of longitude, latitude) that holds a circle of `radius` m. */
function degreesAround(lat: number, radius: number): [number, number] {
  const dLat = (radius / 110_574) * 1.01;
  const cos = Math.cos((Math.min(Math.abs(lat) + dLat, 89.9) * Math.PI) / 180);
  return [Math.min(180, dLat / cos), dLat];
}

export interface UpdateRow {
  /** the timeline event's id */
  id: string;
  reference: string;
  type: 'status_changed' | 'comment';
  /** the request's status at the moment of the update (after it, for a status change) */
  status: Status;
  /** a comment's words; null for a status change */
  body: string | null;
  created_at: Date;
}

/**
 * The public updates of public requests: status changes and comments that are neither internal
 * notes nor hidden by a moderator. A comment carries the status its request had then: the last
 * change before it, else the first change's `from`, else (never changed) the status now.
 */
export async function listUpdates(
  db: Queryable,
  f: { from: string; to: string; visibility: Visibility; limit: number },
): Promise<UpdateRow[]> {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = [
    `e.type IN ('status_changed', 'comment')`,
    'NOT e.internal',
    'e.hidden_at IS NULL',
    `e.created_at >= ${param(f.from)}::timestamptz`,
    `e.created_at <= ${param(f.to)}::timestamptz`,
  ];
  const visible = visibilityCondition(f.visibility, param);
  if (visible) where.push(visible);
  const change = (order: 'before' | 'after') =>
    `(SELECT s.data->>'${order === 'before' ? 'to' : 'from'}' FROM incident_events s
      WHERE s.incident_id = e.incident_id AND s.type = 'status_changed'
        AND s.id ${order === 'before' ? '<' : '>'} e.id
      ORDER BY s.id ${order === 'before' ? 'DESC' : 'ASC'} LIMIT 1)`;
  const text = `SELECT e.id::text AS id, i.reference, e.type,
           CASE WHEN e.type = 'status_changed' THEN e.data->>'to'
                ELSE COALESCE(${change('before')}, ${change('after')}, i.status::text) END AS status,
           CASE WHEN e.type = 'comment' THEN e.data->>'body' END AS body,
           e.created_at
    FROM incident_events e JOIN incidents i ON i.id = e.incident_id
    WHERE ${where.join(' AND ')}
    ORDER BY e.created_at, e.id
    LIMIT ${param(f.limit)}`;
  const { rows } = await db.query<UpdateRow>({ name: statementName(text), text, values });
  return rows;
}
