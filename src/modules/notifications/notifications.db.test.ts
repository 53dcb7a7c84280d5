import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, randomUUID, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, json, useTestApp } from '../../../test/helpers/app.js';
import { recordingDatabase } from '../../../test/helpers/database.js';
import { startSmtpServer, type TestSmtp } from '../../../test/helpers/smtp.js';
import { TestSocket } from '../../../test/helpers/ws.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { smtpChannel } from './notifications.email.js';
import { fanOut, flushDigests, registerNotificationJobs, type NotifierDeps } from './notifications.jobs.js';
import * as repo from './notifications.repository.js';
import { deriveUnsubscribeKey } from './notifications.unsubscribe.js';
import { loadVapidKeys } from './notifications.webpush.js';

/**
 * Notifications end to end: the app writes, the realtime sequencer numbers the events, the
 * notifier fans them out (called directly: it is periodic work), and the send jobs deliver to a
 * real SMTP server and a Web Push receiver on loopback.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let smtp: TestSmtp;
let deps: NotifierDeps;
let runner: JobRunner;
let clock: Date | null = null;
const COMMUNITY = randomUUID();
const MODERATOR = randomUUID();
const RESPONDER = randomUUID();

beforeAll(async () => {
  smtp = await startSmtpServer();
  const secret = loadJwtSecret(h.current.config);
  deps = {
    db: h.current.t.db,
    mail: smtpChannel(smtp.url, 'Buurtwag <no-reply@buurtwag.test>', { maxConnections: 2 }),
    push: { keys: loadVapidKeys(h.current.config), policy: {}, timeoutMs: 2_000 },
    publicUrl: 'https://buurtwag.test',
    unsubscribeKey: deriveUnsubscribeKey(secret),
    bus: h.current.bus,
    log: silent,
    digest: { threshold: 5, windowSeconds: 900 },
    now: () => clock ?? new Date(),
  };
  runner = newRunner();
  await as(MODERATOR, `moderator:${COMMUNITY}`);
  await as(RESPONDER, `responder:${COMMUNITY}`);
});
afterAll(async () => {
  deps.mail.close();
  await smtp.close();
});

function newRunner(options: { lockSeconds?: number } = {}): JobRunner {
  const r = new JobRunner(h.current.t.db, silent, { batchSize: 50, ...options });
  registerNotificationJobs(r, deps);
  return r;
}

/** A person with an address and a language; signed in through the app. */
async function person(
  locale: 'en' | 'af' = 'en',
): Promise<{ id: string; email: string; headers: Record<string, string> }> {
  const id = randomUUID();
  const headers = await as(id);
  await h.current.t.db.query({ text: 'UPDATE users SET locale = $2 WHERE id = $1', values: [id, locale] });
  return { id, email: `${id}@test.invalid`, headers };
}

