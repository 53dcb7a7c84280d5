import type { Queryable } from '../../platform/db/database.js';
import { statementName } from '../../platform/db/statement-name.js';
import type { Translations } from '../categories/categories.schemas.js';
import type { Visibility } from '../incidents/incidents.policy.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';

/**
 * Statistics over the rollups of migration 0021: `incident_stats_weekly` (folded) plus
 * `incident_stats_delta` (not yet folded), per ISO week of creation. Metric 0 counts statuses
 * (value = position in STATUSES), metrics 1 and 2 are histograms of the time to acknowledge and
 * to resolve (value = bucket b: 2^(b/2) .. 2^((b+1)/2) seconds).
 */
export const METRIC_STATUS = 0;
export const METRIC_ACK = 1;
export const METRIC_RESOLVE = 2;

export interface StatsFilter {
  /** null: every community (and incidents outside any); else exactly these (see communityTree) */
  communityIds: string[] | null;
  /** null: every category (see categoryIds: slugs are looked up first, like communities) */
  categoryIds: string[] | null;
  since: Date | null;
  until: Date | null;
  /** is_public AND NOT hidden only (the public summary) */
  publicOnly: boolean;
}

export interface AggregateRow {
  metric: number;
  /** which grouping this row is: 'value' | 'community' | 'category' | 'week' */
  grouping: 'value' | 'community' | 'category' | 'week';
  value: number | null;
  community_id: string | null;
  category_id: string | null;
  /** YYYY-MM-DD, a Monday */
  week: string | null;
  n: number;
}

/**
 * Where the time range falls on week boundaries: whole weeks come from the rollup, the rest
 * (the partial weeks at either end) from `incidents` itself, so counts are exact for any
 * since/until while reading at most two weeks of incidents.
 */
export interface WeekSplit {
  /** whole weeks: week >= fullFrom (null: from the start) and week < fullTo (null: no end) */
  fullFrom: string | null;
  fullTo: string | null;
  /** created_at ranges [from, to) read from incidents */
  edges: Array<[Date, Date]>;
  /** false when the range holds no whole week at all */
  anyFull: boolean;
}

const WEEK_MS = 7 * 86_400_000;

/** The Monday 00:00 UTC at or before `d`. */
export function weekStart(d: Date): Date {
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
  return new Date(day - weekday * 86_400_000);
}

export function splitWeeks(since: Date | null, until: Date | null): WeekSplit {
  const isoDay = (d: Date) => d.toISOString().slice(0, 10);
  let fullFrom: Date | null = null;
  if (since) {
    const start = weekStart(since);
    fullFrom = start.getTime() === since.getTime() ? start : new Date(start.getTime() + WEEK_MS);
  }
  const fullTo = until ? weekStart(until) : null;
  if (since && until && fullFrom && fullTo && fullFrom.getTime() >= fullTo.getTime()) {
    return { fullFrom: null, fullTo: null, edges: since < until ? [[since, until]] : [], anyFull: false };
  }
  const edges: Array<[Date, Date]> = [];
  if (since && fullFrom && since < fullFrom) edges.push([since, fullFrom]);
  if (until && fullTo && fullTo < until) edges.push([fullTo, until]);
  return {
    fullFrom: fullFrom ? isoDay(fullFrom) : null,
    fullTo: fullTo ? isoDay(fullTo) : null,
    edges,
    anyFull: true,
  };
}

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** Conditions on community, category and public-ness, over a table aliased `alias`. */
function scopeConditions(f: StatsFilter, p: Params, alias: string, publicColumn: string): string[] {
  const where: string[] = [];
  // the ids themselves (see communityTree), not a subquery: the planner then estimates the
  // share of rows well and reads one community's rows through its index
  if (f.communityIds) where.push(`${alias}.community_id = ANY(${p.add(f.communityIds)}::uuid[])`);
  if (f.categoryIds) where.push(`${alias}.category_id = ANY(${p.add(f.categoryIds)}::uuid[])`);
  if (f.publicOnly) where.push(publicColumn);
  return where;
}

