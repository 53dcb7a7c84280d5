import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, json, useTestApp } from '../../../test/helpers/app.js';
import { startSmtpServer, type TestSmtp } from '../../../test/helpers/smtp.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { smtpChannel } from '../notifications/notifications.email.js';
import { fanOut, registerNotificationJobs, type NotifierDeps } from '../notifications/notifications.jobs.js';
import { deriveUnsubscribeKey } from '../notifications/notifications.unsubscribe.js';
import { loadVapidKeys } from '../notifications/notifications.webpush.js';
import { previousDay, sendDailyDigests, type AlertDigestDeps } from './alerts.jobs.js';

/**
 * Area alerts end to end: people subscribe over HTTP, others report, the notifier fans out
 * (called directly: it is periodic work) and its send jobs deliver to a real SMTP server on
 * loopback; the daily digest runs on a faked clock.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let smtp: TestSmtp;
let deps: NotifierDeps;
let digestDeps: AlertDigestDeps;
let runner: JobRunner;
let clock: Date | null = null;

// far from every other test's data: a town of its own, and a pre-moderated one beside it
const TOWN = randomUUID();
const HELD = randomUUID();
const MODERATOR = randomUUID();
const HOME: [number, number] = [150.05, -39.95];
const HELD_POINT: [number, number] = [150.25, -39.95];
// well inside its ~250 m blur cell, so the blurred value shares none of its digits
const SECRET: [number, number] = [150.051234, -39.948766];
const categories: { plain: string; other: string; sensitive: string; plainSlug: string; otherSlug: string } = {
  plain: '',
  other: '',
  sensitive: '',
  plainSlug: '',
  otherSlug: '',
};

beforeAll(async () => {
  smtp = await startSmtpServer();
  const secret = loadJwtSecret(h.current.config);
  const mail = smtpChannel(smtp.url, 'Buurtwag <no-reply@buurtwag.test>', { maxConnections: 2 });
  deps = {
    db: h.current.t.db,
    mail,
    push: { keys: loadVapidKeys(h.current.config), policy: {}, timeoutMs: 2_000 },
    publicUrl: 'https://buurtwag.test',
    unsubscribeKey: deriveUnsubscribeKey(secret),
    bus: h.current.bus,
    log: silent,
    // no flood digests here: every alert is its own mail
    digest: { threshold: 1000, windowSeconds: 900 },
    now: () => clock ?? new Date(),
  };
  digestDeps = { ...deps, now: () => clock ?? new Date() };
  runner = new JobRunner(h.current.t.db, silent, { batchSize: 50 });
  registerNotificationJobs(runner, deps);
  for (const [id, box, premoderation] of [
    [TOWN, [150, -40, 150.1, -39.9], false],
    [HELD, [150.2, -40, 150.3, -39.9], true],
  ] as const) {
    await h.current.t.db.query({
      text: `INSERT INTO communities (id, slug, name, boundary, area_m2, premoderation)
             VALUES ($1::uuid, 'alerts-' || $1::text, $2, ST_Multi(ST_MakeEnvelope($3, $4, $5, $6, 4326)), 1, $7)`,
      values: [id, id === TOWN ? 'Alert Town' : 'Held Town', ...box, premoderation],
    });
  }
  await as(MODERATOR, `moderator:${HELD}`);
  const items = json(await inject({ url: '/api/v1/categories' })).items as Array<{
    id: string;
    slug: string;
    sensitive: boolean;
  }>;
  const plain = items.filter((c) => !c.sensitive);
  Object.assign(categories, {
    plain: plain[0]!.id,
    plainSlug: plain[0]!.slug,
    other: plain[1]!.id,
    otherSlug: plain[1]!.slug,
    sensitive: items.find((c) => c.sensitive)!.id,
  });
});
afterAll(async () => {
  deps.mail.close();
  await smtp.close();
});

async function person(locale: 'en' | 'af' = 'en') {
  const id = randomUUID();
  const headers = await as(id);
  await h.current.t.db.query({ text: 'UPDATE users SET locale = $2 WHERE id = $1', values: [id, locale] });
  return { id, email: `${id}@test.invalid`, headers };
}

async function subscribe(headers: Record<string, string>, payload: object) {
  const res = await inject({ method: 'POST', url: '/api/v1/me/area-alerts', headers, payload });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string };
}

async function report(
  headers: Record<string, string>,
  options: { at?: [number, number]; categoryId?: string; title?: string; isPublic?: boolean } = {},
) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers,
    payload: {
      title: options.title ?? `Burst pipe ${randomUUID().slice(0, 6)}`,
      description: 'Water everywhere',
      categoryId: options.categoryId ?? categories.plain,
      location: { type: 'Point', coordinates: options.at ?? HOME },
      address: '12 Secret Lane',
      ...(options.isPublic === false ? { isPublic: false } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; reference: string; title: string };
}

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

async function deliver(): Promise<void> {
  await sequenced();
  await fanOut(deps);
  while ((await runner.runDue()) > 0) {
    /* until no job is due */
  }
}

