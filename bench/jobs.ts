/**
 * The job runner's drain rate: N incidents created (default 5,000), each with the
 * `incident.created.v1` job its create enqueues, then one runner works through them as `serve`
 * does (the emergency trigger hooked in). Prints jobs a second and the statements a job costs
 * (counted at the Database), for the embedded default or, with --postgres, server PostgreSQL.
 * In embedded mode every statement holds the one PGlite session that requests wait for, so the
 * statements a job costs is what a backlog of jobs takes from requests.
 *
 *   npx tsx bench/jobs.ts [--jobs 5000] [--postgres URL]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrate.js';
import { openDatabase } from '../src/platform/db/open.js';
import { JobRunner } from '../src/platform/jobs/jobs.js';
import { emergencyTrigger } from '../src/modules/emergency/emergency.jobs.js';
import { registerIncidentJobs } from '../src/modules/incidents/incidents.jobs.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '5000' }, postgres: { type: 'string' } } });
const JOBS = Number(values.jobs);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-jobs-'));
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

const config = loadConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  DATA_DIR: path.join(work, 'data'),
  ...(values.postgres ? { DATABASE_URL: values.postgres } : {}),
});
const db = await openDatabase(config, quiet, { applicationName: 'bench-jobs' });
await migrate(db);

// the set-up, in SQL (not what is measured): N incidents of the default categories, one in 20
// critical, and the job each create enqueues; other jobs already due are set aside
await db.query({ text: `UPDATE jobs SET run_at = now() + interval '1 day' WHERE run_at <= now()` });
await db.query({
  text: `WITH c AS (SELECT array_agg(id ORDER BY sort_order) AS ids FROM categories),
              made AS (
                INSERT INTO incidents (reference, title, location, category_id, priority)
                SELECT 'BW-JB' || lpad(to_hex(n), 6, '0') || upper(substr(md5(random()::text), 1, 4)),
                       'Burst pipe on Jan Smuts Avenue ' || n,
                       ST_SetSRID(ST_MakePoint(28.0 + n * 1e-6, -26.1), 4326),
                       c.ids[1 + n % array_length(c.ids, 1)],
                       (CASE WHEN n % 20 = 0 THEN 'critical' ELSE 'medium' END)::incident_priority
                FROM c, generate_series(1, $1::int) n RETURNING id)
         INSERT INTO jobs (name, payload, run_at, max_attempts)
         SELECT 'incident.created.v1', json_build_object('incidentId', id), now(), 10 FROM made`,
  values: [JOBS],
});

// every statement the runner and the handlers send goes through here and is counted
let statements = 0;
const counted: Database = Object.create(db) as Database;
counted.query = ((...args: Parameters<Database['query']>) => {
  statements++;
  return db.query(...args);
}) as Database['query'];
counted.transaction = ((fn: Parameters<Database['transaction']>[0]) =>
  db.transaction((tx) => {
    statements += 2; // BEGIN and COMMIT
    const inner = Object.create(tx) as typeof tx;
    inner.query = ((...args: Parameters<typeof tx.query>) => {
      statements++;
      return tx.query(...args);
    }) as typeof tx.query;
    return fn(inner);
  })) as Database['transaction'];

const runner = new JobRunner(counted, quiet);
registerIncidentJobs(runner, quiet, [
  emergencyTrigger({
    db: counted,
    escalationMinutes: 15,
    webhook: null,
    policy: {},
    publicUrl: 'http://bench.invalid',
    log: quiet,
  }),
]);

const started = performance.now();
let ran = 0;
for (let n = await runner.runDue(); n > 0; n = await runner.runDue()) ran += n;
const seconds = (performance.now() - started) / 1000;
const left = await db.query<{ n: number }>({
  text: `SELECT count(*)::int AS n FROM jobs WHERE name = 'incident.created.v1' AND run_at <= now()`,
});

console.log(`backend:            ${values.postgres ? 'server PostgreSQL' : 'embedded (PGlite)'}`);
console.log(`jobs run:           ${ran} (${left.rows[0]!.n} left)`);
console.log(`time:               ${seconds.toFixed(2)} s`);
console.log(`jobs a second:      ${(ran / seconds).toFixed(0)}`);
console.log(`statements a job:   ${(statements / ran).toFixed(2)}`);

await db.query({ text: `UPDATE jobs SET run_at = now() WHERE run_at > now() + interval '23 hours'` });
await db.close();
fs.rmSync(work, { recursive: true, force: true });