async function report(reporter: Record<string, string>, title = 'Street lamp out on Kerkstraat') {
  const categoryId = json(await inject({ url: '/api/v1/categories' })).items[0].id;
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: reporter,
    // inside the test community that as() made for the staff
    payload: {
      title,
      description: 'Dark all week',
      categoryId,
      location: { type: 'Point', coordinates: [170.0005, 80.0005] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; reference: string; communityId: string };
}

async function follow(incidentId: string, headers: Record<string, string>) {
  const res = await inject({ method: 'PUT', url: `/api/v1/incidents/${incidentId}/follow`, headers });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

async function patch(incidentId: string, payload: object) {
  const res = await inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${incidentId}`,
    headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
    payload,
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function comment(incidentId: string, headers: Record<string, string>, body: string, internal = false) {
  const res = await inject({
    method: 'POST',
    url: `/api/v1/incidents/${incidentId}/comments`,
    headers,
    payload: { body, ...(internal ? { internal } : {}) },
  });
  expect(res.statusCode, res.body).toBe(201);
}

/** Until the realtime sequencer has numbered every committed event (it runs after commit). */
async function sequenced(): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await h.current.t.db.query<{ n: number }>({
      text: 'SELECT count(*)::int AS n FROM incident_events WHERE seq IS NULL',
    });
    if (rows[0]!.n === 0) return;
    if (i > 100) throw new Error('events were not sequenced');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fan out what happened, then run the send jobs until none is due. */
async function deliver(): Promise<void> {
  await sequenced();
  await fanOut(deps);
  while ((await runner.runDue()) > 0) {
    /* until no job is due */
  }
}

/** A header as it was sent (mailparser turns List-* headers into objects). */
function header(mail: { headerLines: ReadonlyArray<{ key: string; line: string }> }, name: string): string | undefined {
  const line = mail.headerLines.find((l) => l.key === name)?.line;
  return line
    ?.slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

const retryNow = () =>
  h.current.t.db.query({ text: "UPDATE jobs SET run_at = now() WHERE name LIKE 'notifications.%'" });

describe('email', () => {
  it('tells followers of a status change in their language, with user text escaped', async () => {
    const reporter = await person('en');
    const english = await person('en');
    const afrikaans = await person('af');
    const incident = await report(reporter.headers, 'Broken <script>alert(1)</script> & "lamp"');
    await follow(incident.id, english.headers);
    await follow(incident.id, afrikaans.headers);
    await deliver();
    const before = smtp.mails.length;

    await patch(incident.id, { status: 'acknowledged' });
    await deliver();

    const [en] = smtp.to(english.email);
    expect(smtp.to(english.email)).toHaveLength(1);
    expect(en!.subject).toBe(`[${incident.reference}] Acknowledged: Broken <script>alert(1)</script> & "lamp"`);
    expect(en!.text).toContain('Hello Test user');
    expect(en!.text).toContain('changed from Reported to Acknowledged');
    expect(en!.text).toContain(`https://buurtwag.test/incidents/${incident.id}`);
    expect(en!.html).toContain('Broken &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;lamp&#34;');
    expect(en!.html).not.toContain('<script>');
    expect(header(en!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(String(header(en!, 'list-unsubscribe'))).toMatch(
      /^<https:\/\/buurtwag\.test\/api\/v1\/unsubscribe\/[A-Za-z0-9_-]{44}>$/,
    );

    const [af] = smtp.to(afrikaans.email);
    expect(smtp.to(afrikaans.email)).toHaveLength(1);
    expect(af!.subject).toBe(`[${incident.reference}] Erken: Broken <script>alert(1)</script> & "lamp"`);
    expect(af!.text).toContain('Hallo Test user');
    expect(af!.text).toContain('het verander van Aangemeld na Erken');
    expect(af!.html).toContain('Bekyk die voorval');
    expect(af!.html).not.toContain('<script>');

    // the reporter follows their report; the moderator who made the change is not told
    expect(smtp.to(reporter.email)).toHaveLength(1);
    expect(smtp.to(`${MODERATOR}@test.invalid`).filter((m) => m.subject?.includes('Acknowledged'))).toHaveLength(0);
    expect(smtp.mails.length - before).toBe(3);
  });

  it('tells followers of public comments, never of internal notes, and escapes the comment', async () => {
    const reporter = await person();
    const follower = await person('af');
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await deliver();
    await comment(incident.id, reporter.headers, 'It is <b>still</b> dark & cold');
    await comment(incident.id, await as(MODERATOR, `moderator:${COMMUNITY}`), 'internal: crew booked', true);
    await deliver();
    const mails = smtp.to(follower.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe(`[${incident.reference}] Nuwe kommentaar: Street lamp out on Kerkstraat`);
    expect(mails[0]!.text).toContain('> It is <b>still</b> dark & cold');
    expect(mails[0]!.html).toContain('It is &#60;b&#62;still&#60;/b&#62; dark &#38; cold');
    expect(smtp.mails.some((m) => m.text?.includes('crew booked'))).toBe(false);
    // the commenter hears nothing of their own comment
    expect(smtp.to(reporter.email)).toHaveLength(0);
  });

  it('tells staff of new reports in their community and an assignee of the assignment', async () => {
    const reporter = await person();
    const incident = await report(reporter.headers, 'Burst pipe at the school');
    await deliver();
    const toModerator = smtp.to(`${MODERATOR}@test.invalid`).filter((m) => m.subject?.includes('Burst pipe'));
    expect(toModerator.map((m) => m.subject)).toEqual([
      `[${incident.reference}] New report in your community: Burst pipe at the school`,
    ]);
    expect(smtp.to(`${RESPONDER}@test.invalid`).filter((m) => m.subject?.includes('Burst pipe'))).toHaveLength(1);

    await patch(incident.id, { assigneeId: RESPONDER });
    await deliver();
    expect(
      smtp
        .to(`${RESPONDER}@test.invalid`)
        .filter((m) => m.subject === `[${incident.reference}] Assigned to you: Burst pipe at the school`),
    ).toHaveLength(1);
  });

  it('the reporter hears of their report without following it, until they opt out', async () => {
    const reporter = await person();
    const incident = await report(reporter.headers);
    await inject({ method: 'DELETE', url: `/api/v1/incidents/${incident.id}/follow`, headers: reporter.headers });
    await patch(incident.id, { status: 'acknowledged' });
    await deliver();
    expect(smtp.to(reporter.email)).toHaveLength(1);

    const put = await inject({
      method: 'PUT',
      url: '/api/v1/me/notification-preferences',
      headers: reporter.headers,
      payload: { reporterUpdates: false },
    });
    expect(json(put).reporterUpdates).toBe(false);
    await patch(incident.id, { status: 'in_progress' });
    await deliver();
    expect(smtp.to(reporter.email)).toHaveLength(1);
  });
});

describe('unsubscribe', () => {
  it('one click (RFC 8058) without signing in stops that kind of mail; a tampered token is a 400', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await patch(incident.id, { status: 'acknowledged' });
    await deliver();
    const [mail] = smtp.to(follower.email);
    const link = String(header(mail!, 'list-unsubscribe')).slice(1, -1);
    const path = link.replace('https://buurtwag.test', '');

    // a GET (a link scanner) changes nothing: it shows a button
    const page = await inject({ url: path });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const tampered = path.replace(
      /unsubscribe\/([A-Za-z0-9_-])/,
      (_m, c: string) => `unsubscribe/${c === 'A' ? 'B' : 'A'}`,
    );
    expect(tampered).not.toBe(path);
    const bad = await inject({
      method: 'POST',
      url: tampered,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);

    const res = await inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ unsubscribed: true, channel: 'email', kind: 'status_changed' });
    const prefs = json(await inject({ url: '/api/v1/me/notification-preferences', headers: follower.headers }));
    expect(prefs.kinds.status_changed).toEqual({ email: false, push: true, inApp: true });

    await patch(incident.id, { status: 'in_progress' });
    await deliver();
    expect(smtp.to(follower.email)).toHaveLength(1);
    // still in the app
    const list = json(await inject({ url: '/api/v1/me/notifications', headers: follower.headers }));
    expect(list.items.map((n: { status: { to: string } }) => n.status?.to)).toEqual(['in_progress', 'acknowledged']);
  });
});

