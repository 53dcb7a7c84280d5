/**
 * The response cache of the public read paths (category lists, map clusters, summaries, Open311
 * lists). Entries are whole serialized responses, stored under keys that embed the current
 * version of each tag they depend on: a write bumps the tag's version (`invalidate`), and every
 * node, asking for the new version, no longer finds the old entries (they expire on their own).
 *
 * Two sides, like the bus: memory.ts (embedded mode, one process) and redis.ts (several nodes
 * share Redis, versions included); open.ts picks. A cache that cannot answer is a miss, never
 * an error: the database is the truth, the cache only spares it.
 */
export interface CachedResponse {
  body: string;
  contentType: string;
  etag: string;
}

export interface Cache {
  readonly kind: 'memory' | 'redis';
  /** The versions of these tags as one string, for keys; null when the cache cannot answer now. */
  versions(tags: readonly string[]): Promise<string | null>;
  get(key: string): Promise<CachedResponse | null>;
  set(key: string, value: CachedResponse, ttlMs: number): Promise<void>;
  /** Something these tags cover changed: entries stored under their current versions are dead, on every node. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** whether lookups can hit right now (Redis: connected); 'down' only means misses */
  state(): 'up' | 'down';
  close(): Promise<void>;
}

export interface CacheLogger {
  warn(obj: object, msg: string): void;
}
