import type { Queryable } from '../../platform/db/database.js';
import { named } from '../../platform/db/statement-name.js';
import type { Translations } from '../categories/categories.schemas.js';
import { overdueCondition, type OverdueFilter } from '../sla/sla.repository.js';
import type { Visibility } from './incidents.policy.js';
import { BLUR_CELL_DEG } from './incidents.presenter.js';
import type { Priority, Status } from './incidents.schemas.js';

/** An incident as the database holds it, with what the presenter needs from joined tables. */
export interface IncidentRow {
  id: string;
  reference: string;
  title: string;
  description: string;
  lon: number;
  lat: number;
  address: string | null;
  community_id: string | null;
  reporter_id: string | null;
  reporter_name: string | null;
  anonymous: boolean;
  category_id: string;
  category_slug: string;
  category_name: Translations;
  sensitive: boolean;
  priority: Priority;
  status: Status;
  assignee_id: string | null;
  assignee_name: string | null;
  metadata: Record<string, unknown>;
  is_public: boolean;
  hidden: boolean;
  requires_authority: boolean;
  /** where it was routed on creation (authorities module); optional for rows made before it */
  authority_id?: string | null;
  authority_name?: string | null;
  /** the authority's delivery kind, returned by insertIncident only (decides the forwarding job) */
  authority_delivery?: string | null;
  /** whether its category is an emergency one, returned by insertIncident only (decides the job's urgency) */
  category_emergency?: boolean;
  /** held by pre-moderation until a moderator decides (moderation module); optional for rows made before it */
  pending_approval?: boolean;
  /** the incident this one was merged into (duplicates module); optional for rows made before it */
  duplicate_of?: string | null;
  /** that incident's reference and what the presenter needs to decide whether this viewer may see it */
  duplicate_of_target?: {
    reference: string;
    community_id: string | null;
    reporter_id: string | null;
    is_public: boolean;
    hidden: boolean;
  } | null;
  version: number;
  /** SLA due dates (sla module), RFC 3339 like created_at; null without a target; optional for rows made before it */
  ack_due_at?: string | null;
  resolve_due_at?: string | null;
  /** "me too" from other people (conversation module) */
  confirmations: number;
  /** RFC 3339 in UTC with microseconds, made by Postgres: exact for cursors (a JS Date keeps
   * milliseconds only) and no per-row Date parsing and formatting in Node */
  created_at: string;
  updated_at: string;
  /** metres from `near` */
  distance?: number;
  /** the distance the list is sorted by (from `near`, or the box centre in degrees) */
  sort_distance?: number;
}

/** The columns of an IncidentRow, over `incidents i` and the joins of FROM; other modules list incidents with them. */
export const SELECT = `
  SELECT i.id, i.reference, i.title, i.description,
         ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.address,
         i.community_id, i.reporter_id, i.anonymous,
         i.category_id, c.slug AS category_slug, c.name AS category_name, c.sensitive,
         i.priority, i.status, i.assignee_id,
         i.metadata, i.is_public, i.hidden, i.pending_approval, i.requires_authority, i.version, i.confirmations,
         i.authority_id, i.duplicate_of,
         -- names by lookups that run only where there is someone to name, not by LEFT JOINs that
         -- probe an index for every row (most have no assignee nor authority): on a 200-row map
         -- page PostgreSQL answers ~20 % more pages a second (bench/README.md, session 11)
         CASE WHEN i.reporter_id IS NOT NULL THEN
           (SELECT u.display_name FROM users u WHERE u.id = i.reporter_id) END AS reporter_name,
         CASE WHEN i.assignee_id IS NOT NULL THEN
           (SELECT u.display_name FROM users u WHERE u.id = i.assignee_id) END AS assignee_name,
         CASE WHEN i.authority_id IS NOT NULL THEN
           (SELECT au.name FROM authorities au WHERE au.id = i.authority_id) END AS authority_name,
         -- CASE first: the lookup runs only for the few merged duplicates, not for every listed row
         CASE WHEN i.duplicate_of IS NOT NULL THEN
           (SELECT jsonb_build_object('reference', d.reference, 'community_id', d.community_id,
                                      'reporter_id', d.reporter_id, 'is_public', d.is_public, 'hidden', d.hidden)
              FROM incidents d WHERE d.id = i.duplicate_of) END AS duplicate_of_target,
         to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
         to_char(i.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at,
         to_char(i.ack_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ack_due_at,
         to_char(i.resolve_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS resolve_due_at`;
