/**
 * HTTP load scenarios against a running server, with autocannon:
 *
 *   npx tsx bench/load.ts --url http://127.0.0.1:3000 --workload W1|W2|W3|W4|W5|all \
 *     --duration 20 --connections 50 [--pid <server pid>] [--warmup 3] [--json] \
 *     [--accept-encoding 'br, gzip']
 *
 *   W1  POST /api/v1/incidents            new reports at random points in Johannesburg
 *   W2  GET  /api/v1/incidents?near=…     1,000 fixed centres, 70 % inside seed 1's hot spots
 *   W3  GET  /api/v1/incidents/:id        10,000 existing public incidents
 *   W4  GET  /api/v1/incidents?bbox=…     1,000 fixed boxes of ~2 km, 70 % on hot spots
 *   W5  GET  the same boxes, newest first (sort=-createdAt): the web map's pins from zoom 14
 *
 * Every request set is fixed (a seeded PRNG) so two runs ask the same questions; the requests
 * rotate through the set in order. Start the server with RATE_LIMITS=off, or the rate limiter is
 * what gets measured. The server's memory comes from /proc/<pid>/status (--pid): VmRSS at the
 * end of each workload and the largest value sampled during it.
 *
 * Without --accept-encoding the requests ask for no compression, like the issue's load generator
 * and unlike every browser: the figures then include carrying and parsing the whole JSON. With
 * it (a browser sends 'gzip, deflate, br, zstd'), the server compresses and autocannon counts the
 * compressed bytes without decoding them. `KB/resp` shows which one was measured.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createRandom, hotSpots, HOT_SPOT_RADIUS_M, SEED_BOUNDS, type HotSpot } from '../src/cli/seed.js';

type Workload = 'W1' | 'W2' | 'W3' | 'W4' | 'W5';
const WORKLOADS: readonly Workload[] = ['W1', 'W2', 'W3', 'W4', 'W5'];

/** the development acting user for writes, until accounts exist (X-Dev-User) */
// the account W1 reports as: registered on first use, signed in after that
const BENCH_EMAIL = 'bench-reporter@example.invalid';
const BENCH_PASSWORD = 'benchmark reporter passphrase';
const CENTRES = 1_000;
const BOXES = 1_000;
const IDS = 10_000;
const BODIES = 1_000;
const HOT_SHARE = 0.7;
// half a box: 0.02° of longitude × 0.018° of latitude is ~2 km × 2 km at 26° S
const BOX_HALF_LON = 0.01;
const BOX_HALF_LAT = 0.009;

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    workload: { type: 'string', default: 'all' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    pid: { type: 'string' },
    /** the seed whose hot spots W2 and W4 aim at (the data set's --seed) */
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    /** sent with every request: what a browser would ask for ('gzip, deflate, br, zstd') */
    'accept-encoding': { type: 'string', default: '' },
  },
});

