import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../platform/db/database.js';
import { readMigrations } from '../../platform/db/migrate.js';
import { openDatabase } from '../../platform/db/open.js';
import { tableActivity, tablesNeedingCare, vacuumMostUrgent } from './maintenance.vacuum.js';

/**
 * An embedded database on disk, stopped and started again: PGlite forgets its table statistics
 * at every start, so the engine carries the counts over a clean stop (embedded.ts, migration 0029)
 * and the vacuum job still sees the dead rows made before it.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-carry-'));
const log = { warn: () => undefined, error: () => undefined };
/** One start of the embedded database, `use`d, then a clean stop. */
async function started(use: (db: Database) => Promise<void>): Promise<void> {
  const db = await openDatabase({ db: { kind: 'embedded', poolSize: 2 }, dataDir: dir }, log);
  try {
    await use(db);
  } finally {
    await db.close();
  }
}
const churnOf = async (db: Database) => (await tableActivity(db)).find((a) => a.table === 'churn');

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('table statistics over an embedded restart', () => {
  it('are carried over a clean stop, added up over several, and spent by the vacuum', async () => {
    const carried = readMigrations().find((m) => m.name === 'carried_table_activity')!;
    await started(async (db) => {
      await db.query({ text: carried.sql });
      await db.query({ text: `CREATE TABLE churn (id int PRIMARY KEY)` });
      await db.query({ text: `INSERT INTO churn SELECT generate_series(1, 1000)` });
      // the inserts reach the statistics before the ANALYZE that counts them as analyzed
      await db.query({ text: `SELECT pg_stat_force_next_flush()` });
      await db.query({ text: `ANALYZE churn` });
      await db.query({ text: `DELETE FROM churn WHERE id > 100` });
    });

    await started(async (db) => {
      // without the carry: 0 dead rows, and nothing for the vacuum to do
      expect(await churnOf(db)).toMatchObject({ dead: 900, modifiedSinceAnalyze: 900 });
      await db.query({ text: `DELETE FROM churn WHERE id > 50` });
    });

    await started(async (db) => {
      expect(await churnOf(db)).toMatchObject({ dead: 950, modifiedSinceAnalyze: 950 });
      expect(tablesNeedingCare((await tableActivity(db)).filter((a) => a.table === 'churn'))).toHaveLength(1);
      const done = await vacuumMostUrgent(db, 60_000);
      expect(done.map((c) => c.table)).toContain('churn');
      expect(await churnOf(db)).toMatchObject({ dead: 0, modifiedSinceAnalyze: 0 });
      const { rows } = await db.query({ text: `SELECT * FROM carried_table_activity WHERE table_name = 'churn'` });
      expect(rows).toEqual([]);
    });
  }, 120_000);
});
