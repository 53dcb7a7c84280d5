import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchServerEnv, ROOT, serverArgs, startServer } from './serve.js';

/**
 * Warm start of the embedded default: how long `serve` takes from spawn until `/readyz` answers
 * 200, on a data directory that already holds a database (the target: ≤ 10 s).
 *
 *   npx tsx bench/startup.ts [--data-dir DIR] [--incidents 20000] [--runs 5]
 *
 * Without --data-dir a temporary one is made and seeded with --incidents (the first start, which
 * creates the database, is reported separately as the cold start). With --data-dir (e.g. the
 * 1,000,000-incident directory of `run-all.sh`) every run is a warm start.
 */
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    incidents: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
  },
});

const runs = Number(values.runs);
const ownDir = !values['data-dir'];
const dataDir = values['data-dir'] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bw-start-'));

interface Start {
  listeningMs: number;
  readyMs: number;
}

async function startOnce(): Promise<Start> {
  const env = benchServerEnv({ DATA_DIR: dataDir });
  const started = performance.now();
  const server = await startServer(env);
  try {
    const listeningMs = performance.now() - started;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${server.port}/readyz`).catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { listeningMs, readyMs: performance.now() - started };
  } finally {
    server.kill();
    await server.exited;
  }
}

async function seed(): Promise<void> {
  const result = spawnSync(
    process.execPath,
    await serverArgs('seed', '--incidents', values.incidents!, '--seed', '1'),
    { cwd: ROOT, env: benchServerEnv({ DATA_DIR: dataDir }), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (result.status !== 0) throw new Error('seed failed');
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// the build is made once, before anything is timed
await serverArgs('serve');
try {
  if (ownDir) {
    const cold = await startOnce();
    console.log(`cold start (new database): listening ${fmt(cold.listeningMs)}, ready ${fmt(cold.readyMs)}`);
    await seed();
    console.log(`seeded ${values.incidents} incidents in ${dataDir}`);
  }
  const ready: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const s = await startOnce();
    ready.push(s.readyMs);
    console.log(`warm start ${i}: listening ${fmt(s.listeningMs)}, ready ${fmt(s.readyMs)}`);
  }
  ready.sort((a, b) => a - b);
  console.log(
    `warm start to /readyz over ${runs} runs: min ${fmt(ready[0]!)}, median ${fmt(ready[Math.floor(ready.length / 2)]!)}, max ${fmt(ready[ready.length - 1]!)}`,
  );
} finally {
  if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
