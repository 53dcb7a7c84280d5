import { createHash } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { ioredis } from '../ioredis.js';
import { AppError } from './errors.js';

/**
 * Abuse limits: fixed-window counters per route class, keyed by the signed-in account (else the
 * client address) and, for sign-in, by the email tried as well. Counters live in Redis when
 * REDIS_URL is set, so every node counts against one limit, and in memory otherwise.
 *
 * Why our own limiter rather than @fastify/rate-limit: the behaviour that matters most is "Redis
 * is down → keep limiting in memory, never fail or wait". @fastify/rate-limit's store can only
 * skip limiting on a store error (skipOnError) or fail the request, so we would have written a
 * falling-back store anyway; it also limits one key per registration, while sign-in needs the
 * account and the address counted together, and it builds its own 429 where ours must go through
 * the one error handler. What is left — INCR+PEXPIRE in one Lua call, a Map, and the headers — is
 * about as long as the glue would have been, and every path is visible here.
 *
 * Fixed windows (not sliding): one Redis round trip and one key per counter; the known weakness,
 * up to twice the limit across a window boundary, does not matter for abuse limits this coarse.
 */

export type RateLimitClass = 'login' | 'create' | 'write' | 'read' | 'open311' | 'export';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Which abuse limit a route falls under (src/platform/http/rate-limit.ts). Without it GET,
     * HEAD and OPTIONS are 'read' and every other method 'write'; 'none' exempts the route.
     */
    rateLimitClass?: RateLimitClass | 'none';
  }
}

export interface LimitRule {
  /**
   * what is counted: the signed-in account, the client address, the email a sign-in names, or
   * the Open311 `api_key` a request carries (form body or query)
   */
  by: 'account' | 'ip' | 'email' | 'apiKey';
  /** count only requests without a signed-in user (an account rule covers the others) */
  signedOutOnly?: boolean;
  max: number;
  windowSeconds: number;
}

export type RateLimitPolicy = Readonly<Record<RateLimitClass, readonly LimitRule[]>>;

export const DEFAULT_LIMITS: RateLimitPolicy = {
  // password guessing: against one account from many addresses, and from one address at many
  login: [
    { by: 'email', max: 10, windowSeconds: 15 * 60 },
    { by: 'ip', max: 10, windowSeconds: 15 * 60 },
  ],
  create: [
    { by: 'account', max: 20, windowSeconds: 60 * 60 },
    { by: 'ip', signedOutOnly: true, max: 5, windowSeconds: 60 * 60 },
  ],
  write: [
    { by: 'account', max: 60, windowSeconds: 60 },
    { by: 'ip', signedOutOnly: true, max: 60, windowSeconds: 60 },
  ],
  // Open311 clients are back-office systems: per key, and per address for keyless reads
  open311: [
    { by: 'apiKey', max: 1_000, windowSeconds: 60 * 60 },
    { by: 'ip', max: 600, windowSeconds: 60 },
  ],
  // whole data sets (staff exports, a person's own data): heavy on the database, rarely needed
  export: [
    { by: 'account', max: 10, windowSeconds: 60 * 60 },
    { by: 'ip', signedOutOnly: true, max: 10, windowSeconds: 60 * 60 },
  ],
  // generous: a map client pans and zooms in bursts
  read: [
    { by: 'account', max: 600, windowSeconds: 60 },
    { by: 'ip', signedOutOnly: true, max: 600, windowSeconds: 60 },
  ],
};

export interface RateLimitOptions {
  /** config.rateLimits (RATE_LIMITS=off turns limiting off) */
  enabled: boolean;
  /** config.redis?.url: counters shared by every node; null counts in this process only */
  redisUrl: string | null;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** replaces the default rules of the classes given (tests use small numbers) */
  limits?: Partial<RateLimitPolicy>;
  /** namespace of the Redis keys (tests use one of their own) */
  redisPrefix?: string;
  /** the longest a Redis call may take before the request is counted in memory instead */
  redisTimeoutMs?: number;
}

export interface RateLimits {
  /** where counting happens right now: Redis, memory (no Redis or Redis unreachable), or off */
  backend(): 'redis' | 'memory' | 'off';
}

interface Hit {
  count: number;
  /** milliseconds until the window ends */
  resetMs: number;
}

interface Check {
  name: string;
  rule: LimitRule;
  key: string;
}

interface Outcome extends Check, Hit {}

