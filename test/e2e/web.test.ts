import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { changeRoleCli } from '../../src/modules/accounts/accounts.service.js';
import type { Bus } from '../../src/platform/bus/bus.js';
import type { BlobStorage } from '../../src/platform/storage/storage.js';
import { jpegWithExif } from '../fixtures/media.js';
import { FAST_REALTIME, testBus, testConfig, testStorage } from '../helpers/app.js';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The built web app (web/dist, built by test/setup/web-build.ts) served by the real server on
 * loopback, driven in Debian's Chromium: what a visitor and a resident do, live updates between
 * two browsers, the offline queue, and axe-core on every page. Map tiles point at a closed port:
 * the map must work on its plain background. Screenshots go to test/e2e/artifacts/.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
const AXE = readFileSync(path.join(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8');
const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';

let t: TestDatabase;
let app: FastifyInstance;
let bus: Bus;
let storage: BlobStorage;
let browser: Browser;
let base: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const [database, port, launched] = await Promise.all([
    createTestDatabase(),
    freePort(),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS }),
  ]);
  t = database;
  browser = launched;
  base = `http://127.0.0.1:${port}`;
  // the page's own origin must be the public URL: the WebSocket checks Origin, media URLs use it
  const config = testConfig({
    PUBLIC_URL: base,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'bw-e2e-')),
    MAP_TILE_URL: 'http://127.0.0.1:9/{z}/{x}/{y}.png',
    GEOCODER: 'off',
  });
  storage = await testStorage(config);
  bus = testBus(config);
  app = await buildApp({ config, db: t.db, storage, bus, realtimeOptions: FAST_REALTIME });
  await app.listen({ host: '127.0.0.1', port });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await bus?.close();
  storage?.close();
  if (t) await dropTestDatabase(t);
});

async function newPage(locale = 'en-ZA'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  return { context, page };
}

/** axe-core in the page (evaluated over the debugging protocol, so the page's CSP stays as served). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  // the callbacks run in the page (this file is typed for Node, hence globalThis as any)
  const result = await page.evaluate(async () => {
    const page = globalThis as any;
    return page.axe.run(page.document, { resultTypes: ['violations'] });
  });
  return (result.violations as Array<{ id: string; nodes: Array<{ target: string[] }> }>).map(
    (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function register(page: Page, name: string): Promise<void> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${Date.now()}@example.org`;
  await page.goto(`${base}/register`);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await page.getByLabel('I accept the terms').check();
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  // signed in, the app goes back to the map
  await page.getByRole('heading', { name: /^In this area/ }).waitFor();
}

/** Fills the report form: a pin in the middle of the map, Pothole, a title. */
async function fillReport(page: Page, title: string): Promise<void> {
  await page.goto(`${base}/report`);
  const map = page.getByTestId('pick-map');
  await map.click();
  await page.getByText(/^Place chosen:/).waitFor();
  await page.getByLabel(/^Category/).selectOption(POTHOLE);
  await page.getByLabel(/^Title/).fill(title);
  await page.getByLabel('Description (optional)').fill('Deep enough to lose a wheel in.');
}

async function countIncidents(title: string): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM incidents WHERE title = $1',
    values: [title],
  });
  return rows[0]!.n;
}

