import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT } from '../../../test/helpers/app.js';
import { useAuthorityTestApp } from '../../../test/helpers/authorities.js';
import type { Database } from '../../platform/db/database.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { ANONYMOUS } from '../identity/actor.js';
import { createIncident } from '../incidents/incidents.service.js';
import {
  FORWARD_JOB,
  FORWARD_MAX_ATTEMPTS,
  FORWARD_MAX_DELAY_SECONDS,
  forwardBackoff,
  registerAuthorityJobs,
  type ForwardDelivery,
} from './authorities.jobs.js';

const h = useAuthorityTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const admin = () => as(ADMIN, 'admin');
const db = (): Database => h.current.t.db;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const SECRET = 'their-open311-key-s3cr3t';

/** A square of `half` degrees around (lon, lat), as a GeoJSON Polygon. */
function square(lon: number, lat: number, half: number) {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
      ],
    ],
  };
}

const category: Record<string, string> = {};
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  for (const c of json(res).items as Array<{ slug: string; id: string }>) category[c.slug] = c.id;
});

async function createAuthority(payload: Record<string, unknown>) {
  const res = await inject({ method: 'POST', url: '/api/v1/authorities', headers: await admin(), payload });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function report(lon: number, lat: number, slug = 'pothole') {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Broken thing',
      description: '',
      categoryId: category[slug],
      location: { type: 'Point', coordinates: [lon, lat] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function forwardJobs(incidentId: string) {
  const { rows } = await db().query<{ id: string; payload: { incidentId: string; authorityId: string } }>({
    text: `SELECT id::text, payload FROM jobs WHERE name = $1 AND payload->>'incidentId' = $2`,
    values: [FORWARD_JOB, incidentId],
  });
  return rows;
}

async function timelineTypes(incidentId: string): Promise<string[]> {
  const { rows } = await db().query<{ type: string }>({
    text: 'SELECT type FROM incident_events WHERE incident_id = $1 ORDER BY id',
    values: [incidentId],
  });
  return rows.map((r) => r.type);
}

describe('authorities: admin CRUD', () => {
  it('creates, lists, fetches, changes and deletes, never returning their api key', async () => {
    const created = await createAuthority({
      slug: 'tshwane',
      name: 'City of Tshwane',
      jurisdiction: square(28.2, -25.75, 0.3),
      categoryIds: [category.pothole],
      delivery: { kind: 'open311', endpoint: 'https://311.tshwane.example/v2', apiKey: SECRET, jurisdictionId: 'tsh' },
    });
    expect(created).toMatchObject({
      slug: 'tshwane',
      name: 'City of Tshwane',
      categoryIds: [category.pothole],
      delivery: { kind: 'open311', endpoint: 'https://311.tshwane.example/v2', jurisdictionId: 'tsh', apiKeySet: true },
      enabled: true,
      disabledReason: null,
    });
    expect(created.jurisdiction.type).toBe('MultiPolygon');
    expect(created.areaM2).toBeGreaterThan(1e9);

    const headers = await admin();
    const list = await inject({ url: '/api/v1/authorities', headers });
    const one = await inject({ url: `/api/v1/authorities/tshwane`, headers });
    expect(json(one)).toEqual(created);
    expect(json(list).items.map((a: { id: string }) => a.id)).toContain(created.id);

    // a delivery change without apiKey keeps the stored key
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/authorities/${created.id}`,
      headers,
      payload: { name: 'Tshwane Metro', delivery: { kind: 'open311', endpoint: 'https://new.example/v2' } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(json(patched).delivery).toEqual({
      kind: 'open311',
      endpoint: 'https://new.example/v2',
      jurisdictionId: null,
      apiKeySet: true,
    });
    const stored = await db().query<{ key: string }>({
      text: `SELECT delivery->>'apiKey' AS key FROM authorities WHERE id = $1`,
      values: [created.id],
    });
    expect(stored.rows[0]!.key).toBe(SECRET);

    for (const res of [
      await inject({
        method: 'POST',
        url: '/api/v1/authorities',
        headers,
        payload: {
          slug: 'x',
          name: 'x',
          jurisdiction: square(1, 1, 1),
          delivery: { kind: 'open311', endpoint: 'https://a.example', apiKey: SECRET },
        },
      }),
      list,
      one,
      patched,
      await inject({ url: '/api/v1/authorities', headers }),
    ]) {
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toContain('"apiKey"');
    }
    // nor does the audit trail
    const audit = await db().query<{ action: string; data: unknown }>({
      text: `SELECT action, data FROM audit_log WHERE entity_type = 'authority' AND entity_id = $1 ORDER BY id`,
      values: [created.id],
    });
    expect(audit.rows.map((r) => r.action)).toEqual(['authority.create', 'authority.update']);
    expect(JSON.stringify(audit.rows)).not.toContain(SECRET);

    expect((await inject({ method: 'DELETE', url: `/api/v1/authorities/${created.id}`, headers })).statusCode).toBe(
      204,
    );
    expect((await inject({ url: `/api/v1/authorities/${created.id}`, headers })).statusCode).toBe(404);
    expect((await inject({ method: 'DELETE', url: `/api/v1/authorities/${created.id}`, headers })).statusCode).toBe(
      404,
    );
  });

  it('refuses invalid jurisdictions, unknown categories, an Open311 delivery without a key and taken slugs', async () => {
    const headers = await admin();
    const post = (payload: Record<string, unknown>) =>
      inject({ method: 'POST', url: '/api/v1/authorities', headers, payload });
    const bowtie = {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 1],
          [1, 0],
          [0, 1],
          [0, 0],
        ],
      ],
    };
    const bad = await post({ slug: 'bowtie', name: 'Bow tie', jurisdiction: bowtie });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).errors[0].path).toBe('/body/jurisdiction');
    expect(
      (await post({ slug: 'pt', name: 'Pt', jurisdiction: { type: 'Point', coordinates: [0, 0] } })).statusCode,
    ).toBe(400);
    const unknown = await post({
      slug: 'cats',
      name: 'Cats',
      jurisdiction: square(0, 0, 1),
      categoryIds: ['00000000-0000-4000-8000-00000000dead'],
    });
    expect(unknown.statusCode).toBe(400);
    expect(json(unknown).errors[0].path).toBe('/body/categoryIds');
    const keyless = await post({
      slug: 'keyless',
      name: 'Keyless',
      jurisdiction: square(0, 0, 1),
      delivery: { kind: 'open311', endpoint: 'https://a.example' },
    });
    expect(keyless.statusCode).toBe(400);
    expect(json(keyless).errors[0].path).toBe('/body/delivery/apiKey');
    await createAuthority({ slug: 'taken', name: 'Taken', jurisdiction: square(0, 0, 1) });
    expect((await post({ slug: 'taken', name: 'Again', jurisdiction: square(0, 0, 1) })).statusCode).toBe(409);
  });

  it('are for admins only: 401 signed out, 403 for residents and moderators', async () => {
    const payload = { slug: 'nope', name: 'Nope', jurisdiction: square(0, 0, 1) };
    const taken = json(await inject({ url: '/api/v1/authorities/taken', headers: await admin() }));
    for (const [headers, status] of [
      [{}, 401],
      [await as(RESIDENT), 403],
      [await as(RESIDENT, 'moderator:00000000-0000-4000-8000-00000000c0de'), 403],
    ] as const) {
      expect((await inject({ url: '/api/v1/authorities', headers })).statusCode).toBe(status);
      expect((await inject({ url: `/api/v1/authorities/${taken.id}`, headers })).statusCode).toBe(status);
      expect((await inject({ method: 'POST', url: '/api/v1/authorities', headers, payload })).statusCode).toBe(status);
      expect(
        (await inject({ method: 'PATCH', url: `/api/v1/authorities/${taken.id}`, headers, payload: { name: 'x' } }))
          .statusCode,
      ).toBe(status);
      expect((await inject({ method: 'DELETE', url: `/api/v1/authorities/${taken.id}`, headers })).statusCode).toBe(
        status,
      );
      expect((await inject({ url: '/api/v1/admin/forwarding/dead', headers })).statusCode).toBe(status);
      expect(
        (await inject({ method: 'POST', url: '/api/v1/admin/forwarding/dead/1/replay', headers })).statusCode,
      ).toBe(status);
    }
  });
});

describe('routing on create', () => {
  it('picks the most specific enabled authority that handles the category', async () => {
    // around Durban (31.0, -29.85): province ⊃ city ⊃ ward; the ward is disabled, a tiny water
    // board handles water leaks only
    const province = await createAuthority({
      slug: 'kzn',
      name: 'KwaZulu-Natal',
      jurisdiction: square(31.0, -29.85, 1),
      delivery: { kind: 'webhook', url: 'https://hooks.kzn.example/in' },
    });
    const city = await createAuthority({
      slug: 'ethekwini',
      name: 'eThekwini',
      jurisdiction: square(31.0, -29.85, 0.2),
      categoryIds: [category.pothole],
      delivery: { kind: 'open311', endpoint: 'https://311.durban.example/v2', apiKey: SECRET },
    });
    await createAuthority({
      slug: 'ward-33',
      name: 'Ward 33',
      jurisdiction: square(31.0, -29.85, 0.02),
      enabled: false,
      delivery: { kind: 'webhook', url: 'https://ward33.example' },
    });
    const water = await createAuthority({
      slug: 'umgeni-water',
      name: 'Umgeni Water',
      jurisdiction: square(31.0, -29.85, 0.01),
      categoryIds: [category['water-leak']],
      delivery: { kind: 'webhook', url: 'https://water.example' },
    });

    const pothole = await report(31.0, -29.85);
    expect(pothole.authority).toEqual({ id: city.id, name: 'eThekwini' });
    const leak = await report(31.0, -29.85, 'water-leak');
    expect(leak.authority).toEqual({ id: water.id, name: 'Umgeni Water' });
    const dumping = await report(31.0, -29.85, 'illegal-dumping');
    expect(dumping.authority).toEqual({ id: province.id, name: 'KwaZulu-Natal' });
    const outside = await report(18.42, -33.92);
    expect(outside.authority).toBeNull();

    // the timeline says so, in the same transaction; a job per forwarding authority
    expect(await timelineTypes(pothole.id)).toEqual(['created', 'routed']);
    const routed = await db().query<{ data: unknown }>({
      text: `SELECT data FROM incident_events WHERE incident_id = $1 AND type = 'routed'`,
      values: [pothole.id],
    });
    expect(routed.rows[0]!.data).toEqual({ authorityId: city.id, name: 'eThekwini' });
    expect((await forwardJobs(pothole.id)).map((j) => j.payload)).toEqual([
      { incidentId: pothole.id, authorityId: city.id },
    ]);
    expect(await forwardJobs(dumping.id)).toHaveLength(1);
    expect(await timelineTypes(outside.id)).toEqual(['created']);
    expect(await forwardJobs(outside.id)).toEqual([]);

    // fetched, listed and over Open311 alike
    expect(json(await inject({ url: `/api/v1/incidents/${pothole.id}` })).authority).toEqual({
      id: city.id,
      name: 'eThekwini',
    });
    const open311 = json(await inject({ url: `/open311/v2/requests/${pothole.reference}.json` }));
    expect(open311[0].agency_responsible).toBe('eThekwini');
    const open311Outside = json(await inject({ url: `/open311/v2/requests/${outside.reference}.json` }));
    expect(open311Outside[0].agency_responsible).toBeNull();
  });

  it('routes to an authority without delivery, but enqueues nothing for it', async () => {
    const quietBoard = await createAuthority({
      slug: 'no-delivery',
      name: 'Paper only',
      jurisdiction: square(25.6, -33.96, 0.1),
    });
    const incident = await report(25.6, -33.96);
    expect(incident.authority).toEqual({ id: quietBoard.id, name: 'Paper only' });
    expect(await timelineTypes(incident.id)).toEqual(['created', 'routed']);
    expect(await forwardJobs(incident.id)).toEqual([]);
  });

  it('enqueues the forwarding job in the create transaction: a create that rolls back leaves none', async () => {
    const real = db();
    // a database whose transactions fail at the end, after everything in them ran
    const failing: Database = {
      ...real,
      transaction: (fn) =>
        real.transaction(async (tx) => {
          await fn(tx);
          throw new Error('commit failed');
        }),
    } as Database;
    const ctx = {
      actor: { userId: RESIDENT, roles: [] },
      lang: 'en' as const,
      requestId: 'r1',
      clientAddress: '127.0.0.1',
    };
    const input = {
      title: 'Rolled back pothole',
      description: '',
      categoryId: category.pothole!,
      location: { type: 'Point' as const, coordinates: [31.0, -29.85] as [number, number] },
    };
    await expect(createIncident(failing, ctx, input, null)).rejects.toThrow('commit failed');
    const { rows } = await real.query<{ n: number }>({
      text: `SELECT (SELECT count(*) FROM incidents WHERE title = $1)::int
                  + (SELECT count(*) FROM jobs j WHERE j.name = $2
                       AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = (j.payload->>'incidentId')::uuid))::int AS n`,
      values: [input.title, FORWARD_JOB],
    });
    expect(rows[0]!.n).toBe(0);
    // and the same create committed has its job
    const ok = await createIncident(real, ctx, input, null);
    expect(await forwardJobs(ok.body.id)).toHaveLength(1);
    expect(ANONYMOUS.userId).toBeNull();
  });
});

describe('forwarding jobs', () => {
  /** what the fake authority answers, per call; calls are recorded */
  let answer: ForwardDelivery = async () => ({ kind: 'delivered' });
  const calls: string[] = [];
  const deliver: ForwardDelivery = async (a, i) => {
    calls.push(i.id);
    return answer(a, i);
  };
  const runner = (lockSeconds = 300, d: ForwardDelivery = deliver) => {
    const r = new JobRunner(db(), quiet, { lockSeconds });
    registerAuthorityJobs(r, db(), d, quiet);
    return r;
  };
  const makeDue = () =>
    db().query({
      text: `UPDATE jobs SET run_at = now() - interval '1 second' WHERE name = $1 AND dead_at IS NULL`,
      values: [FORWARD_JOB],
    });
  const job = async (incidentId: string) => {
    const { rows } = await db().query<{
      id: string;
      attempts: number;
      max_attempts: number;
      last_error: string | null;
      dead_at: Date | null;
      wait: number;
    }>({
      text: `SELECT id::text, attempts, max_attempts, last_error, dead_at,
                    extract(epoch FROM run_at - now())::float8 AS wait
             FROM jobs WHERE name = $1 AND payload->>'incidentId' = $2`,
      values: [FORWARD_JOB, incidentId],
    });
    return rows[0] ?? null;
  };
  const forwarded = async (incidentId: string) => {
    const { rows } = await db().query<{ data: Record<string, unknown>; external_id: string | null }>({
      text: `SELECT e.data, i.external_id FROM incident_events e JOIN incidents i ON i.id = e.incident_id
             WHERE e.incident_id = $1 AND e.type = 'forwarded'`,
      values: [incidentId],
    });
    return rows;
  };

  let authority: { id: string; name: string };
  const LON = 22.45;
  const LAT = -33.96;
  beforeAll(async () => {
    authority = await createAuthority({
      slug: 'george',
      name: 'George Municipality',
      jurisdiction: square(LON, LAT, 0.05),
      delivery: { kind: 'open311', endpoint: 'https://311.george.example/v2', apiKey: SECRET },
    });
  });
  /** a fresh incident routed to George, with no other forwarding job around */
  const freshIncident = async () => {
    await db().query({ text: 'DELETE FROM jobs WHERE name = $1', values: [FORWARD_JOB] });
    calls.length = 0;
    const incident = await report(LON, LAT);
    expect(incident.authority?.id).toBe(authority.id);
    return incident;
  };

  it('retry on the declared schedule (RetryAfter honoured and capped), then deliver exactly once', async () => {
    const incident = await freshIncident();
    const answers: Array<Awaited<ReturnType<ForwardDelivery>> | Error> = [
      { kind: 'retry', afterSeconds: 120, reason: 'busy, come back in 2 minutes' },
      { kind: 'retry', reason: '503 from them' },
      new Error('connection reset'),
      { kind: 'retry', afterSeconds: 10_000_000, reason: 'come back next year' },
      { kind: 'retry', afterSeconds: 5, reason: 'one more' },
      { kind: 'delivered', externalId: 'GEO-4711' },
    ];
    answer = async () => {
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      return next;
    };
    const r = runner();
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await r.runDue()).toBe(1);
      const j = await job(incident.id);
      expect(j).toMatchObject({ attempts: attempt, max_attempts: FORWARD_MAX_ATTEMPTS, dead_at: null });
      waits.push(j!.wait);
      expect(await r.runDue()).toBe(0); // not due yet
      await makeDue();
    }
    expect(waits[0]).toBeGreaterThan(118);
    expect(waits[0]).toBeLessThanOrEqual(120);
    // the backoff (60 s after attempt 2) with ±20 % jitter
    expect(waits[1]).toBeGreaterThan(forwardBackoff(2) * 0.8 - 2);
    expect(waits[1]).toBeLessThan(forwardBackoff(2) * 1.2);
    expect(waits[2]).toBeGreaterThan(forwardBackoff(3) * 0.8 - 2);
    expect(waits[2]).toBeLessThan(forwardBackoff(3) * 1.2);
    expect(waits[3]).toBeGreaterThan(FORWARD_MAX_DELAY_SECONDS - 2); // capped
    expect(waits[3]).toBeLessThanOrEqual(FORWARD_MAX_DELAY_SECONDS);
    expect(await r.runDue()).toBe(1);
    expect(await job(incident.id)).toBeNull(); // done: removed
    expect(calls).toHaveLength(6);

    // again and again: nothing more happens
    await makeDue();
    expect(await r.runDue()).toBe(0);
    const rows = await forwarded(incident.id);
    expect(rows).toEqual([
      {
        data: { authorityId: authority.id, name: 'George Municipality', externalId: 'GEO-4711' },
        external_id: 'GEO-4711',
      },
    ]);
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` })).items;
    expect(timeline.map((e: { type: string }) => e.type)).toEqual(['created', 'routed', 'forwarded']);
  });

  it('the schedule spans about three days', () => {
    let total = 0;
    for (let attempt = 1; attempt < FORWARD_MAX_ATTEMPTS; attempt++) total += forwardBackoff(attempt);
    expect(total).toBe(268_290);
    expect(total / 86_400).toBeGreaterThan(2.9);
    expect(total / 86_400).toBeLessThan(3.3);
  });

  it('a job whose attempts run out is dead, listed for admins, and replayable', async () => {
    const incident = await freshIncident();
    await db().query({ text: `UPDATE jobs SET max_attempts = 2 WHERE name = $1`, values: [FORWARD_JOB] });
    answer = async () => ({ kind: 'retry', reason: 'their server says 500' });
    const r = runner();
    expect(await r.runDue()).toBe(1);
    await makeDue();
    expect(await r.runDue()).toBe(1);
    const dead = await job(incident.id);
    expect(dead).toMatchObject({ attempts: 2, max_attempts: 2, last_error: 'their server says 500' });
    expect(dead!.dead_at).toBeInstanceOf(Date);
    await makeDue();
    expect(await r.runDue()).toBe(0);

    const headers = await admin();
    const list = await inject({ url: '/api/v1/admin/forwarding/dead', headers });
    expect(list.statusCode, list.body).toBe(200);
    const item = json(list).items.find((i: { jobId: string }) => i.jobId === dead!.id);
    expect(item).toMatchObject({
      incident: { id: incident.id, reference: incident.reference },
      authority: { id: authority.id, name: 'George Municipality' },
      attempts: 2,
      maxAttempts: 2,
      lastError: 'their server says 500',
    });
    expect(Date.parse(item.deadAt)).not.toBeNaN();

    const replay = await inject({ method: 'POST', url: `/api/v1/admin/forwarding/dead/${dead!.id}/replay`, headers });
    expect(replay.statusCode, replay.body).toBe(204);
    expect(await job(incident.id)).toMatchObject({ attempts: 0, max_attempts: FORWARD_MAX_ATTEMPTS, dead_at: null });
    const audit = await db().query({
      text: `SELECT actor_id FROM audit_log WHERE action = 'forwarding.replay' AND entity_id = $1`,
      values: [dead!.id],
    });
    expect(audit.rows).toEqual([{ actor_id: ADMIN }]);
    // not dead any more: no second replay, and it is off the list
    expect(
      (await inject({ method: 'POST', url: `/api/v1/admin/forwarding/dead/${dead!.id}/replay`, headers })).statusCode,
    ).toBe(404);
    const again = json(await inject({ url: '/api/v1/admin/forwarding/dead', headers })).items;
    expect(again.map((i: { jobId: string }) => i.jobId)).not.toContain(dead!.id);

    answer = async () => ({ kind: 'delivered', externalId: 'GEO-1' });
    expect(await r.runDue()).toBe(1);
    expect(await forwarded(incident.id)).toHaveLength(1);
    expect(await job(incident.id)).toBeNull();
  });

  it('gives up at once when the authority is disabled', async () => {
    const incident = await freshIncident();
    const headers = await admin();
    await inject({ method: 'PATCH', url: `/api/v1/authorities/${authority.id}`, headers, payload: { enabled: false } });
    const r = runner();
    expect(await r.runDue()).toBe(1);
    expect(calls).toEqual([]);
    const j = await job(incident.id);
    expect(j).toMatchObject({ attempts: 1, max_attempts: 1 });
    expect(j!.last_error).toContain('disabled');
    expect(j!.dead_at).toBeInstanceOf(Date);
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/authorities/${authority.id}`,
      headers,
      payload: { enabled: true },
    });
    expect(json(patched)).toMatchObject({ enabled: true, disabledReason: null });
  });

  it('an authority whose endpoint is gone (410) is disabled, and the job is dead', async () => {
    const incident = await freshIncident();
    answer = async () => ({ kind: 'gone', reason: 'HTTP 410 from https://311.george.example/v2' });
    expect(await runner().runDue()).toBe(1);
    const j = await job(incident.id);
    expect(j).toMatchObject({ attempts: 1, max_attempts: 1 });
    expect(j!.dead_at).toBeInstanceOf(Date);
    const a = json(await inject({ url: `/api/v1/authorities/${authority.id}`, headers: await admin() }));
    expect(a).toMatchObject({ enabled: false, disabledReason: 'HTTP 410 from https://311.george.example/v2' });
    // new reports there are not routed to it any more
    expect((await report(LON, LAT)).authority).toBeNull();
    const audit = await db().query({
      text: `SELECT actor_id FROM audit_log WHERE action = 'authority.disable' AND entity_id = $1`,
      values: [authority.id],
    });
    expect(audit.rows).toEqual([{ actor_id: null }]);
    await inject({
      method: 'PATCH',
      url: `/api/v1/authorities/${authority.id}`,
      headers: await admin(),
      payload: { enabled: true },
    });
  });

  it('a job claimed by a worker that died mid-delivery runs again after its lease, and is recorded once', async () => {
    const incident = await freshIncident();
    // worker A takes the job with a 1 s lease and hangs in the call to the authority
    let release!: (value: Awaited<ReturnType<ForwardDelivery>>) => void;
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const hanging: ForwardDelivery = () => {
      started();
      return new Promise((resolve) => (release = resolve));
    };
    const workerA = runner(1, hanging);
    const runA = workerA.runDue();
    await inFlight;
    const leased = await db().query<{ locked_until: Date | null; attempts: number }>({
      text: 'SELECT locked_until, attempts FROM jobs WHERE name = $1',
      values: [FORWARD_JOB],
    });
    expect(leased.rows[0]!.locked_until).toBeInstanceOf(Date);
    expect(leased.rows[0]!.attempts).toBe(1);

    answer = async () => ({ kind: 'delivered', externalId: 'GEO-B' });
    const workerB = runner(1);
    expect(await workerB.runDue()).toBe(0); // still leased to A
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await workerB.runDue()).toBe(1);
    expect(await job(incident.id)).toBeNull();
    expect(await forwarded(incident.id)).toHaveLength(1);

    // A comes back to life after all: its late answer records nothing more
    release({ kind: 'delivered', externalId: 'GEO-A' });
    expect(await runA).toBe(1);
    const rows = await forwarded(incident.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.external_id).toBe('GEO-B');
  });
});
