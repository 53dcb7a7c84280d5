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
 * `--hanging N` first puts N ordinary jobs in the queue that each wait 2 s, as a forward to an
 * authority that does not answer waits for its timeout; the incidents' jobs then arrive 1 s into
 * the drain, while those are in hand, and the alerts are timed from their arrival. `--lanes N` runs the
 * runner's N lanes as `serve` and `worker` do (DEFAULT_LANES in jobs.ts; the first takes urgent
 * jobs only); without it one loop claims a batch and runs it in turn (the runner before lanes).
 *
 *   npx tsx bench/jobs.ts [--jobs 5000] [--postgres URL] [--no-urgent] [--hanging 10] [--lanes 4]
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
    hanging: { type: 'string', default: '0' },
    lanes: { type: 'string' },
  },
});
const JOBS = Number(values.jobs);
const HANGING = Number(values.hanging);
const HANG_MS = 2_000;
const LANES = values.lanes === undefined ? null : Number(values.lanes);
/** the run_at of jobs that are yet to arrive (made due 1 s into the drain) */
const ARRIVING = `'2999-01-01T00:00:00Z'::timestamptz`;
const ARRIVE_AFTER_MS = 1_000;

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
         SELECT 'incident.created.v1', json_build_object('incidentId', id),
                CASE WHEN $3 THEN ${ARRIVING} ELSE now() END, 10, priority = 'critical' AND $2 FROM made`,
  values: [JOBS, !values['no-urgent'], HANGING > 0],
});

await db.query({
  text: `INSERT INTO jobs (name, payload, run_at, max_attempts)
         SELECT 'bench.hanging', '{}', now() - interval '1 minute', 1 FROM generate_series(1, $1::int)`,
  values: [HANGING],
});

// every statement the runner and the handlers send goes through here and is counted
const recorded = recordingDatabase(db);
const runner = new JobRunner(recorded.db, quiet, LANES === null ? {} : { lanes: LANES, pollMs: 20 });
let hung = 0;
runner.register({
  name: 'bench.hanging',
  handle: async () => {
    await new Promise((resolve) => setTimeout(resolve, HANG_MS));
    hung++;
  },
});
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
let arrivedAt = startedAt;
const arrival =
  HANGING === 0
    ? Promise.resolve()
    : new Promise<void>((resolve) =>
        setTimeout(() => {
          arrivedAt = new Date();
          void db.query({ text: `UPDATE jobs SET run_at = now() WHERE run_at = ${ARRIVING}` }).then(() => resolve());
        }, ARRIVE_AFTER_MS),
      );
let ran = 0;
if (LANES === null) {
  const drain = async () => {
    for (let n = await runner.runDue(); n > 0; n = await runner.runDue()) ran += n;
  };
  await drain();
  // the arrivals come while the first batch is in hand; if not, wait for them
  await arrival;
  await drain();
} else {
  let arrived = HANGING === 0;
  void arrival.then(() => (arrived = true));
  runner.start();
  // done when no job of the run is left and every hanging one has had its wait
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { rows } = await db.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM jobs WHERE name IN ('incident.created.v1', 'bench.hanging') AND run_at <= now()`,
    });
    if (arrived && rows[0]!.n === 0 && hung === HANGING) break;
  }
  await runner.stop();
  ran = JOBS + HANGING;
}
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
  values: [arrivedAt],
});
const alert = alerts.rows[0]!;

console.log(`backend:            ${values.postgres ? 'server PostgreSQL' : 'embedded (PGlite)'}`);
console.log(
  `runner:             ${LANES === null ? 'one loop, a batch in turn' : `${LANES} lanes`}; ${HANGING} hanging jobs`,
);
console.log(`jobs run:           ${ran} (${left.rows[0]!.n} left)`);
console.log(`time:               ${seconds.toFixed(2)} s`);
console.log(`jobs a second:      ${(ran / seconds).toFixed(0)}`);
console.log(`statements a job:   ${(statements / ran).toFixed(2)}`);
console.log(
  `alerts started:     ${alert.n}, ${values['no-urgent'] ? 'as ordinary jobs' : 'urgent'}: median ${alert.median?.toFixed(2)} s, ` +
    `last ${alert.max?.toFixed(2)} s after ${HANGING > 0 ? 'their jobs arrived' : 'the drain began'}`,
);

await db.query({ text: `UPDATE jobs SET run_at = now() WHERE run_at > now() + interval '23 hours'` });
await database.close();
