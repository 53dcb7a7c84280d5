import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cache } from './cache.js';
import { addVary } from '../http/vary.js';

/** What a write can change, as cache tags. */
export type CacheTag = 'categories' | 'incidents';

export interface RouteCacheOptions {
  /** what the response depends on: a write to any of these makes it stale */
  tags: readonly CacheTag[];
  /** seconds nginx and browsers may use it without asking (anonymous viewers only) */
  maxAge: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A public read path: anonymous answers are stored in the shared cache (src/platform/cache)
     * and sent with `Cache-Control: public`; every 200 carries an ETag and honours If-None-Match.
     */
    cache?: RouteCacheOptions;
  }
  interface FastifyRequest {
    cacheState: CacheState | null;
  }
}

interface CacheState {
  /** where an anonymous answer is (or will be) stored; null: not shared (a signed-in viewer, or no cache now) */
  key: string | null;
  /** the ETag of an answer served from the cache */
  hitEtag: string | null;
}

/**
 * How long an entry lives in the cache without a write: writes made outside HTTP (jobs: SLA,
 * auto-close, authority updates) bump no version, so this bounds how stale those can be.
 */
export const ENTRY_TTL_MS = 20_000;
/** a stale answer nginx may serve while it asks again (anonymous only) */
const STALE_WHILE_REVALIDATE_S = 30;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Which tags a successful write makes stale, by where it went (coarse on purpose: missing one is a stale map). */
export function tagsWrittenBy(url: string): CacheTag[] {
  const path = url.split('?', 1)[0]!;
  // a category's name, slug or activity shows in lists, Open311 services and filtered clusters
  if (/\/categories(\/|$)/.test(path)) return ['categories', 'incidents'];
  return ['incidents'];
}

/** A weak validator over the bytes sent: the same bytes, the same ETag, on every node. */
export function etagOf(payload: string | Buffer): string {
  return `W/"${createHash('sha1').update(payload).digest('base64url').slice(0, 22)}"`;
}

/** Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

/** Only the anonymous viewer's answers are shared: anything a signed-in viewer sees may be theirs alone. */
function isShared(request: FastifyRequest): boolean {
  return request.actor.userId === null && request.actor.roles.length === 0;
}

/**
 * Response caching for the routes that ask for it (`config.cache`), and invalidation on every
 * successful write. The version of each tag is read before the answer is computed and is part
 * of its key, so an answer computed while a write lands is stored under the old version, where
 * nobody looks any more.
 */
export function registerHttpCache(
  app: FastifyInstance,
  cache: Cache,
  options: {
    /**
     * Changes with every counted change to an incident, whoever made it (see countedChangeStamp):
     * part of the key of 'incidents' entries, so writes outside HTTP (jobs, the CLI) are seen too.
     */
    incidentStamp?: () => Promise<string>;
  } = {},
): void {
  app.decorateRequest('cacheState', null);

  app.addHook('preHandler', async (request, reply) => {
    const route = request.routeOptions.config.cache;
    if (!route || request.method !== 'GET') return;
    const state: CacheState = { key: null, hitEtag: null };
    request.cacheState = state;
    if (!isShared(request)) return;
    const versions = await cache.versions(route.tags);
    if (versions === null) return;
    const stamp = route.tags.includes('incidents') && options.incidentStamp ? await options.incidentStamp() : '';
    state.key = `${versions}|${stamp}|${request.lang}|${request.url}`;
    const hit = await cache.get(state.key);
    if (!hit) return;
    state.hitEtag = hit.etag;
    reply.header('x-cache', 'hit').type(hit.contentType);
    return reply.send(hit.body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const state = request.cacheState;
    const route = request.routeOptions.config.cache;
    if (!state || !route || reply.statusCode !== 200) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const etag = state.hitEtag ?? etagOf(payload);
    setValidators(request, reply, route, etag);
    if (state.key !== null && state.hitEtag === null) {
      const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
      await cache.set(state.key, { body: payload.toString(), contentType, etag }, ENTRY_TTL_MS);
    }
    if (matches(request.headers['if-none-match'], etag)) {
      reply.code(304);
      return '';
    }
    return payload;
  });

  // Before the answer leaves (onSend, not onResponse): a client that writes and then reads at
  // once must not get the answer from before its own write.
  app.addHook('onSend', async (request, reply, payload) => {
    if (SAFE_METHODS.has(request.method) || reply.statusCode >= 400) return payload;
    await cache.invalidate(tagsWrittenBy(request.url));
    return payload;
  });
}

function setValidators(request: FastifyRequest, reply: FastifyReply, options: RouteCacheOptions, etag: string): void {
  reply.header('etag', etag);
  // the language and the viewer change the bytes
  addVary(reply, 'Accept-Language', 'Authorization');
  reply.header(
    'cache-control',
    isShared(request)
      ? `public, max-age=${options.maxAge}, stale-while-revalidate=${STALE_WHILE_REVALIDATE_S}`
      : 'private, no-store',
  );
}