/** The rows of the range, with `metric` = the one given, or (null) the duration metrics. */
function sourceSql(f: StatsFilter, p: Params, metric: number | null): string {
  const metricIs = (column: string) =>
    metric === null ? `${column} IN (${METRIC_ACK}, ${METRIC_RESOLVE})` : `${column} = ${metric}`;
  const split = splitWeeks(f.since, f.until);
  const parts: string[] = [];
  if (split.anyFull) {
    for (const table of ['incident_stats_weekly', 'incident_stats_delta']) {
      const where = [metricIs('r.metric'), ...scopeConditions(f, p, 'r', 'r.public')];
      if (split.fullFrom) where.push(`r.week >= ${p.add(split.fullFrom)}::date`);
      if (split.fullTo) where.push(`r.week < ${p.add(split.fullTo)}::date`);
      parts.push(`SELECT r.week, r.community_id, r.category_id, r.metric, r.value, r.n FROM ${table} r
        WHERE ${where.join(' AND ')}`);
    }
  }
  if (split.edges.length > 0) {
    const where = scopeConditions(f, p, 'i', '(i.is_public AND NOT i.hidden)');
    const ranges = split.edges.map(
      ([from, to]) =>
        `(i.created_at >= ${p.add(from.toISOString())}::timestamptz AND i.created_at < ${p.add(to.toISOString())}::timestamptz)`,
    );
    where.push(ranges.length === 1 ? ranges[0]! : `(${ranges.join(' OR ')})`, metricIs('k.metric'));
    parts.push(`SELECT date_trunc('week', i.created_at AT TIME ZONE 'UTC')::date AS week, i.community_id, i.category_id,
                       k.metric, k.value, 1 AS n
      FROM incidents i, LATERAL incident_stats_keys(i.created_at, i.acknowledged_at, i.resolved_at, i.status) k
      WHERE ${where.join(' AND ')}`);
  }
  return parts.length > 0
    ? parts.join('\nUNION ALL\n')
    : 'SELECT NULL::date AS week, NULL::uuid AS community_id, NULL::uuid AS category_id, 0::smallint AS metric, 0::smallint AS value, 0 AS n WHERE false';
}

/** The duration histograms of all time: the weekless rollup and the deltas not yet folded. */
function allTimeSql(f: StatsFilter, p: Params): string {
  const where = (alias: string) =>
    [`${alias}.metric IN (${METRIC_ACK}, ${METRIC_RESOLVE})`, ...scopeConditions(f, p, alias, `${alias}.public`)].join(
      ' AND ',
    );
  return `SELECT t.metric, t.value, t.n FROM incident_stats_total t WHERE ${where('t')}
    UNION ALL SELECT d.metric, d.value, d.n FROM incident_stats_delta d WHERE ${where('d')}`;
}

/**
 * Every count the stats need, in two statements run side by side (each reads its own partition
 * of the rollup): status counts in total and by community, category and week; and the duration
 * histograms in total.
 */
export async function aggregate(db: Queryable, f: StatsFilter): Promise<AggregateRow[]> {
  const status = new Params();
  const statusText = `WITH src AS (${sourceSql(f, status, METRIC_STATUS)})
    SELECT ${METRIC_STATUS} AS metric,
           CASE WHEN GROUPING(value) = 0 THEN 'value' WHEN GROUPING(community_id) = 0 THEN 'community'
                WHEN GROUPING(category_id) = 0 THEN 'category' ELSE 'week' END AS grouping,
           value, community_id, category_id, to_char(week, 'YYYY-MM-DD') AS week, sum(n)::bigint AS n
    FROM src
    GROUP BY GROUPING SETS ((value), (community_id), (category_id), (week))
    HAVING sum(n) <> 0`;
  const durations = new Params();
  // all time: the rollup without weeks, a few thousand rows (see incident_stats_total)
  const durationsSource =
    f.since === null && f.until === null ? allTimeSql(f, durations) : sourceSql(f, durations, null);
  const durationsText = `WITH src AS (${durationsSource})
    SELECT metric, 'value' AS grouping, value, NULL AS community_id, NULL AS category_id, NULL AS week,
           sum(n)::bigint AS n
    FROM src GROUP BY metric, value HAVING sum(n) <> 0`;
  const [a, b] = await Promise.all([
    db.query<AggregateRow>({ name: statementName(statusText), text: statusText, values: status.values }),
    db.query<AggregateRow>({ name: statementName(durationsText), text: durationsText, values: durations.values }),
  ]);
  return [...a.rows, ...b.rows];
}