describe('the web app', () => {
  it('serves the app with its settings and a strict CSP, and leaves unknown API paths to the API', async () => {
    const page = await fetch(`${base}/incidents/BW-ANYTHING`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('"tileUrl":"http://127.0.0.1:9/{z}/{x}/{y}.png"');
    const api = await fetch(`${base}/api/v1/nothing-here`);
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
    const asset = html.match(/\/assets\/index-[\w-]+\.js/)![0];
    const js = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'br' } });
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-encoding')).toBe('br');
  });

  it('a visitor switches to Afrikaans and sees Afrikaans, also after a reload', async () => {
    const { context, page } = await newPage('en-ZA');
    await page.goto(base);
    await expect.poll(() => page.getByRole('link', { name: 'Map' }).count()).toBe(1);
    await page.getByRole('heading', { name: /^In this area/ }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'map-en');

    await page.getByRole('combobox', { name: 'Language' }).selectOption('af');
    await page.getByRole('link', { name: 'Kaart' }).waitFor();
    expect(await page.getByRole('link', { name: 'Rapporteer' }).count()).toBe(1);
    expect(await page.locator('html').getAttribute('lang')).toBe('af');
    await page.getByRole('heading', { name: /^In hierdie gebied/ }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'map-af');

    await page.reload();
    await page.getByRole('link', { name: 'Teken aan' }).first().waitFor();
    await context.close();
  });

  it('a browser set to Afrikaans starts in Afrikaans', async () => {
    const { context, page } = await newPage('af-ZA');
    await page.goto(`${base}/signin`);
    await page.getByRole('heading', { name: 'Teken aan' }).waitFor();
    expect(await page.getByLabel('Wagwoord').count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('a resident reports with a photo (made small and stripped in the browser); a second browser sees it arrive live', async () => {
    const watcher = await newPage();
    await watcher.page.goto(base);
    await watcher.page.getByText(/^In this area/).waitFor();

    const { context, page } = await newPage();
    // keeps each photo the page uploads, as it left the page (Chromium does not report multipart
    // bodies with files to the test)
    await context.addInitScript(() => {
      const w = globalThis as any;
      const original = w.fetch.bind(w);
      w.__uploads = [];
      w.fetch = async (input: unknown, init?: { body?: unknown }) => {
        const file = init?.body instanceof FormData ? init.body.get('file') : null;
        if (file instanceof Blob) w.__uploads.push([...new Uint8Array(await file.arrayBuffer())]);
        return original(input, init);
      };
    });
    await register(page, 'Thandi Resident');
    expect(await axeViolations(page)).toEqual([]);
    const title = `Pothole at the corner ${Date.now()}`;
    await fillReport(page, title);

    const original = await jpegWithExif({
      width: 2400,
      height: 1800,
      orientation: 1,
      gps: { lat: -26.2, lon: 28.04 },
      make: 'PhoneMaker',
      model: 'Cheap Phone',
      serial: 'SERIAL-SECRET-123',
    });
    await page.getByLabel(/^Photos/).setInputFiles({ name: 'pothole.jpg', mimeType: 'image/jpeg', buffer: original });
    await page.getByRole('button', { name: 'Remove photo 1' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'report-form');

    await page.getByRole('button', { name: 'Send report' }).click();
    await page.waitForURL(/\/incidents\/BW-/);

    // what left the phone: a JPEG of at most 1600 px, without the camera serial or any EXIF
    const uploads: number[][] = await page.evaluate(() => (globalThis as any).__uploads);
    expect(uploads).toHaveLength(1);
    const sent = Buffer.from(uploads[0]!);
    expect(original.includes(Buffer.from('SERIAL-SECRET-123'))).toBe(true);
    expect(sent.includes(Buffer.from('SERIAL-SECRET-123'))).toBe(false);
    expect(sent.includes(Buffer.from('PhoneMaker'))).toBe(false);
    const meta = await sharp(sent).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([1600, 1200]);
    expect(meta.exif).toBeUndefined();

    await page.getByRole('heading', { name: title }).waitFor();
    await page.getByText(/was sent/).waitFor();
    await page.getByRole('img', { name: new RegExp(`Photo 1 of`) }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'incident');

    // the other browser, on the map since before, got it over the WebSocket: no reload
    await watcher.page.getByRole('link', { name: title }).waitFor({ timeout: 10_000 });
    await shot(watcher.page, 'map-live');

    // and the reporter finds it on the map and under My reports
    await page.getByRole('link', { name: 'My reports' }).click();
    await page.getByRole('link', { name: title }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Map' }).click();
    await page.getByRole('link', { name: title }).waitFor();
    expect(await page.locator('.leaflet-marker-icon').count()).toBeGreaterThan(0);

    await watcher.context.close();
    await context.close();
  });

  it('a report made offline is kept, shown as waiting, and sent exactly once when back online', async () => {
    const { context, page } = await newPage();
    await register(page, 'Pieter Offline');
    const title = `Burst pipe while offline ${Date.now()}`;
    await fillReport(page, title);

    await context.setOffline(true);
    await page.getByRole('button', { name: 'Send report' }).click();
    await page.getByText(/Your report is saved on this phone/).waitFor();
    await page.getByTestId('queued-count').getByText('1 report is waiting to be sent.').waitFor();
    expect(await countIncidents(title)).toBe(0);
    await shot(page, 'report-queued');

    await context.setOffline(false);
    await page.getByText('1 saved report was sent.').waitFor({ timeout: 15_000 });
    expect(await countIncidents(title)).toBe(1);
    // a later flush (the timer, another online event) sends nothing more
    await page.evaluate(() => (globalThis as any).dispatchEvent(new Event('online')));
    await page.waitForTimeout(300);
    expect(await countIncidents(title)).toBe(1);
    await context.close();
  });
});

/** An account made admin the way the command line does it; signed in through the page. */
async function signInAsAdmin(page: Page, name: string): Promise<string> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${Date.now()}@example.org`;
  const res = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple', displayName: name, locale: 'en' }),
  });
  expect(res.status).toBe(201);
  await changeRoleCli(t.db, 'grant', email, { role: 'admin', communityId: null });
  await page.goto(`${base}/signin?next=/admin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Administration: Categories' }).waitFor();
  return email;
}

/** Nothing on the page is still loading, and nothing sticks out sideways (360 px wide). */
async function settled(page: Page): Promise<void> {
  await expect.poll(() => page.getByText('Loading…').count()).toBe(0);
  const overflow = await page.evaluate(() => {
    const doc = (globalThis as any).document.documentElement;
    return doc.scrollWidth - doc.clientWidth;
  });
  expect(overflow).toBeLessThanOrEqual(0);
}

describe('administration', () => {
  it('an admin adds a category in both languages, and a visitor sees it in English and in Afrikaans on the report form', async () => {
    const context = await browser.newContext({ locale: 'en-ZA', viewport: { width: 360, height: 780 } });
    const page = await context.newPage();
    await signInAsAdmin(page, 'Ayanda Admin');
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);

    const stamp = Date.now().toString(36);
    const nameEn = `Broken bench ${stamp}`;
    const nameAf = `Stukkende bank ${stamp}`;
    await page.getByRole('button', { name: 'New category' }).click();
    await page.getByLabel(/^Short name in addresses/).fill(`bench-${stamp}`);
    const name = page.getByRole('group', { name: 'Name' });
    await name.getByLabel(/^English/).fill(nameEn);
    await name.getByLabel('Afrikaans').fill(nameAf);
    const description = page.getByRole('group', { name: 'Description' });
    await description.getByLabel(/^English/).fill('A bench in a park or at a bus stop is broken.');
    await description.getByLabel('Afrikaans').fill("'n Bank in 'n park of by 'n bushalte is stukkend.");
    await page.getByRole('button', { name: 'Add a question' }).click();
    await page.getByLabel(/^Code/).fill('seats');
    await page.getByLabel('Kind of answer').selectOption('number');
    const question = page.getByRole('group', { name: 'Question', exact: true });
    await question.getByLabel(/^English/).fill('How many seats are broken?');
    await question.getByLabel('Afrikaans').fill('Hoeveel sitplekke is stukkend?');
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'admin-category-form');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('status').getByText('Created.').waitFor();
    await page.getByRole('button', { name: `Edit ${nameEn}` }).waitFor();
    await shot(page, 'admin-categories');

    // every part of the administration: axe-core finds nothing, nothing is wider than 360 px
    const parts: Array<[string, string]> = [
      ['Communities', 'communities'],
      ['Users and roles', 'users'],
      ['Authorities', 'authorities'],
      ['Webhooks', 'webhooks'],
      ['Open311 keys', 'open311'],
      ['Audit trail', 'audit'],
    ];
    const sections = page.getByRole('navigation', { name: 'Administration sections' });
    for (const [label, slug] of parts) {
      await sections.getByRole('link', { name: label }).click();
      await page.getByRole('heading', { name: `Administration: ${label}` }).waitFor();
      await settled(page);
      expect(await axeViolations(page), label).toEqual([]);
      await shot(page, `admin-${slug}`);
    }

    // an account opened on the users page: its roles and the form to grant one
    await sections.getByRole('link', { name: 'Users and roles' }).click();
    const account = page.locator('details', { hasText: 'Ayanda Admin' });
    await account.locator('summary').click();
    await account.getByLabel('Role to grant').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'admin-user-open');
    await sections.getByRole('link', { name: 'Audit trail' }).click();

    // the audit trail shows the new category at the top
    await page.getByRole('cell', { name: 'category.create' }).first().waitFor();

    // a community's form, with the map to draw on: three clicks make a polygon
    await sections.getByRole('link', { name: 'Communities' }).click();
    await page.getByRole('button', { name: 'New community' }).click();
    const map = page.getByTestId('draw-map');
    await map.waitFor();
    await map.scrollIntoViewIfNeeded();
    const box = (await map.boundingBox())!;
    for (const [x, y] of [
      [0.3, 0.3],
      [0.7, 0.3],
      [0.5, 0.7],
    ] as const) {
      await map.click({ position: { x: box.width * x, y: box.height * y } });
    }
    await page.getByText('3 corners placed.').waitFor();
    await page.getByRole('button', { name: 'Use this shape' }).click();
    await page.getByText('A valid boundary of 1 polygon.').waitFor();
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'admin-community-form');
    await page.getByLabel(/^Name/).fill(`Ward ${stamp}`);
    await page.getByLabel(/^Short name in addresses/).fill(`ward-${stamp}`);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('button', { name: `Edit Ward ${stamp}` }).waitFor();

    // an Open311 key is shown once
    await sections.getByRole('link', { name: 'Open311 keys' }).click();
    await page.getByLabel(/^Who it is for/).fill('Call centre');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    expect(await page.getByTestId('new-key').textContent()).toMatch(/^bw311_/);
    await page.getByRole('button', { name: 'Revoke Call centre' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await context.close();

    // a visitor (reporting needs an account), in English and then in Afrikaans
    const visitor = await newPage('en-ZA');
    await register(visitor.page, 'Sipho Visitor');
    await visitor.page.goto(`${base}/report`);
    await visitor.page.getByLabel(/^Category/).selectOption({ label: nameEn });
    await visitor.page.getByText('A bench in a park or at a bus stop is broken.').waitFor();
    await visitor.page.getByLabel(/^How many seats are broken\?/).waitFor();
    expect(await axeViolations(visitor.page)).toEqual([]);
    await shot(visitor.page, 'report-new-category-en');
    await visitor.page.getByRole('combobox', { name: 'Language' }).selectOption('af');
    await visitor.page.locator('#category option', { hasText: nameAf }).waitFor({ state: 'attached' });
    await visitor.page.getByLabel(/^Kategorie/).selectOption({ label: nameAf });
    await visitor.page.getByLabel(/^Hoeveel sitplekke is stukkend\?/).waitFor();
    await visitor.page.getByText("'n Bank in 'n park of by 'n bushalte is stukkend.").waitFor();
    expect(await visitor.page.locator('#category option', { hasText: nameEn }).count()).toBe(0);
    expect(await axeViolations(visitor.page)).toEqual([]);
    await shot(visitor.page, 'report-new-category-af');
    await visitor.context.close();
  }, 120_000);

  it('the language is kept per account: chosen on one device, the next sign-in elsewhere opens in it', async () => {
    const first = await newPage('en-ZA');
    const email = await signInAsAdmin(first.page, 'Lindiwe Language');
    await first.page.getByRole('combobox', { name: 'Language' }).selectOption('af');
    await first.page.getByRole('heading', { name: 'Administrasie: Kategorieë' }).waitFor();
    await settled(first.page);
    expect(await axeViolations(first.page)).toEqual([]);
    await shot(first.page, 'admin-categories-af');
    await expect
      .poll(async () => {
        const { rows } = await t.db.query<{ locale: string }>({
          text: 'SELECT locale FROM users WHERE email = $1',
          values: [email],
        });
        return rows[0]?.locale;
      })
      .toBe('af');
    await first.context.close();

    // another browser, in English: signing in brings the account's Afrikaans
    const second = await newPage('en-ZA');
    await second.page.goto(`${base}/signin`);
    await second.page.getByLabel('Email').fill(email);
    await second.page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page.getByRole('link', { name: 'Kaart' }).waitFor();
    expect(await second.page.locator('html').getAttribute('lang')).toBe('af');
    await second.context.close();
  }, 60_000);
});

