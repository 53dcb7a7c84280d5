import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../../test/helpers/redis-server.js';
import { RedisCache } from './redis.js';

/**
 * A hung Redis (SIGSTOP: the connection stays open, nothing answers) must cost the requests of a
 * node one command timeout, not one per cache call: after a failure the cache leaves Redis alone
 * for a moment and every call is an immediate miss.
 */
const redis = new PrivateRedis();
const quiet = { warn: () => undefined };
let cache: RedisCache;

beforeAll(async () => {
  await redis.start();
  cache = new RedisCache(redis.url, { prefix: 'test:', log: quiet });
});
afterAll(async () => {
  redis.thaw();
  await cache.close();
  await redis.stop();
});

describe('the Redis cache when Redis hangs', () => {
  it('pays one timeout, then misses at once until Redis answers again', async () => {
    await expect.poll(() => cache.state(), { timeout: 5_000 }).toBe('up');
    const entry = { body: 'cached', contentType: 'application/json', etag: '"1"' };
    await cache.set('k', entry, 60_000);
    expect(await cache.get('k')).toMatchObject({ body: 'cached' });

    redis.freeze();
    const first = performance.now();
    expect(await cache.get('k')).toBeNull();
    const firstMs = performance.now() - first;
    // the first call waits for its command timeout
    expect(firstMs).toBeGreaterThanOrEqual(100);

    const calls = performance.now();
    for (let i = 0; i < 20; i++) {
      expect(await cache.versions(['incidents'])).toBeNull();
      expect(await cache.get('k')).toBeNull();
      await cache.invalidate(['incidents']);
      await cache.set('k2', entry, 60_000);
    }
    // 80 calls that never wait on Redis (waiting, they would take 80 command timeouts, ~12 s)
    expect(performance.now() - calls).toBeLessThan(150);

    redis.thaw();
    await expect.poll(() => cache.get('k'), { timeout: 5_000, interval: 250 }).toMatchObject({ body: 'cached' });
  });
});
