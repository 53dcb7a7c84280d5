import type { Queryable, Tx } from '../../platform/db/database.js';
import { named } from '../../platform/db/statement-name.js';
import type { Translations } from '../categories/categories.schemas.js';
import { FROM, SELECT, type IncidentRow } from './incidents.repository.js';
import { BLUR_CELL_DEG } from './incidents.presenter.js';
import type { Priority, Status } from './incidents.schemas.js';

/**
 * SQL of the public copies (0031_public_copies.sql): what the public map's list reads, and what
 * the renderer writes.
 */

/** A public list's query: where, which, and the page. */
export interface PublicListQuery {
  area:
    { kind: 'box'; box: [number, number, number, number] } | { kind: 'near'; lon: number; lat: number; radius: number };
  statuses: Status[] | null;
  priorities: Priority[] | null;
  categorySlugs: string[] | null;
  /** the sort key of the last row already returned: [distance in the Mercator plane, id] */
  after: [number, string] | null;
  limit: number;
}

/** A row of a public list: a copy (doc), or a queued incident to render now (doc null). */
export interface PublicListRow {
  id: string;
  doc: string | null;
  category_id: string;
  /** the Mercator-plane distance from the box's middle or the `near` point: the order */
  sort_distance: number;
  /** metres on the sphere from the `near` point (null for a box) */
  distance: number | null;
  blurred: boolean;
  categories_version: string;
}

/** How many rows beyond the page the copies part may return to finish a tie at its end. */
export const TIE_ROWS_BEYOND_PAGE = 100;

/** The columns a list reads, over the copies (p) or a queued incident (i, c). */
interface Columns {
  point: string;
  pointM: string;
  blurred: string;
  id: string;
  status: string;
  priority: string;
  categorySlug: string;
}
const COPY: Columns = {
  point: 'p.point',
  pointM: 'p.point_m',
  blurred: 'p.blurred',
  id: 'p.incident_id',
  status: 'p.status',
  priority: 'p.priority',
  categorySlug: '(SELECT slug FROM categories WHERE id = p.category_id)',
};
const QUEUED_POINT = 'incident_public_point(i.location, c.sensitive)';
const QUEUED: Columns = {
  point: QUEUED_POINT,
  pointM: `public_point_m(${QUEUED_POINT})`,
  blurred: 'c.sensitive',
  id: 'i.id',
  status: 'i.status',
  priority: 'i.priority',
  categorySlug: 'c.slug',
};

/**
 * The WHERE terms, sort key and distance of a list over one source, its values added to `values`.
 * A box is an index condition in the Mercator plane (a degree box is a rectangle there too, a
 * metre wider against rounding) and an exact test in degrees; `near` is a square of the radius
 * in the plane (Mercator stretches lengths by 1/cos(latitude)) and the distance on the sphere.
 */
function terms(q: PublicListQuery, on: Columns, param: (v: unknown) => string) {
  const where: string[] = [];
  let origin: string;
  let distance = 'NULL::float8';
  if (q.area.kind === 'box') {
    const [a, b, c, d] = q.area.box.map((n) => `${param(n)}::float8`) as [string, string, string, string];
    where.push(inPlaneBox(on.pointM, [a, b, c, d]), `${on.point} <@ box(point(${a}, ${b}), point(${c}, ${d}))`);
    origin = `public_point_m(point((${a} + ${c}) / 2, (${b} + ${d}) / 2))`;
  } else {
    const [lon, lat, radius] = [q.area.lon, q.area.lat, q.area.radius].map((n) => `${param(n)}::float8`) as [
      string,
      string,
      string,
    ];
    origin = `(public_point_m(point(${lon}, ${lat})))`;
    const half = `(${radius} / cos(radians(${lat})) * 1.01)`;
    where.push(inPlaneSquare(on.pointM, origin, half));
    const geography = `ST_SetSRID(ST_MakePoint((${on.point})[0], (${on.point})[1]), 4326)::geography`;
    distance = `(${geography} <-> ST_SetSRID(ST_MakePoint(${lon}, ${lat}), 4326)::geography)`;
    where.push(`${distance} <= ${radius}`);
  }
  const key = `(${on.pointM} <-> ${origin})`;
  if (q.statuses) where.push(`${on.status} = ANY(${param(q.statuses)}::incident_status[])`);
  if (q.priorities) where.push(`${on.priority} = ANY(${param(q.priorities)}::incident_priority[])`);
  if (q.categorySlugs) where.push(`${on.categorySlug} = ANY(${param(q.categorySlugs)}::text[])`);
  if (q.after) where.push(`(${key}, ${on.id}) > (${param(q.after[0])}::float8, ${param(q.after[1])}::uuid)`);
  return { where, key, distance };
}