export const FROM = `
  FROM incidents i
  JOIN categories c ON c.id = i.category_id`;

export async function findIncidentById(db: Queryable, id: string, forUpdate = false): Promise<IncidentRow | null> {
  const text = `${SELECT} ${FROM} WHERE i.id = $1${forUpdate ? ' FOR UPDATE OF i' : ''}`;
  const { rows } = await db.query<IncidentRow>({
    name: forUpdate ? 'incidents.byId.lock' : 'incidents.byId',
    text,
    values: [id],
  });
  return rows[0] ?? null;
}

/** Several at once, in no particular order (realtime loads the incidents of a batch of events). */
export async function findIncidentsByIds(db: Queryable, ids: readonly string[]): Promise<IncidentRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<IncidentRow>({
    name: 'incidents.byIds',
    text: `${SELECT} ${FROM} WHERE i.id = ANY($1::uuid[])`,
    values: [ids],
  });
  return rows;
}

export async function findIncidentByReference(db: Queryable, reference: string): Promise<IncidentRow | null> {
  const { rows } = await db.query<IncidentRow>({
    name: 'incidents.byReference',
    text: `${SELECT} ${FROM} WHERE i.reference = $1`,
    values: [reference],
  });
  return rows[0] ?? null;
}

export interface IncidentInsert {
  reference: string;
  title: string;
  description: string;
  lon: number;
  lat: number;
  address: string | null;
  reporterId: string | null;
  anonymous: boolean;
  categoryId: string;
  priority: Priority;
  metadata: Record<string, unknown>;
  isPublic: boolean;
  requiresAuthority: boolean;
}

/**
 * Inserts and returns the new id; null when the category is missing or inactive, or the
 * reference is taken (the caller tells which, and retries a taken reference). One statement on
 * the hot path: the category check, the smallest community holding the point, whether the
 * reporter is banned or on the ban list (their reports stay hidden) and whether that community
 * holds new reports for approval (pre-moderation: hidden and pending) are all decided here, and
 * the reporter starts following the new incident. The authority it is routed to is decided
 * here too (the most specific enabled one whose jurisdiction holds the point and that handles the
 * category), and comes back with its delivery kind.
 */
