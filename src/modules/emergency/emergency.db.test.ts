import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { recordingDatabase } from '../../../test/helpers/database.js';
import { startSmtpServer, type TestSmtp } from '../../../test/helpers/smtp.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { verifyWebhook } from '../../platform/outbound/standard-webhooks.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { registerIncidentJobs } from '../incidents/incidents.jobs.js';
import { smtpChannel } from '../notifications/notifications.email.js';
import { fanOut, registerNotificationJobs, SEND_JOB, type NotifierDeps } from '../notifications/notifications.jobs.js';
import { addPushSubscription } from '../notifications/notifications.repository.js';
import { deriveUnsubscribeKey } from '../notifications/notifications.unsubscribe.js';
import { loadVapidKeys } from '../notifications/notifications.webpush.js';
import { escalateOverdue } from '../sla/sla.service.js';
import { emergencyTrigger, registerEmergencyJobs, sendWebhook, type EmergencyDeps } from './emergency.jobs.js';
import { escalate, ESCALATE_JOB } from './emergency.service.js';

/**
 * Emergency escalation end to end on a faked clock: the app writes, the incident job starts the
 * alert, the notifier tells people over a real SMTP server, a Web Push receiver and in-app, the
 * ladder climbs when nobody acknowledges, and the last level reaches a signed webhook receiver on
 * loopback. The jobs run in a runner of this file's own (the app runs none in tests).
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

const COMMUNITY = '00000000-0000-4000-8000-0000000ee001';
const OTHER_COMMUNITY = '00000000-0000-4000-8000-0000000ee002';
const HERE: [number, number] = [22.5, -30.5];
const ON_DUTY = '00000000-0000-4000-8000-0000000e0001';
const OFF_DUTY = '00000000-0000-4000-8000-0000000e0002';
const MODERATOR = '00000000-0000-4000-8000-0000000e0003';
const OTHER_MODERATOR = '00000000-0000-4000-8000-0000000e0004';
const ADMIN_USER = '00000000-0000-4000-8000-0000000e0005';
const MINUTE = 60_000;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const onDuty = () => as(ON_DUTY, `responder:${COMMUNITY}`);
const offDuty = () => as(OFF_DUTY, `responder:${COMMUNITY}`);
const moderator = () => as(MODERATOR, `moderator:${COMMUNITY}`);
const admin = () => as(ADMIN_USER, 'admin');
const mail = (id: string) => `${id}@test.invalid`;

let smtp: TestSmtp;
let notifier: NotifierDeps;
let emergency: EmergencyDeps;
let runner: JobRunner;
let clock = new Date();
let hookServer: http.Server;
let pushServer: http.Server;
const hooks: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
const pushes: Array<{ headers: http.IncomingHttpHeaders; path: string }> = [];

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  for (const [id, lon] of [
    [COMMUNITY, 22],
    [OTHER_COMMUNITY, 24],
  ] as const) {
    await query(
      `INSERT INTO communities (id, slug, name, boundary, area_m2)
       VALUES ($1::uuid, 'em-' || $1::text, 'Emergency test', ST_Multi(ST_MakeEnvelope($2::float8, -31, $2::float8 + 1, -30, 4326)), 1)`,
      [id, lon],
    );
  }
  smtp = await startSmtpServer();
  hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  pushServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pushes.push({ headers: req.headers, path: req.url ?? '' });
      res.writeHead(201).end();
    });
  });
  const hookPort = await listen(hookServer);
  const pushPort = await listen(pushServer);
  const policy = { allowAddresses: ['127.0.0.1'], allowedPorts: [hookPort, pushPort] };
  const secret = loadJwtSecret(h.current.config);
  notifier = {
    db: h.current.t.db,
    mail: smtpChannel(smtp.url, 'Buurtwag <no-reply@buurtwag.test>', { maxConnections: 2 }),
    push: { keys: loadVapidKeys(h.current.config), policy, timeoutMs: 2_000 },
    publicUrl: 'https://buurtwag.test',
    unsubscribeKey: deriveUnsubscribeKey(secret),
    bus: h.current.bus,
    log: silent,
    digest: { threshold: 100, windowSeconds: 900 },
    now: () => clock,
  };
  emergency = {
    db: h.current.t.db,
    escalationMinutes: 5,
    webhook: { url: `http://127.0.0.1:${hookPort}/ems`, secret: SECRET },
    policy,
    publicUrl: 'https://buurtwag.test',
    log: silent,
    timeoutMs: 2_000,
    now: () => clock,
  };
  runner = new JobRunner(h.current.t.db, silent, { batchSize: 50 });
  registerNotificationJobs(runner, notifier);
  registerEmergencyJobs(runner, emergency);
  registerIncidentJobs(runner, silent, [emergencyTrigger(emergency)]);

  await onDuty();
  await offDuty();
  await moderator();
  await as(OTHER_MODERATOR, `moderator:${OTHER_COMMUNITY}`);
  await admin();
  await as(RESIDENT);
  await query(`UPDATE users SET locale = 'af' WHERE id = $1`, [ON_DUTY]);
  // the on-duty responder's phone: a Web Push subscription on the loopback receiver
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  await addPushSubscription(h.current.t.db, ON_DUTY, {
    endpoint: `http://127.0.0.1:${pushPort}/push/${randomUUID()}`,
    p256dh: ecdh.getPublicKey().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  });
  const res = await inject({
    method: 'PUT',
    url: `/api/v1/me/on-duty?communityId=${COMMUNITY}`,
    headers: await onDuty(),
  });
  expect(res.statusCode, res.body).toBe(200);
});

afterAll(async () => {
  notifier.mail.close();
  await smtp.close();
  for (const server of [hookServer, pushServer]) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/** Until the realtime sequencer has numbered every committed event (it runs after commit). */
