import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InjectOptions } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { Redis } from 'ioredis';
import {
  ADMIN,
  as,
  FAST_REALTIME,
  json,
  RESIDENT_2,
  testBus,
  testConfig,
  useTestApp,
} from '../../../test/helpers/app.js';
import { buildApp } from '../../app.js';
import { backend } from '../../../test/helpers/database.js';
import { multipart } from '../../../test/helpers/media.js';
import { TestS3 } from '../../../test/helpers/s3.js';
import { verifyAudit } from '../../cli/audit.js';
import { privacyCommand } from '../../cli/privacy.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { sealAudit } from '../audit/audit.sealer.js';
import { blurredPoint } from '../incidents/incidents.presenter.js';
import { registerMediaJobs } from '../media/media.jobs.js';
import { registerPrivacyJobs } from './privacy.jobs.js';
import { requestExport, runRetention } from './privacy.service.js';

/**
 * The person's rights, end to end over HTTP, in each mode as production runs it: embedded
 * (PGlite, files on disk) and server Postgres with S3 (s3rver on loopback).
 */
const s3 = new TestS3(path.join(os.tmpdir(), `bw-s3-${randomBytes(4).toString('hex')}`));
const useS3 = backend() === 'postgres';
const dataDir = path.join(os.tmpdir(), `bw-privacy-${randomBytes(4).toString('hex')}`);

