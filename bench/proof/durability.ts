/**
 * Durability under crashes (issue 10, point 4):
 *
 *   npx tsx bench/proof/durability.ts [--creates 10000] [--clients 8] [--kills 20] [--pg-stops 5]
 *
 * Starts a PostgreSQL 15 cluster of its own (temporary directory, loopback, fsync on), a fresh
 * database on it, and `serve` as a child process. A few clients stream POST /api/v1/incidents;
 * meanwhile the server is SIGKILLed `--kills` times (restarted at once on the same port) and
 * PostgreSQL is stopped immediately (SIGQUIT to the postmaster, i.e. `-m immediate`: no
 * checkpoint, crash recovery at the next start) `--pg-stops` times. Then every acknowledged create
 * (201 with an id) is looked for, and the rows the create's transaction writes are checked both
 * ways. The cluster is removed at the end. Exits 1 if anything acknowledged is missing.
 * `--embedded`: the same with PGlite on disk (DATA_DIR in a temporary directory), checked through
 * the running server's socket; its jobs run in process (and are deleted), so the job check is off.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { checkConsistency, runDurability } from './durability.lib.js';
import { freePort, out, PrivatePostgres, serverEnv, summarise } from './lib.js';

const { values: args } = parseArgs({
  options: {
    creates: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '8' },
    kills: { type: 'string', default: '20' },
    'pg-stops': { type: 'string', default: '5' },
    /** PGlite on disk in a temporary DATA_DIR instead of the private cluster (no PostgreSQL stops) */
    embedded: { type: 'boolean', default: false },
  },
});

const embedded = args.embedded;
const cluster = embedded ? null : new PrivatePostgres();
const dataDir = embedded ? fs.mkdtempSync(path.join(os.tmpdir(), 'bwdur-')) : '';
let exitCode = 0;
try {
  let env: Record<string, string>;
  let connection: pg.ClientConfig;
  const port = await freePort();
  if (cluster) {
    await cluster.init();
    await cluster.start();
    const url = await cluster.createDatabase('bw_durability');
    env = serverEnv({ DATABASE_URL: url, PORT: String(port), DATABASE_POOL_SIZE: '8' });
    connection = { connectionString: url };
    out(`# private PostgreSQL on 127.0.0.1:${cluster.port}, server on ${port}`);
  } else {
    env = serverEnv({ DATA_DIR: dataDir, PORT: String(port) });
    connection = { host: dataDir, port: 5432, user: 'postgres', database: 'postgres' };
    out(`# embedded PGlite in ${dataDir}, server on ${port}`);
  }
  const stops = cluster ? Number(args['pg-stops']) : 0;
  out(
    `# durability: ${args.creates} creates, ${args.clients} clients, ${args.kills} × kill -9, ${stops} × PostgreSQL immediate stop`,
  );
  const result = await runDurability({
    env,
    creates: Number(args.creates),
    clients: Number(args.clients),
    serverKills: Number(args.kills),
    postgresStops: stops,
    ...(cluster ? { postgres: cluster } : {}),
    log: (line) => out(`  ${line}`),
  });
  // embedded: checked through the running server's socket, then stopped
  const client = new pg.Client(connection);
  await client.connect();
  const c = await checkConsistency(client, result.acked, { jobsKept: !embedded });
  await client.end();
  await result.server.kill('SIGTERM');
  const restart = summarise(result.restartMs);
  const lost = result.acked.length - c.ackedFound;
  out('');
  out(`elapsed                          ${(result.elapsedMs / 1000).toFixed(1)} s`);
  out(`create attempts                  ${result.attempts}`);
  out(`acknowledged (201 + id)          ${result.acked.length}`);
  out(`acknowledged and found           ${c.ackedFound}   lost: ${lost}`);
  out(`unacknowledged attempts          ${JSON.stringify(result.failures)}`);
  out(
    `incidents in the database        ${c.incidents} (committed, some never acknowledged: ${c.incidents - c.ackedFound})`,
  );
  out(`server kill -9 / PG stops        ${result.serverKills} / ${result.postgresStops}`);
  out(`server restart to listening      p50 ${restart.p50} ms, max ${restart.max} ms`);
  out(`incident without audit row       ${c.missingAudit}`);
  out(`incident without timeline event  ${c.missingTimeline}`);
  out(`incident without its job         ${c.missingJob ?? 'not checked (jobs ran in process)'}`);
  out(`audit/timeline/job orphans       ${c.orphanAudit} / ${c.orphanTimeline} / ${c.orphanJob}`);
  const bad =
    lost + c.missingAudit + c.missingTimeline + (c.missingJob ?? 0) + c.orphanAudit + c.orphanTimeline + c.orphanJob;
  out(bad === 0 ? 'OK: nothing acknowledged was lost; every create is whole' : 'FAILED');
  if (bad !== 0) exitCode = 1;
} catch (err) {
  process.stderr.write(`durability: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  await cluster?.remove();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
