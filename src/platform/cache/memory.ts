import type { Cache, CachedResponse } from './cache.js';

/** Enough for every filter combination a busy public map asks within a TTL, and a bound on memory. */
const MAX_ENTRIES = 5_000;

/** The cache of embedded mode: one process, so versions are counters in this process. */
export class MemoryCache implements Cache {
  readonly kind = 'memory';
  private readonly tagVersions = new Map<string, number>();
  // a Map iterates in insertion order: the first key is the oldest entry
  private readonly entries = new Map<string, { value: CachedResponse; expires: number }>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  async versions(tags: readonly string[]): Promise<string> {
    return tags.map((tag) => `${tag}.${this.tagVersions.get(tag) ?? 0}`).join(',');
  }

  async get(key: string): Promise<CachedResponse | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expires <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  async set(key: string, value: CachedResponse, ttlMs: number): Promise<void> {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: Date.now() + ttlMs });
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    for (const tag of tags) this.tagVersions.set(tag, (this.tagVersions.get(tag) ?? 0) + 1);
    // entries under old versions can no longer be asked for: drop them now rather than at expiry
    const stale = tags.map((tag) => `${tag}.`);
    for (const key of this.entries.keys()) {
      if (stale.some((prefix) => key.includes(prefix))) this.entries.delete(key);
    }
  }

  state(): 'up' {
    return 'up';
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
