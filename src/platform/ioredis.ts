import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

let loaded: typeof IORedis | null = null;

/**
 * ioredis, loaded when a Redis client is first made (it is CommonJS, so synchronously): a process
 * without REDIS_URL — the embedded default, a single node — never loads it (with the AWS SDK, loaded
 * the same way, ~16 MB and ~0.15 s of loading the server).
 * Import its types with `import type`; make clients with `new (ioredis().Redis)(…)`.
 */
export function ioredis(): typeof IORedis {
  loaded ??= createRequire(import.meta.url)('ioredis') as typeof IORedis;
  return loaded;
}
