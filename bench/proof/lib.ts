/**
 * What the proof scripts (and their bounded CI versions in test/proof/) share: a throwaway
 * PostgreSQL cluster of their own, the server as a child process that can be killed with -9 and
 * started again on the same port, a signed-in reporter, and small statistics helpers.
 *
 * Nothing here touches the shared PostgreSQL on 5432 or the Redis on 6379: the cluster lives in
 * a temporary directory, listens on loopback only, and is stopped and removed by its owner (and
 * SIGKILLed should the owning process exit without doing so).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { benchServerEnv, serverArgs } from '../serve.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PG_BIN = '/usr/lib/postgresql/15/bin';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port nobody listens on right now (the kernel picks it; we let it go for the child). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no free port');
  return address.port;
}

// ---------------------------------------------------------------------------------------------
// Children that must not outlive us

const children = new Set<number>();
let hookInstalled = false;
function track(pid: number): void {
  children.add(pid);
  if (hookInstalled) return;
  hookInstalled = true;
  // synchronous by necessity: only sends the signals
  process.on('exit', () => {
    for (const p of children) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
}
function untrack(pid: number): void {
  children.delete(pid);
}

// ---------------------------------------------------------------------------------------------
// A PostgreSQL cluster of our own

/**
 * PostgreSQL 15 in a temporary directory (initdb, trust auth, loopback only, fsync on as in
 * production), so it can be stopped "immediately" (SIGQUIT to the postmaster: what
 * `pg_ctl stop -m immediate` sends, crash recovery at the next start) or SIGKILLed without
 * disturbing anyone. As root it runs as the postgres user (PostgreSQL refuses root).
 */
export class PrivatePostgres {
  readonly dir: string;
  port = 0;
  private child: ChildProcess | null = null;
  private postmasterPid = 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-proof-pg-'));
  }

  private get asRoot(): boolean {
    return process.getuid?.() === 0;
  }

  private command(bin: string, args: string[]): [string, string[]] {
    return this.asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]]
      : [path.join(PG_BIN, bin), args];
  }

  get data(): string {
    return path.join(this.dir, 'data');
  }

  /** The URL of a database on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async init(): Promise<void> {
    if (this.asRoot) spawnSync('chown', ['postgres:postgres', this.dir]);
    const [cmd, args] = this.command('initdb', [
      '-D',
      this.data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    const result = spawnSync(cmd, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr || result.stdout}`);
    this.port = await freePort();
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('already running');
    const [cmd, args] = this.command('postgres', [
      '-D',
      this.data,
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=64MB',
      '-c',
      'logging_collector=off',
      '-c',
      'log_min_messages=fatal',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (output.length < 20_000) output += d.toString();
    });
    this.child = child;
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.child) throw new Error(`postgres exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`postgres did not start within 60 s:\n${output}`);
      const pidFile = path.join(this.data, 'postmaster.pid');
      if (fs.existsSync(pidFile)) {
        this.postmasterPid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (this.postmasterPid > 0) track(this.postmasterPid);
        if (await this.answers()) return;
      }
      await sleep(50);
    }
  }

  private async answers(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** `-m immediate`: SIGQUIT to the postmaster; every backend quits at once, nothing is checkpointed. */
  async stopImmediate(): Promise<void> {
    await this.signal('SIGQUIT');
  }

  /** Fast shutdown (SIGINT): for the end. */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.postmasterPid) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(this.postmasterPid, signal);
    } catch {
      // gone already
    }
    const late = setTimeout(() => {
      try {
        process.kill(this.postmasterPid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 20_000);
    await exited;
    clearTimeout(late);
    untrack(this.postmasterPid);
    this.child = null;
  }

  /** A new database with PostGIS and pg_trgm (what the migrations expect). */
  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const client = new pg.Client({ connectionString: this.url(name) });
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await client.end();
    return this.url(name);
  }

  /** Stops and deletes the cluster. */
  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh database with PostGIS on an existing server (the shared one in CI), and its drop. */
export async function scratchDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bw_proof_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await client.end();
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The server as a child process

export interface ServerChild {
  pid: number;
  port: number;
  url: string;
  /** resolves with the exit code or signal when the process ends */
  exited: Promise<string>;
  /** whatever it wrote to stderr (kept to 50 kB), to show a crash */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<string>;
}

/**
 * `serve` as its own process on a fixed port (so clients find it again after a restart),
 * resolved once it listens. `env` is the whole environment (see serverEnv).
 */
export async function startServerChild(env: Record<string, string>, timeoutMs = 120_000): Promise<ServerChild> {
  // The server's log goes to a file, not a pipe: stdout to a pipe is synchronous on Linux, so a
  // pipe read by this (busy) process would stall the server's event loop whenever it filled.
  const logPath = path.join(os.tmpdir(), `bw-serve-${process.pid}-${randomBytes(4).toString('hex')}.log`);
  const logFd = fs.openSync(logPath, 'w');
  const child = spawn(process.execPath, await serverArgs('serve'), {
    cwd: ROOT,
    env: { ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', logFd, 'pipe'],
  });
  fs.closeSync(logFd);
  track(child.pid!);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (err.length < 50_000) err += d.toString();
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      untrack(child.pid!);
      fs.rmSync(logPath, { force: true });
      resolve(signal ?? String(code));
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      let head = '';
      try {
        head = fs.readFileSync(logPath, 'utf8').slice(0, 200_000);
      } catch {
        // not there yet, or removed because the server exited (handled below)
      }
      const match = /"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/.exec(head);
      if (match) {
        clearInterval(poll);
        resolve(Number(match[1]));
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`serve did not listen within ${timeoutMs} ms:\n${err}`));
      }
    }, 50);
    void exited.then((how) => {
      clearInterval(poll);
      reject(new Error(`serve exited (${how}) before listening:\n${err}`));
    });
  });
  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    exited,
    stderr: () => err,
    kill: async (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Production mode, quiet, no rate limits (a handful of clients make every request). */
export function serverEnv(extra: Record<string, string>): Record<string, string> {
  // each caller names the PORT: the proof scripts kill and restart a server on the same one
  return benchServerEnv({ HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', ...extra });
}

// ---------------------------------------------------------------------------------------------
// Clients

/** Registers (or signs in) an account and returns a bearer token for it. */
export async function signIn(baseUrl: string, email: string, password = 'proof scripts passphrase 1'): Promise<string> {
  const post = (p: string, body: object) =>
    fetch(baseUrl + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let res = await post('/api/v1/auth/login', { email, password });
  if (res.status === 401) res = await post('/api/v1/auth/register', { email, password, displayName: 'Proof reporter' });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export async function firstCategoryIds(baseUrl: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/api/v1/categories`);
  if (!res.ok) throw new Error(`categories: ${res.status}`);
  return ((await res.json()) as { items: Array<{ id: string }> }).items.map((c) => c.id);
}

export function incidentBody(categoryId: string, i: number, tag = 'proof'): string {
  // points over Johannesburg, spread by a cheap hash of i
  const lon = 27.8 + ((i * 7919) % 5000) / 10_000;
  const lat = -26.3 + ((i * 104_729) % 3000) / 10_000;
  return JSON.stringify({
    title: `${tag} report ${i}`,
    description: 'Written by the proof scripts.',
    categoryId,
    location: { type: 'Point', coordinates: [Number(lon.toFixed(6)), Number(lat.toFixed(6))] },
  });
}

/** Resolves once GET path answers 200 (polling every 50 ms), or rejects after timeoutMs. */
export async function waitFor200(url: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - start;
    } catch {
      // not yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`${url} not 200 within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarise(latencies: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
