/**
 * Map clusters benchmark: starts `serve` on a seeded database and drives
 * GET /api/v1/incidents/clusters with autocannon at several zoom levels over greater
 * Johannesburg, as a 1280×800-pixel map would ask, printing req/s, p50 and p99 per case:
 *  - cold: every request a box never asked before (a fresh pan), so no response cache helps:
 *    the rollup (zoom ≤ 12) or the incidents (zoom ≥ 13) answer each one;
 *  - warm: 20 boxes in turn, so after the first round the response cache answers.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bw_bench npx tsx bench/clusters.ts \
 *     [--zooms 10,12,13,14,16] [--duration 10] [--connections 20] [--redis redis://127.0.0.1:6379]
 *
 * The database must be migrated and seeded (`npm run cli -- seed --incidents 1000000`). Without
 * DATABASE_URL it runs on the embedded database in DATA_DIR.
 */
import { createECDH } from 'node:crypto';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchServerEnv, rssMb, startServer } from './serve.js';

const { values } = parseArgs({
  options: {
    zooms: { type: 'string', default: '10,12,13,14,16' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    redis: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
const ZOOMS = values.zooms.split(',').map(Number);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);

// greater Johannesburg, where the seed puts its incidents
const AREA = { west: 27.75, east: 28.35, south: -26.35, north: -25.95 };
const SCREEN = { width: 1280, height: 800 };

/** mulberry32: the same boxes on every run */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function boxAt(zoom: number, random: () => number): string {
  const width = (SCREEN.width / 256) * (360 / 2 ** zoom);
  // Mercator at 26°S: a pixel of latitude is cos(26°) of one of longitude
  const height = (SCREEN.height / 256) * (360 / 2 ** zoom) * Math.cos((26 * Math.PI) / 180);
  const lon = AREA.west + random() * (AREA.east - AREA.west);
  const lat = AREA.south + random() * (AREA.north - AREA.south);
  const f = (n: number) => n.toFixed(5);
  return `${f(lon - width / 2)},${f(lat - height / 2)},${f(lon + width / 2)},${f(lat + height / 2)}`;
}

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  clusters: number;
}

async function measure(base: string, name: string, paths: () => string): Promise<Row> {
  // one sample for the size of an answer
  const sample = (await (await fetch(base + paths())).json()) as { items: unknown[] };
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION,
    warmup: { connections: CONNECTIONS, duration: 2 },
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          req.path = paths();
          return req;
        },
      },
    ],
  });
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
    clusters: sample.items.length,
  };
}

async function main(): Promise<void> {
  // production mode wants Web Push keys: a throwaway pair (nothing is pushed here)
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const env = benchServerEnv({
    VAPID_PUBLIC_KEY: ecdh.getPublicKey().toString('base64url'),
    VAPID_PRIVATE_KEY: ecdh.getPrivateKey().toString('base64url'),
  });
  if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
  else env.DATA_DIR = process.env.DATA_DIR ?? './data';
  if (values.redis) env.REDIS_URL = values.redis;
  const server = await startServer(env);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    process.stdout.write(
      `clusters benchmark — ${env.DATABASE_URL ? 'server Postgres' : 'embedded'}, cache ${values.redis ? 'Redis' : 'memory'}, ` +
        `${CONNECTIONS} connections, ${DURATION} s per case, map ${SCREEN.width}×${SCREEN.height} px\n`,
    );
    process.stdout.write(
      `${'case'.padEnd(24)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} clusters\n`,
    );
    const print = (r: Row) =>
      process.stdout.write(
        `${r.name.padEnd(24)} ${r.reqPerSec.toFixed(0).padStart(9)} ${r.p50.toFixed(1).padStart(8)} ${r.p99
          .toFixed(1)
          .padStart(8)} ${String(r.errors).padStart(7)} ${r.clusters}\n`,
      );
    const seed = Number(values.seed);
    for (const zoom of ZOOMS) {
      const fresh = prng(seed + zoom);
      print(
        await measure(
          base,
          `zoom ${zoom} cold`,
          () => `/api/v1/incidents/clusters?bbox=${boxAt(zoom, fresh)}&zoom=${zoom}`,
        ),
      );
      const fixed = prng(seed * 1000 + zoom);
      const set = Array.from(
        { length: 20 },
        () => `/api/v1/incidents/clusters?bbox=${boxAt(zoom, fixed)}&zoom=${zoom}`,
      );
      let i = 0;
      print(await measure(base, `zoom ${zoom} warm`, () => set[i++ % set.length]!));
    }
    process.stdout.write(`server RSS at the end: ${rssMb(server.pid).toFixed(0)} MB\n`);
  } finally {
    server.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
