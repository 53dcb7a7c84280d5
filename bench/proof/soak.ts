/**
 * Load + soak (issue 10, point 4):
 *
 *   npx tsx bench/proof/soak.ts [--minutes 10] [--sockets 1000] [--connections 8] [--incidents 20000]
 *
 * A PostgreSQL cluster and a redis-server of the script's own, `serve` as a child process (with
 * METRICS_PORT, for its event-loop delay), `--incidents` seeded, then for `--minutes` (1 for a
 * short run): `--sockets` WebSocket clients subscribed to boxes over the seeded area, and the four
 * core workloads (W1 create, W2 nearby, W3 detail, W4 box, as in bench/load.ts) from
 * `--connections` clients each, in this process. Every 10 s it samples the server's RSS and
 * the event-loop delay p99 the server measured since the last scrape, V8's heap in use and the
 * memory outside it; at the end it prints requests, errors, latency per workload, events
 * delivered, and memory per minute.
 *
 * One RSS sample says little: it swings ±50 MB with where V8's collector is in its cycle. So
 * memory is judged per minute: the median RSS, and the lowest heap in use (about what is live
 * after a collection; a leak raises it minute after minute). RSS growth is the last minute's
 * median against that of the first minute after `--warmup-minutes` (default 3: V8 sizes its old
 * generation for the allocation rate during the first minutes, and RSS follows it).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { PrivateRedis } from '../../test/helpers/redis-server.js';
import {
  firstCategoryIds,
  freePort,
  incidentBody,
  out,
  PrivatePostgres,
  ROOT,
  rssMb,
  serverEnv,
  signIn,
  sleep,
  startServerChild,
  summarise,
} from './lib.js';
import { serverArgs } from '../serve.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'warmup-minutes': { type: 'string', default: '3' },
    sockets: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '8' },
    incidents: { type: 'string', default: '20000' },
  },
});
const minutes = Number(args.minutes);

const cluster = new PrivatePostgres();
const redis = new PrivateRedis();
let exitCode = 0;
try {
  await cluster.init();
  await cluster.start();
  const url = await cluster.createDatabase('bw_soak');
  await redis.start();
  const metricsPort = await freePort();
  const env = serverEnv({
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    PORT: String(await freePort()),
    METRICS_PORT: String(metricsPort),
    JOBS_IN_PROCESS: 'true',
  });
  const seed = spawnSync(process.execPath, await serverArgs('seed', '--incidents', args.incidents, '--seed', '1'), {
    cwd: ROOT,
    env: { ...env, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (seed.status !== 0) throw new Error(`seed failed: ${seed.stderr}`);
  const server = await startServerChild(env);
  let serverExit: string | null = null;
  void server.exited.then((how) => (serverExit = how));
  const base = server.url;
  const token = `Bearer ${await signIn(base, 'proof-soak@example.invalid')}`;
  const categories = await firstCategoryIds(base);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const ids = (
    await client.query<{ id: string }>('SELECT id::text AS id FROM incidents WHERE is_public LIMIT 5000')
  ).rows.map((r) => r.id);
  await client.end();

  // sockets: boxes of ~5 km over the area the creates land in
  let delivered = 0;
  let socketErrors = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < Number(args.sockets); i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/v1/ws`);
    ws.on('error', () => socketErrors++);
    ws.on('message', (data) => {
      if (String(data).includes('"incident.created"')) delivered++;
    });
    const lon = 27.8 + (i % 10) * 0.05;
    const lat = -26.3 + (Math.floor(i / 10) % 6) * 0.05;
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'subscribe',
          channel: `bbox:${lon.toFixed(2)},${lat.toFixed(2)},${(lon + 0.05).toFixed(2)},${(lat + 0.05).toFixed(2)}`,
        }),
      ),
    );
    sockets.push(ws);
    if (i % 100 === 99) await sleep(50);
  }
  // all open, or 30 s
  for (let i = 0; i < 300 && sockets.some((s) => s.readyState === WebSocket.CONNECTING); i++) await sleep(100);
  const open = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;

  type W = 'W1' | 'W2' | 'W3' | 'W4';
  const stats: Record<W, { n: number; errors: number; codes: Record<string, number>; lat: number[] }> = {
    W1: { n: 0, errors: 0, codes: {}, lat: [] },
    W2: { n: 0, errors: 0, codes: {}, lat: [] },
    W3: { n: 0, errors: 0, codes: {}, lat: [] },
    W4: { n: 0, errors: 0, codes: {}, lat: [] },
  };
  let running = true;
  let counter = 0;
  const request = (w: W, i: number): Promise<Response> => {
    const lon = 27.8 + ((i * 7919) % 5000) / 10_000;
    const lat = -26.3 + ((i * 104_729) % 3000) / 10_000;
    switch (w) {
      case 'W1':
        return fetch(`${base}/api/v1/incidents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: token },
          body: incidentBody(categories[i % categories.length]!, i, 'soak'),
          signal: AbortSignal.timeout(10_000),
        });
      case 'W2':
        return fetch(
          `${base}/api/v1/incidents?near=${lon.toFixed(5)},${lat.toFixed(5)}&radius=1000&status=reported,acknowledged&limit=50`,
          {
            signal: AbortSignal.timeout(10_000),
          },
        );
      case 'W3':
        return fetch(`${base}/api/v1/incidents/${ids[i % ids.length]}`, { signal: AbortSignal.timeout(10_000) });
      case 'W4':
        return fetch(
          `${base}/api/v1/incidents?bbox=${(lon - 0.01).toFixed(5)},${(lat - 0.009).toFixed(5)},${(lon + 0.01).toFixed(5)},${(lat + 0.009).toFixed(5)}&limit=200`,
          { signal: AbortSignal.timeout(10_000) },
        );
    }
  };
  const worker = async (w: W) => {
    while (running) {
      const i = counter++;
      const t0 = performance.now();
      const s = stats[w];
      try {
        const res = await request(w, i);
        await res.arrayBuffer();
        s.codes[res.status] = (s.codes[res.status] ?? 0) + 1;
        if (!res.ok) s.errors++;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        s.codes[code] = (s.codes[code] ?? 0) + 1;
        s.errors++;
      }
      s.n++;
      // keep at most a million latencies per workload
      if (s.lat.length < 1_000_000) s.lat.push(performance.now() - t0);
    }
  };
  const connections = Number(args.connections);
  const workers = (['W1', 'W2', 'W3', 'W4'] as W[]).flatMap((w) =>
    Array.from({ length: connections }, () => worker(w)),
  );

  const samples: Array<{ s: number; rss: number; lagP99: number; heap: number; external: number }> = [];
  const start = Date.now();
  out(
    `# soak: ${minutes} min, ${open}/${args.sockets} sockets open, W1–W4 × ${connections} clients, ${args.incidents} seeded; server pid ${server.pid}`,
  );
  out('   s   RSS MB  heap MB  ext MB   loop p99 ms   requests   errors   events');
  while (Date.now() - start < minutes * 60_000 && serverExit === null) {
    await sleep(10_000);
    // where the memory is: V8's heap in use, and memory outside it (Buffers, sockets' zlib state)
    let text = '';
    try {
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    } catch {
      // metrics port not answering: shown as NaN
    }
    const metric = (name: string) => Number(new RegExp(`^buurtwag_${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
    const sample = {
      s: Math.round((Date.now() - start) / 1000),
      rss: rssMb(server.pid),
      lagP99: metric('nodejs_eventloop_lag_p99_seconds') * 1000,
      heap: metric('nodejs_heap_size_used_bytes') / 2 ** 20,
      external: metric('nodejs_external_memory_bytes') / 2 ** 20,
    };
    samples.push(sample);
    const total = Object.values(stats).reduce((a, s) => a + s.n, 0);
    const errors = Object.values(stats).reduce((a, s) => a + s.errors, 0);
    out(
      `${String(sample.s).padStart(4)} ${sample.rss.toFixed(0).padStart(8)} ${sample.heap.toFixed(0).padStart(8)} ${sample.external.toFixed(0).padStart(7)} ${sample.lagP99.toFixed(1).padStart(13)} ${String(total).padStart(10)} ${String(errors).padStart(8)} ${String(delivered).padStart(8)}`,
    );
  }
  running = false;
  await Promise.all(workers);
  const elapsed = (Date.now() - start) / 1000;
  out('');
  out('load   req/s   p50 ms   p99 ms   errors');
  for (const [w, s] of Object.entries(stats)) {
    const l = summarise(s.lat);
    out(
      `${w}  ${(s.n / elapsed).toFixed(1).padStart(7)} ${l.p50.toFixed(1).padStart(8)} ${l.p99.toFixed(1).padStart(8)} ${String(s.errors).padStart(8)}${s.errors ? `  ${JSON.stringify(s.codes)}` : ''}`,
    );
  }
  // per minute: median RSS and the heap's floor and peak
  const perMinute = new Map<number, typeof samples>();
  for (const x of samples) {
    const minute = Math.ceil(x.s / 60);
    perMinute.set(minute, [...(perMinute.get(minute) ?? []), x]);
  }
  out('minute   RSS median MB   heap min MB   heap max MB');
  const rssMedian = new Map<number, number>();
  for (const [minute, xs] of perMinute) {
    rssMedian.set(minute, summarise(xs.map((x) => x.rss)).p50);
    out(
      `${String(minute).padStart(6)} ${rssMedian.get(minute)!.toFixed(0).padStart(15)} ${Math.min(
        ...xs.map((x) => x.heap),
      )
        .toFixed(0)
        .padStart(13)} ${Math.max(...xs.map((x) => x.heap))
        .toFixed(0)
        .padStart(13)}`,
    );
  }
  const warmupMinutes = Number(args['warmup-minutes']);
  // the last whole minute (the final sample may open a minute of its own)
  const whole = [...perMinute].filter(([, xs]) => xs.length >= 5).map(([minute]) => minute);
  const lastMinute = Math.max(...(whole.length > 0 ? whole : [...perMinute.keys()]));
  const fromMinute = Math.min(warmupMinutes + 1, lastMinute);
  const growth = (from: number) => {
    const [a, b] = [rssMedian.get(from) ?? NaN, rssMedian.get(lastMinute) ?? NaN];
    return `minute ${from} ${a.toFixed(0)} MB → minute ${lastMinute} ${b.toFixed(0)} MB (${((100 * (b - a)) / a).toFixed(1)} %)`;
  };
  out(
    `RSS median ${growth(fromMinute)}; from the second ${growth(Math.min(2, lastMinute))}; max ${Math.max(...samples.map((x) => x.rss)).toFixed(0)} MB`,
  );
  const lags = samples.map((x) => x.lagP99).filter((x) => !Number.isNaN(x));
  out(
    `event-loop delay p99 per 10 s: median ${summarise(lags).p50.toFixed(1)} ms, worst ${summarise(lags).max.toFixed(1)} ms`,
  );
  out(
    `sockets: ${open} open, ${socketErrors} errors, ${sockets.filter((s) => s.readyState === WebSocket.OPEN).length} still open; incident.created frames delivered ${delivered}`,
  );
  out(`server: ${serverExit === null ? 'running' : `EXITED ${serverExit}`}`);
  for (const s of sockets) s.terminate();
  if (serverExit !== null) exitCode = 1;
  await server.kill('SIGTERM');
} catch (err) {
  process.stderr.write(`soak: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  await redis.stop();
  await cluster.remove();
}
process.exit(exitCode);
