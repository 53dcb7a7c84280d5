/**
 * Whether background jobs keep pace with requests: `serve` running its own jobs (the embedded
 * default, or server PostgreSQL with JOBS_IN_PROCESS=true) under W1 creates, each of which
 * enqueues a job (and a critical one an alert). Samples the server's job gauges every second
 * (`buurtwag_jobs_waiting`, `buurtwag_jobs_oldest_waiting_seconds`), then times how long the
 * jobs left take to drain once the load stops. Prints the creates a second, the most jobs
 * waiting, the oldest wait, and the drain.
 *
 *   npx tsx bench/backlog.ts --data-dir /tmp/bw-emb [--duration 20] [--connections 50]
 *   npx tsx bench/backlog.ts --postgres postgres://postgres@127.0.0.1:5432/bw_bench
 *
 * The database should be seeded (`seed`); the run adds its creates to it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { benchServerEnv, ROOT, startServer } from './serve.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    postgres: { type: 'string' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
  },
});
if (!values['data-dir'] === !values.postgres) {
  process.stderr.write('backlog: give --data-dir (embedded) or --postgres URL\n');
  process.exit(2);
}
const duration = Number(values.duration);
const token = randomBytes(16).toString('hex');
const server = await startServer(
  benchServerEnv({
    METRICS_TOKEN: token,
    ...(values.postgres
      ? { DATABASE_URL: values.postgres, JOBS_IN_PROCESS: 'true' }
      : { DATA_DIR: values['data-dir']! }),
  }),
);
const url = `http://127.0.0.1:${server.port}`;

interface Sample {
  at: number;
  waiting: number;
  oldestSeconds: number;
}

async function sample(): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  let waiting = 0;
  let oldestSeconds = 0;
  for (const line of text.split('\n')) {
    const match = /^(buurtwag_jobs_waiting|buurtwag_jobs_oldest_waiting_seconds)\{[^}]*\} (\S+)$/.exec(line);
    if (!match) continue;
    if (match[1] === 'buurtwag_jobs_waiting') waiting += Number(match[2]);
    else oldestSeconds = Math.max(oldestSeconds, Number(match[2]));
  }
  return { at: performance.now(), waiting, oldestSeconds };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  // the jobs an earlier run left: drained first, so the run starts level
  for (let s = await sample(); s.waiting > 0; s = await sample()) await sleep(500);

  const load = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/load.ts',
      ...['--url', url, '--workload', 'W1', '--duration', String(duration), '--warmup', '0'],
      ...['--connections', values.connections!, '--seed', '1', '--json'],
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  load.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const loaded = new Promise<void>((resolve) => load.once('exit', () => resolve()));
  let running = true;
  void loaded.then(() => (running = false));

  const samples: Sample[] = [];
  const started = performance.now();
  while (running) {
    await Promise.race([sleep(1000), loaded]);
    samples.push(await sample());
  }
  const stoppedAt = performance.now();
  const left = samples.at(-1)?.waiting ?? 0;
  let drained = await sample();
  while (drained.waiting > 0) {
    await sleep(200);
    drained = await sample();
  }
  const results = JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as Array<{
    reqPerSec: number;
    p99Ms: number;
    errors: number;
  }>;
  const w1 = results[0];
  const peak = samples.reduce((a, b) => (b.waiting > a.waiting ? b : a), samples[0] ?? drained);
  const oldest = Math.max(0, ...samples.map((s) => s.oldestSeconds));
  process.stdout.write(
    `# ${values.postgres ? 'server PostgreSQL, JOBS_IN_PROCESS' : 'embedded'}; W1 for ${duration} s, ${values.connections} connections\n` +
      `W1 ${w1 ? `${w1.reqPerSec.toFixed(1)} req/s, p99 ${w1.p99Ms} ms, ${w1.errors} errors` : 'no result'}\n` +
      `jobs waiting: most ${peak.waiting} (at ${((peak.at - started) / 1000).toFixed(0)} s), ${left} when the load stopped\n` +
      `oldest waiting job: ${oldest.toFixed(1)} s at most\n` +
      `drained ${((drained.at - stoppedAt) / 1000).toFixed(1)} s after the load stopped\n`,
  );
} finally {
  server.kill();
  await server.exited;
}
