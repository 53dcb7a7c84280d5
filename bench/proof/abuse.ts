/**
 * Abuse (issue 10, point 4):
 *
 *   npx tsx bench/proof/abuse.ts [--fuzz 10000] [--slowloris 500] [--slowloris-seconds 30]
 *                                [--postgres postgres://postgres@127.0.0.1:5432/postgres]
 *
 * Starts `serve` (its own process, rate limits off, on a scratch database made on the given
 * server and dropped at the end) and, one after another: slowloris sockets that dribble a header
 * byte every few seconds; five 100 MB bodies at once; deeply nested JSON; world-size and nonsense
 * boxes; `--fuzz` requests generated from /api/v1/openapi.json and broken on purpose (fuzz.lib.ts).
 * A canary GET /api/v1/incidents/:id runs every 25 ms throughout, on a thread of its own; its
 * latency is printed per phase.
 * Counts 5xx answers and bodies that show a stack trace (both must be 0); exits 1 otherwise.
 */
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  deeplyNested,
  fuzzRequest,
  leaksInternals,
  operations,
  rng,
  WORLD_BOXES,
  type FuzzContext,
} from './fuzz.lib.js';
import {
  firstCategoryIds,
  freePort,
  out,
  rssMb,
  scratchDatabase,
  serverEnv,
  signIn,
  sleep,
  startServerChild,
  summarise,
} from './lib.js';

