import type { Redis } from 'ioredis';
import { ioredis } from '../ioredis.js';
import type { Cache, CacheLogger, CachedResponse } from './cache.js';

/** A cache that makes a request wait is worse than none: past this, a command is a miss. */
const COMMAND_TIMEOUT_MS = 150;
/**
 * After a failure, Redis is left alone this long: a frozen Redis (the connection open, nothing
 * answering) would otherwise cost every request a full timeout on each of its cache calls.
 */
const PAUSE_AFTER_FAILURE_MS = 2_000;

/**
 * The cache shared by every node, in Redis. Versions are counters (`<prefix>v:<tag>`, INCR on
 * write), read with every lookup, so a write on one node is seen by the next read on any node
 * without a message between them. Fails fast (no offline queue, no retries): while Redis is
 * away, lookups miss and the database answers.
 */
export class RedisCache implements Cache {
  readonly kind = 'redis';
  private readonly client: Redis;
  private failureLogged = false;
  private pausedUntil = 0;

  constructor(
    url: string,
    private readonly options: { prefix: string; log: CacheLogger },
  ) {
    const { Redis } = ioredis();
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    this.client.on('error', () => undefined);
    this.client.on('ready', () => {
      this.failureLogged = false;
    });
  }

  /** whether to skip Redis for now, because it failed a moment ago */
  private paused(): boolean {
    return Date.now() < this.pausedUntil;
  }

  private failed(err: unknown, what: string): null {
    this.pausedUntil = Date.now() + PAUSE_AFTER_FAILURE_MS;
    if (!this.failureLogged) {
      this.failureLogged = true;
      this.options.log.warn({ err }, `cache: ${what} failed; serving from the database until Redis answers`);
    }
    return null;
  }

  private versionKey(tag: string): string {
    return `${this.options.prefix}v:${tag}`;
  }

  async versions(tags: readonly string[]): Promise<string | null> {
    if (this.paused()) return null;
    try {
      const values = await this.client.mget(...tags.map((tag) => this.versionKey(tag)));
      return tags.map((tag, i) => `${tag}.${values[i] ?? 0}`).join(',');
    } catch (err) {
      return this.failed(err, 'reading versions');
    }
  }

  async get(key: string): Promise<CachedResponse | null> {
    if (this.paused()) return null;
    try {
      const raw = await this.client.get(this.options.prefix + key);
      return raw === null ? null : (JSON.parse(raw) as CachedResponse);
    } catch (err) {
      return this.failed(err, 'get');
    }
  }

  async set(key: string, value: CachedResponse, ttlMs: number): Promise<void> {
    if (this.paused()) return;
    try {
      await this.client.set(this.options.prefix + key, JSON.stringify(value), 'PX', ttlMs);
    } catch (err) {
      this.failed(err, 'set');
    }
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    if (this.paused()) return;
    try {
      const multi = this.client.multi();
      for (const tag of tags) multi.incr(this.versionKey(tag));
      await multi.exec();
    } catch (err) {
      // entries live at most their TTL: a lost bump is staleness for that long, not for good
      this.failed(err, 'invalidate');
    }
  }

  state(): 'up' | 'down' {
    return this.client.status === 'ready' ? 'up' : 'down';
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