describe('digest', () => {
  it('a flood of events to one person becomes a few mails and one digest', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await deliver();
    for (let i = 1; i <= 9; i++) await comment(incident.id, reporter.headers, `Update number ${i}`);
    await deliver();
    expect(smtp.to(follower.email)).toHaveLength(5);

    // nothing before the window closes; then one mail with the other four
    expect(await flushDigests(deps)).toBe(0);
    clock = new Date(Date.now() + 16 * 60 * 1000);
    try {
      // (staff of the test community get a digest of new reports too)
      expect(await flushDigests(deps)).toBeGreaterThanOrEqual(1);
    } finally {
      clock = null;
    }
    const mails = smtp.to(follower.email);
    expect(mails).toHaveLength(6);
    const digest = mails[5]!;
    expect(digest.subject).toBe('4 updates on incidents you follow');
    expect(digest.text?.match(/New comment: Street lamp/g)).toHaveLength(4);
    expect(header(digest, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const { rows } = await h.current.t.db.query<{ state: string; n: number }>({
      text: `SELECT state, count(*)::int AS n FROM notification_deliveries WHERE user_id = $1 AND channel = 'email' GROUP BY state`,
      values: [follower.id],
    });
    expect(rows).toEqual([{ state: 'sent', n: 9 }]);
  });
});

describe('the fan-out', () => {
  it('takes a batch of events in one statement, each with its own message, in order', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers, 'Leaking hydrant on Voortrekker Road');
    await follow(incident.id, follower.headers);
    await deliver();
    for (const body of ['First <update>', 'Second update', 'Third update']) {
      await comment(incident.id, reporter.headers, body);
    }
    await patch(incident.id, { status: 'acknowledged' });
    await comment(incident.id, reporter.headers, 'Fourth update');
    await sequenced();

    const recorded = recordingDatabase(h.current.t.db);
    expect((await fanOut({ ...deps, db: recorded.db })).events).toBe(5);
    // one statement for the five events, whatever their kinds
    const statements = recorded.statements.filter((s) => s.text.includes('INSERT INTO notifications'));
    expect(statements.map((s) => (s.values![0] as number[]).length)).toEqual([5]);

    const { items } = json(await inject({ url: '/api/v1/me/notifications?limit=20', headers: follower.headers }));
    const mine = items.filter((n: { incident: { id: string } }) => n.incident.id === incident.id).reverse();
    expect(
      mine.map((n: { kind: string; excerpt?: string; status?: { to: string } }) => n.excerpt ?? n.status?.to),
    ).toEqual(['First <update>', 'Second update', 'Third update', 'acknowledged', 'Fourth update']);
  });

  it('tells a person the rules name twice for one event once, as the event’s own kind', async () => {
    // the moderator of the test community also asked for alerts there
    const alert = await inject({
      method: 'POST',
      url: '/api/v1/me/area-alerts',
      headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
      payload: { center: { type: 'Point', coordinates: [170.0005, 80.0005] }, radius: 1000 },
    });
    expect(alert.statusCode, alert.body).toBe(201);
    try {
      const reporter = await person();
      const first = await report(reporter.headers, 'Pothole by the clinic');
      const second = await report(reporter.headers, 'Pothole by the library');
      await deliver();
      const { items } = json(
        await inject({
          url: '/api/v1/me/notifications?limit=50',
          headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
        }),
      );
      for (const incident of [first, second]) {
        const kinds = items
          .filter((n: { incident: { id: string } }) => n.incident.id === incident.id)
          .map((n: { kind: string }) => n.kind);
        expect(kinds).toEqual(['new_report']);
      }
    } finally {
      await inject({
        method: 'DELETE',
        url: `/api/v1/me/area-alerts/${json(alert).id}`,
        headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
      });
    }
  });
});

