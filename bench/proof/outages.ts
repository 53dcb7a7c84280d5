/**
 * Outages of the services around the server (issue 10, point 4):
 *
 *   npx tsx bench/proof/outages.ts [--redis-seconds 60] [--pg-seconds 30] [--clients 4]
 *
 * Everything is the script's own: a PostgreSQL cluster in a temporary directory, a redis-server
 * on a free port (test/helpers/redis-server.ts), s3rver on loopback, and `serve` as a child
 * process. A few clients keep creating reports and listing them (every request with a 10 s
 * client timeout) while, one after another: Redis is frozen (SIGSTOP), Redis is killed and
 * stays away, PostgreSQL is stopped (immediate) and comes back, S3 is stopped. Per phase it prints
 * the answers, the p99 and largest latency and how many took over 2 s; after PostgreSQL returns,
 * how long until the first create succeeds; and whether the server process survived.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PrivateRedis } from '../../test/helpers/redis-server.js';
import { TestS3 } from '../../test/helpers/s3.js';
import {
  firstCategoryIds,
  freePort,
  incidentBody,
  out,
  PrivatePostgres,
  serverEnv,
  signIn,
  sleep,
  startServerChild,
  summarise,
} from './lib.js';

const { values: args } = parseArgs({
  options: {
    'redis-seconds': { type: 'string', default: '60' },
    'pg-seconds': { type: 'string', default: '30' },
    's3-seconds': { type: 'string', default: '10' },
    clients: { type: 'string', default: '4' },
  },
});
const redisSeconds = Number(args['redis-seconds']);
const pgSeconds = Number(args['pg-seconds']);

const cluster = new PrivatePostgres();
const redis = new PrivateRedis();
const s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-proof-s3-'));
const s3 = new TestS3(s3Dir);
let exitCode = 0;

try {
  await cluster.init();
  await cluster.start();
  const url = await cluster.createDatabase('bw_outages');
  await redis.start();
  await s3.start();
  const server = await startServerChild(
    serverEnv({ DATABASE_URL: url, REDIS_URL: redis.url, PORT: String(await freePort()), ...s3.env() }),
  );
  const base = server.url;
  let serverExit: string | null = null;
  void server.exited.then((how) => (serverExit = how));
  const token = `Bearer ${await signIn(base, 'proof-outages@example.invalid')}`;
  const categories = await firstCategoryIds(base);

  interface Sample {
    phase: string;
    kind: 'create' | 'list';
    status: number;
    ms: number;
    /** when it was sent and when its answer came (Date.now()) */
    startedAt: number;
    at: number;
  }
  const samples: Sample[] = [];
  let phase = 'baseline';
  let running = true;
  let n = 0;
  const client = async () => {
    while (running) {
      const i = n++;
      const kind = i % 2 === 0 ? 'create' : 'list';
      const p = phase;
      const startedAt = Date.now();
      const t0 = performance.now();
      let status = 0;
      try {
        const res =
          kind === 'create'
            ? await fetch(`${base}/api/v1/incidents`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: token },
                body: incidentBody(categories[i % categories.length]!, i, 'outage'),
                signal: AbortSignal.timeout(10_000),
              })
            : await fetch(`${base}/api/v1/incidents?near=28.04,-26.2&radius=2000&limit=20`, {
                signal: AbortSignal.timeout(10_000),
              });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0; // timeout or socket error
      }
      samples.push({ phase: p, kind, status, ms: performance.now() - t0, startedAt, at: Date.now() });
      await sleep(50);
    }
  };
  const clients = Array.from({ length: Number(args.clients) }, () => client());

  await sleep(5000);
  phase = 'redis frozen (SIGSTOP)';
  redis.freeze();
  await sleep(redisSeconds * 1000);
  redis.thaw();
  phase = 'redis thawed';
  await sleep(3000);

  phase = 'redis stopped';
  await redis.kill();
  await sleep(redisSeconds * 1000);
  await redis.start();
  phase = 'redis back';
  await sleep(3000);

  phase = 'postgres stopped';
  const pgStoppedAt = Date.now();
  await cluster.stopImmediate();
  await sleep(pgSeconds * 1000);
  const pgBackAt = Date.now();
  await cluster.start();
  const pgStarted = Date.now();
  phase = 'postgres back';
  await sleep(8000);

  phase = 's3 stopped';
  await s3.stop();
  // an upload while the store is away: must be an answer (503), not a hang or crash
  const form = new FormData();
  // a real photo: anything else is refused (415) before storage is ever asked
  const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#6d4c41' } })
    .jpeg()
    .toBuffer();
  form.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'pothole.jpg');
  const someId = await (async () => {
    const res = await fetch(`${base}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: incidentBody(categories[0]!, 1, 'media target'),
    });
    return res.status === 201 ? ((await res.json()) as { id: string }).id : null;
  })();
  let uploadStatus = -1;
  let uploadMs = 0;
  if (someId) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/api/v1/incidents/${someId}/media`, {
        method: 'POST',
        headers: { authorization: token },
        body: form,
        signal: AbortSignal.timeout(30_000),
      });
      uploadStatus = res.status;
      await res.arrayBuffer();
    } catch {
      uploadStatus = 0;
    }
    uploadMs = performance.now() - t0;
  }
  await sleep(Number(args['s3-seconds']) * 1000);
  await s3.start();
  phase = 'end';
  running = false;
  await Promise.all(clients);

  // recovery: the first successful create after PostgreSQL accepted connections again
  const firstOk = samples.find((s) => s.kind === 'create' && s.status === 201 && s.at > pgStarted);
  out(`# outages: private PostgreSQL, Redis and s3rver; ${args.clients} clients (create / list alternately)`);
  out('phase                       requests  statuses                                   p99 ms   max ms  > 2 s');
  for (const p of [...new Set(samples.map((s) => s.phase))]) {
    const ss = samples.filter((s) => s.phase === p);
    const codes: Record<string, number> = {};
    for (const s of ss) codes[`${s.kind}:${s.status}`] = (codes[`${s.kind}:${s.status}`] ?? 0) + 1;
    const lat = summarise(ss.map((s) => s.ms));
    out(
      `${p.padEnd(27)} ${String(ss.length).padStart(8)}  ${JSON.stringify(codes).padEnd(42)} ${lat.p99.toFixed(0).padStart(7)} ${lat.max
        .toFixed(0)
        .padStart(8)} ${String(ss.filter((s) => s.ms > 2000).length).padStart(6)}`,
    );
  }
  out(
    `PostgreSQL down ${pgSeconds} s; its start took ${pgStarted - pgBackAt} ms; first 201 after it accepted: ${firstOk ? `${firstOk.at - pgStarted} ms` : 'none'}`,
  );
  out(`upload while S3 is stopped: ${uploadStatus} in ${uploadMs.toFixed(0)} ms`);
  out(`server process: ${serverExit === null ? 'still running (no crash)' : `EXITED (${serverExit})`}`);
  const slow = samples.filter((s) => s.ms > 2000 && s.phase !== 'end').length;
  // A request belongs to an outage when it was sent and answered within it: the phases follow
  // each other at once, so a create sent while Redis was back may be answered after PostgreSQL
  // was stopped (a 503 that is PostgreSQL's, not Redis's), and PostgreSQL accepts again during
  // `cluster.start()`, before the phase is renamed. The issue: 503 within 2 s of the stop.
  const redisFailures = samples
    .filter((s) => s.phase.startsWith('redis') && s.kind === 'create' && s.status !== 201)
    .map((s) => ({ ...s, counts: s.at < pgStoppedAt }));
  const badRedis = redisFailures.filter((s) => s.counts).length;
  for (const { counts, ...s } of redisFailures) {
    out(
      `  ${s.phase}: create ${s.status} after ${s.ms.toFixed(0)} ms, answered ${Math.abs(s.at - pgStoppedAt)} ms ${counts ? 'before' : 'after'} PostgreSQL was stopped${counts ? ' (counts)' : ' (PostgreSQL’s, not counted)'}`,
    );
  }
  const badS3 = samples.filter((s) => s.phase === 's3 stopped' && s.kind === 'create' && s.status !== 201).length;
  const pgNot503 = samples.filter(
    (s) => s.phase === 'postgres stopped' && s.startedAt > pgStoppedAt + 2000 && s.at < pgBackAt && s.status !== 503,
  ).length;
  out(
    `checks: requests over 2 s ${slow}; failed creates with Redis away ${badRedis}; failed creates with S3 away ${badS3}; non-503 while PostgreSQL was away ${pgNot503}`,
  );
  if (
    serverExit !== null ||
    slow > 0 ||
    badRedis > 0 ||
    badS3 > 0 ||
    pgNot503 > 0 ||
    !firstOk ||
    firstOk.at - pgStarted > 5000
  )
    exitCode = 1;
  await server.kill('SIGTERM');
} catch (err) {
  process.stderr.write(`outages: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  await redis.stop();
  await s3.remove();
  await cluster.remove();
}
process.exit(exitCode);
