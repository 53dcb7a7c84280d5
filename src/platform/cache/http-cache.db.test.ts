import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  as,
  bindTestApp,
  FAST_REALTIME,
  json,
  RESIDENT,
  testBus,
  testConfig,
  testStorage,
} from '../../../test/helpers/app.js';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { buildApp } from '../../app.js';
import type { Bus } from '../bus/bus.js';
import type { Database } from '../db/database.js';
import type { Cache } from './cache.js';
import { MemoryCache } from './memory.js';
import { RedisCache } from './redis.js';
import { matches, tagsWrittenBy } from './http-cache.js';

/**
 * The response cache of the public read paths, in memory (one node) and in Redis (two nodes on
 * one database sharing the Redis on 6379, the way production runs several).
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const NOISE = '9b99db65-3d15-459a-b2f1-b5dfea93a6c8';
const quiet = { warn: () => undefined };

describe('cache helpers', () => {
  it('compares If-None-Match weakly, in lists and with *', () => {
    expect(matches('W/"abc"', 'W/"abc"')).toBe(true);
    expect(matches('"abc"', 'W/"abc"')).toBe(true);
    expect(matches('W/"x", W/"abc"', 'W/"abc"')).toBe(true);
    expect(matches('*', 'W/"abc"')).toBe(true);
    expect(matches('W/"abd"', 'W/"abc"')).toBe(false);
    expect(matches(undefined, 'W/"abc"')).toBe(false);
  });
  it('makes category writes stale everything, other writes what incidents feed', () => {
    expect(tagsWrittenBy('/api/v1/categories/123?lang=af')).toEqual(['categories', 'incidents']);
    expect(tagsWrittenBy('/api/v1/incidents')).toEqual(['incidents']);
  });
});

for (const backend of ['memory', 'redis'] as const) {
  describe(`response cache (${backend})`, () => {
    let t: TestDatabase;
    const nodes: Array<{ app: FastifyInstance; db: Database; bus: Bus; cache: Cache }> = [];
    // with one node (memory) both names are the same node
    const a = (o: InjectOptions) => nodes[0]!.app.inject(o);
    const b = (o: InjectOptions) => nodes[nodes.length - 1]!.app.inject(o);

    beforeAll(async () => {
      t = await createTestDatabase();
      const config = testConfig(backend === 'redis' ? { REDIS_URL } : {});
      // keys of this run only: Redis outlives test runs
      const prefix = `test:cache:${randomBytes(6).toString('hex')}:`;
      for (let i = 0; i < (backend === 'redis' ? 2 : 1); i++) {
        const db = i === 0 ? t.db : await t.connect();
        const bus = testBus(config);
        const cache = backend === 'redis' ? new RedisCache(REDIS_URL, { prefix, log: quiet }) : new MemoryCache();
        const app = await buildApp({
          config,
          db,
          storage: await testStorage(config),
          bus,
          cache,
          realtimeOptions: FAST_REALTIME,
        });
        await app.ready();
        nodes.push({ app, db, bus, cache });
      }
      // each node's Redis connection is up before the first lookup (before it, lookups miss)
      const deadline = Date.now() + 10_000;
      while (nodes.some((n) => n.cache.state() !== 'up')) {
        if (Date.now() > deadline) throw new Error('the caches did not connect to Redis');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      bindTestApp({ app: nodes[0]!.app, t });
      // inactive before anything is cached: only admins asking for it see it
      await t.db.query({ text: 'UPDATE categories SET active = false WHERE id = $1', values: [NOISE] });
    });

    afterAll(async () => {
      for (const n of nodes.splice(0).reverse()) {
        await n.app.close();
        await n.bus.close();
        await n.cache.close();
        if (n.db !== t.db) await n.db.close();
      }
      if (t) await dropTestDatabase(t);
    });

    it('serves an anonymous list from the cache with an ETag, public Cache-Control, and 304 on If-None-Match', async () => {
      const first = await a({ url: '/api/v1/categories' });
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBeUndefined();
      expect(first.headers['cache-control']).toMatch(/^public, max-age=\d+, stale-while-revalidate=\d+$/);
      expect(first.headers.vary).toContain('Authorization');
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^W\/"[\w-]+"$/);

      // the other node finds what this one stored (memory: the same node)
      const second = await b({ url: '/api/v1/categories' });
      expect(second.headers['x-cache']).toBe('hit');
      expect(second.headers.etag).toBe(etag);
      expect(second.body).toBe(first.body);
      expect(second.headers['content-type']).toBe(first.headers['content-type']);

      const notModified = await b({ url: '/api/v1/categories', headers: { 'if-none-match': etag } });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.body).toBe('');
      expect(notModified.headers.etag).toBe(etag);
      const changedTag = await b({ url: '/api/v1/categories', headers: { 'if-none-match': 'W/"other"' } });
      expect(changedTag.statusCode).toBe(200);

      // another language is another entry
      const af = await b({ url: '/api/v1/categories', headers: { 'accept-language': 'af' } });
      expect(af.headers['x-cache']).toBeUndefined();
      expect(af.body).toContain('Slaggat');
    });

    it('invalidates a cached list when a category changes, on every node', async () => {
      const before = await b({ url: '/api/v1/categories' });
      expect(json(before).items.find((c: { id: string }) => c.id === POTHOLE).name).toBe('Pothole');
      expect((await b({ url: '/api/v1/categories' })).headers['x-cache']).toBe('hit');

      const patched = await a({
        method: 'PATCH',
        url: `/api/v1/categories/${POTHOLE}`,
        headers: await as(ADMIN, 'admin'),
        payload: { name: { en: 'Road hole', af: 'Padgat' } },
      });
      expect(patched.statusCode, patched.body).toBe(200);

      const after = await b({ url: '/api/v1/categories' });
      expect(after.headers['x-cache']).toBeUndefined();
      expect(json(after).items.find((c: { id: string }) => c.id === POTHOLE).name).toBe('Road hole');
      expect(after.headers.etag).not.toBe(before.headers.etag);
      // and the old ETag no longer gets a 304
      const revalidated = await b({
        url: '/api/v1/categories',
        headers: { 'if-none-match': before.headers.etag as string },
      });
      expect(revalidated.statusCode).toBe(200);
    });

    it('invalidates cached clusters when an incident is reported on another node', async () => {
      const url = '/api/v1/incidents/clusters?bbox=27.9,-26.3,28.3,-25.95&zoom=12';
      const empty = await b({ url });
      expect(json(empty).total).toBe(0);
      expect((await b({ url })).headers['x-cache']).toBe('hit');

      const created = await a({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: await as(RESIDENT),
        payload: {
          title: 'Pothole on the corner',
          description: 'Deep',
          categoryId: POTHOLE,
          location: { type: 'Point', coordinates: [28.05, -26.1] },
        },
      });
      expect(created.statusCode, created.body).toBe(201);

      const after = await b({ url });
      expect(after.headers['x-cache']).toBeUndefined();
      expect(json(after).total).toBe(1);
      expect((await a({ url })).headers['x-cache']).toBe('hit');

      // a write outside HTTP (a job, the CLI, an import) is seen at once too
      await t.db.query({ text: `UPDATE incidents SET hidden = true WHERE id = $1`, values: [json(created).id] });
      const hidden = await a({ url });
      expect(hidden.headers['x-cache']).toBeUndefined();
      expect(json(hidden).total).toBe(0);
    });

    it('never shares a staff answer with anonymous viewers, nor stores it', async () => {
      const url = '/api/v1/categories?includeInactive=true';
      const admin = await a({ url, headers: await as(ADMIN, 'admin') });
      expect(admin.statusCode).toBe(200);
      expect(admin.headers['cache-control']).toBe('private, no-store');
      expect(admin.headers['x-cache']).toBeUndefined();
      expect(json(admin).items.some((c: { id: string }) => c.id === NOISE)).toBe(true);
      // the same URL again for the admin is computed again, not taken from a cache
      expect((await b({ url, headers: await as(ADMIN, 'admin') })).headers['x-cache']).toBeUndefined();

      const anonymous = await b({ url });
      expect(anonymous.headers['x-cache']).toBeUndefined();
      expect(anonymous.headers['cache-control']).toMatch(/^public/);
      expect(json(anonymous).items.some((c: { id: string }) => c.id === NOISE)).toBe(false);
      // the anonymous answer is cached, and still never reaches the admin
      expect((await a({ url })).headers['x-cache']).toBe('hit');
      const adminAgain = await a({ url, headers: await as(ADMIN, 'admin') });
      expect(adminAgain.headers['x-cache']).toBeUndefined();
      expect(json(adminAgain).items.some((c: { id: string }) => c.id === NOISE)).toBe(true);
    });

    it('caches the Open311 service and request lists for anonymous viewers', async () => {
      for (const url of ['/open311/v2/services.json', '/open311/v2/requests.json', '/open311/v2/services.xml']) {
        const first = await b({ url });
        expect(first.statusCode, `${url} ${first.body}`).toBe(200);
        const second = await a({ url });
        expect(second.headers['x-cache'], url).toBe('hit');
        expect(second.body).toBe(first.body);
        expect(second.headers['content-type']).toBe(first.headers['content-type']);
      }
    });
  });
}
