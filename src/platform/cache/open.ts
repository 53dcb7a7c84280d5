import type { Config } from '../../config.js';
import type { Queryable } from '../db/database.js';
import type { Cache, CacheLogger } from './cache.js';
import { MemoryCache } from './memory.js';
import { RedisCache } from './redis.js';

/**
 * The configured cache: Redis when REDIS_URL is set (every node shares entries and versions),
 * else in memory. `namespace` keeps apart deployments (or test schemas) that share one Redis.
 */
export function openCache(config: Pick<Config, 'redis'>, log: CacheLogger, namespace: string): Cache {
  if (config.redis !== null) return new RedisCache(config.redis.url, { prefix: `bw:cache:${namespace}:`, log });
  return new MemoryCache();
}

/** The database and schema the app works in: entries of one never answer for another. */
export async function cacheNamespace(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ ns: string }>({
    text: `SELECT current_database() || '.' || current_schema() AS ns`,
  });
  return rows[0]?.ns ?? 'default';
}
