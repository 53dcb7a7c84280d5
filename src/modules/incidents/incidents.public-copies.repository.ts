import type { Queryable, Tx } from '../../platform/db/database.js';
import { named } from '../../platform/db/statement-name.js';
import type { Translations } from '../categories/categories.schemas.js';
import { FROM, SELECT, type IncidentRow } from './incidents.repository.js';

/**
 * SQL of the public copies (0031_public_copies.sql): what the public map's list reads, and what
 * the renderer writes.
 */

/** A public box list's query: the box, the point its order is measured from, the page. */
export interface PublicBoxQuery {
  box: [number, number, number, number];
  /** the sort key of the last row already returned: [distance, id] */
  after: [number, string] | null;
  limit: number;
}

/** A row of a public box list: a copy (doc), or a queued incident to render now (doc null). */
export interface PublicListRow {
  id: string;
  doc: string | null;
  category_id: string;
  sort_distance: number;
  categories_version: string;
}

/** How many rows beyond the page the copies part may return to finish a tie at its end. */
export const TIE_ROWS_BEYOND_PAGE = 100;

function keyed(q: PublicBoxQuery): { values: unknown[]; after: (key: string, id: string) => string } {
  const [a, b, c, d] = q.box;
  const values: unknown[] = [a, b, c, d, (a + c) / 2, (b + d) / 2];
  if (q.after) values.push(q.after[0], q.after[1]);
  return { values, after: (key, id) => (q.after ? ` AND (${key}, ${id}) > ($7::float8, $8::uuid)` : '') };
}

const COPY_KEY = 'p.point <-> point($5, $6)';
const QUEUED_POINT = 'incident_public_point(i.location, c.sensitive)';
const QUEUED_KEY = `${QUEUED_POINT} <-> point($5, $6)`;

/**
 * The page's candidates in one statement (one snapshot): the copies in the box nearest its middle
 * (an index-only scan of incident_public_copies_point_gist) with every copy tying with the page's
 * last one, up to TIE_ROWS_BEYOND_PAGE more; and the queued incidents in the box, nearest first,
 * keyed the same way. The queue is short (the renderer keeps up), so that part reads it all.
 */
export async function listInBox(db: Queryable, q: PublicBoxQuery): Promise<PublicListRow[]> {
  const { values, after } = keyed(q);
  values.push(q.limit, q.limit + TIE_ROWS_BEYOND_PAGE);
  const n = values.length;
  const text = `SELECT u.*, (SELECT version::text FROM categories_version) AS categories_version FROM (
    (SELECT * FROM (
      SELECT p.incident_id AS id, p.doc, p.category_id, ${COPY_KEY} AS sort_distance
        FROM incident_public_copies p
       WHERE p.point <@ box(point($1, $2), point($3, $4))${after(COPY_KEY, 'p.incident_id')}
       ORDER BY ${COPY_KEY}
       FETCH FIRST $${n - 1} ROWS WITH TIES) page LIMIT $${n})
    UNION ALL
    (SELECT i.id, NULL, i.category_id, ${QUEUED_KEY}
       FROM incidents i
       JOIN categories c ON c.id = i.category_id
      -- by the primary key from the queue's ids: a join let the planner, misled by the queue's
      -- statistics (a million rows after a seed, none a minute later), scan every incident
      WHERE i.id = ANY (ARRAY(SELECT incident_id FROM incident_public_copy_queue))
        AND i.is_public AND NOT i.hidden
        AND ${QUEUED_POINT} <@ box(point($1, $2), point($3, $4))${after(QUEUED_KEY, 'i.id')}
      ORDER BY ${QUEUED_KEY}, i.id
      LIMIT $${n - 1})) u`;
  return (await db.query<PublicListRow>(named({ text, values }))).rows;
}

/** Every copy at exactly this distance from the box's middle, in id order (a tie longer than the cap). */
export async function listTieInBox(db: Queryable, q: PublicBoxQuery, tie: number): Promise<PublicListRow[]> {
  const { values, after } = keyed(q);
  values.push(tie);
  const text = `SELECT p.incident_id AS id, p.doc, p.category_id, ${COPY_KEY} AS sort_distance,
           (SELECT version::text FROM categories_version) AS categories_version
      FROM incident_public_copies p
     WHERE p.point <@ box(point($1, $2), point($3, $4))${after(COPY_KEY, 'p.incident_id')}
       AND ${COPY_KEY} = $${values.length}::float8
     ORDER BY p.incident_id
     LIMIT ${q.limit}`;
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
export async function takeQueued(
  tx: Tx,
  limit: number,
): Promise<{ taken: string[]; rows: Array<IncidentRow & { public_x: number; public_y: number }> }> {
  const { rows: queue } = await tx.query<{ incident_id: string }>({
    name: 'incidents.publicQueueTake',
    text: `SELECT incident_id FROM incident_public_copy_queue LIMIT $1 FOR UPDATE SKIP LOCKED`,
    values: [limit],
  });
  if (queue.length === 0) return { taken: [], rows: [] };
  const { rows } = await tx.query<IncidentRow & { public_x: number; public_y: number }>({
    name: 'incidents.publicQueueRows',
    text: `${SELECT}, (incident_public_point(i.location, c.sensitive))[0] AS public_x,
                      (incident_public_point(i.location, c.sensitive))[1] AS public_y
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
  copies: ReadonlyArray<{ id: string; x: number; y: number; categoryId: string; doc: string }>,
): Promise<void> {
  if (copies.length > 0) {
    await tx.query({
      name: 'incidents.publicCopiesSave',
      text: `INSERT INTO incident_public_copies (incident_id, point, category_id, doc)
             SELECT id, point(x, y), category_id, doc
               FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::uuid[], $5::text[]) AS c(id, x, y, category_id, doc)
             ON CONFLICT (incident_id) DO UPDATE SET point = EXCLUDED.point, category_id = EXCLUDED.category_id, doc = EXCLUDED.doc`,
      values: [
        copies.map((c) => c.id),
        copies.map((c) => c.x),
        copies.map((c) => c.y),
        copies.map((c) => c.categoryId),
        copies.map((c) => c.doc),
      ],
    });
  }
  await tx.query({
    name: 'incidents.publicQueueDone',
    text: 'DELETE FROM incident_public_copy_queue WHERE incident_id = ANY($1::uuid[])',
    values: [taken],
  });
}

export async function countQueued(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM incident_public_copy_queue',
  });
  return rows[0]?.n ?? 0;
}
