import type { Config } from '../../config.js';
import type { Bus, BusLogger } from './bus.js';
import { MemoryBus } from './memory.js';
import { RedisBus } from './redis.js';

/**
 * The configured bus: Redis when REDIS_URL is set (several nodes share it), else in memory
 * (embedded mode, one process). Returns at once: the Redis bus connects in the background and
 * reports 'down' until it has.
 */
export function openBus(config: Pick<Config, 'redis'>, log: BusLogger): Bus {
  if (config.redis !== null) return new RedisBus(config.redis.url, { log });
  return new MemoryBus({ log });
}
