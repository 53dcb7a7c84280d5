import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/helpers/database.js';
import type { JobDefinition, JobRunner } from '../../platform/jobs/jobs.js';
import { registerMaintenanceJobs } from './maintenance.jobs.js';
import {
  autovacuumSetting,
  needsOwnVacuum,
  tableActivity,
  tablesNeedingCare,
  vacuumMostUrgent,
  vacuumRun,
} from './maintenance.vacuum.js';

/**
 * Buurtwag's own vacuum, on both backends (these tables switch autovacuum off, so that the test
 * sees their dead rows whatever the server's setting).
 */
const t = useTestDatabase();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A table of 100 live rows and 900 dead ones, counted in the statistics. */
async function churn(table: string): Promise<void> {
  await t.current.db.withClient(async (client) => {
    await client.query({
      text: `CREATE TABLE ${table} (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = false)`,
    });
    await client.query({ text: `INSERT INTO ${table} SELECT n, 'row ' || n FROM generate_series(1, 1000) n` });
    await client.query({ text: `ANALYZE ${table}` });
    await client.query({ text: `DELETE FROM ${table} WHERE id > 100` });
    // this connection's counts reach the statistics at the end of its next transaction
    await client.query({ text: 'SELECT pg_stat_force_next_flush()' });
    await client.query({ text: 'SELECT 1' });
  });
}

const deadIn = async (table: string) =>
  (await tableActivity(t.current.db)).find((a) => a.table === table)?.dead ?? Number.NaN;

describe('vacuum of the embedded database', () => {
  it('finds the tables with dead rows, vacuums and analyzes them within its budget, then leaves them alone', async () => {
    const { db } = t.current;
    const tables = ['churn_a', 'churn_b'];
    for (const table of tables) await churn(table);
    const mine = async () =>
      (await tableActivity(db)).filter((a) => tables.includes(a.table)).sort((a, b) => a.table.localeCompare(b.table));
    const before = await mine();
    expect(before).toEqual(
      tables.map((table) => expect.objectContaining({ schema: t.current.schema, table, dead: 900 })),
    );
    expect(tablesNeedingCare(before).map((c) => [c.table, c.action])).toEqual([
      ['churn_a', 'vacuum'],
      ['churn_b', 'vacuum'],
    ]);

    // a run spends its budget: with none left after the first table it stops there ...
    const first = await vacuumMostUrgent(db, 0);
    expect(first).toHaveLength(1);
    // ... and with time to spare it goes on to every table that needs it
    const rest = await vacuumMostUrgent(db, 60_000);
    const done = [...first, ...rest].map((c) => c.table);
    expect(done).toEqual(expect.arrayContaining(tables));

    // On PostgreSQL the other test files share the database, and a transaction of theirs that
    // began before the DELETE keeps its rows from being removed ("recently dead"); the job's
    // next run gets them, so the test runs it again as the job would, a bounded number of times.
    let after = await mine();
    for (let run = 0; run < 20 && tablesNeedingCare(after).length > 0; run++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      await vacuumMostUrgent(db, 60_000);
      after = await mine();
    }
    expect(after).toEqual(tables.map(() => expect.objectContaining({ dead: 0, rows: 100, modifiedSinceAnalyze: 0 })));
    expect(tablesNeedingCare(after)).toEqual([]);
    for (const table of tables) await db.query({ text: `DROP TABLE ${table}` });
  });

  it('runs on one node at a time: while another holds the lock, a run does nothing', async () => {
    const { db } = t.current;
    await churn('churn_locked');
    await db.withClient(async (other) => {
      await other.query({ text: `SELECT pg_advisory_lock(hashtextextended('maintenance:vacuum', 0))` });
      try {
        if (db.kind === 'postgres') {
          expect(await vacuumRun(db, 60_000)).toBeNull();
          expect(await deadIn('churn_locked')).toBe(900);
        } else {
          // embedded, every connection shares PGlite's one session, where the lock is re-entrant:
          // there is one node and one runner, which never overlaps its own runs
          expect(await vacuumRun(db, 0)).not.toBeNull();
        }
      } finally {
        await other.query({ text: `SELECT pg_advisory_unlock(hashtextextended('maintenance:vacuum', 0))` });
      }
    });
    await churn('churn_locked_again');
    const done = await vacuumRun(db, 60_000);
    expect(done?.map((c) => c.table)).toContain('churn_locked_again');
    await db.query({ text: 'DROP TABLE churn_locked_again' });
    await db.query({ text: 'DROP TABLE churn_locked' });
  });

  it('as a job: vacuums an embedded database, and a PostgreSQL whose autovacuum is off', async () => {
    const { db } = t.current;
    const definitions = new Map<string, JobDefinition<never>>();
    const runner = {
      register: (d: JobDefinition<never>) => definitions.set(d.name, d),
      every: () => undefined,
    };
    registerMaintenanceJobs(runner as unknown as JobRunner, db, quiet);
    const job = definitions.get('maintenance.vacuum.v1')!;
    await churn('churn_job');

    const ours = needsOwnVacuum(db.kind, await autovacuumSetting(db));
    // as in the first test, a transaction of another test file can hold the rows back for a while
    for (let run = 0; run < 20; run++) {
      await job.handle(undefined as never, { db, attempt: 1 });
      if (!ours || (await deadIn('churn_job')) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // embedded, or this machine's PostgreSQL (autovacuum = off): vacuumed; with autovacuum on, left to it
    expect(await deadIn('churn_job')).toBe(ours ? 0 : 900);
    await db.query({ text: 'DROP TABLE churn_job' });
  });
});