/** The canary's thread (plain JavaScript: a worker does not load TypeScript). */
const CANARY_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
let phase = workerData.phase;
let on = true;
const latencies = {};
const errors = {};
parentPort.on('message', (m) => {
  if (m.phase) phase = m.phase;
  if (m.stop) on = false;
});
(async () => {
  while (on) {
    const t0 = performance.now();
    const p = phase;
    try {
      const res = await fetch(workerData.url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status !== 200) errors[p] = (errors[p] ?? 0) + 1;
      else (latencies[p] ??= []).push(performance.now() - t0);
    } catch {
      errors[p] = (errors[p] ?? 0) + 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  parentPort.postMessage({ latencies, errors });
})();
`;

const { values: args } = parseArgs({
  options: {
    fuzz: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    slowloris: { type: 'string', default: '500' },
    'slowloris-seconds': { type: 'string', default: '30' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

const scratch = await scratchDatabase(args.postgres);
const server = await startServerChild(
  serverEnv({ DATABASE_URL: scratch.url, PORT: String(await freePort()), DATABASE_POOL_SIZE: '4' }),
);
const base = server.url;
let failed = false;

try {
  const token = `Bearer ${await signIn(base, 'proof-abuse@example.invalid')}`;
  const categories = await firstCategoryIds(base);
  const create = await fetch(`${base}/api/v1/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({
      title: 'Canary report',
      description: '',
      categoryId: categories[0],
      location: { type: 'Point', coordinates: [28.04, -26.2] },
    }),
  });
  const canaryId = ((await create.json()) as { id: string }).id;
  const target = (await (
    await fetch(`${base}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({
        title: 'Fuzz target',
        description: '',
        categoryId: categories[1] ?? categories[0],
        location: { type: 'Point', coordinates: [28.05, -26.21] },
      }),
    })
  ).json()) as { id: string; reference: string };

  // The canary: one GET every 25 ms, latencies kept per phase. It runs on a thread of its own:
  // in this thread the fuzz clients, slowloris sockets and body checks keep the event loop busy,
  // and a canary here would time this process's queue as much as the server's answer.
  const canaryWorker = new Worker(CANARY_WORKER, {
    eval: true,
    workerData: { url: `${base}/api/v1/incidents/${canaryId}`, phase: 'idle' },
  });
  const canaryResult = new Promise<{ latencies: Record<string, number[]>; errors: Record<string, number> }>(
    (resolve, reject) => {
      canaryWorker.once('message', resolve);
      canaryWorker.once('error', reject);
    },
  );
  const setPhase = (next: string) => canaryWorker.postMessage({ phase: next });

  const statuses = new Map<string, Map<number, number>>();
  let fivexx = 0;
  let leaks = 0;
  const record = (p: string, status: number, body: string, what: string) => {
    const m = statuses.get(p) ?? new Map<number, number>();
    m.set(status, (m.get(status) ?? 0) + 1);
    statuses.set(p, m);
    if (status >= 500) {
      fivexx++;
      if (fivexx <= 10) out(`  5xx: ${what} -> ${status} ${body.slice(0, 200)}`);
    }
    if (leaksInternals(body)) {
      leaks++;
      if (leaks <= 10) out(`  leak: ${what} -> ${body.slice(0, 200)}`);
    }
  };

  setPhase('idle');
  await sleep(5000);

  // --- slowloris
  setPhase('slowloris');
  const port = server.port;
  const sockets: net.Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < Number(args.slowloris); i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('close', () => closedByServer++);
    s.write(`GET /api/v1/categories HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `);
    sockets.push(s);
  }
  const slowSeconds = Number(args['slowloris-seconds']);
  for (let t = 0; t < slowSeconds; t += 5) {
    for (const s of sockets) if (!s.destroyed) s.write('a');
    await sleep(5000);
  }
  const closedDuring = closedByServer;
  for (const s of sockets) s.destroy();
  out(
    `slowloris: ${sockets.length} sockets dribbling a header byte every 5 s for ${slowSeconds} s; closed by the server meanwhile: ${closedDuring}`,
  );

  // --- 100 MB bodies
  setPhase('bodies');
  const bodyResults = await Promise.all(Array.from({ length: 5 }, () => hugeBody(`${base}/api/v1/incidents`, token)));
  for (const r of bodyResults) record('bodies', r.status, '', '100 MB body');
  out(
    `100 MB bodies: ${bodyResults.map((r) => r.status).join(', ')}; MB sent before the answer ${bodyResults
      .map((r) => (r.sent / 1048576).toFixed(0))
      .join(', ')}; server RSS ${rssMb(server.pid).toFixed(0)} MB`,
  );

  // --- deeply nested JSON
  setPhase('nested');
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: deeplyNested(i % 2 === 0 ? 100_000 : 1_000),
    });
    record('nested', res.status, await res.text(), 'nested JSON');
  }

  // --- world boxes
  setPhase('boxes');
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/api/v1/incidents?bbox=${WORLD_BOXES[i % WORLD_BOXES.length]}&limit=200`);
    record('boxes', res.status, await res.text(), 'world box');
  }

  // --- fuzz
  setPhase('fuzz');
  const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as Parameters<typeof operations>[0];
  const ops = operations(doc);
  const ctx: FuzzContext = {
    ids: [target.id, target.reference, categories[0]!, ...categories.slice(2, 4)],
    tokens: [token],
  };
  const random = rng(0x5eed);
  const total = Number(args.fuzz);
  let next = 0;
  // time per operation: what the canary waits behind when the fuzzer costs it latency
  const perOperation = new Map<string, { n: number; ms: number; max: number }>();
  const fuzzStart = Date.now();
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (next < total) {
        const i = next++;
        const op = i < ops.length ? ops[i]! : ops[Math.floor(random() * ops.length)]!;
        const req = fuzzRequest(op, random, ctx);
        const started = performance.now();
        const timed = () => {
          const key = `${op.method.toUpperCase()} ${op.path}`;
          const entry = perOperation.get(key) ?? { n: 0, ms: 0, max: 0 };
          const ms = performance.now() - started;
          perOperation.set(key, { n: entry.n + 1, ms: entry.ms + ms, max: Math.max(entry.max, ms) });
        };
        try {
          const res = await fetch(base + req.url, {
            method: req.method,
            headers: req.headers,
            ...(req.body !== undefined && req.method !== 'GET' ? { body: req.body } : {}),
            signal: AbortSignal.timeout(10_000),
          });
          record('fuzz', res.status, await res.text(), `${req.method} ${req.url.slice(0, 120)}`);
          timed();
        } catch (err) {
          // a header value fetch refuses, or the server closing on a broken request: not a 5xx
          record('fuzz', 0, '', `${req.method} ${req.url.slice(0, 120)} ${(err as Error).message}`);
        }
      }
    }),
  );
  const fuzzSeconds = (Date.now() - fuzzStart) / 1000;
  setPhase('after');
  await sleep(3000);
  canaryWorker.postMessage({ stop: true });
  const { latencies: canaryLatencies, errors: canaryErrorCounts } = await canaryResult;
  const canary = new Map(Object.entries(canaryLatencies));
  const canaryErrors = new Map(Object.entries(canaryErrorCounts));

  out('');
  out(`fuzz: ${total} requests over ${ops.length} operations in ${fuzzSeconds.toFixed(1)} s`);
  const costliest = [...perOperation].sort((a, b) => b[1].ms - a[1].ms).slice(0, 5);
  out(
    `  costliest operations (total ms / n / max ms): ${costliest.map(([key, e]) => `${key} ${e.ms.toFixed(0)}/${e.n}/${e.max.toFixed(0)}`).join('; ')}`,
  );
  for (const [p, m] of statuses) {
    out(`  ${p.padEnd(8)} statuses ${JSON.stringify(Object.fromEntries([...m].sort((a, b) => a[0] - b[0])))}`);
  }
  out(`5xx answers: ${fivexx}   bodies with a stack trace or source path: ${leaks}`);
  out('');
  out('canary GET /api/v1/incidents/:id (every 25 ms)   n   p50 ms   p99 ms   max ms   errors');
  for (const p of ['idle', 'slowloris', 'bodies', 'nested', 'boxes', 'fuzz', 'after']) {
    const s = summarise(canary.get(p) ?? []);
    out(
      `  ${p.padEnd(44)} ${String(s.n).padStart(4)} ${s.p50.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)} ${s.max
        .toFixed(1)
        .padStart(8)} ${String(canaryErrors.get(p) ?? 0).padStart(8)}`,
    );
  }
  out(`server RSS at the end: ${rssMb(server.pid).toFixed(0)} MB; server still running: ${server.pid > 0}`);
  failed = fivexx > 0 || leaks > 0;
} catch (err) {
  process.stderr.write(`abuse: ${(err as Error).stack}\n`);
  failed = true;
} finally {
  await server.kill('SIGTERM');
  await scratch.drop();
}
process.exit(failed ? 1 : 0);

/** Streams 100 MB of JSON-ish bytes; stops sending as soon as the server answers. */
function hugeBody(url: string, authorization: string): Promise<{ status: number; sent: number }> {
  const total = 100 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'content-length': String(total) },
    });
    req.on('response', (res) => {
      answered = true;
      const at = sent;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sent: at }));
    });
    req.on('error', () => (answered ? undefined : resolve({ status: 0, sent })));
    const pump = () => {
      while (sent < total && !answered) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