describe('exactly one mail per event and person', () => {
  it('across retries after the SMTP server refused the first attempt', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await deliver();
    const reporterBefore = smtp.to(reporter.email).length;
    smtp.failNext(1);
    await patch(incident.id, { status: 'acknowledged' });
    await deliver();
    const { rows: waiting } = await h.current.t.db.query<{ last_error: string }>({
      text: `SELECT last_error FROM jobs WHERE name = 'notifications.send.v1' AND last_error IS NOT NULL`,
    });
    expect(waiting.map((j) => j.last_error)).toEqual([expect.stringContaining('not accepted')]); // waits for its retry
    await retryNow();
    await deliver();
    await retryNow();
    await deliver();
    expect(smtp.to(follower.email)).toHaveLength(1);
    expect(smtp.to(reporter.email).length - reporterBefore).toBe(1);
  });

  it('when a worker’s lease runs out mid-send and another takes the job over', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    // only the follower gets mail here: the reporter switches email off
    await inject({
      method: 'PUT',
      url: '/api/v1/me/notification-preferences',
      headers: reporter.headers,
      payload: { channels: { email: false } },
    });
    await follow(incident.id, follower.headers);
    await deliver();
    await patch(incident.id, { status: 'acknowledged' });
    await sequenced();
    await fanOut(deps);

    const held = smtp.holdNext();
    const first = newRunner();
    const firstRun = first.runDue();
    await held.arrived; // the mail is on the wire, unanswered
    // the lease runs out: another worker may claim the job now
    await h.current.t.db.query({
      text: "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE name = 'notifications.send.v1'",
    });
    const second = newRunner();
    expect(await second.runDue()).toBeGreaterThan(0);
    held.release();
    await firstRun;
    expect(smtp.to(follower.email)).toHaveLength(1);
    const { rows } = await h.current.t.db.query<{ state: string }>({
      text: `SELECT d.state FROM notification_deliveries d JOIN incident_events e ON e.id = d.event_id
             WHERE d.user_id = $1 AND e.type = 'status_changed'`,
      values: [follower.id],
    });
    expect(rows).toEqual([{ state: 'sent' }]);
  });

  it('a send left behind by a dead worker is never sent again', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await deliver();
    await patch(incident.id, { status: 'acknowledged' });
    await sequenced();
    await fanOut(deps);
    // a worker took the follower's delivery and died before the mail left
    const { rows: mine } = await h.current.t.db.query<{ id: string }>({
      text: "SELECT id FROM notification_deliveries WHERE user_id = $1 AND channel = 'email' AND state = 'pending'",
      values: [follower.id],
    });
    expect(mine).toHaveLength(1);
    await repo.claimDeliveries(h.current.t.db, [Number(mine[0]!.id)], new Date());
    await deliver();
    expect(smtp.to(follower.email)).toHaveLength(0);
    clock = new Date(Date.now() + 20 * 60 * 1000);
    try {
      await flushDigests(deps);
    } finally {
      clock = null;
    }
    const { rows } = await h.current.t.db.query<{ state: string }>({
      text: 'SELECT state FROM notification_deliveries WHERE id = $1',
      values: [mine[0]!.id],
    });
    expect(rows[0]!.state).toBe('unknown');
    await retryNow();
    await deliver();
    expect(smtp.to(follower.email)).toHaveLength(0);
  });
});