beforeAll(async () => {
  if (useS3) await s3.start();
});
afterAll(async () => {
  await s3.remove();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const h = useTestApp(() => ({ DATA_DIR: dataDir, TERMS_VERSION: '2026-11', ...(useS3 ? s3.env() : {}) }));
const inject = (options: InjectOptions) => h.current.app.inject(options);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

const COMMUNITY = '00000000-0000-4000-8000-00000000cc01';
const PASSWORD = 'correct horse battery staple 9';
const PERSON = { email: 'zanele.quixote@example.org', displayName: 'Zanele Quixote-Mbeki', phone: '+27 82 555 0199' };
// exact points the person reported from; their 5-decimal forms must not survive erasure
const PUBLIC_POINT: [number, number] = [28.047312, -26.204187];
const SENSITIVE_POINT: [number, number] = [28.051234, -26.198765];
const PRIVATE_POINT: [number, number] = [28.043219, -26.207654];
const NEEDLES = [
  PERSON.email,
  PERSON.displayName,
  '555 0199',
  '12 Plein Street',
  // truncated, not rounded: a prefix of how the database writes the number
  ...[PUBLIC_POINT, SENSITIVE_POINT, PRIVATE_POINT].flat().map((d) => d.toFixed(6).slice(0, -1)),
];

interface Person {
  id: string;
  accessToken: string;
  refreshToken: string;
  incidents: { public: string; sensitive: string; private: string; neighbours: string };
}
let person: Person;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function runJobs(): Promise<void> {
  const jobs = new JobRunner(h.current.t.db, silent);
  registerMediaJobs(jobs, h.current.t.db, h.current.storage, silent);
  while ((await jobs.runDue()) > 0) {
    /* until nothing is due */
  }
}

async function categoryId(slug: string): Promise<string> {
  const res = await inject({ url: '/api/v1/categories' });
  return json(res).items.find((c: { slug: string }) => c.slug === slug).id;
}

async function report(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await inject({ method: 'POST', url: '/api/v1/incidents', headers: bearer(token), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id;
}

async function upload(token: string, incidentId: string): Promise<void> {
  const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c01020' } })
    .jpeg()
    .toBuffer();
  const body = multipart(photo);
  const res = await inject({
    method: 'POST',
    url: `/api/v1/incidents/${incidentId}/media`,
    headers: { ...bearer(token), ...body.headers },
    payload: body.payload,
  });
  expect(res.statusCode, res.body).toBe(201);
}

async function register(email: string, displayName: string, extra: Record<string, unknown> = {}) {
  return inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password: PASSWORD, displayName, ...extra },
  });
}

beforeAll(async () => {
  await h.current.t.db.query({
    text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
           VALUES ($1, 'privacy-test', 'Privacy test', ST_Multi(ST_MakeEnvelope(28.0, -26.3, 28.1, -26.1, 4326)), 1)`,
    values: [COMMUNITY],
  });
  const reg = await register(PERSON.email, PERSON.displayName, { acceptTerms: true, termsVersion: '2026-11' });
  expect(reg.statusCode, reg.body).toBe(201);
  const session = json(reg);
  const token = session.accessToken as string;
  const pothole = await categoryId('pothole');
  const sensitive = (
    await h.current.t.db.query<{ id: string }>({ text: `SELECT id FROM categories WHERE sensitive LIMIT 1` })
  ).rows[0]!.id;

  const neighbours = await report((await as(RESIDENT_2)).authorization!.slice(7), {
    title: 'Streetlight out on Kerk Street',
    description: 'Dark since Monday',
    categoryId: pothole,
    location: { type: 'Point', coordinates: [28.06, -26.21] },
  });
  const incidents = {
    neighbours,
    public: await report(token, {
      title: `Burst pipe, call ${PERSON.displayName}`,
      description: `Water everywhere. Phone me on ${PERSON.phone} or ${PERSON.email}`,
      categoryId: pothole,
      address: '12 Plein Street',
      location: { type: 'Point', coordinates: PUBLIC_POINT },
    }),
    sensitive: await report(token, {
      title: 'Someone trying car doors',
      description: 'Seen from my window',
      categoryId: sensitive,
      anonymous: true,
      location: { type: 'Point', coordinates: SENSITIVE_POINT },
    }),
    private: await report(token, {
      title: 'Private: neighbour dispute',
      description: `Only for staff. ${PERSON.displayName}`,
      categoryId: pothole,
      isPublic: false,
      location: { type: 'Point', coordinates: PRIVATE_POINT },
    }),
  };
  await upload(token, incidents.public);
  await upload(token, incidents.private);
  const comment = await inject({
    method: 'POST',
    url: `/api/v1/incidents/${neighbours}/comments`,
    headers: bearer(token),
    payload: { body: `Same here - ${PERSON.displayName}, ${PERSON.email}` },
  });
  expect(comment.statusCode, comment.body).toBe(201);
  const confirm = await inject({
    method: 'POST',
    url: `/api/v1/incidents/${neighbours}/confirmations`,
    headers: bearer(token),
  });
  expect(confirm.statusCode, confirm.body).toBeLessThan(300);
  person = { id: session.user.id, accessToken: token, refreshToken: session.refreshToken, incidents };
});

function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

async function storedBytes(key: string): Promise<Buffer> {
  const stream = await h.current.storage.read(key);
  expect(stream, key).not.toBeNull();
  const chunks: Buffer[] = [];
  for await (const chunk of stream!) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('consent at registration', () => {
  it('records the accepted version, and takes registrations that predate consent', async () => {
    const mine = await inject({ url: '/api/v1/me/consents', headers: bearer(person.accessToken) });
    expect(json(mine)).toMatchObject({
      current: '2026-11',
      required: '2026-11',
      items: [{ kind: 'terms', version: '2026-11', explicit: true }],
    });

    const old = await register('old.client@example.org', 'Old Client');
    expect(old.statusCode).toBe(201);
    const oldConsents = await inject({ url: '/api/v1/me/consents', headers: bearer(json(old).accessToken) });
    expect(json(oldConsents).items).toMatchObject([{ version: '2026-11', explicit: false }]);

    const refused = await register('refuser@example.org', 'Refuser', { acceptTerms: false });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).errors[0].path).toBe('/body/acceptTerms');
    const stale = await register('stale@example.org', 'Stale', { acceptTerms: true, termsVersion: '2020-01' });
    expect(stale.statusCode).toBe(400);
    expect(json(stale).errors[0].path).toBe('/body/termsVersion');
  });
});

describe('GET /me/export', () => {
  it('needs the password again, then gives a one-time link to a zip of every record and file', async () => {
    expect(
      (await inject({ method: 'POST', url: '/api/v1/me/export', payload: { password: PASSWORD } })).statusCode,
    ).toBe(401);
    const wrong = await inject({
      method: 'POST',
      url: '/api/v1/me/export',
      headers: bearer(person.accessToken),
      payload: { password: 'not my password at all' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(json(wrong).errors[0].path).toBe('/body/password');

    const asked = await inject({
      method: 'POST',
      url: '/api/v1/me/export',
      headers: bearer(person.accessToken),
      payload: { password: PASSWORD },
    });
    expect(asked.statusCode, asked.body).toBe(201);
    const link = new URL(json(asked).url);
    expect(new Date(json(asked).expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(15 * 60 * 1000);

    // a browser download: no Authorization header
    const res = await inject({ url: link.pathname + link.search });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    const entries = await unzip(res.rawPayload);
    const data = JSON.parse(entries.get('data.json')!.toString('utf8'));

    expect(data.account).toMatchObject({ id: person.id, email: PERSON.email, displayName: PERSON.displayName });
    expect(data.account.roles[0].role).toBe('resident');
    expect(data.consents).toMatchObject([{ version: '2026-11', explicit: true }]);
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    const reportIds = data.reports.map((r: { id: string }) => r.id).sort();
    expect(reportIds).toEqual([person.incidents.public, person.incidents.sensitive, person.incidents.private].sort());
    const anonymous = data.reports.find((r: { id: string }) => r.id === person.incidents.sensitive);
    expect(anonymous).toMatchObject({ anonymous: true, location: { coordinates: SENSITIVE_POINT } });
    expect(data.comments).toMatchObject([{ incidentId: person.incidents.neighbours }]);
    expect(data.comments[0].body).toContain(PERSON.email);
    expect(data.confirmations).toMatchObject([{ incidentId: person.incidents.neighbours }]);
    expect(data.follows.map((f: { incidentId: string }) => f.incidentId)).toEqual(
      expect.arrayContaining([person.incidents.public, person.incidents.neighbours]),
    );
    expect(data.uploads).toHaveLength(2);
    expect(data.auditEntries.map((a: { action: string }) => a.action)).toEqual(
      expect.arrayContaining(['user.register', 'privacy.export.request', 'privacy.export.download']),
    );

    expect(data.media).toHaveLength(2);
    const { rows: media } = await h.current.t.db.query<{ variants: Array<{ key: string }> }>({
      text: 'SELECT variants FROM media WHERE uploader_id = $1',
      values: [person.id],
    });
    const keys = media.flatMap((m) => m.variants.map((v) => v.key));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const inZip = entries.get(`files/${key}`);
      expect(inZip, key).toBeDefined();
      expect(inZip!.length).toBeGreaterThan(0);
      expect(inZip!.equals(await storedBytes(key))).toBe(true);
    }

    // once only
    expect((await inject({ url: link.pathname + link.search })).statusCode).toBe(404);
  });

  it('is in the OpenAPI document, with the link flow described', async () => {
    const doc = json(await inject({ url: '/api/v1/openapi.json' }));
    expect(doc.paths['/api/v1/me/export'].post.description).toMatch(/one-time download link/);
    expect(doc.paths['/api/v1/me/export'].get).toBeDefined();
    expect(doc.paths['/api/v1/me'].delete).toBeDefined();
  });

  it('expires after 15 minutes', async () => {
    const sixteenMinutesAgo = new Date(Date.now() - 16 * 60 * 1000);
    const link = await requestExport(
      h.current.t.db,
      { userId: person.id, roles: [] },
      PASSWORD,
      h.current.config.http.publicUrl,
      { requestId: null, ip: null },
      sixteenMinutesAgo,
    );
    const url = new URL(link.url);
    const res = await inject({ url: url.pathname + url.search });
    expect(res.statusCode).toBe(404);
    expect(json(res).detail).toMatch(/expired/);
  });
});

/** Every row of every table in this schema as text (geometries as WKT), searched for each needle. */
async function scanDatabase(needles: readonly string[]): Promise<string[]> {
  const db = h.current.t.db;
  const { rows: tables } = await db.query<{ table_name: string }>({
    text: `SELECT table_name FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  });
  const { rows: geometry } = await db.query<{ table_name: string; column_name: string }>({
    text: `SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND udt_name = 'geometry'`,
  });
  const hits: string[] = [];
  for (const { table_name: table } of tables) {
    const wkt = geometry
      .filter((g) => g.table_name === table)
      .map((g) => `coalesce(ST_AsText(t."${g.column_name}"), '')`);
    const { rows } = await db.query<{ row: string }>({
      text: `SELECT t::text ${wkt.map((w) => `|| ' ' || ${w}`).join(' ')} AS row FROM "${table}" t`,
    });
    for (const { row } of rows) {
      for (const needle of needles) {
        if (row.toLowerCase().includes(needle.toLowerCase())) hits.push(`${table}: ${needle} in ${row.slice(0, 300)}`);
      }
    }
  }
  return hits;
}

describe('DELETE /me', () => {
  it('erases the person: no email, name, phone or exact location left anywhere, tokens dead, audit intact', async () => {
    const db = h.current.t.db;
    const { rows: photoRows } = await db.query<{ variants: Array<{ key: string }>; original_key: string | null }>({
      text: 'SELECT variants, original_key FROM media WHERE uploader_id = $1',
      values: [person.id],
    });
    const photoKeys = photoRows.flatMap((m) => [
      ...m.variants.map((v) => v.key),
      ...(m.original_key ? [m.original_key] : []),
    ]);
    for (const key of photoKeys) expect(await h.current.storage.exists(key)).toBe(true);
    // every planted value is there before, so the scan below can find each one
    const before = await scanDatabase(NEEDLES);
    for (const needle of NEEDLES)
      expect(
        before.some((hit) => hit.includes(`: ${needle} in `)),
        needle,
      ).toBe(true);

    const wrong = await inject({
      method: 'DELETE',
      url: '/api/v1/me',
      headers: bearer(person.accessToken),
      payload: { password: 'not my password at all' },
    });
    expect(wrong.statusCode).toBe(400);

    const res = await inject({
      method: 'DELETE',
      url: '/api/v1/me',
      headers: bearer(person.accessToken),
      payload: { password: PASSWORD, deletePhotos: true },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ reportsKept: 2, reportsDeleted: 1, commentsDeidentified: 1, photosDeleted: 2 });

    // the access token still within its 15 minutes, and the refresh token: both refused at once
    expect((await inject({ url: '/api/v1/me', headers: bearer(person.accessToken) })).statusCode).toBe(401);
    const refresh = await inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: person.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    const login = await inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: PERSON.email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(401);

    await runJobs();
    await sealAudit(db);
    expect(await scanDatabase(NEEDLES)).toEqual([]);
    for (const key of photoKeys) expect(await h.current.storage.exists(key)).toBe(false);
    const verified = await verifyAudit(db);
    expect(verified.problems).toEqual([]);
    expect(verified.rows).toBeGreaterThan(0);

    // the public report stays: anonymous, in its blurred cell, no address; the private one is gone
    const admin = await as(ADMIN, 'admin');
    const kept = json(await inject({ url: `/api/v1/incidents/${person.incidents.public}`, headers: admin }));
    expect(kept.location.coordinates).toEqual(blurredPoint(...PUBLIC_POINT));
    expect(kept.address).toBeNull();
    expect(kept.title).toContain('[erased]');
    const publicView = json(await inject({ url: `/api/v1/incidents/${person.incidents.public}` }));
    expect(publicView.reporter).toBeNull();
    expect((await inject({ url: `/api/v1/incidents/${person.incidents.private}`, headers: admin })).statusCode).toBe(
      404,
    );
    const timeline = json(
      await inject({ url: `/api/v1/incidents/${person.incidents.public}/timeline`, headers: admin }),
    );
    expect(timeline.items.map((i: { type: string }) => i.type)).toContain('reporter_erased');
    // the "me too" went with the person
    const neighbours = json(await inject({ url: `/api/v1/incidents/${person.incidents.neighbours}` }));
    expect(neighbours.confirmations ?? 0).toBe(0);
  });
});

describe('erasure on a cluster', () => {
  it('ends the tokens on every node at once, not after their 30 s user-state cache', async () => {
    const other = await buildApp({
      config: h.current.config,
      db: h.current.t.db,
      storage: h.current.storage,
      bus: h.current.bus,
      realtimeOptions: FAST_REALTIME,
    });
    await other.ready();
    try {
      const reg = json(await register('two.nodes@example.org', 'Two Nodes'));
      // the other node has the user's state cached now
      expect((await other.inject({ url: '/api/v1/me', headers: bearer(reg.accessToken) })).statusCode).toBe(200);
      const erased = await inject({
        method: 'DELETE',
        url: '/api/v1/me',
        headers: bearer(reg.accessToken),
        payload: { password: PASSWORD },
      });
      expect(erased.statusCode, erased.body).toBe(200);
      await expect
        .poll(async () => (await other.inject({ url: '/api/v1/me', headers: bearer(reg.accessToken) })).statusCode, {
          timeout: 2_000,
        })
        .toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('erasure with Redis', () => {
  it('leaves nothing of the person in Redis: no key or value holds their email, name or phone', async () => {
    // a node as production runs it: Redis for the bus and the abuse counters (which count by email)
    const config = testConfig({
      DATA_DIR: dataDir,
      REDIS_URL: 'redis://127.0.0.1:6379',
      RATE_LIMITS: 'on',
      TRUST_PROXY: 'loopback',
    });
    const bus = testBus(config);
    const node = await buildApp({ config, db: h.current.t.db, storage: h.current.storage, bus });
    await node.ready();
    // the counters connect to Redis in the background; until then (a loaded CI machine took
    // longer than the first requests) they count in memory and would leave no key to look at
    await expect.poll(() => node.rateLimits.backend(), { timeout: 10_000 }).toBe('redis');
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    // unique per run: Redis outlives test runs, and this run must find only what it wrote itself
    const tag = randomBytes(3).toString('hex');
    // and its own client address (through the trusted proxy): per-address counters outlive runs too
    // (IPv6 is counted per /64, so the tag goes in the prefix)
    const client = { 'x-forwarded-for': `2001:db8:${tag.slice(0, 4)}:${tag.slice(4)}::1` };
    const who = { email: `redis.quill${tag}@example.org`, name: `Redisa Quill${tag}`, phone: '083 444 0177' };
    try {
      const reg = await node.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        headers: client,
        payload: { email: who.email, password: PASSWORD, displayName: who.name },
      });
      expect(reg.statusCode, reg.body).toBe(201);
      const token = json(reg).accessToken as string;
      // a wrong password is counted per email in Redis
      const wrong = { email: who.email, password: 'not the password at all' };
      const refused = await node.inject({ method: 'POST', url: '/api/v1/auth/login', headers: client, payload: wrong });
      expect(refused.statusCode, JSON.stringify(refused.headers)).toBe(401);
      const created = await node.inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: { ...client, ...bearer(token) },
        payload: {
          title: 'Burst pipe on the corner',
          description: `Call ${who.name} on ${who.phone}`,
          categoryId: await categoryId('water-leak'),
          location: { type: 'Point', coordinates: [28.061, -26.191] },
        },
      });
      expect(created.statusCode, created.body).toBe(201);
      const erased = await node.inject({
        method: 'DELETE',
        url: '/api/v1/me',
        headers: { ...client, ...bearer(token) },
        payload: { password: PASSWORD },
      });
      expect(erased.statusCode, erased.body).toBe(200);

      await redis.connect();
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      // the counters are there (so the scan looks where the data would be) …
      expect(keys.some((k) => k.startsWith('bw:rl:login'))).toBe(true);
      const needles = [who.email, who.email.split('@')[0]!, who.name, who.phone].map((n) => n.toLowerCase());
      const hits: string[] = [];
      for (const key of keys) {
        const type = await redis.type(key);
        const value = type === 'string' ? ((await redis.get(key)) ?? '') : '';
        const text = `${key} ${value}`.toLowerCase();
        for (const needle of needles) if (text.includes(needle)) hits.push(`${needle} in ${key}`);
      }
      // … and none of them names the person
      expect(hits).toEqual([]);
    } finally {
      redis.disconnect();
      await node.close();
      await bus.close();
    }
  });
});

describe('authorities are told', () => {
  it('sends a signed incident.reporter_erased to an authority that took the report by webhook', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const db = h.current.t.db;
      await db.query({
        text: `INSERT INTO authorities (slug, name, jurisdiction, area_m2, delivery)
               VALUES ('water-board', 'Water board', ST_Multi(ST_MakeEnvelope(28.079, -26.251, 28.081, -26.249, 4326)), 1,
                       jsonb_build_object('kind', 'webhook', 'url', $1::text))`,
        values: [`http://127.0.0.1:${port}/hooks`],
      });
      const reg = json(await register('routed.reporter@example.org', 'Routed Reporter', { acceptTerms: true }));
      const incidentId = await report(reg.accessToken, {
        title: 'Leaking hydrant',
        description: 'Call Routed Reporter',
        categoryId: await categoryId('pothole'),
        requiresAuthority: true,
        location: { type: 'Point', coordinates: [28.080123, -26.250456] },
      });
      const erased = await inject({
        method: 'DELETE',
        url: '/api/v1/me',
        headers: bearer(reg.accessToken),
        payload: { password: PASSWORD },
      });
      expect(erased.statusCode, erased.body).toBe(200);

      const jobs = new JobRunner(db, silent);
      registerPrivacyJobs(
        jobs,
        db,
        {
          policy: { allowAddresses: ['127.0.0.1'], allowedPorts: [port] },
          signingKey: loadJwtSecret(h.current.config),
          retention: { inactiveAccountYears: 3, hiddenSpamDays: 90 },
        },
        silent,
      );
      while ((await jobs.runDue()) > 0) {
        /* until nothing is due */
      }
      const notices = received.filter((r) => r.body.includes('incident.reporter_erased'));
      expect(notices).toHaveLength(1);
      const notice = JSON.parse(notices[0]!.body);
      expect(notice).toMatchObject({ type: 'incident.reporter_erased', data: { incident: { id: incidentId } } });
      expect(notices[0]!.headers['webhook-signature']).toMatch(/^v1,/);
      expect(notices[0]!.body).not.toMatch(/Routed|routed\.reporter|28\.0801/);
    } finally {
      receiver.close();
    }
  });
});

describe('retention', () => {
  it('anonymizes accounts inactive for N years and purges old hidden spam, on a faked clock', async () => {
    const db = h.current.t.db;
    const idle = json(await register('idle.person@example.org', 'Idle Person'));
    const active = json(await register('active.person@example.org', 'Active Person'));
    const spammer = json(await register('spam.sender@spam.example', 'Spam Sender'));
    const pothole = await categoryId('pothole');
    const spam = await report(spammer.accessToken, {
      title: 'Cheap watches here',
      description: 'Visit our shop',
      categoryId: pothole,
      location: { type: 'Point', coordinates: [28.07, -26.22] },
    });
    await db.query({ text: `INSERT INTO ban_list (kind, value) VALUES ('domain', 'spam.example')` });
    await db.query({ text: `UPDATE incidents SET hidden = true WHERE id = $1`, values: [spam] });

    const fourYearsOn = new Date(Date.now() + 4 * 365 * 24 * 3600 * 1000);
    // the active person signed in a day before the faked now
    await db.query({
      text: `INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at, created_at)
             VALUES (gen_random_uuid(), $1, $2, $3, $3)`,
      values: [active.user.id, randomBytes(32), new Date(fourYearsOn.getTime() - 24 * 3600 * 1000)],
    });
    const policy = { inactiveAccountYears: 3, hiddenSpamDays: 90 };

    // nothing is due today
    const today = await runRetention(db, policy, { dryRun: true });
    expect(today).toMatchObject({ inactiveAccounts: 0, spamReports: 0 });

    const out: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => out.push(s) };
    expect(
      await privacyCommand(db, { ...policy, termsVersion: 'x' }, ['retention', '--dry-run'], io, fourYearsOn),
    ).toBe(0);
    const dry = JSON.parse(out.join(''));
    expect(dry).toMatchObject({ dryRun: true, spamReports: 1, erasedAccounts: 0, purgedReports: 0 });
    expect(dry.inactiveAccounts).toBeGreaterThanOrEqual(2);
    const emailOf = async (id: string) =>
      (await db.query<{ email: string | null }>({ text: 'SELECT email FROM users WHERE id = $1', values: [id] }))
        .rows[0]?.email;
    expect(await emailOf(idle.user.id)).toBe('idle.person@example.org');

    const done = await runRetention(db, policy, { dryRun: false, now: fourYearsOn });
    expect(done).toMatchObject({ purgedReports: 1 });
    expect(done.erasedAccounts).toBe(dry.inactiveAccounts);
    expect(await emailOf(idle.user.id)).toBeNull();
    expect(await emailOf(active.user.id)).toBe('active.person@example.org');
    expect((await db.query({ text: 'SELECT 1 FROM incidents WHERE id = $1', values: [spam] })).rowCount).toBe(0);
    expect((await inject({ url: '/api/v1/me', headers: bearer(idle.accessToken) })).statusCode).toBe(401);
    await sealAudit(db);
    expect((await verifyAudit(db)).problems).toEqual([]);
  });
});
