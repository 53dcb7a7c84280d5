import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
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
  storage = testStorage(config);
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