describe('in-app', () => {
  it('lists with a cursor and unread count, marks read, and pushes new ones live on `me`', async () => {
    await h.current.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.current.app.server.address() as AddressInfo;
    const reporter = await person();
    const follower = await person('af');
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    await deliver();

    const socket = await TestSocket.open(`ws://127.0.0.1:${address.port}/api/v1/ws?lang=af`);
    try {
      await socket.request(
        { type: 'auth', token: follower.headers.authorization!.slice(7) },
        (m) => m.type === 'auth.ok',
      );
      await socket.request({ type: 'subscribe', channel: 'me' }, (m) => m.type === 'subscribed');
      await patch(incident.id, { status: 'acknowledged' });
      await comment(incident.id, reporter.headers, 'Thanks <all>');
      await deliver();
      const live = await socket.next((m) => m.type === 'notification');
      expect(live.notification).toMatchObject({
        kind: 'status_changed',
        text: `[${incident.reference}] Erken: Street lamp out on Kerkstraat`,
        incident: { id: incident.id, reference: incident.reference },
        status: { from: 'reported', to: 'acknowledged' },
        readAt: null,
      });
    } finally {
      socket.close();
    }

    const first = json(await inject({ url: '/api/v1/me/notifications?limit=1', headers: follower.headers }));
    expect(first.unreadCount).toBe(2);
    expect(first.items).toHaveLength(1);
    expect(first.items[0]).toMatchObject({ kind: 'commented', excerpt: 'Thanks <all>' });
    expect(first.nextCursor).not.toBeNull();
    const second = json(
      await inject({ url: `/api/v1/me/notifications?limit=1&cursor=${first.nextCursor}`, headers: follower.headers }),
    );
    expect(second.items[0].kind).toBe('status_changed');
    expect(second.nextCursor).toBeNull();

    const read = await inject({
      method: 'POST',
      url: '/api/v1/me/notifications/read',
      headers: follower.headers,
      payload: { ids: [first.items[0].id] },
    });
    expect(json(read)).toEqual({ updated: 1, unreadCount: 1 });
    // someone else's notification cannot be marked
    const other = await inject({
      method: 'POST',
      url: '/api/v1/me/notifications/read',
      headers: reporter.headers,
      payload: { ids: [second.items[0].id] },
    });
    expect(json(other).updated).toBe(0);
    const all = await inject({
      method: 'POST',
      url: '/api/v1/me/notifications/read',
      headers: follower.headers,
      payload: { all: true },
    });
    expect(json(all)).toEqual({ updated: 1, unreadCount: 0 });
    expect((await inject({ url: '/api/v1/me/notifications' })).statusCode).toBe(401);
  });

  it('switching in-app off for a kind stops those notifications', async () => {
    const reporter = await person();
    const follower = await person();
    const incident = await report(reporter.headers);
    await follow(incident.id, follower.headers);
    const put = await inject({
      method: 'PUT',
      url: '/api/v1/me/notification-preferences',
      headers: follower.headers,
      payload: { kinds: { commented: { inApp: false } } },
    });
    expect(json(put).kinds.commented).toEqual({ email: true, push: true, inApp: false });
    await comment(incident.id, reporter.headers, 'hello');
    await patch(incident.id, { status: 'acknowledged' });
    await deliver();
    const list = json(await inject({ url: '/api/v1/me/notifications', headers: follower.headers }));
    expect(list.items.map((n: { kind: string }) => n.kind)).toEqual(['status_changed']);
  });
});

