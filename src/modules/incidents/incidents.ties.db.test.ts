import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/helpers/app.js';
import { recordingDatabase } from '../../../test/helpers/database.js';
import type { Sql } from '../../platform/db/database.js';
import { ANONYMOUS } from '../identity/actor.js';
import * as repo from './incidents.repository.js';
import { parseListQuery } from './incidents.service.js';

/**
 * Nearest-first pages that end inside a group of reports at exactly the same spot (one pin
 * reported again and again, or addresses geocoded to one point). The index yields equal
 * distances in no particular order, so the page needs the whole group to put it in id order.
 * A group of up to TIE_ROWS_BEYOND_PAGE more rows comes with the page in one query (WITH TIES);
 * a larger one takes a second query, which must find the group around the spot, not among
 * every candidate of the radius or box: in a hot spot of the 1M benchmark it read 47,638 rows
 * for 101 (169 ms).
 */
const h = useTestApp();
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
/** a group that fits in the page's query, and one that does not, each in a grid of its own */
const SMALL = { lon: 27.81, lat: -26.31, size: 40 };
const LARGE = { lon: 27.91, lat: -26.31, size: repo.TIE_ROWS_BEYOND_PAGE + 20 };
const AROUND = 400;

const atSpot = new Map<typeof SMALL, string[]>();

async function seedSpot(spot: typeof SMALL): Promise<void> {
  const tag = `${spot.lon}`.replace('.', '');
  const { rows } = await query<{ id: string }>(
    `INSERT INTO incidents (reference, title, location, category_id, status)
     SELECT 'BW-T' || $5 || '-' || g, 'Same spot ' || g, ST_SetSRID(ST_MakePoint($2, $3), 4326), $1, 'reported'
       FROM generate_series(1, $4::int) AS g
     RETURNING id`,
    [POTHOLE, spot.lon, spot.lat, spot.size, tag],
  );
  atSpot.set(spot, rows.map((r) => r.id).sort());
  // a 20 × 20 grid 20–400 m from the spot: all within the radius and the box below
  await query(
    `INSERT INTO incidents (reference, title, location, category_id, status)
     SELECT 'BW-T' || $5 || 'X' || g, 'Around ' || g,
            ST_SetSRID(ST_MakePoint($2 + ((g % 20) - 9.5) * 0.0004, $3 + ((g / 20) - 9.5) * 0.0004), 4326),
            $1, 'reported'
       FROM generate_series(0, $4::int - 1) AS g`,
    [POTHOLE, spot.lon, spot.lat, AROUND, tag],
  );
}

beforeAll(async () => {
  await seedSpot(SMALL);
  await seedSpot(LARGE);
  await query('ANALYZE incidents');
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** How many rows of incidents a statement read: returned by its scans plus those they threw away. */
async function incidentRowsRead(sql: Sql): Promise<number> {
  return h.current.t.db.transaction(async (tx) => {
    // a table this small would be read whole whatever the query: make the planner use an index
    await tx.query({ text: 'SET LOCAL enable_seqscan = off' });
    const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>({
      text: `EXPLAIN (ANALYZE, FORMAT JSON) ${sql.text}`,
      values: sql.values,
    });
    const raw = rows[0]!['QUERY PLAN'];
    const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>;
    let read = 0;
    const walk = (node: PlanNode) => {
      if (node['Relation Name'] === 'incidents') {
        read +=
          (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) +
          (node['Rows Removed by Filter'] ?? 0) +
          (node['Rows Removed by Index Recheck'] ?? 0);
      }
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan[0]!.Plan);
    return read;
  });
}

const around = (spot: typeof SMALL) =>
  [
    // 5 m east of the spot: a page of 10 ends inside the group at the same distance
    ['near a point', { near: `${spot.lon + 0.00005},${spot.lat}`, radius: 1000 }],
    // the spot is the middle of the box: the group is at distance 0
    ['in a box', { bbox: [spot.lon - 0.01, spot.lat - 0.01, spot.lon + 0.01, spot.lat + 0.01].join(',') }],
  ] as const;

describe.each([
  ['a group the page query takes whole', SMALL],
  ['a group larger than the page query takes', LARGE],
] as const)('nearest first through %s', (_group, spot) => {
  describe.each(around(spot))('%s', (_name, q) => {
    const filter = (after: repo.ListFilter['after'] = null) => ({
      ...parseListQuery(ANONYMOUS, { ...q, limit: 10 }),
      after,
      limit: 11,
    });

    it('pages through the group in id order, each once, in one statement unless the tie outgrows it', async () => {
      const seen: string[] = [];
      let after: repo.ListFilter['after'] = null;
      for (let page = 0; page < spot.size / 10; page++) {
        const { db, statements } = recordingDatabase(h.current.t.db);
        const rows: repo.IncidentRow[] = (await repo.listIncidents(db, filter(after))).slice(0, 10);
        // the group's rows still to come are the nearest: the page query takes 11 and their ties
        const rest = spot.size - seen.length;
        expect(statements).toHaveLength(rest >= 11 + repo.TIE_ROWS_BEYOND_PAGE ? 2 : 1);
        seen.push(...rows.map((r) => r.id));
        const last: repo.IncidentRow = rows[rows.length - 1]!;
        after = [last.sort_distance!, last.id];
      }
      expect(seen).toEqual(atSpot.get(spot));
    });

    if (spot === LARGE) {
      it('finds the rest of a tie around the spot, not among every candidate', async () => {
        const { db, statements } = recordingDatabase(h.current.t.db);
        await repo.listIncidents(db, filter());
        expect(statements).toHaveLength(2);
        const read = await incidentRowsRead(statements[1]!);
        expect(read).toBeGreaterThanOrEqual(spot.size);
        // without the tie's own square the radius's (or the box's) candidates were read
        expect(read).toBeLessThan(spot.size + AROUND / 4);
      });
    }
  });
});