const DEFAULT_REDIS_TIMEOUT_MS = 250;
/** after a Redis call failed while connected, memory is used this long before trying Redis again */
const REDIS_PAUSE_MS = 2_000;
const SWEEP_INTERVAL_MS = 30_000;
const MEMORY_MAX_KEYS = 500_000;
const MAX_EMAIL_LENGTH = 320;

// One atomic round trip: count, and start the window's expiry on its first hit. The PTTL check
// also repairs a key that lost its expiry (a PEXPIRE that never ran), which would limit forever.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type RedisWithHit = Redis & { buurtwagRateHit(key: string, windowMs: number): Promise<[number, number]> };

/** Fixed windows in a Map; expired ones are swept on a timer so the Map does not grow forever. */
class MemoryCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  hit(key: string, windowMs: number, now: number = Date.now()): Hit {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (!window && this.windows.size >= MEMORY_MAX_KEYS) this.makeRoom(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetMs: window.resetAt - now };
  }

  sweep(now: number = Date.now()): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }

  /** under a flood of distinct keys: drop expired windows, then the oldest tenth (insertion order) */
  private makeRoom(now: number): void {
    this.sweep(now);
    if (this.windows.size < MEMORY_MAX_KEYS) return;
    let drop = Math.ceil(MEMORY_MAX_KEYS / 10);
    for (const key of this.windows.keys()) {
      if (drop-- <= 0) break;
      this.windows.delete(key);
    }
  }
}

/**
 * Redis when it is connected and answering, memory otherwise. A request never waits for Redis
 * to come back: without a connection ioredis refuses at once (no offline queue), a command in
 * flight when the link drops fails at once (no retries), and a slow answer fails after
 * `commandTimeout`. After such a failure Redis is left alone for a moment so that a Redis that
 * hangs costs one timeout, not one per request. Counts made in memory during an outage are not
 * carried over: each node limits on its own until Redis is back, then shared counting resumes.
 */
class Counters {
  private pausedUntil = 0;

  constructor(
    private readonly memory: MemoryCounters,
    private readonly redis: RedisWithHit | null,
    private readonly log: RateLimitOptions['log'],
  ) {}

  usingRedis(): boolean {
    return this.redis !== null && this.redis.status === 'ready' && Date.now() >= this.pausedUntil;
  }

  async hit(key: string, windowMs: number): Promise<Hit> {
    if (this.redis && this.usingRedis()) {
      try {
        const [count, ttl] = await this.redis.buurtwagRateHit(key, windowMs);
        return { count, resetMs: ttl > 0 ? ttl : windowMs };
      } catch (err) {
        if (Date.now() >= this.pausedUntil) {
          this.log.warn({ err }, 'rate limits: Redis call failed, counting in memory for now');
        }
        this.pausedUntil = Date.now() + REDIS_PAUSE_MS;
      }
    }
    return this.memory.hit(key, windowMs);
  }
}

export function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): RateLimits {
  if (!options.enabled) return { backend: () => 'off' };
  const policy: RateLimitPolicy = { ...DEFAULT_LIMITS, ...options.limits };
  const prefix = options.redisPrefix ?? 'bw:rl:';
  const memory = new MemoryCounters();
  const redis = options.redisUrl ? connectRedis(options.redisUrl, options) : null;
  const counters = new Counters(memory, redis, options.log);

  const sweeper = setInterval(() => memory.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    // disconnect, not quit: quit would wait for an answer from a Redis that may be gone
    redis?.disconnect();
  });

  // preValidation: after onRequest (where the actor is set from the token) and after the body
  // is parsed (sign-in's email), but before schema validation, so malformed floods count too
  app.addHook('preValidation', async (request, reply) => {
    const routeClass = request.routeOptions.config.rateLimitClass ?? defaultClass(request.method);
    if (routeClass === 'none') return;
    const checks = checksFor(request, routeClass, policy[routeClass], prefix);
    if (checks.length === 0) return;
    const outcomes: Outcome[] = await Promise.all(
      checks.map(async (check) => ({ ...check, ...(await counters.hit(check.key, check.rule.windowSeconds * 1000)) })),
    );
    setRateLimitHeaders(reply, outcomes);
    const exceeded = outcomes.filter((o) => o.count > o.rule.max);
    if (exceeded.length > 0) {
      // every exceeded limit must have reset before a retry can pass
      const seconds = Math.max(...exceeded.map((o) => secondsUntil(o.resetMs)));
      reply.header('retry-after', String(seconds));
      throw new AppError('rate_limited', 'error.rate_limited.detail', { seconds });
    }
  });

  return { backend: () => (counters.usingRedis() ? 'redis' : 'memory') };
}

