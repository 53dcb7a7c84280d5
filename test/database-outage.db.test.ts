import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createPoolDatabase, type Database } from '../src/platform/db/database.js';
import { as, bindTestApp, json, RESIDENT, testConfig, testBus, testStorage } from './helpers/app.js';
import { backend, createTestDatabase, dropTestDatabase, type TestDatabase } from './helpers/database.js';
import { FlakyProxy } from './helpers/proxy.js';

/**
 * The database goes away (a Postgres restart) and comes back: the app answers 503 with
 * Retry-After meanwhile, never crashes on pool errors, and recovers by itself.
 */
let t: TestDatabase;
let proxy: FlakyProxy;
let db: Database;
let app: FastifyInstance;

beforeAll(async () => {
  t = await createTestDatabase();
  const lost: Error[] = [];
  if (backend() === 'postgres' && t.config.db.kind === 'postgres') {
    const url = new URL(t.config.db.url);
    proxy = new FlakyProxy({ port: 0 }, { host: url.hostname, port: Number(url.port || 5432) });
    await proxy.up();
    url.port = String(proxy.listenPort);
    db = createPoolDatabase({
      kind: 'postgres',
      pool: {
        connectionString: url.toString(),
        max: 3,
        connectionTimeoutMillis: 2000,
        options: `-c search_path=${t.schema},public`,
      },
      onPoolError: (err) => lost.push(err),
    });
  } else {
    const dir = `/tmp/bwp-${process.pid}`;
    const fs = await import('node:fs');
    fs.mkdirSync(dir, { recursive: true });
    proxy = new FlakyProxy({ path: `${dir}/.s.PGSQL.5432` }, { path: `${t.config.dataDir}/.s.PGSQL.5432` });
    await proxy.up();
    db = createPoolDatabase({
      kind: 'embedded',
      pool: { host: dir, port: 5432, user: 'postgres', database: 'postgres', max: 3, connectionTimeoutMillis: 2000 },
      statementScope: t.schema,
      onPoolError: (err) => lost.push(err),
    });
    await db.query({ text: `SET search_path TO ${t.schema},public` });
  }
  app = await buildApp({
    config: testConfig(),
    db,
    storage: await testStorage(testConfig()),
    bus: testBus(testConfig()),
  });
  await app.ready();
  bindTestApp({ app, t });
});

afterAll(async () => {
  await app?.close();
  await proxy?.up().catch(() => undefined);
  await db?.close();
  await proxy?.down();
  await dropTestDatabase(t);
});

describe('database outage', () => {
  it('answers 503 with Retry-After while the database is gone, then recovers by itself', async () => {
    const categories = json(await app.inject({ url: '/api/v1/categories' }));
    expect(categories.items.length).toBeGreaterThan(0);
    const payload = {
      title: 'Written during an outage',
      description: '',
      categoryId: categories.items[0].id,
      location: { type: 'Point', coordinates: [28, -26] },
    };

    await proxy.down();
    // the public category list was just cached (src/platform/cache): it still answers
    const cached = await app.inject({ url: '/api/v1/categories' });
    expect(cached.statusCode, cached.body).toBe(200);
    expect(json(cached).items).toEqual(categories.items);
    for (const request of [
      { url: '/api/v1/categories?lang=en' }, // not cached yet: another URL
      { url: '/api/v1/incidents?near=28,-26' },
      { method: 'POST' as const, url: '/api/v1/incidents', headers: await as(RESIDENT), payload },
    ]) {
      const res = await app.inject(request);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(json(res).title).toBe('Service unavailable');
    }
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(json(ready).checks.database).toBe('unavailable');
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);

    await proxy.up();
    let recovered = 0;
    for (let i = 0; i < 50 && recovered === 0; i++) {
      const res = await app.inject({ url: '/api/v1/incidents?near=28,-26' });
      if (res.statusCode === 200) recovered = i + 1;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBeGreaterThan(0);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload,
    });
    expect(created.statusCode).toBe(201);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('survives connections cut while idle in the pool', async () => {
    // fill the pool with idle connections, then cut them all
    await Promise.all([1, 2, 3].map(() => app.inject({ url: '/api/v1/categories' })));
    await proxy.down();
    await new Promise((r) => setTimeout(r, 100));
    await proxy.up();
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) ok = (await app.inject({ url: '/api/v1/categories' })).statusCode === 200;
    expect(ok).toBe(true);
  });
});