/**
 * The queue rows that may be in the area, by the queue's index on the exact location: the area
 * in the Mercator plane, wider by a blur cell (a blurred point is within one of the exact one).
 */
function queuedArea(q: PublicListQuery, param: (v: unknown) => string): string {
  const cell = BLUR_CELL_DEG;
  if (q.area.kind === 'box') {
    const [a, b, c, d] = q.area.box;
    const corners = [a - cell, b - cell, c + cell, d + cell].map((n) => `${param(n)}::float8`);
    return inPlaneBox('qu.location_m', corners as [string, string, string, string]);
  }
  const origin = `(public_point_m(point(${param(q.area.lon)}::float8, ${param(q.area.lat)}::float8)))`;
  // a cell is ~250 m on the ground: 251 m, stretched as the radius is
  const half = `((${param(q.area.radius)}::float8 + 251) / cos(radians(${param(q.area.lat)}::float8)) * 1.01)`;
  return inPlaneSquare('qu.location_m', origin, half);
}

/** A Mercator-point column inside a box given in degrees (SQL expressions), a metre wider against rounding. */
function inPlaneBox(column: string, [a, b, c, d]: [string, string, string, string]): string {
  const low = `(public_point_m(point(${a}, ${b})))`;
  const high = `(public_point_m(point(${c}, ${d})))`;
  return `${column} <@ box(point(${low}[0] - 1, ${low}[1] - 1), point(${high}[0] + 1, ${high}[1] + 1))`;
}

/** A Mercator-point column within `half` metres of the plane point `origin` along both axes. */
function inPlaneSquare(column: string, origin: string, half: string): string {
  return `${column} <@ box(point(${origin}[0] - ${half}, ${origin}[1] - ${half}), point(${origin}[0] + ${half}, ${origin}[1] + ${half}))`;
}

function parameters(): { values: unknown[]; param: (v: unknown) => string } {
  const values: unknown[] = [];
  return {
    values,
    param: (v) => {
      values.push(v);
      return `$${values.length}`;
    },
  };
}

/**
 * The page's candidates in one statement (one snapshot): the copies nearest the origin (an
 * index-only scan of incident_public_copies_point_m_gist) with every copy tying with the page's
 * last one, up to TIE_ROWS_BEYOND_PAGE more; and the queued incidents in the area (by the queue's
 * own index), nearest first, keyed the same way.
 */
export async function listPublic(db: Queryable, q: PublicListQuery): Promise<PublicListRow[]> {
  const { values, param } = parameters();
  const copy = terms(q, COPY, param);
  const queued = terms(q, QUEUED, param);
  const [page, cap] = [param(q.limit), param(q.limit + TIE_ROWS_BEYOND_PAGE)];
  const text = `SELECT u.*, (SELECT version::text FROM categories_version) AS categories_version FROM (
    (SELECT * FROM (
      SELECT p.incident_id AS id, p.doc, p.category_id, ${copy.key} AS sort_distance, ${copy.distance} AS distance, p.blurred
        FROM incident_public_copies p
       WHERE ${copy.where.join('\n         AND ')}
       ORDER BY ${copy.key}
       FETCH FIRST ${page} ROWS WITH TIES) page LIMIT ${cap})
    UNION ALL
    (SELECT i.id, NULL, i.category_id, ${queued.key}, ${queued.distance}, c.sensitive
       FROM incident_public_copy_queue qu
       JOIN incidents i ON i.id = qu.incident_id
       JOIN categories c ON c.id = i.category_id
      WHERE ${queuedArea(q, param)}
        AND i.is_public AND NOT i.hidden
        AND ${queued.where.join('\n        AND ')}
      ORDER BY ${queued.key}, i.id
      LIMIT ${page})) u`;
  return (await db.query<PublicListRow>(named({ text, values }))).rows;
}

