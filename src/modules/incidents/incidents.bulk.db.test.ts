import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
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
import { backend, createTestDatabase, dropTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { newReference } from './incidents.references.js';
import * as repo from './incidents.repository.js';

// the real app, on a database of this file's own
let app: FastifyInstance;
let t: TestDatabase;
let closeAll: () => Promise<void>;
beforeAll(async () => {
  t = await createTestDatabase();
  const config = testConfig();
  const storage = await testStorage(config);
  const bus = testBus(config);
  app = await buildApp({ config, db: t.db, storage, bus, realtimeOptions: FAST_REALTIME });
  await app.ready();
  bindTestApp({ app, t });
  closeAll = async () => {
    await app.close();
    await bus.close();
    storage.close();
    await dropTestDatabase(t);
  };
});
afterAll(async () => closeAll?.());

const inject = (options: InjectOptions) => app.inject(options);

// two communities of our own, far from the seed data
const COMMUNITY_A = randomUUID();
const COMMUNITY_B = randomUUID();
const MOD_A = '00000000-0000-4000-8000-0000000000a1';
const MOD_B = '00000000-0000-4000-8000-0000000000b1';
let categoryId: string;

beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categoryId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
  for (const [id, lon] of [
    [COMMUNITY_A, 10],
    [COMMUNITY_B, 11],
  ] as const) {
    await t.db.query({
      text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
             VALUES ($1::uuid, 'bulk-' || $1::text, 'Bulk test', ST_Multi(ST_MakeEnvelope($2::float8, 10, $2::float8 + 0.5, 10.5, 4326)), $3)`,
      values: [id, lon, 1000 + lon],
    });
  }
  await as(RESIDENT);
});

/** Incidents straight through the repository (500 POSTs would test the create path, not bulk). */
async function seed(count: number, community: 'A' | 'B' = 'A', isPublic = true): Promise<repo.IncidentRow[]> {
  const rows: repo.IncidentRow[] = [];
  for (let i = 0; i < count; i++) {
    const row = await repo.insertIncident(t.db, {
      reference: newReference(),
      title: `Bulk pothole ${i}`,
      description: 'for the bulk tests',
      lon: community === 'A' ? 10.1 : 11.1,
      lat: 10.1,
      address: null,
      reporterId: RESIDENT,
      anonymous: false,
      categoryId,
      priority: 'medium',
      metadata: {},
      isPublic,
      requiresAuthority: false,
    });
    if (!row) throw new Error('seed failed');
    rows.push(row);
  }
  return rows;
}

async function bulk(headers: Record<string, string>, payload: InjectOptions['payload']) {
  return inject({ method: 'POST', url: '/api/v1/incidents/bulk', headers, payload });
}

async function countWhere(sql: string, ids: string[]): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>({ text: sql, values: [ids] });
  return Number(rows[0]?.n ?? 0);
}

const timelineCount = (ids: string[], type: string) =>
  countWhere(`SELECT count(*) AS n FROM incident_events WHERE incident_id = ANY($1::uuid[]) AND type = '${type}'`, ids);
const auditCount = (ids: string[]) =>
  countWhere(
    `SELECT count(*) AS n FROM audit_log WHERE entity_id = ANY($1::text[]) AND action = 'incident.update'`,
    ids,
  );
const jobCount = (ids: string[]) =>
  countWhere(
    `SELECT count(*) AS n FROM jobs WHERE name = 'incident.updated.v1' AND payload->>'incidentId' = ANY($1::text[])`,
    ids,
  );

describe('POST /incidents/bulk', () => {
  it('applies one action to 500 incidents in one request, each with its timeline event, audit record and job', async () => {
    const rows = await seed(500);
    const ids = rows.map((r) => r.id);
    const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
    const started = performance.now();
    const res = await bulk(headers, { ids, action: { status: 'acknowledged', priority: 'high' } });
    const ms = performance.now() - started;
    console.log(`[${backend()}] bulk of 500 incidents: ${ms.toFixed(0)} ms`);
    expect(res.statusCode, res.body).toBe(200);
    const body = json(res);
    expect(body.applied).toBe(500);
    expect(body.results).toHaveLength(500);
    expect(body.results[0]).toMatchObject({
      id: ids[0],
      ok: true,
      incident: { status: 'acknowledged', priority: 'high' },
    });
    expect(await timelineCount(ids, 'status_changed')).toBe(500);
    expect(await timelineCount(ids, 'priority_changed')).toBe(500);
    expect(await auditCount(ids)).toBe(500);
    expect(await jobCount(ids)).toBe(500);
  }, 120_000);

  it('mixed results: forbidden, missing, bad transition and bad assignee fail alone, the others apply', async () => {
    const [a1, a2, closed, ownPrivate] = await seed(4);
    const [b1] = await seed(1, 'B');
    const [bPrivate] = await seed(1, 'B', false);
    await t.db.query({ text: `UPDATE incidents SET status = 'closed' WHERE id = $1`, values: [closed!.id] });
    const missing = randomUUID();
    const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
    const res = await bulk(
      { ...headers, 'accept-language': 'af' },
      {
        ids: [a1!.id, b1!.id, missing, closed!.id, bPrivate!.id, 'BW-00000000', a2!.reference, ownPrivate!.id],
        action: { status: 'acknowledged' },
      },
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = json(res);
    // a1 ok · b1 other community 403 · missing 404 · closed 409 · private of B unseen 404 ·
    // unknown reference 404 · a2 by reference ok · private of A ok (staff of A see it)
    expect(body.results.map((r: { ok: boolean; status?: number }) => (r.ok ? 200 : r.status))).toEqual([
      200, 403, 404, 409, 404, 404, 200, 200,
    ]);
    expect(body.applied).toBe(3);
    // messages in the language of the request
    expect(body.results[1].error).toBe('Jy mag dit nie doen nie.');
    expect(body.results[3].error).toContain('closed');
    expect(body.results[6]).toMatchObject({ id: a2!.reference, ok: true, incident: { id: a2!.id } });
    // nothing written for the failures
    expect(await timelineCount([b1!.id, closed!.id, bPrivate!.id], 'status_changed')).toBe(0);
    expect(await auditCount([b1!.id, closed!.id, bPrivate!.id])).toBe(0);
    expect(await timelineCount([a1!.id, a2!.id, ownPrivate!.id], 'status_changed')).toBe(3);
  });

  it('an item refused half-way leaves nothing behind (savepoints): its earlier writes roll back, the rest commit', async () => {
    const [a1, a2, a3] = await seed(3);
    // the database refuses a2's timeline insert, after its UPDATE of the incident has run
    await t.db.query({ text: 'CREATE TABLE bulk_test_refuse (incident_id uuid PRIMARY KEY)' });
    await t.db.query({
      text: `CREATE FUNCTION bulk_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$
             BEGIN
               IF EXISTS (SELECT 1 FROM bulk_test_refuse r WHERE r.incident_id = NEW.incident_id) THEN
                 RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation';
               END IF;
               RETURN NEW;
             END $fn$`,
    });
    await t.db.query({
      text: `CREATE TRIGGER bulk_test_refuse BEFORE INSERT ON incident_events
             FOR EACH ROW EXECUTE FUNCTION bulk_test_refuse()`,
    });
    try {
      await t.db.query({ text: 'INSERT INTO bulk_test_refuse VALUES ($1)', values: [a2!.id] });
      const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
      const res = await bulk(headers, {
        ids: [a1!.id, a2!.id, a3!.id],
        action: { priority: 'critical', hidden: true },
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res);
      expect(body.results.map((r: { ok: boolean; status?: number }) => (r.ok ? 200 : r.status))).toEqual([
        200, 409, 200,
      ]);
      expect(body.results[1].error).toMatch(/Nothing was changed/);
      expect(body.applied).toBe(2);
      const after = new Map((await repo.findIncidentsByIds(t.db, [a1!.id, a2!.id, a3!.id])).map((r) => [r.id, r]));
      expect(after.get(a2!.id)).toMatchObject({ priority: 'medium', hidden: false, version: a2!.version });
      expect(after.get(a1!.id)).toMatchObject({ priority: 'critical', hidden: true, version: a1!.version + 2 });
      expect(after.get(a3!.id)).toMatchObject({ priority: 'critical', hidden: true });
      expect(await auditCount([a2!.id])).toBe(0);
      expect(await jobCount([a2!.id])).toBe(0);
      expect(await auditCount([a1!.id, a3!.id])).toBe(2);
      expect(await timelineCount([a1!.id, a3!.id], 'hidden')).toBe(2);
    } finally {
      await t.db.query({ text: 'DROP TRIGGER bulk_test_refuse ON incident_events' });
      await t.db.query({ text: 'DROP FUNCTION bulk_test_refuse()' });
      await t.db.query({ text: 'DROP TABLE bulk_test_refuse' });
    }
  });

  it('an unknown assignee is a 400 for each item, and nothing is written', async () => {
    const [a1, a2] = await seed(2);
    const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
    const res = await bulk(headers, {
      ids: [a1!.id, a2!.id],
      action: { status: 'acknowledged', priority: 'critical', assigneeId: randomUUID() },
    });
    const body = json(res);
    expect(body.results.map((r: { status?: number }) => r.status)).toEqual([400, 400]);
    expect(body.results[0].error).toContain('assigneeId');
    expect(body.applied).toBe(0);
    const after = await repo.findIncidentsByIds(t.db, [a1!.id, a2!.id]);
    expect(after.map((r) => [r.status, r.priority])).toEqual([
      ['reported', 'medium'],
      ['reported', 'medium'],
    ]);
    expect(await auditCount([a1!.id, a2!.id])).toBe(0);
    expect(await jobCount([a1!.id, a2!.id])).toBe(0);
  });

  it('hides and unhides: internal timeline events for staff, audit, and the public no longer sees it', async () => {
    const [row] = await seed(1);
    const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
    const hidden = json(await bulk(headers, { ids: [row!.id], action: { hidden: true } }));
    expect(hidden.applied).toBe(1);
    expect((await inject({ url: `/api/v1/incidents/${row!.id}` })).statusCode).toBe(404);
    const staffTimeline = json(await inject({ url: `/api/v1/incidents/${row!.id}/timeline`, headers }));
    expect(staffTimeline.items.map((e: { type: string; internal: boolean }) => [e.type, e.internal])).toContainEqual([
      'hidden',
      true,
    ]);
    const reporterTimeline = json(
      await inject({ url: `/api/v1/incidents/${row!.id}/timeline`, headers: await as(RESIDENT) }),
    );
    expect(reporterTimeline.items.map((e: { type: string }) => e.type)).not.toContain('hidden');

    expect(json(await bulk(headers, { ids: [row!.id], action: { hidden: false } })).applied).toBe(1);
    expect((await inject({ url: `/api/v1/incidents/${row!.id}` })).statusCode).toBe(200);
    expect(await timelineCount([row!.id], 'unhidden')).toBe(1);
    expect(await auditCount([row!.id])).toBe(2);

    // staff of another community may not hide it
    const other = json(
      await bulk(await as(MOD_B, `moderator:${COMMUNITY_B}`), { ids: [row!.id], action: { hidden: true } }),
    );
    expect(other.results[0]).toMatchObject({ ok: false, status: 403 });
  });

  it('is for staff: signed out 401, signed in without any staff role 403 for the whole request; admins anywhere', async () => {
    const [row] = await seed(1);
    expect((await bulk({}, { ids: [row!.id], action: { priority: 'low' } })).statusCode).toBe(401);
    const resident = await bulk(await as(RESIDENT), { ids: [row!.id], action: { priority: 'low' } });
    expect(resident.statusCode).toBe(403);
    expect(resident.headers['content-type']).toMatch(/application\/problem\+json/);
    const admin = json(await bulk(await as(ADMIN, 'admin'), { ids: [row!.id], action: { priority: 'low' } }));
    expect(admin.applied).toBe(1);
  });

  it('validates the request: 1..500 unique ids and a non-empty action', async () => {
    const headers = await as(ADMIN, 'admin');
    const id = randomUUID();
    expect((await bulk(headers, { ids: [], action: { priority: 'low' } })).statusCode).toBe(400);
    expect((await bulk(headers, { ids: [id, id], action: { priority: 'low' } })).statusCode).toBe(400);
    const many = Array.from({ length: 501 }, () => randomUUID());
    expect((await bulk(headers, { ids: many, action: { priority: 'low' } })).statusCode).toBe(400);
    expect((await bulk(headers, { ids: [id], action: {} })).statusCode).toBe(400);
    expect((await bulk(headers, { ids: [id], action: { title: 'x' } })).statusCode).toBe(400);
  });

  it('two concurrent bulk requests over the same incidents in opposite orders do not deadlock', async () => {
    const rows = await seed(20);
    const ids = rows.map((r) => r.id);
    const headers = await as(MOD_A, `moderator:${COMMUNITY_A}`);
    const [x, y] = await Promise.all([
      bulk(headers, { ids, action: { priority: 'high' } }),
      bulk(headers, { ids: [...ids].reverse(), action: { priority: 'critical' } }),
    ]);
    expect([x.statusCode, y.statusCode]).toEqual([200, 200]);
    expect(json(x).applied + json(y).applied).toBe(40);
  });
});
