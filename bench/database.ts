import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrate.js';
import { openDatabase } from '../src/platform/db/open.js';

/** A logger that says nothing, for the in-process benchmarks. */
export const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The database of a benchmark that runs the app's code in its own process: server PostgreSQL at
 * `postgresUrl`, else a fresh embedded one in a temporary directory; migrated. `close` also
 * removes the temporary directory.
 */
export async function openBenchDatabase(
  name: string,
  postgresUrl: string | undefined,
): Promise<{ db: Database; close(): Promise<void> }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `bw-bench-${name}-`));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: path.join(work, 'data'),
    ...(postgresUrl ? { DATABASE_URL: postgresUrl } : {}),
  });
  const db = await openDatabase(config, quiet, { applicationName: `bench-${name}` });
  await migrate(db);
  return {
    db,
    async close() {
      await db.close();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
