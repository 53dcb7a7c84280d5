import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { backend, recordingDatabase } from '../../../test/helpers/database.js';
import { ANONYMOUS } from '../identity/actor.js';
import { compactBatch } from './stats.repository.js';
import { compactStats } from './stats.service.js';
import { fromHistogram, getStats, isoWeek } from './stats.service.js';

/**
 * Statistics against a small fixture whose figures are worked out by hand below, on the rollup
 * (after folding), on the deltas (before), and on the edge weeks read from the incidents.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const WATER = 'ffa6c8d8-de96-46b5-8eba-9c1cb21bc738';
const A = '00000000-0000-4000-8000-0000000057a1';
const B = '00000000-0000-4000-8000-0000000057b1';
const MOD_A = '00000000-0000-4000-8000-0000000057d1';
const RESIDENT = '00000000-0000-4000-8000-0000000057d2';

const H = 3600;
/**
 * Community A, weeks 2026-W10 (from Monday 2 March) and W11 (from 9 March):
 *   #  category  status       created       ack after  resolved after  public  hidden
 *   1  pothole   reported     Mon 2 08:00       –            –          yes
 *   2  pothole   acknowledged Tue 3 08:00      1 h           –          yes
 *   3  pothole   resolved     Wed 4 08:00      2 h          10 h        yes
 *   7  pothole   resolved     Thu 5 08:00     10 min         1 h        yes     yes
 *   4  water     closed       Tue 10 08:00     4 h          20 h        yes
 *   5  water     in_progress  Wed 11 08:00     8 h           –          yes
 *   6  water     rejected     Thu 12 08:00    30 min         –          no
 * Community B: one reported pothole, Mon 2 March.
 *
 * Acknowledge (s): 600 1800 3600 7200 14400 28800 → median (3600+7200)/2 = 5400,
 *   p90 at rank 0.9 × 5 = 4.5: 14400 + 0.5 × (28800 − 14400) = 21600.
 * Resolve (s): 3600 36000 72000 → median 36000, p90 at rank 1.8: 36000 + 0.8 × 36000 = 64800.
 */
const FIXTURE: Array<[string, string, string, string, number | null, number | null, boolean, boolean]> = [
  [A, POTHOLE, 'reported', '2026-03-02T08:00:00Z', null, null, true, false],
  [A, POTHOLE, 'acknowledged', '2026-03-03T08:00:00Z', H, null, true, false],
  [A, POTHOLE, 'resolved', '2026-03-04T08:00:00Z', 2 * H, 10 * H, true, false],
  [A, WATER, 'closed', '2026-03-10T08:00:00Z', 4 * H, 20 * H, true, false],
  [A, WATER, 'in_progress', '2026-03-11T08:00:00Z', 8 * H, null, true, false],
  [A, WATER, 'rejected', '2026-03-12T08:00:00Z', 1800, null, false, false],
  [A, POTHOLE, 'resolved', '2026-03-05T08:00:00Z', 600, H, true, true],
  [B, POTHOLE, 'reported', '2026-03-02T09:00:00Z', null, null, true, false],
];

const ids: string[] = [];