export async function insertIncident(tx: Queryable, v: IncidentInsert): Promise<IncidentRow | null> {
  const { rows } = await tx.query<IncidentRow>({
    name: 'incidents.insert',
    // the new row comes back whole, joined as findIncidentById would: one round trip fewer
    text: `WITH point AS (SELECT ST_SetSRID(ST_MakePoint($4, $5), 4326) AS geom),
           -- the most specific enabled authority for this place and category (empty list: all)
           route AS (
           SELECT au.id FROM authorities au, point
           WHERE au.enabled AND ST_Intersects(au.jurisdiction, point.geom)
             AND (cardinality(au.category_ids) = 0 OR $9::uuid = ANY(au.category_ids))
           ORDER BY au.area_m2 ASC, au.id LIMIT 1),
           home AS (
           SELECT m.id, m.premoderation FROM communities m, point
           WHERE ST_Intersects(m.boundary, point.geom)
           ORDER BY m.area_m2 ASC, m.id LIMIT 1),
           ins AS (
           INSERT INTO incidents (reference, title, description, location, address, community_id,
                                  reporter_id, anonymous, category_id, priority, metadata,
                                  is_public, requires_authority, hidden, pending_approval, authority_id)
           SELECT $1, $2, $3, point.geom, $6,
                  (SELECT id FROM home),
                  $7, $8, c.id, $10, $11, $12, $13,
                  coalesce((SELECT u.banned_at IS NOT NULL OR EXISTS (
                              SELECT 1 FROM ban_list b
                              WHERE (b.kind = 'email' AND b.value = lower(u.email))
                                 OR (b.kind = 'domain' AND b.value = split_part(lower(u.email), '@', 2)))
                            FROM users u WHERE u.id = $7), false)
                    -- a pre-moderated community holds new reports, hidden, for a moderator
                    OR coalesce((SELECT premoderation FROM home), false),
                  coalesce((SELECT premoderation FROM home), false),
                  (SELECT id FROM route)
           FROM point, categories c
           WHERE c.id = $9 AND c.active
           ON CONFLICT (reference) DO NOTHING
           RETURNING *),
           fol AS (
           INSERT INTO incident_follows (incident_id, user_id, created_at)
           SELECT id, reporter_id, created_at FROM ins WHERE reporter_id IS NOT NULL)
           ${SELECT}, au.delivery->>'kind' AS authority_delivery, c.emergency AS category_emergency
           FROM ins i
           JOIN categories c ON c.id = i.category_id
           LEFT JOIN authorities au ON au.id = i.authority_id`,
    values: [
      v.reference,
      v.title,
      v.description,
      v.lon,
      v.lat,
      v.address,
      v.reporterId,
      v.anonymous,
      v.categoryId,
      v.priority,
      JSON.stringify(v.metadata),
      v.isPublic,
      v.requiresAuthority,
    ],
  });
  return rows[0] ?? null;
}

export interface IncidentUpdate {
  status: Status;
  priority: Priority;
  assigneeId: string | null;
  categoryId: string;
  isPublic: boolean;
}

export async function updateIncident(tx: Queryable, id: string, v: IncidentUpdate): Promise<void> {
  await tx.query({
    name: 'incidents.update',
    text: `UPDATE incidents SET status = $2, priority = $3, assignee_id = $4, category_id = $5,
                  is_public = $6, version = version + 1, updated_at = now()
           WHERE id = $1`,
    values: [id, v.status, v.priority, v.assigneeId, v.categoryId, v.isPublic],
  });
}

/** Moderation: keeps an incident from the public (staff and the reporter still see it), or shows it again. */
export async function setHidden(tx: Queryable, id: string, hidden: boolean): Promise<void> {
  await tx.query({
    name: 'incidents.setHidden',
    text: `UPDATE incidents SET hidden = $2, version = version + 1, updated_at = now() WHERE id = $1`,
    values: [id, hidden],
  });
}

