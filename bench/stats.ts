/**
 * Statistics benchmark: starts `serve` on a seeded database and prints p50/p99 latencies of
 *  - GET /api/v1/stats (admin: everything, everything since a date, one community, one community
 *    and category in a date range),
 *  - GET /api/v1/stats/heatmap (the whole seed area, and ~2 km boxes),
 *  - GET /api/v1/communities/:id/summary (every community in turn),
 * then the throughput of a CSV export of ~100,000 rows (rows/s, through HTTP).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bw_bench npx tsx bench/stats.ts \
 *     [--requests 200] [--concurrency 1] [--export-since 2025-10-23T00:00:00Z] [--export-until 2026-01-01T00:00:00Z]
 *
 * The database must be migrated and seeded (`npm run cli -- seed --incidents 1000000`); create a
 * few communities first, or every incident lies outside any (see bench/README.md).
 * Without DATABASE_URL it runs on the embedded database in DATA_DIR.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { benchServerEnv, startServer } from './serve.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '1' },
    'export-since': { type: 'string', default: '2025-10-23T00:00:00Z' },
    // the seed's anchor: later rows (W1's reports) would change the count from run to run
    'export-until': { type: 'string', default: '2026-01-01T00:00:00Z' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

async function main(): Promise<void> {
  const env = benchServerEnv();
  if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
  else env.DATA_DIR = process.env.DATA_DIR ?? './data';
  const server = await startServer(env);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const token = await adminToken(base);
    const auth = { authorization: `Bearer ${token}` };
    const communities = (
      (await (await fetch(`${base}/api/v1/communities`)).json()) as { items: Array<{ id: string }> }
    ).items.map((c) => c.id);
    const pick = (i: number) => communities[i % Math.max(1, communities.length)];
    process.stdout.write(
      `stats benchmark — ${env.DATABASE_URL ? 'server Postgres' : 'embedded'}, ${communities.length} communities, ${REQUESTS} requests per case, concurrency ${CONCURRENCY}\n`,
    );

    const cases: Array<[string, (i: number) => string, Record<string, string>]> = [
      ['stats: everything (admin)', () => '/api/v1/stats', auth],
      ['stats: since 2025-06-18 (edge weeks)', () => '/api/v1/stats?since=2025-06-18T10:00:00Z', auth],
      ['stats: one community', (i) => `/api/v1/stats?communityId=${pick(i)}`, auth],
      [
        'stats: community + category + range',
        (i) =>
          `/api/v1/stats?communityId=${pick(i)}&category=pothole,water-leak&since=2025-03-05T00:00:00Z&until=2025-09-17T12:00:00Z`,
        auth,
      ],
      ['heatmap: whole area, 64×64', () => '/api/v1/stats/heatmap?bbox=27.7,-26.4,28.4,-25.9&cells=64', {}],
      [
        'heatmap: ~2 km boxes, 16×16',
        (i) => {
          const lon = 27.75 + ((i * 37) % 60) / 100;
          const lat = -26.35 + ((i * 23) % 40) / 100;
          return `/api/v1/stats/heatmap?bbox=${lon},${lat},${(lon + 0.02).toFixed(4)},${(lat + 0.018).toFixed(4)}&cells=16`;
        },
        {},
      ],
      ['summary: each community', (i) => `/api/v1/communities/${pick(i)}/summary`, {}],
    ];
    for (const [name, url, headers] of cases) {
      for (let i = 0; i < 5; i++) await get(base + url(i), headers); // warm-up
      const times = await measure(REQUESTS, CONCURRENCY, (i) => get(base + url(i), headers));
      process.stdout.write(
        `${name.padEnd(40)} p50 ${pct(times, 0.5).toFixed(1)} ms  p99 ${pct(times, 0.99).toFixed(1)} ms  max ${Math.max(...times).toFixed(1)} ms\n`,
      );
    }

    const started = performance.now();
    const res = await fetch(
      `${base}/api/v1/incidents/export?format=csv&since=${encodeURIComponent(values['export-since'])}&until=${encodeURIComponent(values['export-until'])}`,
      {
        headers: auth,
      },
    );
    if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status} ${await res.text()}`);
    let lines = 0;
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const seconds = (performance.now() - started) / 1000;
    // lines, not rows: a description with a line break adds one (the seed's have none)
    const rows = lines - 1;
    process.stdout.write(
      `export csv ${values['export-since']} .. ${values['export-until']}: ${rows} rows, ${(bytes / 1024 / 1024).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s\n`,
    );
  } finally {
    server.kill();
  }
}

async function get(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { headers });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body}`);
}

async function measure(n: number, concurrency: number, run: (i: number) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await run(i);
        times.push(performance.now() - t0);
      }
    }),
  );
  return times;
}

function pct(times: number[], q: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** An account made admin straight in the database (the bench owns it), signed in through the API. */
async function adminToken(base: string): Promise<string> {
  const email = 'bench-stats-admin@example.invalid';
  const password = 'benchmark statistics passphrase';
  const register = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, displayName: 'Stats bench' }),
  });
  if (register.status !== 201 && register.status !== 409) {
    throw new Error(`register: ${register.status} ${await register.text()}`);
  }
  if (process.env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query(
      `INSERT INTO user_roles (user_id, role, community_id)
       SELECT id, 'admin', NULL FROM users WHERE email = $1
       AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = users.id AND r.role = 'admin')`,
      [email],
    );
    await client.end();
  }
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  return ((await login.json()) as { accessToken: string }).accessToken;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