/**
 * Exact percentiles (continuous, interpolated) of the time to acknowledge and to resolve, from
 * `incidents` itself: for sets small enough to sort quickly.
 */
export async function exactPercentiles(
  db: Queryable,
  f: StatsFilter,
): Promise<{ ack: [number, number] | null; resolve: [number, number] | null }> {
  const p = new Params();
  const where = scopeConditions(f, p, 'i', '(i.is_public AND NOT i.hidden)');
  if (f.since) where.push(`i.created_at >= ${p.add(f.since.toISOString())}::timestamptz`);
  if (f.until) where.push(`i.created_at < ${p.add(f.until.toISOString())}::timestamptz`);
  where.push(`i.acknowledged_at IS NOT NULL`);
  const text = `SELECT
      percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM i.acknowledged_at - i.created_at)::float8) AS ack,
      percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM i.resolved_at - i.created_at)::float8)
        FILTER (WHERE i.resolved_at IS NOT NULL AND i.status IN ('resolved', 'closed')) AS resolve
    FROM incidents i WHERE ${where.join(' AND ')}`;
  const { rows } = await db.query<{ ack: number[] | null; resolve: number[] | null }>({
    name: statementName(text),
    text,
    values: p.values,
  });
  const pair = (v: number[] | null | undefined): [number, number] | null =>
    v && v.length === 2 && v[0] !== null && v[1] !== null ? [Number(v[0]), Number(v[1])] : null;
  return { ack: pair(rows[0]?.ack), resolve: pair(rows[0]?.resolve) };
}

/**
 * Open incidents past their SLA due dates at `now` (columns of migration 0020). The conditions
 * repeat the partial indexes' predicates word for word so the planner can use them.
 */
export async function overdueCounts(
  db: Queryable,
  f: StatsFilter,
  now: Date,
): Promise<{ acknowledge: number; resolve: number }> {
  const p = new Params();
  const where = scopeConditions(f, p, 'i', '(i.is_public AND NOT i.hidden)');
  if (f.since) where.push(`i.created_at >= ${p.add(f.since.toISOString())}::timestamptz`);
  if (f.until) where.push(`i.created_at < ${p.add(f.until.toISOString())}::timestamptz`);
  const scope = where.length > 0 ? ` AND ${where.join(' AND ')}` : '';
  const at = p.add(now.toISOString());
  const text = `SELECT
      (SELECT count(*) FROM incidents i WHERE i.status = 'reported' AND i.ack_due_at IS NOT NULL
         AND i.ack_due_at < ${at}::timestamptz${scope}) AS acknowledge,
      (SELECT count(*) FROM incidents i WHERE i.status IN ('reported', 'acknowledged', 'in_progress')
         AND i.resolve_due_at IS NOT NULL AND i.resolve_due_at < ${at}::timestamptz${scope}) AS resolve`;
  const { rows } = await db.query<{ acknowledge: number; resolve: number }>({
    name: statementName(text),
    text,
    values: p.values,
  });
  return { acknowledge: Number(rows[0]?.acknowledge ?? 0), resolve: Number(rows[0]?.resolve ?? 0) };
}

export interface CategoryRow {
  id: string;
  slug: string;
  name: Translations;
}

export async function categoriesByIds(db: Queryable, ids: string[]): Promise<Map<string, CategoryRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<CategoryRow>({
    name: 'stats.categories',
    text: 'SELECT id, slug, name FROM categories WHERE id = ANY($1::uuid[])',
    values: [ids],
  });
  return new Map(rows.map((r) => [r.id, r]));
}

