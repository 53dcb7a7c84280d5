import { describe, expect, it } from 'vitest';
import type { Database, Sql } from '../platform/db/database.js';
import { useTestDatabase } from '../../test/helpers/database.js';
import { hotSpots, SEED_BOUNDS, seedIncidents } from './seed.js';

/**
 * The synthetic data set: deterministic for a seed, with the distribution the benchmarks assume,
 * the same on both backends. 20,000 rows keep the proportions within a percent or so.
 */
const t = useTestDatabase();
const N = 20_000;

async function checksum(db: Database, schema: string): Promise<string> {
  const { rows } = await db.query<{ sum: string }>({
    text: `SELECT md5(string_agg(concat_ws('|', id, reference, title, ST_AsText(location), status, priority, is_public,
                   anonymous, category_id, reporter_id, created_at, updated_at), ',' ORDER BY id)) AS sum
           FROM ${schema}.incidents`,
  });
  return rows[0]!.sum;
}

/** Deltas the rollups have not folded yet, incidents on the map, and public incidents. */
async function rollupCounts(db: Database): Promise<{ deltas: number; mapped: number; public: number }> {
  const { rows } = await db.query<{ deltas: number; mapped: number; public: number }>({
    text: `SELECT (SELECT count(*) FROM incident_stats_delta)::int + (SELECT count(*) FROM incident_heat_delta)::int
                  + (SELECT count(*) FROM incident_map_delta)::int AS deltas,
                  (SELECT coalesce(sum(n), 0) FROM incident_map_cells)::int AS mapped,
                  (SELECT count(*) FROM incidents WHERE is_public AND NOT hidden)::int AS public`,
  });
  return rows[0]!;
}

/**
 * `db` with its queries watched: `before` sees each one first (and may fail it by throwing), and
 * the counts say how many are running now and how many ran at once at most.
 */
function watched(db: Database, before: (sql: Sql) => void = () => undefined) {
  const watch = { db, inFlight: 0, mostInFlight: 0 };
  watch.db = Object.create(db, {
    query: {
      value: async (sql: Sql) => {
        before(sql);
        watch.mostInFlight = Math.max(watch.mostInFlight, ++watch.inFlight);
        try {
          return await db.query(sql);
        } finally {
          watch.inFlight--;
        }
      },
    },
  }) as Database;
  return watch;
}