beforeAll(async () => {
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2) VALUES
       ($1, 'stats-a', 'Stats A', ST_Multi(ST_MakeEnvelope(18.40, -33.95, 18.45, -33.90, 4326)), 1),
       ($2, 'stats-b', 'Stats B', ST_Multi(ST_MakeEnvelope(18.50, -33.95, 18.55, -33.90, 4326)), 1)`,
    [A, B],
  );
  for (const [i, [community, category, status, created, ack, resolved, isPublic, hidden]] of FIXTURE.entries()) {
    const lon = community === A ? 18.42 + i * 0.001 : 18.52;
    const { rows } = await query<{ id: string }>(
      `INSERT INTO incidents (reference, title, location, community_id, category_id, status, is_public, hidden,
                              created_at, updated_at, acknowledged_at, resolved_at)
       VALUES ($1, 'Fixture incident', ST_SetSRID(ST_MakePoint($2, -33.92), 4326), $3, $4, $5, $6, $7,
               $8::timestamptz, $8::timestamptz,
               $8::timestamptz + make_interval(secs => $9), $8::timestamptz + make_interval(secs => $10))
       RETURNING id`,
      [`BW-STAT${i}`, lon, community, category, status, isPublic, hidden, created, ack, resolved],
    );
    ids.push(rows[0]!.id);
  }
});

const stats = async (qs: string, headers: Record<string, string>) =>
  inject({ method: 'GET', url: `/api/v1/stats${qs}`, headers });

describe('GET /stats', () => {
  it('counts by status, category, community and week, with exact percentiles, before and after folding', async () => {
    const before = await stats(`?communityId=${A}`, await as(MOD_A, `moderator:${A}`));
    expect(before.statusCode, before.body).toBe(200);
    const body = json(before);
    expect(body.total).toBe(7);
    expect(body.byStatus).toEqual({
      reported: 1,
      acknowledged: 1,
      in_progress: 1,
      resolved: 2,
      closed: 1,
      rejected: 1,
      duplicate: 0,
    });
    expect(body.byCategory.map((c: { slug: string; count: number }) => [c.slug, c.count])).toEqual([
      ['pothole', 4],
      ['water-leak', 3],
    ]);
    expect(body.byCommunity).toEqual([{ communityId: A, name: 'Stats A', count: 7 }]);
    expect(body.byWeek).toEqual([
      { week: '2026-W10', start: '2026-03-02', count: 4 },
      { week: '2026-W11', start: '2026-03-09', count: 3 },
    ]);
    expect(body.timeToAcknowledge).toEqual({ count: 6, medianSeconds: 5400, p90Seconds: 21600, exact: true });
    expect(body.timeToResolve).toEqual({ count: 3, medianSeconds: 36000, p90Seconds: 64800, exact: true });

    // the triggers wrote deltas; folding them into the rollup changes nothing in the answer
    const recorded = recordingDatabase(h.current.t.db);
    expect(await compactStats(recorded.db)).toBeGreaterThan(0);
    // embedded, a statement holds the one session every request waits for: smaller batches there
    const bounds = recorded.statements.filter((s) => s.text.includes('incident_stats_compact')).map((s) => s.values);
    expect(bounds).toEqual([[backend() === 'embedded' ? 500 : 5000]]);
    const { rows } = await query<{ n: number }>('SELECT count(*)::int AS n FROM incident_stats_delta');
    expect(rows[0]!.n).toBe(0);
    const after = json(await stats(`?communityId=${A}`, await as(MOD_A, `moderator:${A}`)));
    expect(after).toEqual(body);
  });

  it('folds at most a batch of each delta table per call, oldest first, and the answer stays the same', async () => {
    const headers = await as(ADMIN, 'admin');
    const answer = json(await stats(`?communityId=${A}`, headers));
    // moving an incident to another category and place and back writes stats and heat deltas
    const { rows: saved } = await query<{ category_id: string; location: string }>(
      'SELECT category_id, location::text FROM incidents WHERE id = $1',
      [ids[0]],
    );
    await query(
      `UPDATE incidents SET category_id = (SELECT id FROM categories WHERE id <> $2 LIMIT 1),
              location = ST_SetSRID(ST_MakePoint(18.6, -33.95), 4326) WHERE id = $1`,
      [ids[0], saved[0]!.category_id],
    );
    await query('UPDATE incidents SET category_id = $2, location = $3::geometry WHERE id = $1', [
      ids[0],
      saved[0]!.category_id,
      saved[0]!.location,
    ]);
    const count = async (table: string) =>
      (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
    const [stats0, heat0] = [await count('incident_stats_delta'), await count('incident_heat_delta')];
    expect(stats0).toBeGreaterThan(1);
    expect(heat0).toBeGreaterThan(1);
    expect(await compactBatch(h.current.t.db, 1)).toBe(1);
    expect([await count('incident_stats_delta'), await count('incident_heat_delta')]).toEqual([stats0 - 1, heat0 - 1]);
    expect(json(await stats(`?communityId=${A}`, headers))).toEqual(answer);
    expect(await compactStats(h.current.t.db)).toBe(Math.max(stats0, heat0) - 1);
    expect([await count('incident_stats_delta'), await count('incident_heat_delta')]).toEqual([0, 0]);
    expect(json(await stats(`?communityId=${A}`, headers))).toEqual(answer);
  });

  it('reads partial weeks from the incidents and whole weeks from the rollup', async () => {
    const headers = await as(ADMIN, 'admin');
    // Wed 4 to Wed 11 (exclusive): no whole week; #3, #7 and #4
    const inside = json(await stats(`?since=2026-03-04T00:00:00Z&until=2026-03-11T00:00:00Z`, headers));
    expect(inside.total).toBe(3);
    expect(inside.byStatus).toMatchObject({ resolved: 2, closed: 1 });
    // Tue 3 to Mon 16: W11 whole (#4, #5, #6) and Tue 3 to Mon 9 from the incidents (#2, #3, #7)
    const mixed = json(await stats(`?communityId=${A}&since=2026-03-03T00:00:00Z&until=2026-03-16T00:00:00Z`, headers));
    expect(mixed.total).toBe(6);
    expect(mixed.byWeek).toEqual([
      { week: '2026-W10', start: '2026-03-02', count: 3 },
      { week: '2026-W11', start: '2026-03-09', count: 3 },
    ]);
    // ack of #2 #3 #7 #4 #5 #6: the same as the whole set without #1 (never acknowledged)
    expect(mixed.timeToAcknowledge.medianSeconds).toBe(5400);
    const water = json(await stats(`?communityId=${A}&category=water-leak`, headers));
    expect(water.total).toBe(3);
    expect(water.timeToResolve).toMatchObject({ count: 1, medianSeconds: 72000 });
  });

  it('gives admins every community, staff their own, and refuses everyone else', async () => {
    const all = json(await stats('', await as(ADMIN, 'admin')));
    expect(all.total).toBe(8);
    expect(all.byCommunity).toEqual([
      { communityId: A, name: 'Stats A', count: 7 },
      { communityId: B, name: 'Stats B', count: 1 },
    ]);
    const own = json(await stats('', await as(MOD_A, `moderator:${A}`)));
    expect(own.total).toBe(7);
    expect((await stats(`?communityId=${B}`, await as(MOD_A, `moderator:${A}`))).statusCode).toBe(403);
    expect((await stats('', await as(RESIDENT))).statusCode).toBe(403);
    expect((await stats(`?communityId=${A}`, {})).statusCode).toBe(401);
    const bad = await stats(`?since=2026-03-05T00:00:00Z&until=2026-03-01T00:00:00Z`, await as(ADMIN, 'admin'));
    expect(bad.statusCode).toBe(400);
    expect(json(bad).errors[0].path).toBe('/query/until');
  });

  it('follows status moves: a PATCH acknowledges now and moves the counts', async () => {
    const headers = await as(MOD_A, `moderator:${A}`);
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${ids[0]}`,
      headers,
      payload: { status: 'acknowledged' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { rows } = await query<{ acknowledged_at: Date | null; created_at: Date }>(
      'SELECT acknowledged_at, created_at FROM incidents WHERE id = $1',
      [ids[0]],
    );
    expect(rows[0]!.acknowledged_at).not.toBeNull();
    const body = json(await stats(`?communityId=${A}`, headers));
    expect(body.byStatus).toMatchObject({ reported: 0, acknowledged: 2 });
    expect(body.timeToAcknowledge.count).toBe(7);
    // back as it was, for the other tests
    await query(`UPDATE incidents SET status = 'reported', acknowledged_at = NULL WHERE id = $1`, [ids[0]]);
    const restored = json(await stats(`?communityId=${A}`, headers));
    expect(restored.byStatus).toMatchObject({ reported: 1, acknowledged: 1 });
    expect(restored.timeToAcknowledge.count).toBe(6);
  });

  it('keeps counting through every kind of write: hiding, moving, deleting', async () => {
    const headers = await as(ADMIN, 'admin');
    const summary = async () => json(await inject({ method: 'GET', url: `/api/v1/communities/${A}/summary` }));
    const { rows } = await query<{ id: string }>(
      `INSERT INTO incidents (reference, title, location, community_id, category_id, created_at, updated_at)
       VALUES ('BW-STATX', 'Extra', ST_SetSRID(ST_MakePoint(18.43, -33.92), 4326), $1, $2, '2026-03-03T00:00:00Z', '2026-03-03T00:00:00Z')
       RETURNING id`,
      [A, POTHOLE],
    );
    const extra = rows[0]!.id;
    expect(json(await stats('', headers)).total).toBe(9);
    expect((await summary()).reported).toBe(6);
    await query('UPDATE incidents SET hidden = true WHERE id = $1', [extra]);
    expect((await summary()).reported).toBe(5);
    await query('UPDATE incidents SET hidden = false, community_id = $2 WHERE id = $1', [extra, B]);
    expect((await summary()).reported).toBe(5);
    expect(json(await stats(`?communityId=${B}`, headers)).total).toBe(2);
    await query('DELETE FROM incidents WHERE id = $1', [extra]);
    const after = json(await stats('', headers));
    expect(after.total).toBe(8);
    expect(after.byCommunity).toEqual([
      { communityId: A, name: 'Stats A', count: 7 },
      { communityId: B, name: 'Stats B', count: 1 },
    ]);
  });

  it('estimates percentiles from the histogram for large sets, within a bucket', async () => {
    const ctx = {
      actor: { userId: ADMIN, roles: [{ role: 'admin' as const, communityId: null }] },
      lang: 'en' as const,
      requestId: 'r',
      clientAddress: 'x',
    };
    const estimated = await getStats(h.current.t.db, ctx, { communityId: A }, { exactUpTo: 0 });
    expect(estimated.timeToAcknowledge.exact).toBe(false);
    const median = estimated.timeToAcknowledge.medianSeconds!;
    // buckets are a factor √2 wide: the estimate lies within one of the exact 5400
    expect(median).toBeGreaterThan(5400 / Math.SQRT2);
    expect(median).toBeLessThan(5400 * Math.SQRT2);
    // rank 1 of 2 is halfway through bucket 20 (2^10 .. 2^10.5 s): 2^10.25
    expect(fromHistogram([{ bucket: 20, n: 2 }], 2, 0.5)).toBe(1217.7);
    expect(fromHistogram([], 0, 0.5)).toBeNull();
  });

  it('counts incidents past their SLA due dates', async () => {
    await query(`UPDATE incidents SET ack_due_at = '2026-03-02T09:00:00Z' WHERE id = $1`, [ids[0]]);
    await query(`UPDATE incidents SET resolve_due_at = '2026-03-12T08:00:00Z' WHERE id = $1`, [ids[4]]);
    const ctx = {
      actor: { userId: ADMIN, roles: [{ role: 'admin' as const, communityId: null }] },
      lang: 'en' as const,
      requestId: 'r',
      clientAddress: 'x',
    };
    const early = await getStats(h.current.t.db, ctx, { communityId: A }, { now: new Date('2026-03-02T08:30:00Z') });
    expect(early.overdue).toEqual({ acknowledge: 0, resolve: 0 });
    const late = await getStats(h.current.t.db, ctx, { communityId: A }, { now: new Date('2026-03-20T00:00:00Z') });
    expect(late.overdue).toEqual({ acknowledge: 1, resolve: 1 });
  });
});