async function sequenced(): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await query<{ n: number }>('SELECT count(*)::int AS n FROM incident_events WHERE seq IS NULL');
    if (rows[0]!.n === 0) return;
    if (i > 100) throw new Error('events were not sequenced');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs every job that is due and what it leads to (alerts, fan-out, sending) until all is quiet. */
async function drain(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await sequenced();
    const { events } = await fanOut(notifier);
    const ran = await runner.runDue();
    if (ran === 0 && events === 0) return;
  }
  throw new Error('jobs kept coming');
}

/** Moves the faked clock on; the escalation jobs that are due by it become due in the database. */
async function advance(minutes: number): Promise<void> {
  clock = new Date(clock.getTime() + minutes * MINUTE);
  await query(`UPDATE jobs SET run_at = now() WHERE name = $1 AND run_at <= $2`, [ESCALATE_JOB, clock]);
  await drain();
}

let categoryId: string;
async function report(
  title: string,
  extra: { priority?: string; categoryId?: string } = {},
): Promise<{ id: string; reference: string; priority: string }> {
  categoryId ??= json(await inject({ url: '/api/v1/categories' })).items[0].id;
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: { title, description: 'Now', categoryId, location: { type: 'Point', coordinates: HERE }, ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

/** A new category that an admin then makes an emergency one (a category is made ordinary). */
async function emergencyCategory(slug: string, name: { en: string; af: string }): Promise<string> {
  const created = await inject({
    method: 'POST',
    url: '/api/v1/categories',
    headers: await admin(),
    payload: { slug, name },
  });
  expect(created.statusCode, created.body).toBe(201);
  expect(json(created).emergency).toBe(false);
  const patched = await inject({
    method: 'PATCH',
    url: `/api/v1/categories/${json(created).id}`,
    headers: await admin(),
    payload: { emergency: true },
  });
  expect(patched.statusCode, patched.body).toBe(200);
  expect(json(patched).emergency).toBe(true);
  return json(created).id;
}

async function makeCritical(id: string): Promise<void> {
  const res = await inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${id}`,
    headers: await moderator(),
    payload: { priority: 'critical' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

const emergencyMails = (userId: string, reference: string) =>
  smtp.to(mail(userId)).filter((m) => m.subject?.includes(reference) && /EMERGENCY|NOODGEVAL/.test(m.subject));

async function timeline(id: string, headers: Record<string, string>) {
  const res = await inject({ url: `/api/v1/incidents/${id}/timeline`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return json(res).items as Array<{ type: string; data: Record<string, unknown>; internal: boolean }>;
}

const audits = async (id: string, action: string) =>
  (
    await query<{ data: Record<string, unknown>; actor_id: string | null }>(
      'SELECT data, actor_id FROM audit_log WHERE entity_id = $1 AND action = $2 ORDER BY id',
      [id, action],
    )
  ).rows;

const acknowledge = (id: string, headers: Record<string, string>) =>
  inject({ method: 'POST', url: `/api/v1/incidents/${id}/acknowledge-alert`, headers });

describe('emergency alerts', () => {
  it('a PATCH to critical alerts the staff on duty at once, on every channel, in their language', async () => {
    // an emergency bypasses preferences and digests: this person switched mail off
    const put = await inject({
      method: 'PUT',
      url: '/api/v1/me/notification-preferences',
      headers: await onDuty(),
      payload: { channels: { email: false } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const incident = await report('Gas leak at the school');
    await drain();
    const pushesBefore = pushes.length;
    await makeCritical(incident.id);
    await drain();

    const [alert] = emergencyMails(ON_DUTY, incident.reference);
    expect(emergencyMails(ON_DUTY, incident.reference)).toHaveLength(1);
    expect(alert!.subject).toBe(`NOODGEVAL [${incident.reference}] Gas leak at the school`);
    expect(alert!.text).toContain("het nou 'n reageerder nodig");
    // someone is on duty, so the other responder and the moderators wait for their level
    expect(emergencyMails(OFF_DUTY, incident.reference)).toHaveLength(0);
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(0);

    expect(pushes.length - pushesBefore).toBe(1);
    expect(pushes.at(-1)!.headers.urgency).toBe('high');

    const inApp = json(
      await inject({ url: '/api/v1/me/notifications', headers: { ...(await onDuty()), 'accept-language': 'af' } }),
    );
    const item = inApp.items.find((n: { incident: { id: string } }) => n.incident.id === incident.id);
    expect(item).toMatchObject({ kind: 'emergency', text: `NOODGEVAL [${incident.reference}] Gas leak at the school` });

    const events = await timeline(incident.id, await moderator());
    const alerted = events.filter((e) => e.type === 'emergency.alerted');
    expect(alerted).toEqual([
      expect.objectContaining({
        internal: true,
        data: { level: 1, audience: 'on_duty', recipients: 1, reason: 'critical' },
      }),
    ]);
    // internal: the public timeline does not show it
    expect((await timeline(incident.id, await as(RESIDENT))).some((e) => e.type.startsWith('emergency'))).toBe(false);
    expect(await audits(incident.id, 'incident.emergency_alert')).toHaveLength(1);
    expect(await audits(incident.id, 'incident.emergency_start')).toHaveLength(1);

    await inject({
      method: 'PUT',
      url: '/api/v1/me/notification-preferences',
      headers: await onDuty(),
      payload: { channels: { email: true } },
    });
  });

  it('acknowledging stops the escalation; residents and other communities may not', async () => {
    const incident = await report('Fire in the veld');
    await makeCritical(incident.id);
    await drain();
    expect(emergencyMails(ON_DUTY, incident.reference)).toHaveLength(1);

    expect((await acknowledge(incident.id, await as(RESIDENT))).statusCode).toBe(403);
    expect((await acknowledge(incident.id, await as(OTHER_MODERATOR, `moderator:${OTHER_COMMUNITY}`))).statusCode).toBe(
      403,
    );
    expect((await acknowledge(randomUUID(), await onDuty())).statusCode).toBe(404);
    expect(
      (await inject({ method: 'POST', url: `/api/v1/incidents/${incident.id}/acknowledge-alert` })).statusCode,
    ).toBe(401);

    clock = new Date(clock.getTime() + 2 * MINUTE);
    const res = await acknowledge(incident.id, await offDuty());
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toMatchObject({
      state: 'acknowledged',
      level: 1,
      acknowledgedBy: { id: OFF_DUTY },
      escalatesAt: null,
    });
    // again: the first acknowledgement stands, nothing new is recorded
    const again = await acknowledge(incident.id, await moderator());
    expect(json(again).acknowledgedBy.id).toBe(OFF_DUTY);

    await advance(20);
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(0);
    expect(emergencyMails(ADMIN_USER, incident.reference)).toHaveLength(0);
    const { rows } = await query('SELECT level FROM emergency_alert_levels WHERE incident_id = $1', [incident.id]);
    expect(rows).toEqual([{ level: 1 }]);

    const events = await timeline(incident.id, await moderator());
    expect(events.filter((e) => e.type === 'emergency.acknowledged')).toEqual([
      expect.objectContaining({ internal: true, data: { level: 1, after: expect.any(Number) } }),
    ]);
    const acks = await audits(incident.id, 'incident.emergency_acknowledge');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.actor_id).toBe(OFF_DUTY);
  });

  it('unacknowledged it climbs: moderators, admins, then the signed webhook, each once', async () => {
    const incident = await report('Flooding on Main Road');
    await makeCritical(incident.id);
    await drain();
    expect(emergencyMails(ON_DUTY, incident.reference)).toHaveLength(1);

    // not yet due
    await advance(4);
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(0);

    await advance(1);
    const toModerator = emergencyMails(MODERATOR, incident.reference);
    expect(toModerator).toHaveLength(1);
    expect(toModerator[0]!.subject).toBe(`EMERGENCY [${incident.reference}] Flooding on Main Road`);
    expect(toModerator[0]!.text).toContain('Nobody has acknowledged it yet (alert level 2)');
    expect(emergencyMails(ADMIN_USER, incident.reference)).toHaveLength(0);
    expect(emergencyMails(OTHER_MODERATOR, incident.reference)).toHaveLength(0);

    // the same level's job once more (a retry, a second node): nobody is told twice
    const settings = { escalationMinutes: 5, webhook: true };
    expect(await escalate(h.current.t.db, settings, { incidentId: incident.id, level: 2 }, clock)).toEqual({
      kind: 'nothing',
    });
    await query(`INSERT INTO jobs (name, payload) VALUES ($1, $2)`, [
      ESCALATE_JOB,
      JSON.stringify({ incidentId: incident.id, level: 2 }),
    ]);
    await drain();
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(1);

    await advance(5);
    expect(emergencyMails(ADMIN_USER, incident.reference)).toHaveLength(1);
    expect(hooks.filter((hk) => hk.body.includes(incident.id))).toHaveLength(0);

    await advance(5);
    const received = hooks.filter((hk) => hk.body.includes(incident.id));
    expect(received).toHaveLength(1);
    const hook = received[0]!;
    expect(verifyWebhook(hook.headers, hook.body, [SECRET], { now: clock })).toBe(true);
    expect(
      verifyWebhook(hook.headers, hook.body, [`whsec_${randomBytes(32).toString('base64')}`], { now: clock }),
    ).toBe(false);
    expect(hook.headers['webhook-id']).toBe(`emergency_${incident.id}`);
    const body = JSON.parse(hook.body);
    expect(body).toMatchObject({
      type: 'incident.emergency_unacknowledged',
      incident: { id: incident.id, reference: incident.reference, priority: 'critical' },
      alert: { reason: 'critical' },
    });
    expect(body.alert.levels.map((l: { level: number }) => l.level)).toEqual([1, 2, 3, 4]);
    // the reporter is not named to the outside system
    expect(hook.body).not.toContain(RESIDENT);

    // the webhook job again, and the whole ladder's jobs again: nothing more goes out
    await sendWebhook(emergency, incident.id);
    for (const level of [2, 3, 4])
      await query(`INSERT INTO jobs (name, payload) VALUES ($1, $2)`, [
        ESCALATE_JOB,
        JSON.stringify({ incidentId: incident.id, level }),
      ]);
    await advance(30);
    expect(hooks.filter((hk) => hk.body.includes(incident.id))).toHaveLength(1);
    expect(emergencyMails(ON_DUTY, incident.reference)).toHaveLength(1);
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(1);
    expect(emergencyMails(ADMIN_USER, incident.reference)).toHaveLength(1);

    const events = await timeline(incident.id, await moderator());
    expect(events.filter((e) => e.type === 'emergency.alerted').map((e) => e.data.audience)).toEqual([
      'on_duty',
      'moderators',
      'admins',
      'webhook',
    ]);
    expect(events.filter((e) => e.type === 'emergency.webhook_delivered')).toHaveLength(1);
    expect((await audits(incident.id, 'incident.emergency_alert')).map((a) => a.data.level)).toEqual([1, 2, 3, 4]);
    expect(await audits(incident.id, 'incident.emergency_webhook')).toHaveLength(1);

    const view = await inject({ url: `/api/v1/incidents/${incident.id}/emergency-alert`, headers: await moderator() });
    expect(json(view)).toMatchObject({ state: 'exhausted', level: 4, acknowledgedAt: null });
    expect(
      (await inject({ url: `/api/v1/incidents/${incident.id}/emergency-alert`, headers: await as(RESIDENT) }))
        .statusCode,
    ).toBe(403);
  });

  it('a report in an emergency category alerts every responder when nobody is on duty', async () => {
    const medical = await emergencyCategory('medical-emergency', { en: 'Medical emergency', af: 'Mediese noodgeval' });

    const off = await inject({
      method: 'DELETE',
      url: `/api/v1/me/on-duty?communityId=${COMMUNITY}`,
      headers: await onDuty(),
    });
    expect(off.statusCode).toBe(204);
    expect(json(await inject({ url: '/api/v1/me/on-duty', headers: await onDuty() })).items).toEqual([]);
    // a resident cannot go on duty
    expect(
      (await inject({ method: 'PUT', url: `/api/v1/me/on-duty?communityId=${COMMUNITY}`, headers: await as(RESIDENT) }))
        .statusCode,
    ).toBe(403);

    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: {
        title: 'Man collapsed at the taxi rank',
        description: '',
        categoryId: medical,
        location: { type: 'Point', coordinates: HERE },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const incident = json(res);
    await drain();
    expect(emergencyMails(ON_DUTY, incident.reference)).toHaveLength(1);
    expect(emergencyMails(OFF_DUTY, incident.reference)).toHaveLength(1);
    expect(emergencyMails(MODERATOR, incident.reference)).toHaveLength(0);
    const events = await timeline(incident.id, await moderator());
    expect(events.find((e) => e.type === 'emergency.alerted')?.data).toEqual({
      level: 1,
      audience: 'responders',
      recipients: 2,
      reason: 'emergency_category',
    });
    await inject({ method: 'PUT', url: `/api/v1/me/on-duty?communityId=${COMMUNITY}`, headers: await onDuty() });
  });

  it('an ordinary incident raises no alert', async () => {
    const incident = await report('Pothole on Kerkstraat');
    await drain();
    const { rows } = await query('SELECT 1 FROM emergency_alerts WHERE incident_id = $1', [incident.id]);
    expect(rows).toHaveLength(0);
    expect((await acknowledge(incident.id, await moderator())).statusCode).toBe(409);

    // every create runs the trigger: for an ordinary incident it is one read, no transaction
    // (in embedded mode a transaction's BEGIN and COMMIT hold the session requests wait for)
    const recorded = recordingDatabase(h.current.t.db);
    await emergencyTrigger({ ...emergency, db: recorded.db })(incident.id);
    expect(recorded.transactions).toBe(0);
    expect(recorded.statements).toHaveLength(1);
  });
});

describe('job urgency', () => {
  const jobsOf = async (incidentId: string) =>
    (
      await query<{ name: string; urgent: boolean }>(
        `SELECT name, urgent FROM jobs WHERE payload->>'incidentId' = $1 ORDER BY id`,
        [incidentId],
      )
    ).rows;

  it('what may start or climb an alert is urgent (claimed before any backlog); the rest is not', async () => {
    const ordinary = await report('Streetlight out on Voortrekker Road');
    expect(await jobsOf(ordinary.id)).toEqual([{ name: 'incident.created.v1', urgent: false }]);
    await drain();

    // made critical: its job starts the alert, and the alert's next level is urgent too
    await makeCritical(ordinary.id);
    expect(await jobsOf(ordinary.id)).toEqual([{ name: 'incident.updated.v1', urgent: true }]);
    // the job starts the alert; the fan-out then queues the emergency's deliveries in urgent jobs
    // of their own
    await sequenced();
    await fanOut(notifier);
    await runner.runDue();
    await sequenced();
    await fanOut(notifier);
    const sends = await query<{ kind: string; urgent: boolean }>(
      `SELECT DISTINCT d.kind, j.urgent
       FROM jobs j CROSS JOIN LATERAL jsonb_array_elements_text(j.payload->'ids') AS x (id)
       JOIN notification_deliveries d ON d.id = x.id::bigint
       WHERE j.name = $1 AND d.event_id IN (SELECT id FROM incident_events WHERE incident_id = $2)`,
      [SEND_JOB, ordinary.id],
    );
    expect(sends.rows).toContainEqual({ kind: 'emergency', urgent: true });
    expect(sends.rows.filter((r) => r.kind !== 'emergency' && r.urgent)).toEqual([]);
    await drain();
    expect(await jobsOf(ordinary.id)).toEqual([{ name: ESCALATE_JOB, urgent: true }]);

    // other changes to it are not
    const assigned = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${ordinary.id}`,
      headers: await moderator(),
      payload: { status: 'acknowledged' },
    });
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect((await jobsOf(ordinary.id)).filter((j) => j.name === 'incident.updated.v1')).toEqual([
      { name: 'incident.updated.v1', urgent: false },
    ]);
    await drain();

    const critical = await report('Shack fire spreading', { priority: 'critical' });
    expect(await jobsOf(critical.id)).toEqual([{ name: 'incident.created.v1', urgent: true }]);
    await drain();

    // a report of medium priority in an emergency category
    const flood = await emergencyCategory('flash-flood', { en: 'Flash flood', af: 'Skielike vloed' });
    const flooded = await report('River over the low-water bridge', { categoryId: flood });
    expect(flooded.priority).toBe('medium');
    expect(await jobsOf(flooded.id)).toEqual([{ name: 'incident.created.v1', urgent: true }]);
    await drain();
  });
});

