import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { escalateOverdue } from './sla.service.js';

/**
 * SLA targets per category: who sets and reads them, due dates stored on incidents (at insert,
 * on a category change, on a target change), the `overdue` list filter, the `sla` object staff
 * see, and escalation once per incident and kind on a faked clock.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const WATER = 'ffa6c8d8-de96-46b5-8eba-9c1cb21bc738';
const NOISE = '9b99db65-3d15-459a-b2f1-b5dfea93a6c8';

const MODERATOR = '00000000-0000-4000-8000-00000000e001';
const OTHER_MODERATOR = '00000000-0000-4000-8000-00000000e002';
const COMMUNITY = '00000000-0000-4000-8000-00000000ee01';
const OTHER_COMMUNITY = '00000000-0000-4000-8000-00000000ee02';
const HERE: [number, number] = [18.4, -33.9];
const THERE: [number, number] = [19.4, -33.9];

const MINUTE = 60_000;
const moderator = () => as(MODERATOR, `moderator:${COMMUNITY}`);

beforeAll(async () => {
  for (const [id, lon] of [
    [COMMUNITY, 18],
    [OTHER_COMMUNITY, 19],
  ] as const) {
    await query(
      `INSERT INTO communities (id, slug, name, boundary, area_m2)
       VALUES ($1::uuid, 'sla-' || $1::text, 'SLA test', ST_Multi(ST_MakeEnvelope($2::float8, -34.5, $2::float8 + 0.9, -33.5, 4326)), 1)`,
      [id, lon],
    );
  }
  await as(RESIDENT);
});

async function report(categoryId: string, at: [number, number] = HERE): Promise<{ id: string; createdAt: string }> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: { title: 'SLA test report', description: '', categoryId, location: { type: 'Point', coordinates: at } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function setTargets(categoryId: string, body: Record<string, unknown>) {
  const res = await inject({
    method: 'PATCH',
    url: `/api/v1/admin/sla/${categoryId}`,
    headers: await as(ADMIN, 'admin'),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(200);
  return json(res);
}

async function move(id: string, status: string, headers?: Record<string, string>) {
  const res = await inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${id}`,
    headers: headers ?? (await as(ADMIN, 'admin')),
    payload: { status },
  });
  expect(res.statusCode, res.body).toBe(200);
  return json(res);
}

/** Moves the creation time back; the due dates follow it (the database derives them). */
const backdate = (id: string, minutes: number) =>
  query(`UPDATE incidents SET created_at = now() - make_interval(mins => $2::int) WHERE id = $1`, [id, minutes]);

const dueDates = async (id: string) =>
  (
    await query<{ ack: Date | null; res: Date | null; created: Date }>(
      'SELECT ack_due_at AS ack, resolve_due_at AS res, created_at AS created FROM incidents WHERE id = $1',
      [id],
    )
  ).rows[0]!;

