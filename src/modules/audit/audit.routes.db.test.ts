import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  as,
  bindTestApp,
  json,
  RESIDENT,
  RESIDENT_2,
  testBus,
  testConfig,
  testStorage,
} from '../../../test/helpers/app.js';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { buildApp } from '../../app.js';
import { recordAudit } from './audit.repository.js';
import { auditRoutes } from './audit.routes.js';
import { sealAudit } from './audit.sealer.js';

// The real app, plus the audit routes when app.ts does not mount them yet.
let app: FastifyInstance;
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  app = await buildApp({
    config: testConfig(),
    db: t.db,
    storage: await testStorage(testConfig()),
    bus: testBus(testConfig()),
  });
  if (!app.hasRoute({ method: 'GET', url: '/api/v1/admin/audit' })) {
    await app.register(auditRoutes, { prefix: '/api/v1', db: t.db });
  }
  await app.ready();
  bindTestApp({ app, t });
  admin = await as(ADMIN, 'admin');
});
afterAll(async () => {
  await app?.close();
  if (t) await dropTestDatabase(t);
});

const inject = (options: InjectOptions) => app.inject(options);
let admin: Record<string, string> = {};
const audit = (query: string, headers: Record<string, string> = admin) =>
  inject({ url: `/api/v1/admin/audit${query}`, headers });
const COMMUNITY = '00000000-0000-4000-8000-00000000c0de';

interface Item {
  id: string;
  seq: number | null;
  sealed: boolean;
  action: string;
  entityType: string;
  entityId: string;
  actorId: string | null;
  data: Record<string, unknown>;
  requestId: string | null;
  createdAt: string;
}

let categoryIds: string[] = [];
beforeAll(async () => {
  categoryIds = [];
  for (let n = 0; n < 5; n++) {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/categories',
      headers: admin,
      payload: { slug: `audit-cat-${n}`, name: { en: `Audit ${n}`, af: `Oudit ${n}` } },
    });
    expect(res.statusCode, res.body).toBe(201);
    categoryIds.push(json(res).id);
  }
  await t.db.transaction((tx) =>
    recordAudit(tx, {
      actorId: RESIDENT,
      action: 'session.login',
      entityType: 'session',
      entityId: 's1',
      data: { method: 'password', password: 'hunter2' },
      requestId: 'req-direct',
      ip: '198.51.100.7',
    }),
  );
});

describe('GET /admin/audit', () => {
  it('is for admins only: 401 signed out, 403 signed in', async () => {
    const signedOut = await audit('', {});
    expect(signedOut.statusCode).toBe(401);
    expect(signedOut.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await audit('', await as(RESIDENT))).statusCode).toBe(403);
    expect((await audit('', await as(RESIDENT, `moderator:${COMMUNITY}`))).statusCode).toBe(403);
    expect((await audit('', await as(ADMIN, 'admin'))).statusCode).toBe(200);
  });

  it('lists newest first with actor, request id and content', async () => {
    const res = await audit('?entityType=category');
    expect(res.statusCode, res.body).toBe(200);
    const { items, nextCursor } = json<{ items: Item[]; nextCursor: string | null }>(res);
    expect(nextCursor).toBeNull();
    expect(items.map((i) => i.entityId)).toEqual([...categoryIds].reverse());
    expect(items[0]).toMatchObject({
      action: 'category.create',
      entityType: 'category',
      actorId: ADMIN,
      sealed: false,
      seq: null,
    });
    expect(items[0]!.data).toMatchObject({ slug: 'audit-cat-4' });
    expect(new Date(items[0]!.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const [login] = json<{ items: Array<Item & { ip: string }> }>(await audit('?entityType=session')).items;
    expect(login).toMatchObject({ requestId: 'req-direct', ip: '198.51.100.7', actorId: RESIDENT });
    expect(login!.data).toEqual({ method: 'password', password: '[redacted]' });
  });

  it('filters by action, entity, actor and time', async () => {
    const one = json<{ items: Item[] }>(await audit(`?entityType=category&entityId=${categoryIds[2]}`)).items;
    expect(one.map((i) => i.entityId)).toEqual([categoryIds[2]]);
    expect(json<{ items: Item[] }>(await audit('?action=category.create')).items).toHaveLength(5);
    expect(json<{ items: Item[] }>(await audit('?action=nothing.like.this')).items).toHaveLength(0);
    expect(json<{ items: Item[] }>(await audit(`?actorId=${ADMIN}`)).items.length).toBeGreaterThanOrEqual(5);
    expect(json<{ items: Item[] }>(await audit(`?actorId=${RESIDENT_2}`)).items).toHaveLength(0);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect(json<{ items: Item[] }>(await audit(`?since=${future}`)).items).toHaveLength(0);
    expect(
      json<{ items: Item[] }>(await audit(`?since=${past}&until=${future}&entityType=category`)).items,
    ).toHaveLength(5);
  });

  it('pages with a cursor, and refuses a bad one or a bad filter', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await audit(`?entityType=category&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = json<{ items: Item[]; nextCursor: string | null }>(res);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((i) => i.entityId));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...categoryIds].reverse());

    for (const query of [
      '?cursor=not-a-cursor',
      '?limit=0',
      '?limit=201',
      '?actorId=nope',
      '?since=yesterday',
      '?x=1',
    ]) {
      const res = await audit(query);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('shows the seal once the sealer has run', async () => {
    await sealAudit(t.db);
    const items = json<{ items: Item[] }>(await audit('?entityType=category')).items;
    expect(items.every((i) => i.sealed && typeof i.seq === 'number')).toBe(true);
  });
});