export async function communityNames(db: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; name: string }>({
    name: 'stats.communityNames',
    text: 'SELECT id, name FROM communities WHERE id = ANY($1::uuid[])',
    values: [ids],
  });
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * Folds at most maxRows stats deltas and maxRows heat deltas into the rollups (migrations 0021,
 * 0028); returns the larger of the two counts folded.
 */
export async function compactBatch(db: Queryable, maxRows: number): Promise<number> {
  const { rows } = await db.query<{ folded: number }>({
    name: 'stats.compact',
    text: 'SELECT incident_stats_compact($1) AS folded',
    values: [maxRows],
  });
  return Number(rows[0]?.folded ?? 0);
}

export interface HeatCell {
  col: number;
  row: number;
  count: number;
}

/**
 * Counts per grid cell over the heat cells (the 250 m blur grid) whose centre lies in the box.
 * `visibility` as the incident list has it: the public's heat map counts public reports, staff
 * add their communities' others, admins everything.
 */
export async function heatmap(
  db: Queryable,
  box: [number, number, number, number],
  cells: number,
  visibility: Visibility,
): Promise<HeatCell[]> {
  const p = new Params();
  const d = BLUR_CELL_DEG;
  // the heat cells whose centre ((c + 0.5) × d) lies in [min, max), as integer ranges: plain
  // conditions the planner estimates well (float expressions here made it sort on disk)
  const first = (min: number) => Math.ceil(min / d - 0.5);
  const last = (max: number) => Math.ceil(max / d - 0.5) - 1;
  const [minLon, minLat, maxLon, maxLat] = box;
  const cx = [p.add(first(minLon)), p.add(last(maxLon))];
  const cy = [p.add(first(minLat)), p.add(last(maxLat))];
  const n = p.add(cells);
  const index = (c: string, min: number, max: number) =>
    `least(${n}::int - 1, floor(((h.${c}::float8 + 0.5::float8) * ${d}::float8 - ${p.add(min)}::float8) / ${p.add(max - min)}::float8 * ${n}::int)::int)`;
  let visible = '';
  if (visibility.kind !== 'all') {
    visible =
      visibility.orCommunityIds.length > 0
        ? ` AND (public OR community_id = ANY(${p.add(visibility.orCommunityIds)}::uuid[]))`
        : ' AND public';
  }
  const where = `cx BETWEEN ${cx[0]}::int AND ${cx[1]}::int AND cy BETWEEN ${cy[0]}::int AND ${cy[1]}::int${visible}`;
  const text = `SELECT ${index('cx', minLon, maxLon)} AS col, ${index('cy', minLat, maxLat)} AS row, sum(h.n)::bigint AS count
    FROM (SELECT cx, cy, n FROM incident_heat_cells WHERE ${where}
          UNION ALL SELECT cx, cy, n FROM incident_heat_delta WHERE ${where}) h
    GROUP BY 1, 2 HAVING sum(h.n) > 0
    ORDER BY 2, 1`;
  const { rows } = await db.query<HeatCell>({ name: statementName(text), text, values: p.values });
  return rows.map((r) => ({ col: r.col, row: r.row, count: Number(r.count) }));
}

/** The ids of these category slugs (unknown slugs match nothing, as in the incident list). */
export async function categoryIds(db: Queryable, slugs: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'stats.categoryIds',
    text: 'SELECT id FROM categories WHERE slug = ANY($1::text[])',
    values: [slugs],
  });
  return rows.map((r) => r.id);
}

/** These communities and every community nested inside them. */
export async function communityTree(db: Queryable, roots: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'stats.communityTree',
    text: `WITH RECURSIVE tree AS (
             SELECT id FROM communities WHERE id = ANY($1::uuid[])
             UNION SELECT m.id FROM communities m JOIN tree ON m.parent_id = tree.id)
           SELECT id FROM tree`,
    values: [roots],
  });
  return rows.map((r) => r.id);
}

export async function communityExists(db: Queryable, id: string): Promise<{ id: string; name: string } | null> {
  const { rows } = await db.query<{ id: string; name: string }>({
    name: 'stats.community',
    text: 'SELECT id, name FROM communities WHERE id = $1',
    values: [id],
  });
  return rows[0] ?? null;
}
