/**
 * The durability run shared by bench/proof/durability.ts and test/proof/durability.db.test.ts:
 * a few clients stream creates while the server is SIGKILLed (and restarted on the same port)
 * and, optionally, PostgreSQL is stopped "immediately"; every create the server acknowledged
 * (201 with an id) is recorded, to be looked for in the database afterwards.
 */
import pg from 'pg';
import {
  firstCategoryIds,
  incidentBody,
  signIn,
  sleep,
  startServerChild,
  type PrivatePostgres,
  type ServerChild,
} from './lib.js';

export interface DurabilityOptions {
  /** the server's whole environment, with a fixed PORT */
  env: Record<string, string>;
  creates: number;
  clients: number;
  serverKills: number;
  /** immediate PostgreSQL stops (needs `postgres`) */
  postgresStops?: number;
  postgres?: PrivatePostgres;
  /** how long PostgreSQL stays down each time */
  postgresDownMs?: number;
  log?: (line: string) => void;
}

export interface DurabilityResult {
  acked: string[];
  attempts: number;
  /** what the unacknowledged attempts got: a status code, or the socket error */
  failures: Record<string, number>;
  serverKills: number;
  postgresStops: number;
  restartMs: number[];
  elapsedMs: number;
  /** the server running at the end (the caller stops it) */
  server: ServerChild;
}

export async function runDurability(o: DurabilityOptions): Promise<DurabilityResult> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  let server = await startServerChild(o.env);
  const base = server.url;
  const token = await signIn(base, 'proof-durability@example.invalid');
  const categories = await firstCategoryIds(base);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

  const acked: string[] = [];
  const failures: Record<string, number> = {};
  let attempts = 0;
  let next = 0;
  const fail = (kind: string) => (failures[kind] = (failures[kind] ?? 0) + 1);

  async function client(): Promise<void> {
    while (acked.length < o.creates && broken === null) {
      const i = next++;
      attempts++;
      try {
        const res = await fetch(`${base}/api/v1/incidents`, {
          method: 'POST',
          headers,
          body: incidentBody(categories[i % categories.length]!, i, 'durability'),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (res.status === 201) {
          acked.push((JSON.parse(text) as { id: string }).id);
          continue;
        }
        fail(String(res.status));
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        fail(cause);
      }
      await sleep(25);
    }
  }

  // disruptions spread evenly over the stream: server kills, with the PostgreSQL stops among them
  const stops = o.postgres ? (o.postgresStops ?? 0) : 0;
  const total = o.serverKills + stops;
  const plan: Array<'kill' | 'pg'> = [];
  for (let k = 0; k < total; k++) {
    // a PostgreSQL stop at every (total/stops)-th slot
    const pgSlot = stops > 0 && Math.floor(((k + 1) * stops) / total) > Math.floor((k * stops) / total);
    plan.push(pgSlot ? 'pg' : 'kill');
  }
  const restartMs: number[] = [];
  let kills = 0;
  let pgStops = 0;
  let done = false;
  let broken: Error | null = null;

  async function disrupt(): Promise<void> {
    for (let k = 0; k < plan.length; k++) {
      const threshold = Math.floor(((k + 1) * o.creates) / (plan.length + 1));
      while (acked.length < threshold && !done) await sleep(10);
      if (done) return;
      if (plan[k] === 'kill') {
        const t0 = Date.now();
        await server.kill('SIGKILL');
        kills++;
        server = await startServerChild(o.env);
        restartMs.push(Date.now() - t0);
        log(`kill -9 #${kills} at ${acked.length} acknowledged; back in ${Date.now() - t0} ms`);
      } else {
        const t0 = Date.now();
        await o.postgres!.stopImmediate();
        pgStops++;
        await sleep(o.postgresDownMs ?? 1000);
        await o.postgres!.start();
        log(
          `PostgreSQL immediate stop #${pgStops} at ${acked.length} acknowledged; up again after ${Date.now() - t0} ms`,
        );
      }
    }
  }

  // a server that does not come back ends the run (instead of clients retrying forever)
  const disruptor = disrupt().catch((err: unknown) => {
    broken = err as Error;
  });
  await Promise.all(Array.from({ length: o.clients }, () => client()));
  done = true;
  await disruptor;
  if (broken) throw broken;
  return {
    acked,
    attempts,
    failures,
    serverKills: kills,
    postgresStops: pgStops,
    restartMs,
    elapsedMs: Date.now() - started,
    server,
  };
}

export interface Consistency {
  incidents: number;
  ackedFound: number;
  missingAudit: number;
  missingTimeline: number;
  /** null where the jobs ran (and were deleted) in process: embedded mode */
  missingJob: number | null;
  orphanAudit: number;
  orphanTimeline: number;
  orphanJob: number;
}

/**
 * What the create writes in its one transaction, checked both ways: every incident has its
 * `incident.create` audit row, its `created` timeline event and (jobs not yet run) its
 * `incident.created.v1` job, and none of those points at an incident that does not exist.
 */
export async function checkConsistency(
  client: pg.Client | pg.Pool,
  acked: string[],
  options: { jobsKept: boolean },
): Promise<Consistency> {
  const one = async (sql: string, values: unknown[] = []) =>
    Number((await client.query<{ n: string }>(sql, values)).rows[0]!.n);
  return {
    incidents: await one('SELECT count(*) AS n FROM incidents'),
    ackedFound: await one('SELECT count(*) AS n FROM incidents WHERE id = ANY($1::uuid[])', [acked]),
    missingAudit: await one(`SELECT count(*) AS n FROM incidents i WHERE NOT EXISTS (
        SELECT 1 FROM audit_log a WHERE a.entity_type = 'incident' AND a.entity_id = i.id::text AND a.action = 'incident.create')`),
    missingTimeline: await one(`SELECT count(*) AS n FROM incidents i WHERE NOT EXISTS (
        SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.type = 'created')`),
    missingJob: options.jobsKept
      ? await one(`SELECT count(*) AS n FROM incidents i WHERE NOT EXISTS (
          SELECT 1 FROM jobs j WHERE j.name = 'incident.created.v1' AND j.payload->>'incidentId' = i.id::text)`)
      : null,
    orphanAudit: await one(`SELECT count(*) AS n FROM audit_log a WHERE a.action = 'incident.create'
        AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id::text = a.entity_id)`),
    orphanTimeline: await one(`SELECT count(*) AS n FROM incident_events e WHERE e.type = 'created'
        AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id)`),
    orphanJob: await one(`SELECT count(*) AS n FROM jobs j WHERE j.name = 'incident.created.v1'
        AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id::text = j.payload->>'incidentId')`),
  };
}