const baseUrl = args.url.replace(/\/+$/, '');
const duration = positiveInt('duration', args.duration);
const connections = positiveInt('connections', args.connections);
const warmup = Number(args.warmup);
const serverPid = args.pid === undefined ? null : positiveInt('pid', args.pid);
const dataSeed = Number(args.seed);
const acceptEncoding = args['accept-encoding'].trim();
const selected: Workload[] =
  args.workload.toLowerCase() === 'all'
    ? [...WORKLOADS]
    : args.workload.split(',').map((w) => {
        const name = w.trim().toUpperCase();
        if (!WORKLOADS.includes(name as Workload)) fail(`unknown workload "${w}": use W1, W2, W3, W4, W5 or all`);
        return name as Workload;
      });

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be a positive whole number, got "${raw}"`);
  return value;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Fixed request sets

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** a point: uniform in a random hot spot's 2 km disc (HOT_SHARE of the time), else anywhere */
function pointPicker(random: () => number, spots: HotSpot[]): () => [number, number] {
  const radiusLon = HOT_SPOT_RADIUS_M / 99_925; // metres per degree of longitude at 26.15° S
  const radiusLat = HOT_SPOT_RADIUS_M / 110_790;
  return () => {
    if (random() < HOT_SHARE) {
      const spot = spots[Math.floor(random() * spots.length)] as HotSpot;
      let a: number;
      let b: number;
      do {
        a = 2 * random() - 1;
        b = 2 * random() - 1;
      } while (a * a + b * b > 1);
      return [round6(spot.lon + a * radiusLon), round6(spot.lat + b * radiusLat)];
    }
    return uniformPoint(random);
  };
}

function uniformPoint(random: () => number): [number, number] {
  return [
    round6(SEED_BOUNDS.minLon + random() * (SEED_BOUNDS.maxLon - SEED_BOUNDS.minLon)),
    round6(SEED_BOUNDS.minLat + random() * (SEED_BOUNDS.maxLat - SEED_BOUNDS.minLat)),
  ];
}

function nearPaths(): string[] {
  const point = pointPicker(createRandom(0xb2), hotSpots(dataSeed));
  return Array.from({ length: CENTRES }, () => {
    const [lon, lat] = point();
    return `/api/v1/incidents?near=${lon},${lat}&radius=1000&status=reported,acknowledged&limit=50`;
  });
}

function bboxPaths(): string[] {
  const point = pointPicker(createRandom(0xb4), hotSpots(dataSeed));
  return Array.from({ length: BOXES }, () => {
    const [lon, lat] = point();
    const box = [lon - BOX_HALF_LON, lat - BOX_HALF_LAT, lon + BOX_HALF_LON, lat + BOX_HALF_LAT].map(round6);
    return `/api/v1/incidents?bbox=${box.join(',')}&limit=200`;
  });
}

const W1_TEXTS: ReadonlyArray<readonly [string, string]> = [
  ['Pothole in the left lane', 'A deep pothole that cars swerve around. It fills with water when it rains.'],
  [
    'Streetlight out on the corner',
    'The streetlight on the corner has been out for a week; the street is dark at night.',
  ],
  ['Burst pipe on the pavement', 'Clean water is running down the street from a burst pipe.'],
  ['Rubbish dumped on open land', 'Someone dumped building rubble and bags of rubbish overnight.'],
  ['Bins not collected', 'The refuse truck skipped our street on collection day.'],
  ['Slaggat in die straat', "Daar is 'n diep slaggat naby die kruising."],
];
const PRIORITIES = ['low', 'medium', 'medium', 'medium', 'high', 'critical'] as const;

async function createBodies(): Promise<string[]> {
  const categories = await getJson<{ items: Array<{ id: string; slug: string }> }>('/api/v1/categories');
  const ids = categories.items.map((c) => c.id);
  if (ids.length === 0) fail('GET /api/v1/categories returned no categories: run migrate first');
  const random = createRandom(0xb1);
  return Array.from({ length: BODIES }, (_, i) => {
    const [title, description] = W1_TEXTS[i % W1_TEXTS.length] as readonly [string, string];
    const [lon, lat] = uniformPoint(random);
    return JSON.stringify({
      title: `${title} (${i + 1})`,
      description,
      categoryId: ids[Math.floor(random() * ids.length)],
      priority: PRIORITIES[Math.floor(random() * PRIORITIES.length)],
      location: { type: 'Point', coordinates: [lon, lat] },
      address: `${1 + Math.floor(random() * 200)} Main Road, Johannesburg`,
    });
  });
}

/**
 * 10,000 incident ids. With DATABASE_URL, straight from the database (public ones, in reference
 * order, which the seed's permutation makes a spread over the whole set); otherwise by paging
 * through the public API over the whole seeded area.
 */
async function incidentIds(): Promise<string[]> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'buurtwag-bench' });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        'SELECT id::text AS id FROM incidents WHERE is_public ORDER BY reference LIMIT $1',
        [IDS],
      );
      return rows.map((r) => r.id);
    } finally {
      await client.end();
    }
  }
  const { minLon, minLat, maxLon, maxLat } = SEED_BOUNDS;
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `bbox=${minLon},${minLat},${maxLon},${maxLat}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { items: Array<{ id: string }>; nextCursor: string | null } = await getJson(
      `/api/v1/incidents?${query}`,
    );
    for (const item of page.items) ids.push(item.id);
    cursor = page.nextCursor;
  } while (cursor && ids.length < IDS);
  return ids.slice(0, IDS);
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(baseUrl + path, { headers: { accept: 'application/json' } });
  if (!response.ok) fail(`GET ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  return (await response.json()) as T;
}

// ---------------------------------------------------------------------------------------------
// Running

interface Scenario {
  method: 'GET' | 'POST';
  paths: string[];
  bodies?: string[];
  headers: Record<string, string>;
}

/** An access token (15 minutes: longer than any run) for the W1 account. */
async function benchToken(): Promise<string> {
  const post = (path: string, body: object) =>
    fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  let res = await post('/api/v1/auth/login', { email: BENCH_EMAIL, password: BENCH_PASSWORD });
  if (res.status === 401) {
    res = await post('/api/v1/auth/register', {
      email: BENCH_EMAIL,
      password: BENCH_PASSWORD,
      displayName: 'Benchmark reporter',
    });
  }
  if (!res.ok) fail(`could not sign in the W1 account: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function scenario(workload: Workload): Promise<Scenario> {
  switch (workload) {
    case 'W1': {
      const bodies = await createBodies();
      return {
        method: 'POST',
        paths: ['/api/v1/incidents'],
        bodies,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await benchToken()}` },
      };
    }
    case 'W2':
      return { method: 'GET', paths: nearPaths(), headers: {} };
    case 'W3': {
      const ids = await incidentIds();
      if (ids.length === 0) fail('no incidents to fetch for W3: seed the database first');
      return { method: 'GET', paths: ids.map((id) => `/api/v1/incidents/${id}`), headers: {} };
    }
    case 'W4':
      return { method: 'GET', paths: bboxPaths(), headers: {} };
    case 'W5':
      return { method: 'GET', paths: bboxPaths().map((p) => `${p}&sort=-createdAt`), headers: {} };
  }
}

/** One request by hand first, so a broken contract shows its answer instead of 20 s of 4xx. */
async function preflight(workload: Workload, s: Scenario): Promise<void> {
  const response = await fetch(baseUrl + s.paths[0], {
    method: s.method,
    headers: s.headers,
    body: s.bodies?.[0],
  });
  const text = await response.text();
  if (!response.ok) {
    process.stderr.write(
      `bench: ${workload} preflight ${s.method} ${s.paths[0]} answered ${response.status}: ${text.slice(0, 300)}\n`,
    );
  }
}

function readRssKb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null; // not Linux, or the process is gone
  }
}

interface Summary {
  workload: Workload;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  socketErrors: number;
  /** what the socket errors were (error code, or message), counted */
  socketErrorKinds: Record<string, number>;
  statusCodes: Record<string, number>;
  rssMb: number | null;
  maxRssMb: number | null;
  /** the bytes of an average answer as sent (headers and body, compressed when asked for) */
  kbPerResponse: number;
}

async function run(workload: Workload): Promise<Summary> {
  const s = await scenario(workload);
  if (acceptEncoding !== '') s.headers['accept-encoding'] = acceptEncoding;
  await preflight(workload, s);

  let next = 0;
  const request: autocannon.Request = {
    method: s.method,
    path: s.paths[0],
    headers: s.headers,
    // rotate through the fixed set; one counter for all connections
    setupRequest: (req) => {
      const i = next++;
      req.path = s.paths[i % s.paths.length];
      if (s.bodies) req.body = s.bodies[i % s.bodies.length];
      return req;
    },
  };

  let maxRssKb = serverPid === null ? null : readRssKb(serverPid);
  const sampler =
    serverPid === null
      ? null
      : setInterval(() => {
          const rss = readRssKb(serverPid);
          if (rss !== null) maxRssKb = Math.max(maxRssKb ?? 0, rss);
        }, 250);

  try {
    const instance = autocannon({
      url: baseUrl,
      connections,
      duration,
      title: workload,
      requests: [request],
      ...(warmup > 0 ? { warmup: { connections, duration: warmup } } : {}),
    });
    const socketErrorKinds: Record<string, number> = {};
    instance.on('reqError', (err: NodeJS.ErrnoException) => {
      const kind = err.code ?? err.message;
      socketErrorKinds[kind] = (socketErrorKinds[kind] ?? 0) + 1;
    });
    const result = await instance;
    const endRssKb = serverPid === null ? null : readRssKb(serverPid);
    if (endRssKb !== null) maxRssKb = Math.max(maxRssKb ?? 0, endRssKb);
    const statusCodes = Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, v.count]),
    );
    const completed = result.latency.totalCount ?? Object.values(statusCodes).reduce((a, b) => a + b, 0);
    return {
      workload,
      requests: completed,
      reqPerSec: completed / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.non2xx + result.errors,
      non2xx: result.non2xx,
      socketErrors: result.errors,
      socketErrorKinds,
      statusCodes,
      rssMb: endRssKb === null ? null : endRssKb / 1024,
      maxRssMb: maxRssKb === null ? null : maxRssKb / 1024,
      kbPerResponse: completed === 0 ? 0 : result.throughput.total / completed / 1024,
    };
  } finally {
    if (sampler) clearInterval(sampler);
  }
}

function printRow(s: Summary): void {
  const mb = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  const codes =
    (s.non2xx > 0 ? `  status ${JSON.stringify(s.statusCodes)}` : '') +
    (s.socketErrors > 0 ? `  socket errors ${JSON.stringify(s.socketErrorKinds)}` : '');
  process.stdout.write(
    `${s.workload.padEnd(4)} ${s.reqPerSec.toFixed(1).padStart(9)} ${s.p50Ms.toFixed(1).padStart(8)} ${s.p99Ms
      .toFixed(1)
      .padStart(8)} ${String(s.errors).padStart(8)} ${`${mb(s.rssMb)}/${mb(s.maxRssMb)}`.padStart(14)} ${s.kbPerResponse
      .toFixed(1)
      .padStart(8)}${codes}\n`,
  );
}

try {
  const health = await fetch(`${baseUrl}/healthz`);
  if (!health.ok) fail(`${baseUrl}/healthz answered ${health.status}`);
} catch (err) {
  fail(`cannot reach ${baseUrl}: ${(err as Error).message}`);
}

process.stdout.write(
  `# ${baseUrl}  ${connections} connections  ${duration} s each (+${warmup} s warm-up)` +
    `${serverPid === null ? '' : `  server pid ${serverPid}`}` +
    `${acceptEncoding === '' ? '' : `  accept-encoding: ${acceptEncoding}`}\n` +
    `${'load'.padEnd(4)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(8)} ${'RSS MB end/max'.padStart(14)} ${'KB/resp'.padStart(8)}\n`,
);
const summaries: Summary[] = [];
for (const workload of selected) {
  const summary = await run(workload);
  summaries.push(summary);
  printRow(summary);
}
if (args.json) process.stdout.write(`${JSON.stringify(summaries)}\n`);