// keep a copy of the built page's sizes with the artifacts (the build prints them too)
afterAll(() => {
  try {
    writeFileSync(
      path.join(ARTIFACTS, 'web-sizes.tsv'),
      readFileSync(path.join(import.meta.dirname, '../../web/dist/sizes.tsv')),
    );
  } catch {
    // no build: nothing to keep
  }
});

/** An account made through the API (roles granted the way the command line does), with its password. */
async function staffAccount(
  name: string,
  grant?: { role: 'admin'; communityId: null } | { role: 'moderator' | 'responder'; communityId: string },
): Promise<{ email: string; token: string }> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${Date.now()}@example.org`;
  const password = 'correct horse battery staple';
  const res = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, displayName: name, locale: 'en' }),
  });
  expect(res.status).toBe(201);
  if (grant) await changeRoleCli(t.db, 'grant', email, grant);
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(login.status).toBe(200);
  return { email, token: ((await login.json()) as { accessToken: string }).accessToken };
}

async function apiAs<T>(token: string, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

async function signInThroughPage(page: Page, email: string, next: string): Promise<void> {
  await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

describe('the staff console', () => {
  it("a moderator moves the resident's incident through the workflow (acknowledged → in_progress → resolved, with a template) in the console and the resident's incident page updates live", async () => {
    const stamp = Date.now().toString(36);
    // a small community of its own, far from the other tests' reports
    const admin = await staffAccount('Console Admin', { role: 'admin', communityId: null });
    const [lon, lat] = [25.6, -33.96];
    const ring = [
      [lon - 0.01, lat - 0.01],
      [lon + 0.01, lat - 0.01],
      [lon + 0.01, lat + 0.01],
      [lon - 0.01, lat + 0.01],
      [lon - 0.01, lat - 0.01],
    ];
    const community = await apiAs<{ id: string }>(admin.token, 'POST', '/api/v1/communities', {
      slug: `console-${stamp}`,
      name: `Console ward ${stamp}`,
      boundary: { type: 'Polygon', coordinates: [ring] },
    });
    await apiAs(admin.token, 'POST', '/api/v1/admin/templates', {
      name: `Fixed ${stamp}`,
      status: 'resolved',
      text: { en: 'Good news: {reference} is fixed.', af: 'Goeie nuus: {reference} is reggemaak.' },
    });
    const moderator = await staffAccount('Mpho Moderator', { role: 'moderator', communityId: community.id });
    const resident = await staffAccount('Ruth Resident');
    const report = (title: string) =>
      apiAs<{ id: string; reference: string }>(resident.token, 'POST', '/api/v1/incidents', {
        title,
        description: 'Water running down the street.',
        categoryId: POTHOLE,
        location: { type: 'Point', coordinates: [lon, lat] },
      });
    const title = `Burst main ${stamp}`;
    const incident = await report(title);

    // the resident watches their report
    const home = await newPage();
    await signInThroughPage(home.page, resident.email, '/');
    await home.page.goto(`${base}/incidents/${incident.reference}`);
    await home.page.getByRole('heading', { name: title }).waitFor();

    // the moderator's console, 360 px wide
    const context = await browser.newContext({ locale: 'en-ZA', viewport: { width: 360, height: 780 } });
    const page = await context.newPage();
    await signInThroughPage(page, moderator.email, '/staff');
    await page.getByRole('heading', { name: 'Staff console' }).waitFor();
    const row = page.getByRole('button', { name: new RegExp(`^${title}`) });
    await row.waitFor();
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);

    // a new report arrives live, at the top of the queue
    const second = `Blocked drain ${stamp}`;
    await report(second);
    await page.getByRole('button', { name: new RegExp(`^${second}`) }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('heading', { name: 'Queue: 2 reports' }).count()).toBe(1);

    // keyboard: into the queue, down with j, Enter opens
    const rows = page.locator('.staff-rows button');
    await rows.first().focus();
    await page.keyboard.press('j');
    expect(await rows.nth(1).evaluate((el) => el === (globalThis as any).document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    const panel = page.getByRole('region', { name: title });
    await panel.waitFor();

    const move = async (status: string, withTemplate: boolean) => {
      await panel.getByLabel('New status').selectOption({ label: status });
      if (withTemplate) {
        await panel.getByLabel('Response to the reporter (optional)').selectOption({ label: `Fixed ${stamp}` });
        await panel.getByText('Good news: {reference} is fixed.').waitFor();
      }
      await panel.getByRole('button', { name: 'Change status' }).click();
      await panel.getByText(`Status changed to ${status}.`).waitFor();
      // the resident's page, open since before, follows without a reload
      await home.page.locator('.badge', { hasText: status }).first().waitFor({ timeout: 10_000 });
    };
    await move('Acknowledged', false);
    await move('In progress', false);
    await panel.getByLabel('Assign to').selectOption({ label: 'Me' });
    await panel.getByRole('button', { name: 'Assign', exact: true }).click();
    await panel.getByText('Assigned.').waitFor();
    await page.getByRole('button', { name: new RegExp(`^${title}.*Assigned to Mpho Moderator`) }).waitFor();
    await panel.getByLabel('Internal note').fill('Council crew booked for Tuesday.');
    await panel.getByRole('button', { name: 'Add note' }).click();
    await panel.getByText('Council crew booked for Tuesday.').waitFor();
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'staff-console');
    await move('Resolved', true);

    // the template went to the resident as a comment, the internal note did not
    await home.page.getByText(`Good news: ${incident.reference} is fixed.`).waitFor({ timeout: 10_000 });
    expect(await home.page.getByText('Council crew booked for Tuesday.').count()).toBe(0);
    await shot(home.page, 'staff-resident-live');

    // the console in Afrikaans
    await page.getByRole('combobox', { name: 'Language' }).selectOption('af');
    await page.getByRole('heading', { name: 'Personeelkonsole' }).waitFor();
    // reloaded in the new language: the resolved report has left the open queue
    await page.getByRole('heading', { name: 'Tou: 1 verslag' }).waitFor();
    await settled(page);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'staff-console-af');
    const { rows: events } = await t.db.query<{ type: string }>({
      text: `SELECT type FROM incident_events WHERE incident_id = $1 AND type = 'status_changed'`,
      values: [incident.id],
    });
    expect(events).toHaveLength(3);

    await home.context.close();
    await context.close();
  }, 120_000);
});
