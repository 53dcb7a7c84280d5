import { beforeAll, describe, expect, it } from 'vitest';
import { as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { backend, recordingDatabase } from '../../../test/helpers/database.js';
import { blurredPoint } from '../incidents/incidents.presenter.js';
import { foldInBatches } from '../../platform/jobs/batches.js';
import { compactMapCells } from './map.repository.js';
import { compactClusters, gridFactor } from './map.service.js';
import type { ClusterList } from './map.schemas.js';

/**
 * Map clusters on the rollup (low zoom: before and after folding the deltas) and on the
 * incidents (high zoom, dates). Requests are signed in: signed-in answers are never taken from
 * the shared response cache, and these tests change rows behind the API's back.
 */
const h = useTestApp();
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const WATER = 'ffa6c8d8-de96-46b5-8eba-9c1cb21bc738';
const CRIME = '2a2a2bac-6c2c-43aa-9055-331961a12d78'; // sensitive

/**
 * At zoom 10 the grid is 32 blur cells (0.072°): lon 28.008–28.08, lat −26.136 to −26.064 is one
 * cell ("A"); (28.2, −26.1) is in another ("B").
 */
const FIXTURE: Array<{
  key: string;
  lon: number;
  lat: number;
  category: string;
  status: string;
  isPublic?: boolean;
  hidden?: boolean;
}> = [
  { key: 'p1', lon: 28.02, lat: -26.1, category: POTHOLE, status: 'reported' },
  { key: 'p2', lon: 28.03, lat: -26.1, category: POTHOLE, status: 'acknowledged' },
  { key: 'p3', lon: 28.05, lat: -26.11, category: WATER, status: 'resolved' },
  { key: 'hidden', lon: 28.04, lat: -26.1, category: POTHOLE, status: 'reported', hidden: true },
  { key: 'private', lon: 28.04, lat: -26.1, category: POTHOLE, status: 'reported', isPublic: false },
  { key: 'crime', lon: 28.043234, lat: -26.101234, category: CRIME, status: 'reported' },
  { key: 'far', lon: 28.2, lat: -26.1, category: WATER, status: 'reported' },
];
const ids: Record<string, string> = {};
let headers: Record<string, string>;

const BOX = '27.9,-26.3,28.3,-25.95';
async function clusters(qs: string): Promise<ClusterList> {
  const res = await h.current.app.inject({ url: `/api/v1/incidents/clusters?${qs}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return json<ClusterList>(res);
}
const cellA = (list: ClusterList) => list.items.find((c) => c.coordinates[0]! < 28.1)!;

beforeAll(async () => {
  headers = await as(RESIDENT);
  for (const [i, f] of FIXTURE.entries()) {
    const { rows } = await query<{ id: string }>(
      `INSERT INTO incidents (reference, title, location, category_id, status, is_public, hidden)
       VALUES ($1, 'Map fixture', ST_SetSRID(ST_MakePoint($2, $3), 4326), $4, $5, $6, $7) RETURNING id`,
      [`BW-MAP${i}`, f.lon, f.lat, f.category, f.status, f.isPublic ?? true, f.hidden ?? false],
    );
    ids[f.key] = rows[0]!.id;
  }
});

describe('GET /incidents/clusters', () => {
  it('aligns every zoom’s grid with the blur grid and the rollup', () => {
    expect(gridFactor(10)).toBe(32);
    expect(gridFactor(12)).toBe(8);
    expect(gridFactor(13)).toBe(4);
    expect(gridFactor(16)).toBe(1);
    expect(gridFactor(0)).toBe(2 ** 15);
  });

  it('counts public, visible incidents per cell from the rollup, before and after folding', async () => {
    const expected = (list: ClusterList) => {
      expect(list.source).toBe('rollup');
      expect(list.total).toBe(5);
      expect(list.items).toHaveLength(2);
      const a = cellA(list);
      expect(a.count).toBe(4);
      expect(a.statuses).toEqual({ reported: 2, acknowledged: 1, resolved: 1 });
      // the mean of blur-cell centres: the rollup keeps no exact point
      const points = ['p1', 'p2', 'p3', 'crime'].map((k) => {
        const f = FIXTURE.find((x) => x.key === k)!;
        return blurredPoint(f.lon, f.lat);
      });
      expect(a.coordinates[0]).toBeCloseTo(points.reduce((s, p) => s + p[0], 0) / 4, 5);
      expect(a.coordinates[1]).toBeCloseTo(points.reduce((s, p) => s + p[1], 0) / 4, 5);
      expect(a.bounds).toEqual([28.008, -26.136, 28.08, -26.064]);
      expect(a.incident).toBeUndefined();
    };
    expected(await clusters(`bbox=${BOX}&zoom=10`));
    const recorded = recordingDatabase(h.current.t.db);
    expect(await compactClusters(recorded.db)).toBeGreaterThan(0);
    // embedded, a statement holds the one session every request waits for: smaller batches there
    const bounds = recorded.statements.filter((s) => s.text.includes('incident_map_compact')).map((s) => s.values);
    expect(bounds).toEqual([[backend() === 'embedded' ? 500 : 5000]]);
    expect(await query('SELECT 1 FROM incident_map_delta')).toMatchObject({ rows: [] });
    expected(await clusters(`bbox=${BOX}&zoom=10`));
  });

  it('filters by status and category slug', async () => {
    const reported = await clusters(`bbox=${BOX}&zoom=10&status=reported`);
    expect(reported.total).toBe(3);
    expect(cellA(reported).statuses).toEqual({ reported: 2 });
    const water = await clusters(`bbox=${BOX}&zoom=10&category=water-leak`);
    expect(water.total).toBe(2);
    expect(water.items.map((c) => c.count)).toEqual([1, 1]);
  });

  it('follows status changes, hiding and deletes through the deltas', async () => {
    await query(`UPDATE incidents SET status = 'in_progress' WHERE id = $1`, [ids.p1]);
    await query(`UPDATE incidents SET hidden = true WHERE id = $1`, [ids.p2]);
    await query(`UPDATE incidents SET hidden = false WHERE id = $1`, [ids.hidden]);
    await query(`DELETE FROM incidents WHERE id = $1`, [ids.far]);
    const check = (list: ClusterList) => {
      expect(list.total).toBe(4);
      expect(list.items).toHaveLength(1);
      expect(list.items[0]!.statuses).toEqual({ reported: 2, in_progress: 1, resolved: 1 });
    };
    check(await clusters(`bbox=${BOX}&zoom=10`));
    await compactClusters(h.current.t.db);
    check(await clusters(`bbox=${BOX}&zoom=10`));
    // the rollup holds exactly what the incidents say
    const { rows } = await query<{ n: number }>(`SELECT coalesce(sum(n), 0)::integer AS n FROM incident_map_cells`);
    expect(rows[0]!.n).toBe(4);
  });

  it('folds a backlog a bounded batch at a time, oldest first, the answers the same before, between and after', async () => {
    await query(`UPDATE incidents SET status = 'acknowledged' WHERE id = $1`, [ids.p3]);
    await query(`UPDATE incidents SET status = 'in_progress' WHERE id = $1`, [ids.p3]);
    await query(`UPDATE incidents SET status = 'resolved' WHERE id = $1`, [ids.p3]);
    const pending = async () =>
      (await query<{ id: string }>('SELECT id::text FROM incident_map_delta ORDER BY id')).rows.map((r) => r.id);
    const before = await pending();
    expect(before.length).toBeGreaterThanOrEqual(3);
    const answer = await clusters(`bbox=${BOX}&zoom=10`);

    expect(await compactMapCells(h.current.t.db, 2)).toBe(2);
    expect(await pending()).toEqual(before.slice(2));
    expect(await clusters(`bbox=${BOX}&zoom=10`)).toEqual(answer);

    const calls: number[] = [];
    const folded = await foldInBatches(async (maxRows) => {
      const n = await compactMapCells(h.current.t.db, maxRows);
      calls.push(n);
      return n;
    }, 1);
    expect(folded).toBe(before.length - 2);
    // one row a call, then the empty call that says the backlog is gone
    expect(calls).toEqual([...Array(before.length - 2).fill(1), 0]);
    expect(await pending()).toEqual([]);
    expect(await clusters(`bbox=${BOX}&zoom=10`)).toEqual(answer);
  });

  it('at high zoom reads the incidents: a cluster of one names its incident, a sensitive one sits at its blurred point', async () => {
    const crime = FIXTURE.find((f) => f.key === 'crime')!;
    const list = await clusters(`bbox=28.035,-26.105,28.045,-26.095&zoom=16`);
    expect(list.source).toBe('incidents');
    const sensitive = list.items.find((c) => c.incident?.id === ids.crime)!;
    expect(sensitive).toBeDefined();
    expect(sensitive.coordinates).toEqual(blurredPoint(crime.lon, crime.lat));
    expect(sensitive.coordinates).not.toEqual([crime.lon, crime.lat]);
    expect(sensitive.incident).toEqual({ id: ids.crime, reference: 'BW-MAP5', status: 'reported' });
    const plain = list.items.find((c) => c.incident?.id === ids.hidden)!;
    expect(plain.coordinates).toEqual([28.04, -26.1]);
    // the private report in the same place is not there
    expect(list.total).toBe(2);
  });

  it('a sensitive incident counts in the cell that holds its blurred point', async () => {
    const list = await clusters(`bbox=28.035,-26.105,28.045,-26.095&zoom=16&category=crime-suspicious-activity`);
    expect(list.items).toHaveLength(1);
    const [w, s, e, n] = list.items[0]!.bounds;
    const [bx, by] = blurredPoint(28.043234, -26.101234);
    expect(bx).toBeGreaterThan(w!);
    expect(bx).toBeLessThan(e!);
    expect(by).toBeGreaterThan(s!);
    expect(by).toBeLessThan(n!);
  });

  it('answers zoom 13–14 from the rollup, in its ~2 km cells', async () => {
    const list = await clusters(`bbox=${BOX}&zoom=14`);
    expect(list.source).toBe('rollup');
    expect(list.cellSize).toBe(0.018);
    expect(list.total).toBe(4);
  });

  it('with dates reads the incidents at any zoom', async () => {
    await query(`UPDATE incidents SET created_at = '2025-01-01T00:00:00Z' WHERE id = $1`, [ids.p3]);
    const list = await clusters(`bbox=${BOX}&zoom=10&until=2025-06-01T00:00:00Z`);
    expect(list.source).toBe('incidents');
    expect(list.total).toBe(1);
    expect(list.items[0]!.incident).toEqual({ id: ids.p3, reference: 'BW-MAP2', status: 'resolved' });
    const since = await clusters(`bbox=${BOX}&zoom=10&since=2025-06-01T00:00:00Z`);
    expect(since.total).toBe(3);
  });

  it('refuses a bad box and a box of too many cells, localized', async () => {
    const bad = await h.current.app.inject({ url: '/api/v1/incidents/clusters?bbox=28,-26,27,-25&zoom=10' });
    expect(bad.statusCode).toBe(400);
    const huge = await h.current.app.inject({ url: '/api/v1/incidents/clusters?bbox=-180,-85,180,85&zoom=14&lang=af' });
    expect(huge.statusCode).toBe(400);
    expect(json(huge).errors[0]).toMatchObject({ path: '/query/bbox' });
    expect(JSON.stringify(json(huge))).toContain('selle');
  });
});