const alertMails = (email: string, reference: string) =>
  smtp.to(email).filter((m) => m.subject?.includes(reference) && m.subject.includes('alert'));

function header(mail: { headerLines: ReadonlyArray<{ key: string; line: string }> }, name: string): string {
  const line = mail.headerLines.find((l) => l.key === name)?.line ?? '';
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

describe('area alert subscriptions', () => {
  it('are made, listed and removed by their owner only, with localized validation', async () => {
    const owner = await person();
    const other = await person();
    const circle = await subscribe(owner.headers, {
      center: { type: 'Point', coordinates: HOME },
      radius: 500,
      categories: [categories.plainSlug],
      frequency: 'daily',
    });
    const town = await subscribe(owner.headers, { communityId: TOWN });
    const list = json(await inject({ url: '/api/v1/me/area-alerts', headers: owner.headers }));
    expect(list.items).toEqual([
      expect.objectContaining({
        id: circle.id,
        communityId: null,
        center: { type: 'Point', coordinates: HOME },
        radius: 500,
        categories: [categories.plainSlug],
        frequency: 'daily',
      }),
      expect.objectContaining({
        id: town.id,
        communityId: TOWN,
        center: null,
        radius: null,
        categories: null,
        frequency: 'immediate',
      }),
    ]);
    expect(json(await inject({ url: '/api/v1/me/area-alerts', headers: other.headers })).items).toEqual([]);

    // another's alert is not found; the owner's goes
    const foreign = await inject({
      method: 'DELETE',
      url: `/api/v1/me/area-alerts/${circle.id}`,
      headers: other.headers,
    });
    expect(foreign.statusCode).toBe(404);
    const gone = await inject({ method: 'DELETE', url: `/api/v1/me/area-alerts/${circle.id}`, headers: owner.headers });
    expect(gone.statusCode).toBe(204);
    expect(json(await inject({ url: '/api/v1/me/area-alerts', headers: owner.headers })).items).toHaveLength(1);

    expect((await inject({ url: '/api/v1/me/area-alerts' })).statusCode).toBe(401);
    const bad = async (payload: object, lang = 'en') => {
      const res = await inject({
        method: 'POST',
        url: `/api/v1/me/area-alerts?lang=${lang}`,
        headers: other.headers,
        payload,
      });
      expect(res.statusCode, res.body).toBe(400);
      return json(res).errors as Array<{ path: string; message: string }>;
    };
    expect(await bad({ center: { type: 'Point', coordinates: HOME }, radius: 49 })).toEqual([
      { path: '/body/radius', message: 'must be between 50 and 20000 metres' },
    ]);
    expect(await bad({ center: { type: 'Point', coordinates: HOME }, radius: 20_001 }, 'af')).toEqual([
      { path: '/body/radius', message: 'moet tussen 50 en 20000 meter wees' },
    ]);
    expect((await bad({ communityId: TOWN, center: { type: 'Point', coordinates: HOME }, radius: 100 }))[0]!.path).toBe(
      '/body',
    );
    expect((await bad({}))[0]!.path).toBe('/body');
    expect((await bad({ center: { type: 'Point', coordinates: HOME } }))[0]!.path).toBe('/body/radius');
    expect((await bad({ communityId: randomUUID() }))[0]!.path).toBe('/body/communityId');
    expect((await bad({ communityId: TOWN, categories: ['no-such-category'] }))[0]!.path).toBe('/body/categories/0');
    expect((await bad({ communityId: TOWN, frequency: 'hourly' }))[0]!.path).toContain('frequency');
  });

  it('are limited per person', async () => {
    const keen = await person();
    for (let i = 0; i < 10; i++) await subscribe(keen.headers, { communityId: TOWN });
    const res = await inject({
      method: 'POST',
      url: '/api/v1/me/area-alerts',
      headers: keen.headers,
      payload: { communityId: TOWN },
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(json(res).detail).toContain('at most 10');
    // out of the way of the delivery tests below
    await h.current.t.db.query({ text: 'DELETE FROM area_alerts WHERE user_id = $1', values: [keen.id] });
  });
});

describe('area alert delivery', () => {
  it('tells each matching subscriber exactly once, never the reporter, honouring category filters', async () => {
    const near = await person();
    const far = await person();
    const town = await person('af');
    const picky = await person();
    const daily = await person();
    const reporter = await person();
    await subscribe(near.headers, { center: { type: 'Point', coordinates: HOME }, radius: 300 });
    // two alerts that both match: still one message
    await subscribe(near.headers, { center: { type: 'Point', coordinates: HOME }, radius: 5000 });
    await subscribe(far.headers, { center: { type: 'Point', coordinates: [150.09, -39.91] }, radius: 1000 });
    await subscribe(town.headers, { communityId: TOWN });
    await subscribe(picky.headers, { communityId: TOWN, categories: [categories.otherSlug] });
    await subscribe(daily.headers, { center: { type: 'Point', coordinates: HOME }, radius: 1000, frequency: 'daily' });
    await subscribe(reporter.headers, { communityId: TOWN });

    const incident = await report(reporter.headers, { title: 'Burst <pipe> & "flood"' });
    await deliver();
    await deliver();

    expect(alertMails(near.email, incident.reference)).toHaveLength(1);
    expect(alertMails(town.email, incident.reference)).toHaveLength(0); // Afrikaans subject
    const [af] = smtp.to(town.email).filter((m) => m.subject?.includes(incident.reference));
    expect(smtp.to(town.email).filter((m) => m.subject?.includes(incident.reference))).toHaveLength(1);
    expect(af!.subject).toBe(`[${incident.reference}] Nuwe verslag in jou waarskuwingsgebied: Burst <pipe> & "flood"`);
    expect(af!.text).toContain('Waar: -39.95000, 150.05000');
    expect(af!.html).toContain('Burst &#60;pipe&#62; &#38; &#34;flood&#34;');
    expect(smtp.to(far.email).filter((m) => m.subject?.includes(incident.reference))).toHaveLength(0);
    expect(smtp.to(picky.email).filter((m) => m.subject?.includes(incident.reference))).toHaveLength(0);
    expect(smtp.to(daily.email).filter((m) => m.subject?.includes(incident.reference))).toHaveLength(0);
    expect(smtp.to(reporter.email).filter((m) => m.subject?.includes(incident.reference))).toHaveLength(0);

    const [en] = alertMails(near.email, incident.reference);
    expect(en!.subject).toBe(`[${incident.reference}] New report in your alert area: Burst <pipe> & "flood"`);
    expect(en!.text).toContain('Where: -39.95000, 150.05000.');
    expect(en!.text).toContain(`https://buurtwag.test/incidents/${incident.id}`);
    expect(en!.html).not.toContain('<pipe>');

    // the in-app list and its kind, once per subscriber
    const inApp = json(await inject({ url: '/api/v1/me/notifications', headers: near.headers })).items.filter(
      (n: { incidentId?: string; kind: string }) => n.kind === 'area_alert',
    );
    expect(inApp).toHaveLength(1);

    // the other category reaches the picky subscriber
    const other = await report(reporter.headers, { categoryId: categories.other });
    await deliver();
    expect(smtp.to(picky.email).filter((m) => m.subject?.includes(other.reference))).toHaveLength(1);
    expect(alertMails(near.email, other.reference)).toHaveLength(1);
  });

  it('says nothing of private, hidden or held reports, and tells once when a held one is approved', async () => {
    const watcher = await person();
    const reporter = await person();
    await subscribe(watcher.headers, { center: { type: 'Point', coordinates: HOME }, radius: 20_000 });

    const privateOne = await report(reporter.headers, { isPublic: false });
    const hidden = await report(reporter.headers);
    await h.current.t.db.query({ text: 'UPDATE incidents SET hidden = true WHERE id = $1', values: [hidden.id] });
    const held = await report(reporter.headers, { at: HELD_POINT });
    await deliver();
    for (const r of [privateOne, hidden, held])
      expect(smtp.to(watcher.email).filter((m) => m.subject?.includes(r.reference))).toHaveLength(0);

    const approved = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${held.id}/approve`,
      headers: await as(MODERATOR, `moderator:${HELD}`),
      payload: {},
    });
    expect(approved.statusCode, approved.body).toBe(200);
    await deliver();
    await deliver();
    expect(alertMails(watcher.email, held.reference)).toHaveLength(1);
  });

  it('shows a sensitive report only by its blurred place', async () => {
    const watcher = await person();
    const reporter = await person();
    await subscribe(watcher.headers, { communityId: TOWN });
    const incident = await report(reporter.headers, { at: SECRET, categoryId: categories.sensitive });
    await deliver();
    const [mail] = alertMails(watcher.email, incident.reference);
    expect(mail, 'the alert went out').toBeDefined();
    for (const text of [mail!.text ?? '', String(mail!.html), JSON.stringify(mail!.headers)]) {
      expect(text).not.toContain(SECRET[0].toFixed(5));
      expect(text).not.toContain(SECRET[1].toFixed(5));
      expect(text).not.toContain('12 Secret Lane');
    }
    expect(mail!.text).toContain('approximate');
    // the cell centre, as the REST API shows it
    const shown = json(await inject({ url: `/api/v1/incidents/${incident.id}` })).location.coordinates as number[];
    expect(mail!.text).toContain(`${shown[1]!.toFixed(5)}, ${shown[0]!.toFixed(5)}`);
  });

  it('carries a signed link that removes that alert, one click (RFC 8058)', async () => {
    const watcher = await person();
    const reporter = await person();
    const alert = await subscribe(watcher.headers, { center: { type: 'Point', coordinates: HOME }, radius: 800 });
    const keep = await subscribe(watcher.headers, { communityId: HELD });
    const first = await report(reporter.headers);
    await deliver();
    const [mail] = alertMails(watcher.email, first.reference);
    const link = /^<(https:\/\/buurtwag\.test(\/api\/v1\/area-alerts\/unsubscribe\/[A-Za-z0-9_-]{43}))>$/.exec(
      header(mail!, 'list-unsubscribe'),
    );
    expect(link, header(mail!, 'list-unsubscribe')).not.toBeNull();
    expect(header(mail!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail!.text).toContain(link![1]);

    // a GET (a link scanner) changes nothing
    const page = await inject({ url: link![2]! });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(json(await inject({ url: '/api/v1/me/area-alerts', headers: watcher.headers })).items).toHaveLength(2);

    const forged = link![2]!.slice(0, -2) + (link![2]!.endsWith('AA') ? 'BB' : 'AA');
    expect((await inject({ method: 'POST', url: forged })).statusCode).toBe(400);

    const done = await inject({
      method: 'POST',
      url: link![2]!,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(json(done)).toEqual({ unsubscribed: true, removed: true });
    const left = json(await inject({ url: '/api/v1/me/area-alerts', headers: watcher.headers })).items;
    expect(left.map((a: { id: string }) => a.id)).toEqual([keep.id]);
    expect(left.map((a: { id: string }) => a.id)).not.toContain(alert.id);

    const second = await report(reporter.headers);
    await deliver();
    expect(alertMails(watcher.email, second.reference)).toHaveLength(0);
    // a second click is harmless
    const again = await inject({
      method: 'POST',
      url: link![2]!,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(json(again)).toEqual({ unsubscribed: true, removed: false });
  });
});

describe('the daily digest', () => {
  it('sends one mail per subscriber with the day’s matches, once', async () => {
    // only this test's daily subscribers
    await h.current.t.db.query({ text: "DELETE FROM area_alerts WHERE frequency = 'daily'" });
    const daily = await person('af');
    const dailyEn = await person();
    const reporter = await person();
    const quiet = await person();
    await subscribe(daily.headers, { center: { type: 'Point', coordinates: HOME }, radius: 2000, frequency: 'daily' });
    await subscribe(daily.headers, { communityId: TOWN, frequency: 'daily' });
    await subscribe(dailyEn.headers, { communityId: TOWN, frequency: 'daily', categories: [categories.otherSlug] });
    await subscribe(quiet.headers, { communityId: HELD, frequency: 'daily' });
    const a = await report(reporter.headers, { title: 'First of the day' });
    const b = await report(reporter.headers, { title: 'Second of the day', categoryId: categories.other });
    const c = await report(reporter.headers, { title: 'Sensitive one', at: SECRET, categoryId: categories.sensitive });
    const hidden = await report(reporter.headers, { title: 'Hidden one' });
    await h.current.t.db.query({ text: 'UPDATE incidents SET hidden = true WHERE id = $1', values: [hidden.id] });
    await deliver();
    // none of them went out at once to daily subscribers
    for (const r of [a, b, c]) expect(smtp.to(daily.email).filter((m) => m.subject?.includes(r.reference))).toEqual([]);

    // the day they were made: a fixed one, so the test does not depend on the hour it runs
    const day = new Date('2026-03-10T08:00:00Z');
    await h.current.t.db.query({
      text: `UPDATE incident_events SET created_at = $2 WHERE incident_id = ANY ($1::uuid[])`,
      values: [[a.id, b.id, c.id, hidden.id], day],
    });
    clock = new Date('2026-03-10T20:00:00Z'); // the same day still: nothing is due
    try {
      expect(await sendDailyDigests(digestDeps)).toBe(0);
      clock = new Date('2026-03-11T04:30:00Z'); // 06:30 in South Africa the next morning
      expect(previousDay(clock).day).toBe('2026-03-10');
      const before = smtp.mails.length;
      expect(await sendDailyDigests(digestDeps)).toBe(2);
      expect(await sendDailyDigests(digestDeps)).toBe(0); // once
      expect(smtp.mails.length - before).toBe(2);
    } finally {
      clock = null;
    }

    const mails = smtp.to(daily.email).filter((m) => m.subject?.includes('daaglikse'));
    expect(mails).toHaveLength(1);
    const [digest] = mails;
    expect(digest!.subject).toBe('Jou daaglikse gebiedswaarskuwing: 3 nuwe verslae');
    for (const r of [a, b, c]) expect(digest!.text).toContain(`https://buurtwag.test/incidents/${r.reference}`);
    expect(digest!.text).not.toContain(hidden.reference);
    expect(digest!.text).not.toContain(SECRET[0].toFixed(5));
    expect(digest!.text).not.toContain(SECRET[1].toFixed(5));
    expect(digest!.html).toContain('benaderde ligging');
    // a removal link for each of the person's daily alerts that matched
    expect((digest!.text ?? '').match(/\/api\/v1\/area-alerts\/unsubscribe\/[A-Za-z0-9_-]{43}/g)).toHaveLength(2);
    expect(header(digest!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

    const [en] = smtp.to(dailyEn.email).filter((m) => m.subject?.includes('daily'));
    expect(en!.subject).toBe('Your daily area alert: 1 new report');
    expect(en!.text).toContain(b.reference);
    expect(en!.text).not.toContain(a.reference);
    expect(smtp.to(quiet.email)).toEqual([]);
  });
});
