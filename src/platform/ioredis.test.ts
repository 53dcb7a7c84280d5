import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * ioredis is loaded only when a Redis client is made. Checked in a process of its own: this test
 * worker may have loaded it for other tests already.
 */
describe('ioredis', () => {
  it('is not loaded by the bus, the cache and the rate limits without REDIS_URL, and is with it', () => {
    const script = `
      import { createRequire } from 'node:module';
      import Fastify from 'fastify';
      const { openBus } = await import('./src/platform/bus/open.ts');
      const { openCache } = await import('./src/platform/cache/open.ts');
      const { registerRateLimits } = await import('./src/platform/http/rate-limit.ts');
      const cache = createRequire(import.meta.url).cache;
      const loaded = () => Object.keys(cache).some((file) => file.includes('/node_modules/ioredis/'));
      const log = { info() {}, warn() {}, error() {} };
      const app = Fastify();
      const without = [openBus({ redis: null }, log), openCache({ redis: null }, log, 'ns')];
      registerRateLimits(app, { enabled: true, redisUrl: null, log });
      const before = loaded();
      // a port nothing listens on: the clients are made (and give up) without a Redis
      const bus = openBus({ redis: { url: 'redis://127.0.0.1:9' } }, log);
      const after = loaded();
      await bus.close();
      await app.close();
      for (const x of without) await x.close?.();
      console.log(JSON.stringify({ before, after }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });
});