describe('seed', () => {
  it(
    'creates N incidents with the intended distribution, timeline events and 1,000 reporters',
    { timeout: 180_000 },
    async () => {
      const { db, schema } = t.current;
      const progress: number[] = [];
      const result = await seedIncidents(db, {
        incidents: N,
        seed: 1,
        batchSize: 5_000,
        onProgress: (done) => progress.push(done),
      });
      expect(result.incidents).toBe(N);
      expect(result.reporters).toBe(1000);
      expect(progress[0]).toBe(0);
      expect(progress[progress.length - 1]).toBe(N);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));

      const share = async (where: string) => {
        const { rows } = await db.query<{ p: number }>({
          text: `SELECT (count(*) FILTER (WHERE ${where}))::float8 / count(*) AS p FROM incidents`,
        });
        return rows[0]!.p;
      };
      const near = (x: number, target: number, tolerance = 0.015) =>
        expect(Math.abs(x - target), `${x} vs ${target}`).toBeLessThan(tolerance);
      near(await share(`status = 'reported'`), 0.4);
      near(await share(`status = 'acknowledged'`), 0.2);
      near(await share(`status = 'in_progress'`), 0.2);
      near(await share(`status = 'resolved'`), 0.15);
      near(await share(`status = 'closed'`), 0.05);
      near(await share(`priority = 'medium'`), 0.5);
      near(await share(`priority = 'low'`), 0.25);
      near(await share(`priority = 'high'`), 0.2);
      near(await share(`priority = 'critical'`), 0.05);
      near(await share('is_public'), 0.9);
      const { minLon, minLat, maxLon, maxLat } = SEED_BOUNDS;
      expect(
        await share(
          `ST_X(location) BETWEEN ${minLon} AND ${maxLon} AND ST_Y(location) BETWEEN ${minLat} AND ${maxLat}`,
        ),
      ).toBe(1);
      expect(await share(`created_at >= '2024-01-01' AND created_at < '2026-01-01'`)).toBe(1);

      // 70 % within 2 km of one of the 25 hot spots (plus the few uniform points that land in one)
      const spots = hotSpots(1);
      expect(spots).toHaveLength(25);
      const inSpot = spots
        .map(
          (s) => `ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint(${s.lon}, ${s.lat}), 4326)::geography, 2000)`,
        )
        .join(' OR ');
      const hot = await share(inSpot);
      expect(hot).toBeGreaterThan(0.69);
      expect(hot).toBeLessThan(0.76);

      const counts = await db.query<{ categories: number; reporters: number; events: number; refs: number }>({
        text: `SELECT (SELECT count(DISTINCT category_id) FROM incidents)::int AS categories,
                    (SELECT count(*) FROM users WHERE email LIKE 'seed-reporter-%')::int AS reporters,
                    (SELECT count(*) FROM incident_events WHERE type = 'created')::int AS events,
                    (SELECT count(DISTINCT reference) FROM incidents WHERE reference ~ '^BW-[0-9A-HJKMNP-TV-Z]{8}$')::int AS refs`,
      });
      expect(counts.rows[0]).toEqual({ categories: 12, reporters: 1000, events: N, refs: N });

      // the rollups hold every public incident, folded: no deltas left for the first server to fold
      const rollups = await rollupCounts(db);
      expect(rollups.deltas).toBe(0);
      expect(rollups.mapped).toBe(rollups.public);
      expect(schema).toMatch(/^t_/);
    },
  );

  it(
    'is deterministic: the same seed gives the same rows, again and in another database',
    { timeout: 180_000 },
    async () => {
      const { db, schema } = t.current;
      const first = await checksum(db, schema);
      // running again adds nothing
      expect((await seedIncidents(db, { incidents: N, seed: 1, batchSize: 5_000 })).incidents).toBe(0);
      expect(await checksum(db, schema)).toBe(first);

      const other = `${schema}_again`;
      await db.query({ text: `CREATE SCHEMA ${other}` });
      const again = await t.current.connect(other);
      try {
        const { migrate } = await import('../platform/db/migrate.js');
        await migrate(again);
        // several batches in flight at once (as the CLI runs on server Postgres), in uneven
        // batches: the same rows, and progress that only grows to N
        const progress: number[] = [];
        const counting = watched(again);
        const result = await seedIncidents(counting.db, {
          incidents: N,
          seed: 1,
          batchSize: 1_700,
          concurrency: 3,
          onProgress: (done) => progress.push(done),
        });
        expect(await checksum(again, other)).toBe(first);
        expect(result.incidents).toBe(N);
        expect(progress[progress.length - 1]).toBe(N);
        expect(progress).toEqual([...progress].sort((a, b) => a - b));
        expect(new Set(progress).size).toBe(progress.length);
        expect(counting.mostInFlight).toBe(3);
        // the rollups, fed by batches committing in any order, still hold every public incident once
        const rollups = await rollupCounts(again);
        expect(rollups.deltas).toBe(0);
        expect(rollups.mapped).toBe(rollups.public);
        // a different seed is a different data set
        await again.query({ text: 'TRUNCATE incidents CASCADE' });
        await seedIncidents(again, { incidents: 1_000, seed: 2, batchSize: 5_000 });
        const { rows } = await again.query<{ n: number }>({
          text: `SELECT count(*)::int AS n FROM incidents i JOIN ${schema}.incidents j USING (id)`,
        });
        expect(rows[0]!.n).toBe(0);

        // A batch that fails: no batch starts after it, and the error reaches the caller only
        // once the batch in flight beside it has ended (the caller closes the pool next).
        const started: number[] = [];
        const failing = watched(again, (sql) => {
          const from = /INSERT INTO incidents/.test(sql.text) ? Number(sql.values?.[1]) : null;
          if (from !== null) started.push(from);
          if (from === 1_000) throw new Error('disk full');
        });
        const outcome = await seedIncidents(failing.db, {
          incidents: 10_000,
          seed: 3,
          batchSize: 1_000,
          concurrency: 2,
        }).then(
          () => 'resolved',
          (error: Error) => `${error.message}, ${failing.inFlight} in flight`,
        );
        expect(outcome).toBe('disk full, 0 in flight');
        expect(started).toEqual([0, 1_000]);
      } finally {
        await again.query({ text: `DROP SCHEMA ${other} CASCADE` });
        await again.close();
      }
    },
  );
  it(
    'moves the notifier and the webhooks over the seeded events, never over a real one',
    { timeout: 180_000 },
    async () => {
      const { db } = t.current;
      const one = async <R extends object>(text: string, values: unknown[] = []) =>
        (await db.query<R>({ text, values })).rows[0]!;
      // a report made through the API before this seed, which no follower has passed yet
      const { seq: real } = await one<{ seq: string }>(
        `WITH i AS (INSERT INTO incidents (reference, title, location, category_id)
                  SELECT 'BW-REALSEQ1', 'A real report', ST_SetSRID(ST_MakePoint(28, -26), 4326), id
                  FROM categories LIMIT 1 RETURNING id)
       INSERT INTO incident_events (incident_id, type, data, seq)
       SELECT id, 'created', '{}'::jsonb, nextval('incident_event_seq') FROM i RETURNING seq::text`,
      );
      // the notifier has fanned it out already; the webhook has not
      await db.query({ text: 'UPDATE notification_cursor SET delivered_seq = $1', values: [real] });
      await db.query({
        text: `INSERT INTO webhooks (name, url, events, delivered_seq)
             VALUES ('seed test', 'https://example.invalid/hook', '{incident.created}', $1::bigint - 1)`,
        values: [real],
      });

      const seeded = await seedIncidents(db, { incidents: 3_000, seed: 5, batchSize: 1_000 });
      expect(seeded.incidents).toBe(3_000);

      const { end } = await one<{ end: string }>('SELECT max(seq)::text AS end FROM incident_events');
      expect(Number(end)).toBeGreaterThanOrEqual(Number(real) + 3_000);
      // caught up before the seed: past all of it
      expect((await one<{ seq: string }>('SELECT delivered_seq::text AS seq FROM notification_cursor')).seq).toBe(end);
      // behind a real event: still before it, to deliver it
      const hook = await one<{ seq: string }>(
        `SELECT delivered_seq::text AS seq FROM webhooks WHERE name = 'seed test'`,
      );
      expect(Number(hook.seq)).toBe(Number(real) - 1);
    },
  );
});
