/**
 * The job runner's drain rate: N incidents created (default 5,000), each with the
 * `incident.created.v1` job its create enqueues, then one runner works through them as `serve`
 * does (the emergency trigger hooked in). Prints jobs a second and the statements a job costs
 * (counted at the Database, a transaction's BEGIN and COMMIT included), for the embedded default
 * or, with --postgres, server PostgreSQL. In embedded mode every statement holds the one PGlite
 * session that requests wait for, so the statements a job costs is what a backlog of jobs takes
 * from requests.
 *
 * Also prints how long after the drain began the critical incidents' alerts started: their jobs
 * are urgent, as a create makes them (`--no-urgent`: as ordinary jobs, the order before urgency).
 *
 *   npx tsx bench/jobs.ts [--jobs 5000] [--postgres URL] [--no-urgent]
 */
import { parseArgs } from 'node:util';
import { JobRunner } from '../src/platform/jobs/jobs.js';
import { emergencyTrigger } from '../src/modules/emergency/emergency.jobs.js';
import { registerIncidentJobs } from '../src/modules/incidents/incidents.jobs.js';
import { recordingDatabase } from '../test/helpers/recording-database.js';
import { openBenchDatabase, quiet } from './database.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    postgres: { type: 'string' },
    'no-urgent': { type: 'boolean', default: false },
  },
});
const JOBS = Number(values.jobs);

const database = await openBenchDatabase('jobs', values.postgres);
const { db } = database;

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
                FROM c, generate_series(1, $1::int) n RETURNING id, priority)
         INSERT INTO jobs (name, payload, run_at, max_attempts, urgent)
         SELECT 'incident.created.v1', json_build_object('incidentId', id), now(), 10,
                priority = 'critical' AND $2 FROM made`,
  values: [JOBS, !values['no-urgent']],
});

// every statement the runner and the handlers send goes through here and is counted
const recorded = recordingDatabase(db);
const runner = new JobRunner(recorded.db, quiet);
registerIncidentJobs(runner, quiet, [
  emergencyTrigger({
    db: recorded.db,
    escalationMinutes: 15,
    webhook: null,
    policy: {},
    publicUrl: 'http://bench.invalid',
    log: quiet,
  }),
]);

const startedAt = new Date();
const started = performance.now();
let ran = 0;
for (let n = await runner.runDue(); n > 0; n = await runner.runDue()) ran += n;
const seconds = (performance.now() - started) / 1000;
const left = await db.query<{ n: number }>({
  text: `SELECT count(*)::int AS n FROM jobs WHERE name = 'incident.created.v1' AND run_at <= now()`,
});
const statements = recorded.statements.length + 2 * recorded.transactions;
const alerts = await db.query<{ n: number; median: number; max: number }>({
  text: `SELECT count(*)::int AS n,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - $1))::float8 AS median,
                max(extract(epoch FROM a.started_at - $1))::float8 AS max
         FROM emergency_alerts a JOIN incidents i ON i.id = a.incident_id
         WHERE i.reference LIKE 'BW-JB%' AND a.started_at >= $1`,
  values: [startedAt],
});
const alert = alerts.rows[0]!;

console.log(`backend:            ${values.postgres ? 'server PostgreSQL' : 'embedded (PGlite)'}`);
console.log(`jobs run:           ${ran} (${left.rows[0]!.n} left)`);
console.log(`time:               ${seconds.toFixed(2)} s`);
console.log(`jobs a second:      ${(ran / seconds).toFixed(0)}`);
console.log(`statements a job:   ${(statements / ran).toFixed(2)}`);
console.log(
  `alerts started:     ${alert.n}, ${values['no-urgent'] ? 'as ordinary jobs' : 'urgent'}: median ${alert.median?.toFixed(2)} s, ` +
    `last ${alert.max?.toFixed(2)} s after the drain began`,
);

await db.query({ text: `UPDATE jobs SET run_at = now() WHERE run_at > now() + interval '23 hours'` });
await database.close();