describe('web push', () => {
  it('encrypts for the browser (RFC 8291), signs with VAPID (RFC 8292), through the outbound guard', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer; path: string }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks), path: req.url ?? '' });
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const browser = createECDH('prime256v1');
      browser.generateKeys();
      const auth = randomBytes(16);
      const reporter = await person();
      const follower = await person();
      const endpoint = `http://127.0.0.1:${port}/push/${randomUUID()}`;
      const sub = await inject({
        method: 'POST',
        url: '/api/v1/me/push-subscriptions',
        headers: follower.headers,
        payload: {
          endpoint,
          keys: { p256dh: browser.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
        },
      });
      expect(sub.statusCode, sub.body).toBe(201);
      const incident = await report(reporter.headers);
      await follow(incident.id, follower.headers);
      await deliver();

      // loopback is refused unless allow-listed: the subscription is dropped, nothing is sent
      await patch(incident.id, { status: 'acknowledged' });
      await deliver();
      expect(received).toHaveLength(0);
      const { rows: gone } = await h.current.t.db.query({
        text: 'SELECT 1 FROM push_subscriptions WHERE endpoint = $1',
        values: [endpoint],
      });
      expect(gone).toHaveLength(0);

      await inject({
        method: 'POST',
        url: '/api/v1/me/push-subscriptions',
        headers: follower.headers,
        payload: {
          endpoint,
          keys: { p256dh: browser.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
        },
      });
      deps.push.policy = { allowAddresses: ['127.0.0.1'], allowedPorts: [port] };
      try {
        await patch(incident.id, { status: 'in_progress' });
        await deliver();
      } finally {
        deps.push.policy = {};
      }
      expect(received).toHaveLength(1);
      const push = received[0]!;
      expect(push.headers['content-encoding']).toBe('aes128gcm');
      expect(push.headers.ttl).toBe('86400');

      // the receiver's side of RFC 8291
      const body = push.body;
      const salt = body.subarray(0, 16);
      const idlen = body.readUInt8(20);
      const senderPublic = body.subarray(21, 21 + idlen);
      const sealed = body.subarray(21 + idlen);
      const shared = browser.computeSecret(senderPublic);
      const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.getPublicKey(), senderPublic]);
      const ikm = Buffer.from(hkdfSync('sha256', shared, auth, keyInfo, 32));
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
      expect(plain[plain.length - 1]).toBe(2);
      const message = JSON.parse(plain.subarray(0, -1).toString('utf8'));
      expect(message).toMatchObject({
        title: `[${incident.reference}] In progress: Street lamp out on Kerkstraat`,
        url: `https://buurtwag.test/incidents/${incident.id}`,
      });

      // VAPID: a JWT for the endpoint's origin, signed by the key the server publishes
      const publicKey = json(await inject({ url: '/api/v1/push/vapid-public-key' })).publicKey as string;
      const match = /^vapid t=([^,]+), k=(.+)$/.exec(String(push.headers.authorization));
      expect(match?.[2]).toBe(publicKey);
      const [header, claims, signature] = match![1]!.split('.');
      const point = Buffer.from(publicKey, 'base64url');
      const key = createPublicKey({
        format: 'jwk',
        key: {
          kty: 'EC',
          crv: 'P-256',
          x: point.subarray(1, 33).toString('base64url'),
          y: point.subarray(33).toString('base64url'),
        },
      });
      expect(
        verify(
          'sha256',
          Buffer.from(`${header}.${claims}`),
          { key, dsaEncoding: 'ieee-p1363' },
          Buffer.from(signature!, 'base64url'),
        ),
      ).toBe(true);
      expect(JSON.parse(Buffer.from(claims!, 'base64url').toString()).aud).toBe(`http://127.0.0.1:${port}`);

      const del = await inject({
        method: 'DELETE',
        url: '/api/v1/me/push-subscriptions',
        headers: follower.headers,
        payload: { endpoint },
      });
      expect(del.statusCode).toBe(204);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