/** Locks the incidents in id order (so two bulk writers cannot deadlock) and returns the ids found. */
export async function lockIncidents(tx: Queryable, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await tx.query<{ id: string }>({
    name: 'incidents.lockMany',
    text: `SELECT id FROM incidents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    values: [ids],
  });
  return rows.map((r) => r.id);
}

/** The ids of these references (those that exist). */
export async function idsByReferences(db: Queryable, references: readonly string[]): Promise<Map<string, string>> {
  if (references.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; reference: string }>({
    name: 'incidents.idsByReferences',
    text: `SELECT id, reference FROM incidents WHERE reference = ANY($1::text[])`,
    values: [references],
  });
  return new Map(rows.map((r) => [r.reference, r.id]));
}

/** The smallest community holding the point, with its reporting setting. */
export async function communityAt(
  db: Queryable,
  lon: number,
  lat: number,
): Promise<{ id: string; anonymousReporting: boolean } | null> {
  const { rows } = await db.query<{ id: string; anonymous_reporting: boolean }>({
    name: 'communities.at',
    text: `SELECT id, anonymous_reporting FROM communities
           WHERE ST_Intersects(boundary, ST_SetSRID(ST_MakePoint($1, $2), 4326))
           ORDER BY area_m2 ASC, id LIMIT 1`,
    values: [lon, lat],
  });
  const row = rows[0];
  return row ? { id: row.id, anonymousReporting: row.anonymous_reporting } : null;
}

export async function updateContent(
  tx: Queryable,
  id: string,
  v: { title: string; description: string; lon: number; lat: number },
): Promise<void> {
  await tx.query({
    name: 'incidents.updateContent',
    text: `WITH point AS (SELECT ST_SetSRID(ST_MakePoint($4, $5), 4326) AS geom)
           UPDATE incidents SET title = $2, description = $3, location = point.geom,
                  community_id = (SELECT m.id FROM communities m WHERE ST_Intersects(m.boundary, point.geom)
                                  ORDER BY m.area_m2 ASC, m.id LIMIT 1),
                  version = version + 1, updated_at = now()
           FROM point WHERE incidents.id = $1`,
    values: [id, v.title, v.description, v.lon, v.lat],
  });
}

/** The timeline and the media rows go with it (ON DELETE CASCADE); the audit trail stays. */
export async function deleteIncident(tx: Queryable, id: string): Promise<void> {
  await tx.query({ text: 'DELETE FROM incidents WHERE id = $1', values: [id] });
}

export async function userExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({ name: 'users.exists', text: 'SELECT 1 FROM users WHERE id = $1', values: [id] });
  return rows.length > 0;
}

export async function findActiveCategory(
  db: Queryable,
  id: string,
): Promise<{ id: string; active: boolean; emergency: boolean } | null> {
  const { rows } = await db.query<{ id: string; active: boolean; emergency: boolean }>({
    name: 'categories.activeEmergencyById',
    text: 'SELECT id, active, emergency FROM categories WHERE id = $1',
    values: [id],
  });
  return rows[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Listing

export type ListSort = 'distance' | '-createdAt' | 'createdAt' | '-priority';

export interface ListFilter {
  near: { lon: number; lat: number; radius: number } | null;
  bbox: [number, number, number, number] | null;
  statuses: Status[] | null;
  categorySlugs: string[] | null;
  priorities: Priority[] | null;
  q: { text: string; reference: string | null } | null;
  communityId: string | null;
  since: string | null;
  until: string | null;
  reporterId: string | null;
  assigneeId: string | null;
  /** late by SLA (sla module), within where the viewer may ask; optional for callers made before it */
  overdue?: OverdueFilter | null;
  visibility: Visibility;
  sort: ListSort;
  /** the sort key of the last row already returned */
  after: CursorKey | null;
  limit: number;
}

/** Sort-key values of a row: [created_at, id], [priority, created_at, id] or [distance, id]. */
export type CursorKey = Array<string | number>;

/**
 * One query for every list: filters become WHERE terms with numbered parameters; keyset
 * pagination continues strictly after the last row's sort key, so a row is never returned twice
 * while inserts go on.
 *
 * Distance sorts (from `near`, or from the centre of `bbox`) order by the KNN operator alone so
 * the GiST index yields nearest first and the scan stops at the limit instead of sorting every
 * candidate (measured on 1M rows: 0.3–0.9 ms against 40–80 ms for filter-then-sort). `near`
 * orders on the Mercator column (planar KNN, 4–6× cheaper than geography KNN) and filters on the
 * exact distance in metres on the sphere. The radius is an index condition (&& a box) plus that
 * distance filter rather than ST_DWithin: PostGIS estimates ST_DWithin's filter ~30× too
 * selective, which made the planner prefer a bitmap AND with the status index over the KNN scan.
 * Ties in distance are put in id order here (see orderTies): the index yields them unordered.
 */
export async function listIncidents(
  db: Queryable,
  f: ListFilter,
  /** tests: force the plan for a newest-first box instead of choosing it from the estimate */
  newestInBoxPlan?: NewestInBoxPlan,
): Promise<IncidentRow[]> {
  if (f.sort === '-createdAt' && f.bbox && !f.near) {
    const plan = newestInBoxPlan ?? (await chooseNewestInBoxPlan(db, f.bbox, f.limit));
    if (plan === 'box-index') return listNewestInBox(db, f);
  }
  const query = buildListQuery(f);
  const { rows } = await db.query<IncidentRow>(named(query));
  if (f.sort !== 'distance') return rows;
  return orderTies(db, f, rows);
}

/**
 * How to find the newest incidents in a box: `created-index` walks all incidents newest first
 * and keeps those in the box, reading about limit × total / inside rows from the table;
 * `box-index` scans the box's part of the (location, created_at) index nearest a far-future
 * instant and reads only the rows it returns (0027_newest_in_box.sql). Measured on 1M incidents
 * (one client, 201 rows, bench/README.md): the box index takes 6–27 ms for any box, from a
 * street to the whole city; the walk 4–9 ms when the box holds a tenth of the incidents or more,
 * but 17–44 ms for the few thousand of a street map, and under load (W5, 50 clients) the walk
 * gave 14 req/s against 117. So the box index is used unless the walk would read fewer than ten
 * pages of rows, and not for a box holding less than one page (the planner's bitmap scan does).
 */
export type NewestInBoxPlan = 'created-index' | 'box-index';

export function newestInBoxPlan(inside: number | null, total: number, limit: number): NewestInBoxPlan {
  if (inside === null || total <= 0 || inside < limit) return 'created-index';
  return inside * 10 < total ? 'box-index' : 'created-index';
}

export async function chooseNewestInBoxPlan(
  db: Queryable,
  [minLon, minLat, maxLon, maxLat]: [number, number, number, number],
  limit: number,
): Promise<NewestInBoxPlan> {
  const { rows } = await db.query<{ inside: number | null; total: number | null }>({
    name: 'incidents.inBoxEstimate',
    text: `SELECT incidents_in_box_estimate(ST_MakeEnvelope($1, $2, $3, $4, 4326))::float8 AS inside,
                  (SELECT reltuples FROM pg_class WHERE oid = 'incidents'::regclass)::float8 AS total`,
    values: [minLon, minLat, maxLon, maxLat],
  });
  const row = rows[0];
  return newestInBoxPlan(row?.inside ?? null, row?.total ?? 0, limit);
}

/**
 * The box index orders by `created_at <-> NEWEST_ANCHOR`: seconds before the anchor as a float,
 * so rows whose created_at lie within the float's precision (microseconds for any date after
 * the year 1000; in practice only equal times) may come in either order. The page is put in
 * exact (created_at DESC, id DESC) order here, and when its last shown row lies within
 * TIE_WINDOW_US of the row after it, every row of that window is fetched again in exact order, so
 * a row is neither skipped nor shown twice across pages.
 */
const NEWEST_ANCHOR = `'2100-01-01T00:00:00Z'::timestamptz`;
const NEWEST_KNN = `(i.created_at <-> ${NEWEST_ANCHOR})`;
const TIE_WINDOW_US = 1000;

const newestFirst = (a: IncidentRow, b: IncidentRow) =>
  a.created_at > b.created_at ? -1 : a.created_at < b.created_at ? 1 : a.id > b.id ? -1 : a.id < b.id ? 1 : 0;

/** Microseconds since 1970 of a created_at as the list query writes it (…SS.ffffffZ). */
function micros(iso: string): number {
  return Date.parse(iso) * 1000 + Number(iso.slice(23, 26));
}

function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

async function listNewestInBox(db: Queryable, f: ListFilter): Promise<IncidentRow[]> {
  const query = buildListQuery(f, { newestInBox: true });
  const { rows } = await db.query<IncidentRow>(named(query));
  rows.sort(newestFirst);
  const n = rows.length;
  if (n < f.limit || n < 2) return rows;
  const last = micros(rows[n - 1]!.created_at);
  if (micros(rows[n - 2]!.created_at) - last > TIE_WINDOW_US) return rows;
  const window = { from: isoMicros(last - TIE_WINDOW_US), to: isoMicros(last + TIE_WINDOW_US) };
  const again = buildListQuery(f, { window });
  const { rows: group } = await db.query<IncidentRow>(named(again));
  const certain = rows.filter((r) => micros(r.created_at) > last + TIE_WINDOW_US);
  return [...certain, ...group].sort(newestFirst).slice(0, f.limit);
}

/** The distance sort key of a row, as the list query returned it. */
const keyOf = (row: IncidentRow): number => row.sort_distance ?? 0;

/**
 * How many rows beyond the page a nearest-first query may return to finish a tie at its end.
 * Rows at exactly the same distance (one pin reported again and again, addresses geocoded to
 * one point) come from the index in no particular order, so a page ending inside such a group
 * needs the whole group to put it in id order. The query asks for it (`WITH TIES`), up to this
 * many more rows; only a larger group takes a second query. The 1M benchmark has groups of up
 * to 56 at one point, and a second query for 7.6 % of W2's pages (4.4 % of W4's) put those
 * requests through the pool's queue twice.
 */
export const TIE_ROWS_BEYOND_PAGE = 100;

/**
 * Rows come nearest first, equal distances in index order, with every row that ties with the
 * page's last one (up to TIE_ROWS_BEYOND_PAGE more). Sorting them by (distance, id) and keeping
 * the page is exact; when the cap cut the tie short, the whole tie group is fetched in id order.
 */
async function orderTies(db: Queryable, f: ListFilter, rows: IncidentRow[]): Promise<IncidentRow[]> {
  const byKey = (a: IncidentRow, b: IncidentRow) => keyOf(a) - keyOf(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const n = rows.length;
  if (n < f.limit + TIE_ROWS_BEYOND_PAGE) return rows.sort(byKey).slice(0, f.limit);
  const tie = keyOf(rows[n - 1]!);
  const query = buildListQuery(f, { tieAt: tie });
  const { rows: group } = await db.query<IncidentRow>(named(query));
  return [...rows.filter((r) => keyOf(r) < tie).sort(byKey), ...group].slice(0, f.limit);
}

/**
 * Rows whose exact location this viewer may not see (sensitive categories, unless the viewer
 * reported it or is staff of its community; admins see all), as SQL; null when there are none.
 */
function blurredFor(v: Visibility, param: (value: unknown) => string): string | null {
  if (v.kind === 'all') return null;
  const exact: string[] = [];
  if (v.orReporterId) exact.push(`i.reporter_id = ${param(v.orReporterId)}`);
  if (v.orCommunityIds.length > 0) exact.push(`i.community_id = ANY(${param(v.orCommunityIds)}::uuid[])`);
  return exact.length === 0 ? 'c.sensitive' : `(c.sensitive AND NOT coalesce(${exact.join(' OR ')}, false))`;
}

/** The centre of the incident's blur cell, as presentIncident shows it. */
const cellCentre = (axis: string) =>
  `(floor(${axis}(i.location) / ${BLUR_CELL_DEG}) * ${BLUR_CELL_DEG} + ${BLUR_CELL_DEG / 2})`;
const BLURRED_POINT = `ST_SetSRID(ST_MakePoint(${cellCentre('ST_X')}, ${cellCentre('ST_Y')}), 4326)`;
/** a blur cell's diagonal, in metres of longitude at the equator (the widest it gets) */
const BLUR_MARGIN_M = Math.ceil(BLUR_CELL_DEG * Math.SQRT2 * 111_320);

/** The visibility predicate over `incidents i` as SQL (null: everything), its values added through `param`. */
export function visibilityCondition(v: Visibility, param: (value: unknown) => string): string | null {
  if (v.kind === 'all') return null;
  const alternatives = ['(i.is_public AND NOT i.hidden)'];
  if (v.orReporterId) alternatives.push(`i.reporter_id = ${param(v.orReporterId)}`);
  if (v.orCommunityIds.length > 0) alternatives.push(`i.community_id = ANY(${param(v.orCommunityIds)}::uuid[])`);
  return alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`;
}

interface ListQueryOptions {
  /** distance sorts: only the rows at exactly this distance, in id order (see orderTies) */
  tieAt?: number;
  /** newest first through the (location, created_at) index (see listNewestInBox) */
  newestInBox?: boolean;
  /** newest first: only rows created in this window, in exact order (see listNewestInBox) */
  window?: { from: string; to: string };
}

function buildListQuery(
  f: ListFilter,
  { tieAt, newestInBox = false, window }: ListQueryOptions = {},
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const where: string[] = [];
  let distanceExpr: string | null = null;
  // the distance the list is sorted by: from a point, on the column its GiST index orders by
  let sortFrom: { column: string; point: string } | null = null;

  // A sensitive incident is where the viewer is told it is: its blurred point decides whether it
  // is near or in the box, unless the viewer may see the exact one. Filtering by the exact point
  // would let anyone find it by shrinking a radius around it.
  const hideExact = f.near || f.bbox ? blurredFor(f.visibility, param) : null;

  if (f.near) {
    const [lon, lat, radius] = [param(f.near.lon), param(f.near.lat), param(f.near.radius)];
    const point = `ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326)::geography`;
    // the same projection as the incidents.location_m column (see 0001_core.sql)
    const pointM = `ST_SetSRID(ST_MakePoint(radians(${lon}::float8) * 6378137, ln(tan(pi() / 4 + radians(${lat}::float8) / 2)) * 6378137), 3857)`;
    // Mercator stretches lengths by 1/cos(latitude): the box must be that much larger; and a
    // blur cell's diagonal more where blurred points count
    const margin = hideExact ? ` + ${BLUR_MARGIN_M}` : '';
    const radiusM = `((${radius}::float8${margin}) / cos(radians(${lat}::float8)) * 1.01)`;
    distanceExpr = `(i.location::geography <-> ${point})`;
    sortFrom = { column: 'i.location_m', point: pointM };
    where.push(
      `i.location_m && ST_Expand(${pointM}, ${radiusM})`,
      hideExact
        ? `CASE WHEN ${hideExact} THEN (${BLURRED_POINT}::geography <-> ${point}) <= ${radius}::float8
                ELSE ${distanceExpr} <= ${radius}::float8 END`
        : `${distanceExpr} <= ${radius}::float8`,
    );
  }
  if (f.bbox) {
    const [a, b, c, d] = f.bbox.map((n) => param(n));
    const box = `ST_MakeEnvelope(${a}, ${b}, ${c}, ${d}, 4326)`;
    if (hideExact) {
      where.push(
        `i.location && ST_Expand(${box}, ${BLUR_CELL_DEG})`,
        `CASE WHEN ${hideExact} THEN ${BLURRED_POINT} && ${box} ELSE i.location && ${box} END`,
      );
    } else {
      where.push(`i.location && ${box}`);
    }
    if (!f.near) {
      // "nearest the middle of the map first": planar, on the geometry index the box uses
      sortFrom = {
        column: 'i.location',
        point: `ST_SetSRID(ST_MakePoint((${a}::float8 + ${c}::float8) / 2, (${b}::float8 + ${d}::float8) / 2), 4326)`,
      };
    }
  }
  if (f.statuses) where.push(`i.status = ANY(${param(f.statuses)}::incident_status[])`);
  if (f.priorities) where.push(`i.priority = ANY(${param(f.priorities)}::incident_priority[])`);
  if (f.categorySlugs) where.push(`c.slug = ANY(${param(f.categorySlugs)}::text[])`);
  if (f.q) {
    const like = `%${f.q.text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    where.push(
      f.q.reference
        ? `(i.title ILIKE ${param(like)} OR i.reference = ${param(f.q.reference)})`
        : `i.title ILIKE ${param(like)}`,
    );
  }
  if (f.communityId) {
    // the community and every community nested inside it
    where.push(`i.community_id IN (
      WITH RECURSIVE tree AS (
        SELECT id FROM communities WHERE id = ${param(f.communityId)}
        UNION ALL SELECT m.id FROM communities m JOIN tree ON m.parent_id = tree.id)
      SELECT id FROM tree)`);
  }
  if (f.since) where.push(`i.created_at >= ${param(f.since)}::timestamptz`);
  if (f.until) where.push(`i.created_at < ${param(f.until)}::timestamptz`);
  if (f.reporterId) where.push(`i.reporter_id = ${param(f.reporterId)}`);
  if (f.assigneeId) where.push(`i.assignee_id = ${param(f.assigneeId)}`);
  if (f.overdue) where.push(overdueCondition(f.overdue, param));

  const visible = visibilityCondition(f.visibility, param);
  if (visible) where.push(visible);

  const sortDistanceExpr = sortFrom ? `(${sortFrom.column} <-> ${sortFrom.point})` : null;
  let order: string;
  const after = f.after;
  switch (f.sort) {
    case 'distance': {
      if (!sortFrom || !sortDistanceExpr) throw new Error('distance sort needs near or bbox');
      if (after) where.push(`(${sortDistanceExpr}, i.id) > (${param(after[0])}::float8, ${param(after[1])}::uuid)`);
      if (tieAt === undefined) {
        order = sortDistanceExpr;
      } else {
        // Every row of the tie lies in the square of half-side `tie` around the point (a hair
        // wider against rounding): the index finds them there. Without it the rows were looked
        // for among every candidate of the radius or box: 169 ms in a hot spot, where 100 reports
        // at one spot made most nearest-first pages end in a tie.
        const tie = param(tieAt);
        where.push(
          `${sortFrom.column} && ST_Expand(${sortFrom.point}, ${tie}::float8 * 1.000001 + 0.000001)`,
          `${sortDistanceExpr} = ${tie}::float8`,
        );
        order = 'i.id';
      }
      break;
    }
    case 'createdAt':
      order = 'i.created_at, i.id';
      if (after) where.push(`(i.created_at, i.id) > (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)`);
      break;
    case '-priority':
      order = 'i.priority DESC, i.created_at DESC, i.id DESC';
      if (after) {
        where.push(
          `(i.priority, i.created_at, i.id) < (${param(after[0])}::incident_priority, ${param(after[1])}::timestamptz, ${param(after[2])}::uuid)`,
        );
      }
      break;
    default:
      order = newestInBox ? NEWEST_KNN : 'i.created_at DESC, i.id DESC';
      if (after) where.push(`(i.created_at, i.id) < (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)`);
      if (window) {
        where.push(`i.created_at BETWEEN ${param(window.from)}::timestamptz AND ${param(window.to)}::timestamptz`);
      }
  }

  const extra = [
    ...(distanceExpr ? [`${distanceExpr} AS distance`] : []),
    ...(sortDistanceExpr && f.sort === 'distance' ? [`${sortDistanceExpr} AS sort_distance`] : []),
  ];
  const text = `${SELECT}${extra.map((column) => `, ${column}`).join('')}
    ${FROM}
    ${where.length > 0 ? `WHERE ${where.join('\n      AND ')}` : ''}
    ORDER BY ${order}`;
  if (f.sort === 'distance' && tieAt === undefined) {
    // the page and the rows tying with its last one; the outer LIMIT stops the scan at the cap,
    // taking the rows in the order the inner query yields them (see orderTies)
    const page = `${text}\n    FETCH FIRST ${param(f.limit)} ROWS WITH TIES`;
    return { text: `SELECT * FROM (${page}) page LIMIT ${param(f.limit + TIE_ROWS_BEYOND_PAGE)}`, values };
  }
  return { text: `${text}\n    LIMIT ${param(f.limit)}`, values };
}

/** Whether a moderator has redacted the incident's title or description (its timeline says so). */
export async function wasRedacted(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ redacted: boolean }>({
    text: `SELECT EXISTS (SELECT 1 FROM incident_events WHERE incident_id = $1 AND type = 'redacted') AS redacted`,
    values: [id],
  });
  return rows[0]?.redacted === true;
}
