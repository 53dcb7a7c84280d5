import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { generateVapidKeys } from '../src/modules/notifications/notifications.webpush.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the benchmarks that start their own server share: the server process and its memory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
 * `serve` as its own process (`node --import tsx`, so the pid is the server itself), resolved with
 * its port once it listens (read from its log; PORT=0 picks a free one).
 */
export function startServer(env: Record<string, string>): Promise<{ port: number; pid: number; kill(): void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'serve'], {
      cwd: ROOT,
      env: { ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const match = /"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffered);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ port: Number(match[1]), pid: child.pid!, kill: () => child.kill('SIGTERM') });
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