describe('targets: /admin/sla', () => {
  it('admins set them; staff read them; others may not', async () => {
    expect((await inject({ url: '/api/v1/admin/sla' })).statusCode).toBe(401);
    expect((await inject({ url: '/api/v1/admin/sla', headers: await as(RESIDENT) })).statusCode).toBe(403);

    const patch = (headers: Record<string, string>) =>
      inject({ method: 'PATCH', url: `/api/v1/admin/sla/${NOISE}`, headers, payload: { acknowledgeMinutes: 30 } });
    expect((await patch(await moderator())).statusCode).toBe(403);
    expect((await patch(await as(RESIDENT))).statusCode).toBe(403);
    expect((await patch({})).statusCode).toBe(401);

    const set = await setTargets('noise', { acknowledgeMinutes: 30, resolveMinutes: 600 });
    expect(set).toMatchObject({
      categoryId: NOISE,
      categorySlug: 'noise',
      acknowledgeMinutes: 30,
      resolveMinutes: 600,
    });

    const list = await inject({ url: '/api/v1/admin/sla', headers: await moderator() });
    expect(list.statusCode).toBe(200);
    const noise = json(list).items.find((t: { categoryId: string }) => t.categoryId === NOISE);
    expect(noise).toMatchObject({ acknowledgeMinutes: 30, resolveMinutes: 600 });
    // categories without targets are listed with nulls
    expect(json(list).items.find((t: { categoryId: string }) => t.categoryId === WATER)).toMatchObject({
      acknowledgeMinutes: null,
      resolveMinutes: null,
    });

    // on the category, for staff only
    const category = async (headers: Record<string, string>) =>
      json(await inject({ url: '/api/v1/categories/noise', headers }));
    expect((await category(await moderator())).sla).toEqual({ acknowledgeMinutes: 30, resolveMinutes: 600 });
    expect(await category({})).not.toHaveProperty('sla');
    expect(await category(await as(RESIDENT))).not.toHaveProperty('sla');

    // an omitted field stays, null removes
    expect(await setTargets(NOISE, { resolveMinutes: null })).toMatchObject({
      acknowledgeMinutes: 30,
      resolveMinutes: null,
    });

    const { rows } = await query<{ before: unknown; after: unknown; actor_id: string }>(
      `SELECT before, after, actor_id FROM audit_log WHERE action = 'sla.update' AND entity_id = $1 ORDER BY id`,
      [NOISE],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      actor_id: ADMIN,
      before: { acknowledgeMinutes: null, resolveMinutes: null },
      after: { acknowledgeMinutes: 30, resolveMinutes: 600 },
    });
  });

  it('refuses bad targets and unknown categories', async () => {
    const headers = await as(ADMIN, 'admin');
    for (const payload of [
      { acknowledgeMinutes: 0 },
      { resolveMinutes: 525_601 },
      { acknowledgeMinutes: 1.5 },
      {},
      { hours: 2 },
    ]) {
      const res = await inject({ method: 'PATCH', url: `/api/v1/admin/sla/${NOISE}`, headers, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const missing = await inject({
      method: 'PATCH',
      url: '/api/v1/admin/sla/no-such-category?lang=af',
      headers,
      payload: { acknowledgeMinutes: 5 },
    });
    expect(missing.statusCode).toBe(404);
    expect(json(missing).detail).toBe('Geen kategorie no-such-category nie.');
  });
});

describe('due dates', () => {
  it('are set at insert from the category, follow a category change, and show to staff only', async () => {
    await setTargets(POTHOLE, { acknowledgeMinutes: 60, resolveMinutes: 24 * 60 });
    const incident = await report(POTHOLE);
    const created = Date.parse(incident.createdAt);

    const asStaff = json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await moderator() }));
    expect(Date.parse(asStaff.sla.acknowledgeDueAt)).toBe(created + 60 * MINUTE);
    expect(Date.parse(asStaff.sla.resolveDueAt)).toBe(created + 24 * 60 * MINUTE);
    expect(asStaff.sla.overdue).toEqual({ acknowledge: false, resolve: false });

    // the public and the reporter are not shown targets
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` }))).not.toHaveProperty('sla');
    expect(
      json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT) })),
    ).not.toHaveProperty('sla');
    // nor staff of another community
    expect(
      json(
        await inject({
          url: `/api/v1/incidents/${incident.id}`,
          headers: await as(OTHER_MODERATOR, `moderator:${OTHER_COMMUNITY}`),
        }),
      ),
    ).not.toHaveProperty('sla');

    // to a category without targets: no due dates; and back
    const moved = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await moderator(),
      payload: { categoryId: WATER },
    });
    expect(json(moved).sla).toMatchObject({ acknowledgeDueAt: null, resolveDueAt: null });
    const back = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await moderator(),
      payload: { categoryId: POTHOLE },
    });
    expect(Date.parse(json(back).sla.acknowledgeDueAt)).toBe(created + 60 * MINUTE);
  });

  it('a target change recomputes the open incidents of the category, not the finished ones', async () => {
    await setTargets(WATER, { acknowledgeMinutes: 120, resolveMinutes: 600 });
    const open = await report(WATER);
    const acknowledged = await report(WATER);
    await move(acknowledged.id, 'acknowledged');
    const rejected = await report(WATER);
    await move(rejected.id, 'rejected');
    const elsewhere = await report(POTHOLE);
    const rejectedBefore = await dueDates(rejected.id);
    const elsewhereBefore = await dueDates(elsewhere.id);

    const changed = await setTargets(WATER, { acknowledgeMinutes: 15, resolveMinutes: 90 });
    expect(changed.recomputed).toBe(2);

    for (const id of [open.id, acknowledged.id]) {
      const due = await dueDates(id);
      expect(due.ack!.getTime() - due.created.getTime()).toBe(15 * MINUTE);
      expect(due.res!.getTime() - due.created.getTime()).toBe(90 * MINUTE);
    }
    expect(await dueDates(rejected.id)).toEqual(rejectedBefore);
    expect(await dueDates(elsewhere.id)).toEqual(elsewhereBefore);

    // removing the targets clears the open incidents' due dates
    await setTargets(WATER, { acknowledgeMinutes: null, resolveMinutes: null });
    expect(await dueDates(open.id)).toMatchObject({ ack: null, res: null });
    // and a staff change of the incident is not bumped by any of this: no 412 for someone editing
    const version = json(await inject({ url: `/api/v1/incidents/${open.id}`, headers: await moderator() })).version;
    expect(version).toBe(1);
  });
});

describe('GET /incidents?overdue=', () => {
  // pothole: acknowledge within 60 minutes, resolve within a day (set above; set again here)
  const made: Record<string, string> = {};
  beforeAll(async () => {
    await setTargets(POTHOLE, { acknowledgeMinutes: 60, resolveMinutes: 24 * 60 });
    const make = async (name: string, ageMinutes: number, status: string[] = [], at = HERE) => {
      const incident = await report(POTHOLE, at);
      for (const s of status) await move(incident.id, s);
      await backdate(incident.id, ageMinutes);
      made[name] = incident.id;
    };
    await make('ackLate', 120); // reported 2 h ago
    await make('acknowledged', 120, ['acknowledged']); // acknowledged in time, a day to go
    await make('resolveLate', 2 * 24 * 60, ['acknowledged', 'in_progress']);
    await make('bothLate', 2 * 24 * 60); // still reported after 2 days
    await make('fresh', 5);
    await make('rejected', 2 * 24 * 60, ['rejected']);
    await make('resolved', 2 * 24 * 60, ['acknowledged', 'in_progress', 'resolved']);
    await make('otherCommunity', 120, [], THERE);
  });

  const listed = async (overdue: string, headers: Record<string, string>) => {
    const res = await inject({ url: `/api/v1/incidents?overdue=${overdue}&category=pothole&limit=200`, headers });
    expect(res.statusCode, res.body).toBe(200);
    const ids = new Set((json(res).items as Array<{ id: string }>).map((i) => i.id));
    return Object.keys(made)
      .filter((name) => ids.has(made[name]!))
      .sort();
  };

  it('finds exactly the late ones, by kind, within the caller’s communities', async () => {
    const mod = await moderator();
    expect(await listed('acknowledge', mod)).toEqual(['ackLate', 'bothLate']);
    expect(await listed('resolve', mod)).toEqual(['bothLate', 'resolveLate']);
    expect(await listed('true', mod)).toEqual(['ackLate', 'bothLate', 'resolveLate']);
    expect(await listed('false', mod)).toEqual(['acknowledged', 'fresh', 'rejected', 'resolved']);
    // an admin looks everywhere
    const admin = await as(ADMIN, 'admin');
    expect(await listed('acknowledge', admin)).toEqual(['ackLate', 'bothLate', 'otherCommunity']);
  });

  it('the incident says the same to staff', async () => {
    const res = await inject({ url: `/api/v1/incidents?overdue=true&category=pothole`, headers: await moderator() });
    const byId = new Map((json(res).items as Array<{ id: string; sla: unknown }>).map((i) => [i.id, i.sla]));
    expect(byId.get(made.ackLate!)).toMatchObject({ overdue: { acknowledge: true, resolve: false } });
    expect(byId.get(made.bothLate!)).toMatchObject({ overdue: { acknowledge: true, resolve: true } });
    expect(byId.get(made.resolveLate!)).toMatchObject({ overdue: { acknowledge: false, resolve: true } });
  });

  it('is for staff only', async () => {
    expect((await inject({ url: '/api/v1/incidents?overdue=true' })).statusCode).toBe(401);
    expect((await inject({ url: '/api/v1/incidents?overdue=true', headers: await as(RESIDENT) })).statusCode).toBe(403);
    expect((await inject({ url: '/api/v1/incidents?overdue=soon', headers: await moderator() })).statusCode).toBe(400);
  });

  it('is served by the partial indexes on postgres', async () => {
    if (h.current.t.config.db.kind !== 'postgres') return;
    // a plan, not a timing: with sequential scans off, the late terms must still be index scans
    const plan = await h.current.t.db.transaction(async (tx) => {
      await tx.query({ text: 'ANALYZE incidents' });
      await tx.query({ text: 'SET LOCAL enable_seqscan = off' });
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>({
        text: `EXPLAIN SELECT id FROM incidents i
               WHERE (i.status = 'reported' AND i.ack_due_at < now())
                  OR (i.status IN ('reported', 'acknowledged', 'in_progress') AND i.resolve_due_at < now())`,
      });
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('incidents_ack_due_idx');
    expect(plan).toContain('incidents_resolve_due_idx');
  });
});

describe('escalation', () => {
  it('escalates each late incident once per kind, on a faked clock, with timeline, audit and hook', async () => {
    await setTargets(NOISE, { acknowledgeMinutes: 30, resolveMinutes: 600 });
    const incident = await report(NOISE);
    const created = Date.parse(incident.createdAt);
    const mine = (r: { escalated: Array<{ incidentId: string; kind: string; dueAt: string }> }) =>
      r.escalated.filter((e) => e.incidentId === incident.id);

    // everything already late from the other tests goes first, so the runs below see only news
    await escalateOverdue(h.current.t.db, { now: new Date(created - MINUTE) });

    expect(mine(await escalateOverdue(h.current.t.db, { now: new Date(created + 29 * MINUTE) }))).toEqual([]);

    const first = await escalateOverdue(h.current.t.db, { now: new Date(created + 31 * MINUTE) });
    expect(mine(first)).toEqual([
      { incidentId: incident.id, kind: 'acknowledge', dueAt: new Date(created + 30 * MINUTE).toISOString() },
    ]);
    // the same clock again: nothing new anywhere
    expect((await escalateOverdue(h.current.t.db, { now: new Date(created + 31 * MINUTE) })).escalated).toEqual([]);

    // later still: the resolve target passes too, the acknowledge one is not repeated
    const later = await escalateOverdue(h.current.t.db, { now: new Date(created + 601 * MINUTE) });
    expect(mine(later).map((e) => e.kind)).toEqual(['resolve']);
    const muchLater = new Date(created + 10_000 * MINUTE);
    expect(mine(await escalateOverdue(h.current.t.db, { now: muchLater }))).toEqual([]);
    expect((await escalateOverdue(h.current.t.db, { now: muchLater })).escalated).toEqual([]);

    // timeline: internal events, for staff
    const staffTimeline = json(
      await inject({ url: `/api/v1/incidents/${incident.id}/timeline`, headers: await moderator() }),
    ).items.filter((e: { type: string }) => e.type === 'sla.escalated');
    expect(
      staffTimeline.map((e: { data: unknown; internal: boolean; actor: unknown }) => [e.data, e.internal, e.actor]),
    ).toEqual([
      [{ kind: 'acknowledge', dueAt: new Date(created + 30 * MINUTE).toISOString() }, true, null],
      [{ kind: 'resolve', dueAt: new Date(created + 600 * MINUTE).toISOString() }, true, null],
    ]);
    const publicTimeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` })).items;
    expect(publicTimeline.some((e: { type: string }) => e.type === 'sla.escalated')).toBe(false);

    // audit, by the system
    const audit = await query<{ actor_id: string | null; data: { kind: string } }>(
      `SELECT actor_id, data FROM audit_log WHERE action = 'incident.sla_escalate' AND entity_id = $1 ORDER BY id`,
      [incident.id],
    );
    expect(audit.rows.map((r) => [r.actor_id, r.data.kind])).toEqual([
      [null, 'acknowledge'],
      [null, 'resolve'],
    ]);

    // the notification hook: one incident.escalated.v1 job per escalation
    const jobs = await query<{ payload: { kind: string } }>(
      `SELECT payload FROM jobs WHERE name = 'incident.escalated.v1' AND payload->>'incidentId' = $1 ORDER BY id`,
      [incident.id],
    );
    expect(jobs.rows.map((r) => r.payload.kind)).toEqual(['acknowledge', 'resolve']);
  });

  it('an acknowledged incident is not late to acknowledge', async () => {
    await setTargets(NOISE, { acknowledgeMinutes: 30, resolveMinutes: 600 });
    const incident = await report(NOISE);
    await move(incident.id, 'acknowledged');
    const created = Date.parse(incident.createdAt);
    const result = await escalateOverdue(h.current.t.db, { now: new Date(created + 60 * MINUTE) });
    expect(result.escalated.filter((e) => e.incidentId === incident.id)).toEqual([]);
  });

  it('two nodes at once escalate each incident once', async () => {
    await setTargets(NOISE, { acknowledgeMinutes: 30, resolveMinutes: null });
    const incidents = [];
    for (let i = 0; i < 6; i++) incidents.push(await report(NOISE));
    const ids = incidents.map((i) => i.id);
    const now = new Date(Math.max(...incidents.map((i) => Date.parse(i.createdAt))) + 31 * MINUTE);
    const second = await h.current.t.connect();
    try {
      const [a, b] = await Promise.all([
        escalateOverdue(h.current.t.db, { now, batchSize: 2 }),
        escalateOverdue(second, { now, batchSize: 2 }),
      ]);
      const escalated = [...a.escalated, ...b.escalated].filter((e) => ids.includes(e.incidentId));
      expect(escalated.map((e) => e.incidentId).sort()).toEqual([...ids].sort());
    } finally {
      await second.close();
    }
    const { rows } = await query<{ n: string }>(
      `SELECT count(*) AS n FROM incident_events WHERE type = 'sla.escalated' AND incident_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(Number(rows[0]!.n)).toBe(6);
  });
});