/** Every copy at exactly this sort key, in id order (a tie longer than the cap). */
export async function listPublicTie(db: Queryable, q: PublicListQuery, tie: number): Promise<PublicListRow[]> {
  const { values, param } = parameters();
  const copy = terms(q, COPY, param);
  const text = `SELECT p.incident_id AS id, p.doc, p.category_id, ${copy.key} AS sort_distance, ${copy.distance} AS distance,
           p.blurred, (SELECT version::text FROM categories_version) AS categories_version
      FROM incident_public_copies p
     WHERE ${copy.where.join(' AND ')} AND ${copy.key} = ${param(tie)}::float8
     ORDER BY p.incident_id
     LIMIT ${param(q.limit)}`;
  return (await db.query<PublicListRow>(named({ text, values }))).rows;
}

/** The categories as the copies' lists name them, with the version they are at. */
export async function loadCategoryNames(
  db: Queryable,
): Promise<{ version: string; categories: Array<{ id: string; slug: string; name: Translations }> }> {
  const { rows } = await db.query<{
    version: string;
    categories: Array<{ id: string; slug: string; name: Translations }>;
  }>({
    name: 'incidents.publicCategories',
    text: `SELECT (SELECT version::text FROM categories_version) AS version,
                  coalesce((SELECT json_agg(json_build_object('id', id, 'slug', slug, 'name', name)) FROM categories), '[]') AS categories`,
    values: [],
  });
  const row = rows[0]!;
  return { version: row.version, categories: row.categories };
}

/**
 * Takes up to `limit` queued incidents for rendering: the queue rows locked for this transaction,
 * the incidents share-locked so that no change to one can commit between reading it here and
 * writing its copy (the change's trigger waits, then outdates the new copy). Incidents another
 * transaction holds are skipped and stay queued. `taken` are the incidents locked here, public
 * or not: their places in the queue are done when this transaction commits.
 */
export async function takeQueued(tx: Tx, limit: number): Promise<{ taken: string[]; rows: IncidentRow[] }> {
  const { rows: queue } = await tx.query<{ incident_id: string }>({
    name: 'incidents.publicQueueTake',
    text: `SELECT incident_id FROM incident_public_copy_queue LIMIT $1 FOR UPDATE SKIP LOCKED`,
    values: [limit],
  });
  if (queue.length === 0) return { taken: [], rows: [] };
  const { rows } = await tx.query<IncidentRow>({
    name: 'incidents.publicQueueRows',
    text: `${SELECT}
      ${FROM}
      WHERE i.id = ANY($1::uuid[])
      FOR SHARE OF i SKIP LOCKED`,
    values: [queue.map((q) => q.incident_id)],
  });
  return { taken: rows.map((r) => r.id), rows: rows.filter((r) => r.is_public && !r.hidden) };
}

/** Writes the copies made of taken rows, and empties the taken rows' places in the queue. */
export async function saveCopies(
  tx: Tx,
  taken: readonly string[],
  copies: ReadonlyArray<{ id: string; doc: string }>,
): Promise<void> {
  if (copies.length > 0) {
    await tx.query({
      name: 'incidents.publicCopiesSave',
      text: `INSERT INTO incident_public_copies (incident_id, point, point_m, blurred, category_id, status, priority, doc)
             SELECT i.id, incident_public_point(i.location, c.sensitive), public_point_m(incident_public_point(i.location, c.sensitive)),
                    c.sensitive, i.category_id, i.status, i.priority, v.doc
               FROM unnest($1::uuid[], $2::text[]) AS v(id, doc)
               JOIN incidents i ON i.id = v.id
               JOIN categories c ON c.id = i.category_id
             ON CONFLICT (incident_id) DO UPDATE
               SET point = EXCLUDED.point, point_m = EXCLUDED.point_m, blurred = EXCLUDED.blurred,
                   category_id = EXCLUDED.category_id, status = EXCLUDED.status, priority = EXCLUDED.priority, doc = EXCLUDED.doc`,
      values: [copies.map((c) => c.id), copies.map((c) => c.doc)],
    });
  }
  await tx.query({
    name: 'incidents.publicQueueDone',
    text: 'DELETE FROM incident_public_copy_queue WHERE incident_id = ANY($1::uuid[])',
    values: [taken],
  });
}

export async function vacuumQueue(db: Queryable): Promise<void> {
  await db.query({ text: 'VACUUM incident_public_copy_queue' });
}

export async function countQueued(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM incident_public_copy_queue',
  });
  return rows[0]?.n ?? 0;
}