function connectRedis(url: string, options: RateLimitOptions): RedisWithHit {
  const { Redis } = ioredis();
  const redis = new Redis(url, {
    // fail fast instead of waiting: no queue while disconnected, no resend after a drop, and a
    // bounded wait for each answer (see Counters)
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS,
    connectTimeout: 2_000,
    // keep reconnecting for as long as the process lives, at most every 2 s, so limits become
    // shared again on their own once Redis is back
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  }) as RedisWithHit;
  redis.defineCommand('buurtwagRateHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  // log transitions only: while Redis is down ioredis emits an error on every reconnect attempt
  let lost = false;
  redis.on('ready', () => {
    if (lost) options.log.info('rate limits: Redis is back, counting there again');
    lost = false;
  });
  redis.on('error', (err: Error) => {
    if (!lost) options.log.warn({ err }, 'rate limits: Redis unreachable, counting in memory');
    lost = true;
  });
  redis.on('close', () => {
    lost = true;
  });
  return redis;
}

function defaultClass(method: string): RateLimitClass {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write';
}

function checksFor(
  request: FastifyRequest,
  routeClass: RateLimitClass,
  rules: readonly LimitRule[],
  prefix: string,
): Check[] {
  const userId = request.actor?.userId ?? null;
  const checks: Check[] = [];
  for (const rule of rules) {
    let subject: string | null;
    if (rule.by === 'account') subject = userId;
    else if (rule.by === 'email') subject = loginEmail(request.body);
    else if (rule.by === 'apiKey') subject = apiKeyOf(request);
    else subject = userId !== null && rule.signedOutOnly ? null : clientAddress(request.ip);
    if (subject === null) continue;
    const name = `${routeClass}-${rule.by}`;
    // hashed: no email address or IP address is written to Redis, and every key has one length
    checks.push({ name, rule, key: `${prefix}${name}:${digest(subject)}` });
  }
  return checks;
}

/** the `api_key` of an Open311 request: in the form body of a POST, else in the query */
function apiKeyOf(request: FastifyRequest): string | null {
  for (const source of [request.body, request.query]) {
    if (typeof source !== 'object' || source === null) continue;
    const key = (source as Record<string, unknown>).api_key;
    if (typeof key === 'string' && key.length > 0 && key.length <= 200) return key;
  }
  return null;
}

/** the account a sign-in tries, as the accounts module compares it: trimmed, lower case */
function loginEmail(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const email = (body as Record<string, unknown>).email;
  if (typeof email !== 'string') return null;
  const normalized = email.trim().toLowerCase();
  return normalized.length > 0 && normalized.length <= MAX_EMAIL_LENGTH ? normalized : null;
}

/**
 * request.ip honours X-Forwarded-For only from the proxies Fastify's `trustProxy` names. IPv4
 * counts per address; IPv6 per /64, since one subscriber usually holds a whole /64 and could
 * otherwise rotate through it.
 */
export function clientAddress(ip: string): string {
  const unzoned = ip.split('%')[0] ?? ip;
  if (!unzoned.includes(':')) return unzoned;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(unzoned);
  if (mapped?.[1]) return mapped[1];
  const [head = '', tail] = unzoned.toLowerCase().split('::');
  const first = head === '' ? [] : head.split(':');
  const last = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The IETF RateLimit headers for the tightest limit (fewest requests left, then longest wait):
 * the draft-07 trio RateLimit-Limit/-Remaining/-Reset that most clients read, plus the structured
 * RateLimit and RateLimit-Policy fields of the later drafts, which list every limit applied.
 */
function setRateLimitHeaders(reply: FastifyReply, outcomes: readonly Outcome[]): void {
  let tightest = outcomes[0]!;
  for (const o of outcomes.slice(1)) {
    const left = o.rule.max - o.count;
    const tightestLeft = tightest.rule.max - tightest.count;
    if (left < tightestLeft || (left === tightestLeft && o.resetMs > tightest.resetMs)) tightest = o;
  }
  const remaining = Math.max(0, tightest.rule.max - tightest.count);
  const reset = secondsUntil(tightest.resetMs);
  reply.header('ratelimit-limit', String(tightest.rule.max));
  reply.header('ratelimit-remaining', String(remaining));
  reply.header('ratelimit-reset', String(reset));
  reply.header('ratelimit', `"${tightest.name}";r=${remaining};t=${reset}`);
  reply.header(
    'ratelimit-policy',
    outcomes.map((o) => `"${o.name}";q=${o.rule.max};w=${o.rule.windowSeconds}`).join(', '),
  );
}
