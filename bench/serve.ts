import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { generateVapidKeys } from '../src/modules/notifications/notifications.webpush.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../scripts/build-server.mjs';

/** What the benchmarks that start their own server share: the server process and its memory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let built: Promise<unknown> | null = null;

/**
 * The arguments for `node` to run a CLI command as production does: the build (`npm run build`,
 * dist/main.js), made once per benchmark process from the current sources. Measuring the server
 * through tsx would count a transpiler and its loader thread the image does not have.
 */
export async function serverArgs(...command: string[]): Promise<string[]> {
  built ??= buildServer();
  await built;
  // with the image's node flags (Dockerfile ENTRYPOINT)
  return ['--max-semi-space-size=8', path.join(ROOT, 'dist/main.js'), ...command];
}

/**
 * The environment of a benchmark's server: production mode with fresh signing and Web Push keys, quiet logs,
 * no abuse limits (one client makes every request), a free port; `extra` adds or overrides.
 */
export function benchServerEnv(extra: Record<string, string> = {}): Record<string, string> {
  // production wants Web Push keys set (every node must share them)
  const vapid = generateVapidKeys();
  return {
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    RATE_LIMITS: 'off',
    PORT: '0',
    ...extra,
  };
}

/**
 * `serve` as its own process (`node dist/main.js`, so the pid is the server itself), resolved with
 * its port once it listens (read from its log; PORT=0 picks a free one). `exited` settles when
 * the process has ended.
 */
export async function startServer(
  env: Record<string, string>,
): Promise<{ port: number; pid: number; kill(): void; exited: Promise<void> }> {
  const args = await serverArgs('serve');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let buffered = '';
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const match = /"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffered);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ port: Number(match[1]), pid: child.pid!, kill: () => child.kill('SIGTERM'), exited });
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
}

/** The process's resident memory now, from /proc. */
export function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}
