import { beforeAll, describe, expect, it } from 'vitest';
import { json, useTestApp } from '../../../test/helpers/app.js';
import { ANONYMOUS } from '../identity/actor.js';
import * as repo from './incidents.repository.js';
import { parseListQuery } from './incidents.service.js';

/**
 * Newest first within a box (the map's pins): the (location, created_at) index read nearest a
 * far-future instant, chosen from the planner's estimate of the box (0027_newest_in_box.sql).
 * Its order must be exactly (created_at DESC, id DESC) across pages, including rows created at
 * the same microsecond, which the index yields in no particular order.
 */
const h = useTestApp();
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const BOX: [number, number, number, number] = [28.0, -26.1, 28.01, -26.09];
const IN_BOX = 90;
const ELSEWHERE = 810;

// the filter the API makes of `?bbox=BOX&sort=-createdAt&limit=7` for a visitor
const filter = (over: Partial<repo.ListFilter> = {}): repo.ListFilter => ({
  ...parseListQuery(ANONYMOUS, { bbox: BOX.join(','), sort: '-createdAt', limit: 7 }),
  ...over,
});

let expected: string[];

beforeAll(async () => {
  // In the box: 60 rows in groups of three created at the same instant, 20 a microsecond apart,
  // 10 at scattered times; every 13th hidden and every 17th private (never listed).
  await query(
    `INSERT INTO incidents (reference, title, location, category_id, status, is_public, hidden, created_at)
     SELECT 'BW-NIB' || g, 'Newest in box ' || g,
            ST_SetSRID(ST_MakePoint(28.0 + (g % 10) * 0.001 + 0.0005, -26.1 + (g / 10) * 0.001 + 0.0003), 4326),
            $1, 'reported', g % 17 <> 0, g % 13 = 0,
            CASE WHEN g <= 60 THEN timestamptz '2026-06-01T00:00:00Z' - make_interval(secs => g / 3)
                 WHEN g <= 80 THEN timestamptz '2026-05-01T00:00:00.5Z' - make_interval(secs => (g - 60) * 0.000001)
                 ELSE timestamptz '2025-01-01T00:00:00Z' + make_interval(days => g * 7) END
       FROM generate_series(1, $2::int) AS g`,
    [POTHOLE, IN_BOX],
  );
  await query(
    `INSERT INTO incidents (reference, title, location, category_id, status, created_at)
     SELECT 'BW-NIBX' || g, 'Elsewhere ' || g,
            ST_SetSRID(ST_MakePoint(28.2 + (g % 30) * 0.005, -26.3 + (g / 30) * 0.005), 4326),
            $1, 'reported', timestamptz '2026-06-01T00:00:00Z' - make_interval(mins => g)
       FROM generate_series(1, $2::int) AS g`,
    [POTHOLE, ELSEWHERE],
  );
  await query('ANALYZE incidents');
  const { rows } = await query<{ id: string }>(
    `SELECT id FROM incidents
      WHERE location && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND is_public AND NOT hidden
      ORDER BY created_at DESC, id DESC`,
    BOX,
  );
  expected = rows.map((r) => r.id);
});

/** Every page of the list, following the cursor as the service does (limit + 1 fetched). */
async function allPages(plan?: repo.NewestInBoxPlan): Promise<string[]> {
  const seen: string[] = [];
  let after: repo.CursorKey | null = null;
  for (let page = 0; page < 100; page++) {
    const rows = await repo.listIncidents(h.current.t.db, filter({ after, limit: 8 }), plan);
    const shown = rows.slice(0, 7);
    seen.push(...shown.map((r) => r.id));
    if (rows.length <= 7) return seen;
    const last = shown[shown.length - 1]!;
    after = [last.created_at, last.id];
  }
  throw new Error('more than 100 pages');
}

describe('newest first within a box', () => {
  it('has the (location, created_at) index and an estimate of what a box holds', async () => {
    const { rows: index } = await query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname = 'incidents_location_created_gist' AND schemaname = current_schema()`,
    );
    expect(index[0]?.indexdef).toMatch(/gist \(location, created_at\)/);
    const estimate = async (box: number[]) =>
      (
        await query<{ inside: number }>(
          'SELECT incidents_in_box_estimate(ST_MakeEnvelope($1, $2, $3, $4, 4326)) AS inside',
          box,
        )
      ).rows[0]!.inside;
    // the statistics are a coarse sample (PostGIS puts 20–90 in this box of 90): what the
    // choice needs is "a small part of the table" against "most of it"
    const inBox = await estimate(BOX);
    expect(inBox).toBeGreaterThan(8);
    expect(inBox * 10).toBeLessThan(IN_BOX + ELSEWHERE);
    expect(await estimate([-180, -90, 180, 90])).toBeGreaterThan((IN_BOX + ELSEWHERE) * 0.9);
  });

  it('chooses the box index for a box holding a small part of the incidents, the walk otherwise', async () => {
    expect(await repo.chooseNewestInBoxPlan(h.current.t.db, BOX, 8)).toBe('box-index');
    expect(await repo.chooseNewestInBoxPlan(h.current.t.db, [-180, -90, 180, 90], 8)).toBe('created-index');
  });

  it('pages in exact (created_at, id) order through ties, each row once, by either plan', async () => {
    expect(expected.length).toBeGreaterThan(70);
    const byBoxIndex = await allPages('box-index');
    expect(byBoxIndex).toEqual(expected);
    expect(await allPages('created-index')).toEqual(expected);
    expect(await allPages()).toEqual(expected);
  });

  it('serves the API list the same way, following nextCursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = `bbox=${BOX.join(',')}&sort=-createdAt&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await h.current.app.inject({ url: `/api/v1/incidents?${qs}` });
      expect(res.statusCode, res.body).toBe(200);
      const body = json<{ items: Array<{ id: string }>; nextCursor: string | null }>(res);
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected);
  });
});
