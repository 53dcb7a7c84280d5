import type { Database } from '../../platform/db/database.js';
import { invalid, type FieldError } from '../../platform/http/errors.js';
import { parseCommaList } from '../../platform/http/query-lists.js';
import { BLUR_CELL_DEG } from '../incidents/incidents.presenter.js';
import { STATUSES, type Status } from '../incidents/incidents.schemas.js';
import { foldBatchRows, foldInBatches } from '../../platform/jobs/batches.js';
import * as repo from './map.repository.js';
import type { Cluster, ClusterList, ClustersQuery } from './map.schemas.js';

/** A cluster cell is about this many screen pixels wide (256-pixel tiles: a quarter tile). */
const CELL_PX = 64;
/** More cells than this in one answer is a client asking a world-sized box at street zoom. */
export const MAX_CELLS = 10_000;

/**
 * The grid for a zoom: cells of ~CELL_PX pixels, rounded to a power of two times the blur cell,
 * so every grid is aligned with the blur grid (a sensitive incident's exact and blurred points
 * share a cell) and with the rollup's cells.
 */
export function gridFactor(zoom: number): number {
  const cellDeg = (360 / 2 ** zoom) * (CELL_PX / 256);
  return 2 ** Math.max(0, Math.round(Math.log2(cellDeg / BLUR_CELL_DEG)));
}

/** The highest zoom the rollup answers (see listClusters). */
export const ROLLUP_MAX_ZOOM = 14;

function regrid(q: ClustersQuery, factor: number): repo.ClusterFilter {
  return parseClustersQuery(q, factor);
}

export function parseClustersQuery(q: ClustersQuery, factorOverride?: number): repo.ClusterFilter {
  const errors: FieldError[] = [];
  const parts = q.bbox.split(',').map((s) => s.trim());
  const box = parts.map(Number);
  const validBox =
    parts.length === 4 &&
    parts.every((s) => s !== '' && Number.isFinite(Number(s))) &&
    box[0]! < box[2]! &&
    box[1]! < box[3]! &&
    box.every((n, i) => Math.abs(n) <= (i % 2 === 0 ? 180 : 90));
  const factor = factorOverride ?? gridFactor(q.zoom);
  const cellDeg = factor * BLUR_CELL_DEG;
  let cells: repo.ClusterFilter['cells'] = [0, 0, 0, 0];
  if (!validBox) {
    errors.push({ path: '/query/bbox', message: 'validation.bbox' });
  } else {
    cells = [
      Math.floor(box[0]! / cellDeg),
      Math.floor(box[1]! / cellDeg),
      Math.floor(box[2]! / cellDeg),
      Math.floor(box[3]! / cellDeg),
    ];
    if ((cells[2] - cells[0] + 1) * (cells[3] - cells[1] + 1) > MAX_CELLS) {
      errors.push({ path: '/query/bbox', message: 'validation.bbox_too_large', params: { max: MAX_CELLS } });
    }
  }
  const statuses = parseCommaList<Status>(q.status, STATUSES, '/query/status', errors);
  const categorySlugs = parseCommaList<string>(q.category, null, '/query/category', errors);
  if (errors.length > 0) throw invalid(errors);
  return { factor, cells, statuses, categorySlugs, since: q.since ?? null, until: q.until ?? null };
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * Public incidents (not hidden, not held for approval) counted per grid cell of the box. The
 * same answer for every viewer (staff see their other reports in the list, not on this layer),
 * so it may be cached and shared.
 */
export async function listClusters(db: Database, query: ClustersQuery): Promise<ClusterList> {
  const parsed = parseClustersQuery(query);
  // Up to zoom 14 a view holds up to ~200,000 of a million incidents (seconds to aggregate), so
  // the rollup answers, its ~2 km cells standing in for finer ones at zoom 13–14. Dates are not
  // in the rollup: those go to the incidents, as do street zooms (a few thousand rows).
  const fromRollup = query.zoom <= ROLLUP_MAX_ZOOM && parsed.since === null && parsed.until === null;
  const f = fromRollup && parsed.factor < repo.ROLLUP_FACTOR ? regrid(query, repo.ROLLUP_FACTOR) : parsed;
  const rows = fromRollup ? await repo.clustersFromRollup(db, f) : await repo.clustersFromIncidents(db, f);

  const byCell = new Map<string, { gx: number; gy: number; rows: repo.ClusterRow[] }>();
  for (const row of rows) {
    const key = `${row.gx}:${row.gy}`;
    let cell = byCell.get(key);
    if (!cell) byCell.set(key, (cell = { gx: row.gx, gy: row.gy, rows: [] }));
    cell.rows.push(row);
  }
  const cellDeg = f.factor * BLUR_CELL_DEG;
  const items: Cluster[] = [];
  let total = 0;
  for (const { gx, gy, rows: cellRows } of byCell.values()) {
    let count = 0;
    let lon = 0;
    let lat = 0;
    const statuses: Cluster['statuses'] = {};
    for (const r of cellRows) {
      count += r.n;
      lon += Number(r.lon_sum);
      lat += Number(r.lat_sum);
      statuses[r.status] = r.n;
    }
    total += count;
    const cluster: Cluster = {
      coordinates: [round6(lon / count), round6(lat / count)],
      count,
      statuses,
      bounds: [round6(gx * cellDeg), round6(gy * cellDeg), round6((gx + 1) * cellDeg), round6((gy + 1) * cellDeg)],
    };
    const single = cellRows[0]!;
    if (count === 1 && single.id && single.reference) {
      cluster.incident = { id: single.id, reference: single.reference, status: single.status };
    }
    items.push(cluster);
  }
  // biggest first, then by place: a stable order, so equal answers are equal bytes (ETags)
  items.sort((a, b) => b.count - a.count || a.bounds[0]! - b.bounds[0]! || a.bounds[1]! - b.bounds[1]!);
  return { zoom: query.zoom, cellSize: round6(cellDeg), source: fromRollup ? 'rollup' : 'incidents', total, items };
}

export async function compactClusters(db: Database): Promise<number> {
  return foldInBatches((maxRows) => repo.compactMapCells(db, maxRows), foldBatchRows(db.kind));
}
