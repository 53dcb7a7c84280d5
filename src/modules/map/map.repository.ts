import type { Queryable } from '../../platform/db/database.js';
import { statementName } from '../../platform/db/statement-name.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';
import type { Status } from '../incidents/incidents.schemas.js';

/** A rollup cell (migration 0026) is this many blur cells wide and high. */
export const ROLLUP_FACTOR = 8;

export interface ClusterFilter {
  /** grid cells are `factor` blur cells (BLUR_CELL_DEG) wide and high, a power of two */
  factor: number;
  /** the grid cells asked for, inclusive: [gx0, gy0, gx1, gy1] */
  cells: [number, number, number, number];
  statuses: Status[] | null;
  categorySlugs: string[] | null;
  since: string | null;
  until: string | null;
}

/** One status of one grid cell. lon/lat: sums to divide by n (mean location). */
export interface ClusterRow {
  gx: number;
  gy: number;
  status: Status;
  n: number;
  lon_sum: number;
  lat_sum: number;
  /** the incident, when this row counts exactly one (incidents path only) */
  id: string | null;
  reference: string | null;
}

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/**
 * From the rollup (0026): cells of ROLLUP_FACTOR blur cells, folded and not yet folded, grouped
 * into the grid's cells. Only for factors that are multiples of ROLLUP_FACTOR and no dates.
 * Locations are blur-cell centres, sensitive or not (the rollup keeps no exact point).
 */
export async function clustersFromRollup(db: Queryable, f: ClusterFilter): Promise<ClusterRow[]> {
  const p = new Params();
  const k = f.factor / ROLLUP_FACTOR;
  const [gx0, gy0, gx1, gy1] = f.cells;
  const where = (alias: string) => {
    const w = [
      `${alias}.cx >= ${p.add(gx0 * k)}`,
      `${alias}.cx < ${p.add((gx1 + 1) * k)}`,
      `${alias}.cy >= ${p.add(gy0 * k)}`,
      `${alias}.cy < ${p.add((gy1 + 1) * k)}`,
    ];
    if (f.statuses) w.push(`${alias}.status = ANY(${p.add(f.statuses)}::incident_status[])`);
    if (f.categorySlugs)
      w.push(`${alias}.category_id IN (SELECT id FROM categories WHERE slug = ANY(${p.add(f.categorySlugs)}::text[]))`);
    return w.join(' AND ');
  };
  const kk = p.add(k);
  const text = `
    SELECT floor(r.cx::float8 / ${kk})::integer AS gx, floor(r.cy::float8 / ${kk})::integer AS gy, r.status,
           sum(r.n)::integer AS n,
           ((sum(r.sbx)::float8 + sum(r.n) * 0.5) * ${BLUR_CELL_DEG}) AS lon_sum,
           ((sum(r.sby)::float8 + sum(r.n) * 0.5) * ${BLUR_CELL_DEG}) AS lat_sum,
           NULL::uuid AS id, NULL::text AS reference
    FROM (SELECT m.cx, m.cy, m.status, m.n, m.sbx, m.sby FROM incident_map_cells m WHERE ${where('m')}
          UNION ALL
          SELECT d.cx, d.cy, d.status, d.n, d.sbx, d.sby FROM incident_map_delta d WHERE ${where('d')}) r
    GROUP BY 1, 2, 3
    HAVING sum(r.n) > 0`;
  const { rows } = await db.query<ClusterRow>({ name: statementName(text), text, values: p.values });
  return rows;
}

/**
 * From the incidents themselves, in the grid's cells (any factor, any filter). A sensitive
 * incident counts where its blurred point is, and adds its blur-cell centre to the mean: the
 * grid is aligned with the blur grid, so the exact point and the blurred one share a cell.
 */
export async function clustersFromIncidents(db: Queryable, f: ClusterFilter): Promise<ClusterRow[]> {
  const p = new Params();
  const [gx0, gy0, gx1, gy1] = f.cells;
  const [bx0, by0, bx1, by1] = [gx0 * f.factor, gy0 * f.factor, (gx1 + 1) * f.factor, (gy1 + 1) * f.factor];
  // the box on the GiST index, a hair wider than the cells: membership is decided by the indices
  const eps = 1e-9;
  const envelope = `ST_MakeEnvelope(${p.add(bx0 * BLUR_CELL_DEG - eps)}, ${p.add(by0 * BLUR_CELL_DEG - eps)},
                                    ${p.add(bx1 * BLUR_CELL_DEG + eps)}, ${p.add(by1 * BLUR_CELL_DEG + eps)}, 4326)`;
  const where = [
    `i.location && ${envelope}`,
    'i.is_public AND NOT i.hidden',
    `b.bx >= ${p.add(bx0)} AND b.bx < ${p.add(bx1)} AND b.by >= ${p.add(by0)} AND b.by < ${p.add(by1)}`,
  ];
  if (f.statuses) where.push(`i.status = ANY(${p.add(f.statuses)}::incident_status[])`);
  if (f.categorySlugs) where.push(`c.slug = ANY(${p.add(f.categorySlugs)}::text[])`);
  if (f.since) where.push(`i.created_at >= ${p.add(f.since)}::timestamptz`);
  if (f.until) where.push(`i.created_at < ${p.add(f.until)}::timestamptz`);
  const factor = p.add(f.factor);
  const text = `
    SELECT floor(b.bx::float8 / ${factor})::integer AS gx, floor(b.by::float8 / ${factor})::integer AS gy, i.status,
           count(*)::integer AS n,
           sum(CASE WHEN c.sensitive THEN (b.bx + 0.5) * ${BLUR_CELL_DEG} ELSE ST_X(i.location) END) AS lon_sum,
           sum(CASE WHEN c.sensitive THEN (b.by + 0.5) * ${BLUR_CELL_DEG} ELSE ST_Y(i.location) END) AS lat_sum,
           CASE WHEN count(*) = 1 THEN min(i.id::text) END AS id,
           CASE WHEN count(*) = 1 THEN min(i.reference) END AS reference
    FROM incidents i
    JOIN categories c ON c.id = i.category_id,
    LATERAL (SELECT floor(ST_X(i.location) / ${BLUR_CELL_DEG})::integer AS bx,
                    floor(ST_Y(i.location) / ${BLUR_CELL_DEG})::integer AS by) b
    WHERE ${where.join('\n      AND ')}
    GROUP BY 1, 2, 3`;
  const { rows } = await db.query<ClusterRow>({ name: statementName(text), text, values: p.values });
  return rows;
}

/** Folds at most maxRows pending deltas (migration 0028); returns how many it folded. */
export async function compactMapCells(db: Queryable, maxRows: number): Promise<number> {
  const { rows } = await db.query<{ folded: string }>({
    name: 'map_compact',
    text: 'SELECT incident_map_compact($1) AS folded',
    values: [maxRows],
  });
  return Number(rows[0]?.folded ?? 0);
}

/**
 * A value that changes whenever an incident changes in a way the public counts see (status,
 * place, category, visibility, created or deleted), however it was written (API, job, CLI,
 * import): the sequences of the stats and map delta tables, which the triggers draw from on
 * every such change. The response cache keys on it, so such writes are seen at once.
 */
export async function countedChangeStamp(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ stamp: string }>({
    name: 'map_change_stamp',
    text: `SELECT (SELECT last_value FROM incident_stats_delta_id_seq) || '.' ||
                  (SELECT last_value FROM incident_map_delta_id_seq) AS stamp`,
  });
  return rows[0]?.stamp ?? '';
}
