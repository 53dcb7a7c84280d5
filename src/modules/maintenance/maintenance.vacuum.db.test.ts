import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/helpers/database.js';
import { tableActivity, tablesNeedingCare, vacuumMostUrgent } from './maintenance.vacuum.js';

/**
 * The embedded database's vacuum, on both backends (the job runs embedded only: PostgreSQL has
 * autovacuum, which these tables switch off so that the test sees their dead rows).
 */
const t = useTestDatabase();

describe('vacuum of the embedded database', () => {
  it('finds the tables with dead rows, vacuums and analyzes them within its budget, then leaves them alone', async () => {
    const { db } = t.current;
    const tables = ['churn_a', 'churn_b'];
    await db.withClient(async (client) => {
      for (const table of tables) {
        await client.query({
          text: `CREATE TABLE ${table} (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = false)`,
        });
        await client.query({ text: `INSERT INTO ${table} SELECT n, 'row ' || n FROM generate_series(1, 1000) n` });
        await client.query({ text: `ANALYZE ${table}` });
        await client.query({ text: `DELETE FROM ${table} WHERE id > 100` });
      }
      // this connection's counts reach the statistics at the end of its next transaction
      await client.query({ text: 'SELECT pg_stat_force_next_flush()' });
      await client.query({ text: 'SELECT 1' });
    });
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
});