describe('GET /communities/:id/summary', () => {
  it('shows public reports only, with no personal data, to anyone', async () => {
    const res = await inject({ method: 'GET', url: `/api/v1/communities/${A}/summary` });
    expect(res.statusCode, res.body).toBe(200);
    // #6 is private and #7 hidden: #1 to #5 remain; resolved #3 (10 h) and closed #4 (20 h)
    expect(json(res)).toEqual({
      communityId: A,
      name: 'Stats A',
      reported: 5,
      resolved: 2,
      medianSecondsToResolve: 54000,
      byCategory: [
        { categoryId: POTHOLE, slug: 'pothole', name: 'Pothole', count: 3 },
        { categoryId: WATER, slug: 'water-leak', name: 'Water leak', count: 2 },
      ],
    });
    expect(res.body).not.toMatch(/reporter|Fixture incident/);
    const missing = await inject({
      method: 'GET',
      url: '/api/v1/communities/00000000-0000-4000-8000-000000000999/summary',
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('GET /stats/heatmap', () => {
  const url = '/api/v1/stats/heatmap?bbox=18.40,-33.95,18.60,-33.90&cells=2';
  it('counts per grid cell: public reports for the public, everything for admins', async () => {
    const open = await inject({ method: 'GET', url });
    expect(open.statusCode, open.body).toBe(200);
    // west half: #1–#5 of A (public, not hidden); east half: B's one
    expect(json(open).items).toEqual([
      { col: 0, row: 1, count: 5 },
      { col: 1, row: 1, count: 1 },
    ]);
    const admin = json(await inject({ method: 'GET', url, headers: await as(ADMIN, 'admin') }));
    expect(admin.items).toEqual([
      { col: 0, row: 1, count: 7 },
      { col: 1, row: 1, count: 1 },
    ]);
    expect((await inject({ method: 'GET', url: '/api/v1/stats/heatmap?bbox=1,2,0,3' })).statusCode).toBe(400);
  });
});

describe('isoWeek', () => {
  it('names weeks by the year of their Thursday', () => {
    expect(isoWeek('2025-12-29')).toBe('2026-W01');
    expect(isoWeek('2026-03-02')).toBe('2026-W10');
    expect(isoWeek('2027-01-04')).toBe('2027-W01');
    expect(isoWeek('2026-12-28')).toBe('2026-W53');
    void ANONYMOUS;
  });
});