describe('SLA escalation notifications', () => {
  it('tell the assignee, or the moderators while nobody has it, in their language', async () => {
    const category = json(await inject({ url: '/api/v1/categories' })).items[1];
    const target = await inject({
      method: 'PATCH',
      url: `/api/v1/admin/sla/${category.id}`,
      headers: await admin(),
      payload: { acknowledgeMinutes: 30 },
    });
    expect(target.statusCode, target.body).toBe(200);
    const make = async (title: string) => {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: await as(RESIDENT),
        payload: { title, description: '', categoryId: category.id, location: { type: 'Point', coordinates: HERE } },
      });
      expect(res.statusCode, res.body).toBe(201);
      return json(res) as { id: string; reference: string };
    };
    const assigned = await make('Streetlight out at the clinic');
    const unassigned = await make('Blocked drain by the library');
    const patch = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${assigned.id}`,
      headers: await moderator(),
      payload: { assigneeId: ON_DUTY },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    await drain();

    await escalateOverdue(h.current.t.db, { now: new Date(Date.now() + 31 * MINUTE) });
    await drain();

    const overdue = (userId: string, reference: string) =>
      smtp
        .to(mail(userId))
        .filter((m) => m.subject?.startsWith(`[${reference}]`) && /Overdue|Agterstallig/.test(m.subject));
    expect(overdue(ON_DUTY, assigned.reference).map((m) => m.subject)).toEqual([
      `[${assigned.reference}] Agterstallig: Streetlight out at the clinic`,
    ]);
    expect(overdue(ON_DUTY, assigned.reference)[0]!.text).toContain('die teiken om dit te erken is verby');
    expect(overdue(MODERATOR, assigned.reference)).toHaveLength(0);
    expect(overdue(MODERATOR, unassigned.reference).map((m) => m.subject)).toEqual([
      `[${unassigned.reference}] Overdue: Blocked drain by the library`,
    ]);
    expect(overdue(OFF_DUTY, unassigned.reference)).toHaveLength(0);

    const inApp = json(
      await inject({ url: '/api/v1/me/notifications', headers: { ...(await onDuty()), 'accept-language': 'en' } }),
    );
    expect(
      inApp.items.find(
        (n: { kind: string; incident: { id: string } }) => n.kind === 'escalated' && n.incident.id === assigned.id,
      ),
    ).toMatchObject({ text: `[${assigned.reference}] Overdue: Streetlight out at the clinic` });
  });
});
