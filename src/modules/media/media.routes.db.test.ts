import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { InjectOptions } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { backend } from '../../../test/helpers/database.js';
import { fetchMedia, multipart } from '../../../test/helpers/media.js';
import { TestS3 } from '../../../test/helpers/s3.js';
import * as fixtures from '../../../test/fixtures/media.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { deriveMediaKey, UrlSigner } from '../../platform/storage/url-signing.js';
import { collectOrphans } from './media.gc.js';
import { registerMediaJobs } from './media.jobs.js';
import { MAX_FILES_PER_INCIDENT } from './media.service.js';

/**
 * Media over HTTP, as production runs it in each mode: embedded (PGlite) with files on disk
 * served through signed URLs, and server Postgres with S3 (s3rver on loopback).
 */
const s3 = new TestS3(path.join(os.tmpdir(), `bw-s3-${randomBytes(4).toString('hex')}`));
const useS3 = backend() === 'postgres';
const dataDir = path.join(os.tmpdir(), `bw-media-${randomBytes(4).toString('hex')}`);

beforeAll(async () => {
  if (useS3) await s3.start();
});
afterAll(async () => {
  await s3.remove();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const h = useTestApp(() => ({
  DATA_DIR: dataDir,
  MEDIA_KEEP_ORIGINALS: 'on',
  MEDIA_DAILY_QUOTA_FILES: '40',
  ...(useS3 ? s3.env() : {}),
}));
const inject = (options: InjectOptions) => h.current.app.inject(options);
const open = (url: string) => fetchMedia(h.current.app, url, h.current.config.http.publicUrl);

const REPORTER = '00000000-0000-4000-8000-00000000b001';
const NEIGHBOUR = '00000000-0000-4000-8000-00000000b002';
const MODERATOR = '00000000-0000-4000-8000-00000000b003';
const BUSY = '00000000-0000-4000-8000-00000000b004';
const COMMUNITY = '00000000-0000-4000-8000-00000000bc01';

const CAMERA = { make: 'Canonical', model: 'Snapshot 5000', serial: 'SN-4242-SECRET' };
const GPS = { lat: -26.2041, lon: 28.0473 };

let categoryId: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categoryId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
  // a community around the test point, so its moderator is staff of the incidents made here
  await h.current.t.db.query({
    text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
           VALUES ($1, 'media-test', 'Media test', ST_Multi(ST_MakeEnvelope(28.0, -26.3, 28.1, -26.1, 4326)), 1)`,
    values: [COMMUNITY],
  });
});

async function createIncident(user = REPORTER, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(user),
    payload: {
      title: 'Burst pipe on Church Street',
      description: 'Water everywhere',
      categoryId,
      location: { type: 'Point', coordinates: [28.0473, -26.2041] },
      ...overrides,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id;
}

async function upload(
  incidentId: string,
  file: Buffer,
  headers: Record<string, string>,
  options: Parameters<typeof multipart>[1] = {},
) {
  const body = multipart(file, options);
  return inject({
    method: 'POST',
    url: `/api/v1/incidents/${incidentId}/media`,
    headers: { ...headers, ...body.headers },
    payload: body.payload,
  });
}

/** Every stored key under media/ right now. */
async function storedKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of h.current.storage.list('media/')) keys.push(o.key);
  return keys.sort();
}

describe('POST /incidents/:id/media — photos', () => {
  it('stores an upright, metadata-free display image, a thumbnail and JPEG fallbacks; GPS in, no GPS out', async () => {
    const incident = await createIncident();
    // stored 400×300 with orientation 6: upright it is 300 wide and 400 high
    const photo = await fixtures.jpegWithExif({ width: 400, height: 300, orientation: 6, gps: GPS, ...CAMERA });
    expect(photo.includes(Buffer.from(CAMERA.serial))).toBe(true);
    expect((await sharp(photo).metadata()).exif).toBeDefined();

    const res = await upload(incident, photo, await as(REPORTER), { contentType: 'image/jpeg' });
    expect(res.statusCode, res.body).toBe(201);
    const item = json(res);
    expect(res.headers.location).toBe(`/api/v1/incidents/${incident}/media/${item.id}`);
    expect(item).toMatchObject({ kind: 'image', contentType: 'image/webp', width: 300, height: 400 });
    expect(new Date(item.urlExpiresAt).getTime()).toBeGreaterThan(Date.now() + 3500 * 1000);

    const variants: Array<[string, 'webp' | 'jpeg', number]> = [
      [item.url, 'webp', 400],
      [item.fallbackUrl, 'jpeg', 400],
      [item.thumbnailUrl, 'webp', 320],
      [item.thumbnailFallbackUrl, 'jpeg', 320],
    ];
    for (const [url, format, longSide] of variants) {
      const served = await open(url);
      expect(served.status, url).toBe(200);
      expect(served.headers['content-type']).toBe(format === 'webp' ? 'image/webp' : 'image/jpeg');
      const meta = await sharp(served.body).metadata();
      expect(meta.format).toBe(format);
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.iptc).toBeUndefined();
      expect(meta.orientation ?? 1).toBe(1);
      expect(Math.max(meta.width, meta.height)).toBe(longSide);
      expect(meta.height).toBeGreaterThan(meta.width); // upright
      for (const secret of [CAMERA.make, CAMERA.model, CAMERA.serial, 'GPS']) {
        expect(served.body.includes(Buffer.from(secret)), `${secret} in ${format}`).toBe(false);
      }
    }
  });

  it('keeps the untouched original for admins only, and audits every access', async () => {
    const incident = await createIncident();
    const photo = await fixtures.jpegWithExif({ width: 64, height: 48, orientation: 1, gps: GPS, ...CAMERA });
    const item = json(await upload(incident, photo, await as(REPORTER)));
    const originalPath = `/api/v1/incidents/${incident}/media/${item.id}/original`;

    expect((await inject({ url: originalPath, headers: await as(REPORTER) })).statusCode).toBe(403);
    expect(
      (await inject({ url: originalPath, headers: await as(MODERATOR, `moderator:${COMMUNITY}`) })).statusCode,
    ).toBe(403);
    expect((await inject({ url: originalPath })).statusCode).toBe(401);

    const res = await inject({ url: originalPath, headers: await as(ADMIN, 'admin') });
    expect(res.statusCode, res.body).toBe(200);
    const original = await open(json(res).url);
    expect(original.status).toBe(200);
    expect(original.body.equals(photo)).toBe(true);
    expect(original.headers['content-disposition']).toMatch(/^attachment/);

    const { rows } = await h.current.t.db.query<{ actor_id: string }>({
      text: `SELECT actor_id FROM audit_log WHERE action = 'media.original_access' AND entity_id = $1`,
      values: [item.id],
    });
    expect(rows).toEqual([{ actor_id: ADMIN }]);
    // only admins learn that an original exists
    expect(
      json(await inject({ url: `/api/v1/incidents/${incident}/media`, headers: await as(ADMIN, 'admin') })).items[0],
    ).toMatchObject({ originalKept: true });
    expect(json(await inject({ url: `/api/v1/incidents/${incident}/media` })).items[0].originalKept).toBeUndefined();
  });

  it('refuses a pixel flood with 413 before decoding it', async () => {
    const incident = await createIncident();
    const res = await upload(incident, fixtures.pixelFloodPng(20_000, 20_000), await as(REPORTER));
    expect(res.statusCode, res.body).toBe(413);
    expect(json(res).detail).toContain('40 megapixels');
  });
});

describe('POST /incidents/:id/media — what is refused', () => {
  it.each([
    ['SVG', () => fixtures.svgImage()],
    ['HTML', () => fixtures.htmlPage()],
    ['an executable', () => fixtures.elfExecutable()],
    ['a JPEG/HTML polyglot', () => fixtures.jpegHtmlPolyglot()],
    ['an MP4 with a page appended', () => fixtures.mp4WithTrailingJunk()],
    [
      'a GIF',
      () =>
        sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
          .gif()
          .toBuffer(),
    ],
  ])('%s → 415, whatever its name and Content-Type claim', async (_name, make) => {
    const incident = await createIncident();
    const res = await upload(incident, await make(), await as(REPORTER), {
      filename: 'holiday.jpg',
      contentType: 'image/jpeg',
    });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(await storedKeysFor(incident)).toEqual([]);
  });

  it('says why in Afrikaans too', async () => {
    const incident = await createIncident();
    const body = multipart(fixtures.svgImage());
    const af = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident}/media?lang=af`,
      headers: { ...(await as(REPORTER)), ...body.headers },
      payload: body.payload,
    });
    expect(af.statusCode).toBe(415);
    expect(af.headers['content-language']).toBe('af');
    expect(json(af).detail).toMatch(/^Stuur 'n foto/);
  });

  it('413s a photo over 15 MB, a PDF over 10 MB, and says which limit', async () => {
    const incident = await createIncident();
    const jpegHead = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    const bigPhoto = Buffer.concat([jpegHead, Buffer.alloc(16 * 1024 * 1024)]);
    const res = await upload(incident, bigPhoto, await as(REPORTER));
    expect(res.statusCode, res.body).toBe(413);
    expect(json(res).detail).toContain('15 MB');
    const bigPdf = Buffer.concat([fixtures.pdfDocument(), Buffer.alloc(11 * 1024 * 1024, 0x20)]);
    const pdf = await upload(incident, bigPdf, await as(REPORTER));
    expect(pdf.statusCode, pdf.body).toBe(413);
    expect(json(pdf).detail).toContain('10 MB');
  });

  it('413s a request declaring more than the largest upload before reading its body', async () => {
    const incident = await createIncident();
    const headers = await as(REPORTER);
    const server = h.current.app.server;
    if (!server.listening) await h.current.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/incidents/${incident}/media`,
        headers: {
          ...headers,
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(500 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      req.on('error', reject);
      // a few bytes of the 500 MB promised: the answer must not wait for the rest
      req.write('--x\r\n');
    });
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
  });

  it('needs multipart with a field "file"', async () => {
    const incident = await createIncident();
    const notMultipart = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident}/media`,
      headers: { ...(await as(REPORTER)), 'content-type': 'image/jpeg' },
      payload: Buffer.from('xx'),
    });
    expect(notMultipart.statusCode).toBe(415);
    const wrongField = await upload(incident, await fixtures.pngImage(8, 8), await as(REPORTER), { field: 'photo' });
    expect(wrongField.statusCode, wrongField.body).toBe(400);
    expect(json(wrongField).errors[0].path).toBe('/body/file');
  });

  it('answers a cut-off multipart body with 400, not 500', async () => {
    const incident = await createIncident();
    const body = multipart(await fixtures.pngImage(8, 8));
    const res = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident}/media`,
      headers: { ...(await as(REPORTER)), ...body.headers },
      payload: body.payload.subarray(0, body.payload.length - 30),
    });
    expect(res.statusCode, res.body).toBe(400);
  });
});

describe('Open311', () => {
  it("gives a public request's first photo as media_url, a signed JPEG link", async () => {
    const incident = await createIncident();
    const reference = json(await inject({ url: `/api/v1/incidents/${incident}` })).reference;
    const none = json(await inject({ url: `/open311/v2/requests/${reference}.json` }));
    expect(none[0].media_url).toBeNull();
    await upload(incident, await fixtures.pngImage(64, 48), await as(REPORTER));
    await upload(incident, await fixtures.pngImage(32, 32), await as(REPORTER));
    const [request] = json(await inject({ url: `/open311/v2/requests/${reference}.json` }));
    const photo = await open(request.media_url);
    expect(photo.status).toBe(200);
    expect(photo.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(photo.body).metadata()).width).toBe(64); // the first one
  });
});

describe('video and documents', () => {
  it('keeps a video playable but drops its location and device boxes', async () => {
    const incident = await createIncident();
    const video = fixtures.mp4WithLocation();
    expect(video.includes(Buffer.from('\u00a9xyz', 'latin1'))).toBe(true);
    const res = await upload(incident, video, await as(REPORTER), { filename: 'clip.mov', contentType: 'text/html' });
    expect(res.statusCode, res.body).toBe(201);
    const item = json(res);
    expect(item).toMatchObject({ kind: 'video', contentType: 'video/mp4', thumbnailUrl: null, size: video.length });
    const served = await open(item.url);
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('video/mp4');
    expect(served.body.length).toBe(video.length);
    expect(served.body.includes(Buffer.from('\u00a9xyz', 'latin1'))).toBe(false);
    expect(served.body.includes(Buffer.from('+40.7128'))).toBe(false);
  });

  it('serves a PDF as a download, never inline', async () => {
    const incident = await createIncident();
    const pdf = fixtures.pdfDocument();
    const res = await upload(incident, pdf, await as(REPORTER), { filename: '../../etc/passwd' });
    expect(res.statusCode, res.body).toBe(201);
    const item = json(res);
    expect(item).toMatchObject({ kind: 'document', contentType: 'application/pdf' });
    const served = await open(item.url);
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('application/pdf');
    expect(served.headers['content-disposition']).toMatch(/^attachment/);
    expect(served.headers['content-disposition']).not.toContain('passwd');
    expect(served.body.equals(pdf)).toBe(true);
  });
});

describe('who sees and who may add files', () => {
  it('lets the reporter and the staff of the community add files; others get 403, signed out 401', async () => {
    const incident = await createIncident();
    const png = await fixtures.pngImage(16, 16);
    expect((await upload(incident, png, await as(NEIGHBOUR))).statusCode).toBe(403);
    expect((await upload(incident, png, {})).statusCode).toBe(401);
    expect((await upload(incident, png, await as(MODERATOR, `moderator:${COMMUNITY}`))).statusCode).toBe(201);
    expect((await upload(incident, png, await as(REPORTER))).statusCode).toBe(201);
  });

  it("hides a private incident's files from everyone who may not see the incident", async () => {
    const incident = await createIncident(REPORTER, { isPublic: false });
    const item = json(await upload(incident, await fixtures.pngImage(16, 16), await as(REPORTER)));
    const list = `/api/v1/incidents/${incident}/media`;
    expect((await inject({ url: list })).statusCode).toBe(404);
    expect((await inject({ url: list, headers: await as(NEIGHBOUR) })).statusCode).toBe(404);
    expect((await inject({ url: `${list}/${item.id}`, headers: await as(NEIGHBOUR) })).statusCode).toBe(404);
    expect((await upload(incident, await fixtures.pngImage(16, 16), await as(NEIGHBOUR))).statusCode).toBe(404);
    const staff = await inject({ url: list, headers: await as(MODERATOR, `moderator:${COMMUNITY}`) });
    expect(staff.statusCode).toBe(200);
    expect(json(staff).items.map((i: { id: string }) => i.id)).toEqual([item.id]);
    const own = await inject({ url: list, headers: await as(REPORTER) });
    expect((await open(json(own).items[0].url)).status).toBe(200);
  });
});

describe('limits', () => {
  it(`takes at most ${MAX_FILES_PER_INCIDENT} files per incident, even from 20 uploads at once, and leaves no orphans`, async () => {
    const incident = await createIncident();
    const headers = await as(REPORTER);
    const png = await fixtures.pngImage(32, 32);
    const results = await Promise.all(Array.from({ length: 20 }, () => upload(incident, png, headers)));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_FILES_PER_INCIDENT);
    expect(statuses.filter((s) => s === 409)).toHaveLength(20 - MAX_FILES_PER_INCIDENT);
    const list = json(await inject({ url: `/api/v1/incidents/${incident}/media` })).items;
    expect(list).toHaveLength(MAX_FILES_PER_INCIDENT);
    // exactly the objects of the ten rows are stored: the refused uploads removed theirs
    const expected = list.flatMap((i: { id: string }) =>
      [`display.jpg`, `display.webp`, `thumb.jpg`, `thumb.webp`, 'original'].map((v) => `media/${i.id}/${v}`),
    );
    expect(await storedKeysFor(incident)).toEqual(expected.sort());
  });

  it('keeps a daily quota per person, with Retry-After', async () => {
    const headers = await as(BUSY);
    const png = await fixtures.pngImage(8, 8);
    const incidents = [
      await createIncident(BUSY),
      await createIncident(BUSY),
      await createIncident(BUSY),
      await createIncident(BUSY),
    ];
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      const res = await upload(incidents[Math.floor(i / 10)]!, png, headers);
      expect(res.statusCode, res.body).toBe(201);
      accepted++;
    }
    expect(accepted).toBe(40);
    const fifthIncident = await createIncident(BUSY);
    const refused = await upload(fifthIncident, png, headers);
    expect(refused.statusCode, refused.body).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(23 * 3600);
    expect(json(refused).detail).toMatch(/upload limit for today/);
  });
});

describe('signed URLs', () => {
  // s3rver does not check signatures (LIBRARIES.md), so on S3 the test checks the presigning
  it('gives nothing for a tampered or expired link (filesystem); presigns for one hour (S3)', async () => {
    if (useS3) return checkPresigned();
    const incident = await createIncident();
    const item = json(await upload(incident, await fixtures.pngImage(16, 16), await as(REPORTER)));
    expect((await open(item.url)).status).toBe(200);
    const url = new URL(item.url);
    const tamper = (mutate: (u: URL) => void) => {
      const copy = new URL(url);
      mutate(copy);
      return copy.toString();
    };
    const otherId = randomUUID();
    const bad = [
      tamper((u) => (u.pathname = u.pathname.replace(item.id, otherId))),
      tamper((u) => (u.pathname = u.pathname.replace('display.webp', 'display.jpg'))),
      ...[...url.searchParams.keys()].map((k) => tamper((u) => u.searchParams.set(k, `${u.searchParams.get(k)}0`))),
      tamper((u) => u.searchParams.delete([...url.searchParams.keys()].at(-1)!)),
    ];
    for (const link of bad) {
      const res = await open(link);
      expect(res.status, link).toBe(404);
      expect(res.body.includes(Buffer.from('RIFF'))).toBe(false);
    }
    // signed with the app's own key, but already expired
    const signer = new UrlSigner(deriveMediaKey(loadJwtSecret(h.current.config)));
    const key = `media/${item.id}/display.webp`;
    const params = signer.sign(key, {
      contentType: 'image/webp',
      disposition: 'inline',
      expiresAt: Math.floor(Date.now() / 1000) - 5,
    });
    const expired = `${h.current.config.http.publicUrl}/files/${key}?${new URLSearchParams({ ...params })}`;
    expect((await open(expired)).status).toBe(404);
    const fresh = signer.sign(key, {
      contentType: 'image/webp',
      disposition: 'inline',
      expiresAt: Math.floor(Date.now() / 1000) + 60,
    });
    expect(
      (await open(`${h.current.config.http.publicUrl}/files/${key}?${new URLSearchParams({ ...fresh })}`)).status,
    ).toBe(200);
  });

  async function checkPresigned() {
    const incident = await createIncident();
    const item = json(await upload(incident, await fixtures.pngImage(16, 16), await as(REPORTER)));
    const url = new URL(item.url);
    expect(url.origin).toBe(s3.endpoint);
    expect(url.pathname).toBe(`/${s3.bucket}/media/${item.id}/display.webp`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  }
});

describe('deleting', () => {
  it('removes a file and every stored variant, on the timeline and in the audit trail', async () => {
    const incident = await createIncident();
    const item = json(await upload(incident, await fixtures.pngImage(16, 16), await as(REPORTER)));
    expect(await storedKeysFor(incident)).toHaveLength(5);
    expect(
      (
        await inject({
          method: 'DELETE',
          url: `/api/v1/incidents/${incident}/media/${item.id}`,
          headers: await as(NEIGHBOUR),
        })
      ).statusCode,
    ).toBe(403);
    const res = await inject({
      method: 'DELETE',
      url: `/api/v1/incidents/${incident}/media/${item.id}`,
      headers: await as(REPORTER),
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(await storedKeysFor(incident)).toEqual([]);
    expect((await open(item.url)).status).toBeGreaterThanOrEqual(400);
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident}/timeline` })).items.map(
      (e: { type: string }) => e.type,
    );
    expect(timeline).toEqual(['created', 'media_added', 'media_removed']);
    const { rows } = await h.current.t.db.query<{ action: string }>({
      text: `SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id`,
      values: [item.id],
    });
    expect(rows.map((r) => r.action)).toEqual(['media.upload', 'media.delete']);
  });

  it('removes every file of a deleted incident through the job queue', async () => {
    const incident = await createIncident();
    const headers = await as(REPORTER);
    await upload(incident, await fixtures.pngImage(16, 16), headers);
    await upload(incident, fixtures.pdfDocument(), headers);
    // photo: four variants and the original; PDF: the document and the original
    expect(await storedKeysFor(incident)).toHaveLength(7);
    const res = await inject({
      method: 'DELETE',
      url: `/api/v1/incidents/${incident}`,
      headers: await as(ADMIN, 'admin'),
    });
    expect(res.statusCode, res.body).toBe(204);
    expect((await inject({ url: `/api/v1/incidents/${incident}` })).statusCode).toBe(404);
    await runJobs();
    expect(await storedKeysFor(incident)).toEqual([]);
  });

  it('lets a reporter withdraw a report nobody has acted on, and nothing after that', async () => {
    const incident = await createIncident();
    const other = await createIncident();
    await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${other}`,
      headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
      payload: { status: 'acknowledged' },
    });
    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/incidents/${incident}`, headers: await as(NEIGHBOUR) }))
        .statusCode,
    ).toBe(403);
    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/incidents/${other}`, headers: await as(REPORTER) })).statusCode,
    ).toBe(403);
    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/incidents/${incident}`, headers: await as(REPORTER) }))
        .statusCode,
    ).toBe(204);
  });

  it('collects orphaned objects after their grace period, and never a live one', async () => {
    const incident = await createIncident();
    const item = json(await upload(incident, await fixtures.pngImage(16, 16), await as(REPORTER)));
    const orphanId = randomUUID();
    const tmp = path.join(os.tmpdir(), `bw-orphan-${orphanId}`);
    fs.writeFileSync(tmp, 'left behind by an upload that died');
    await h.current.storage.putFile(`media/${orphanId}/display.webp`, tmp, 'image/webp');
    fs.rmSync(tmp);

    const young = await collectOrphans(h.current.t.db, h.current.storage);
    expect(young.removedObjects).toBe(0);
    const result = await collectOrphans(h.current.t.db, h.current.storage, { graceSeconds: 0 });
    expect(result).toMatchObject({ removedObjects: 1, removedMedia: 1 });
    const keys = await storedKeys();
    expect(keys.some((k) => k.includes(orphanId))).toBe(false);
    expect(keys.filter((k) => k.includes(item.id))).toHaveLength(5);
  });
});

async function storedKeysFor(incidentId: string): Promise<string[]> {
  const { rows } = await h.current.t.db.query<{ id: string }>({
    text: `SELECT id::text FROM media WHERE incident_id = $1`,
    values: [incidentId],
  });
  const ids = new Set(rows.map((r) => r.id));
  const all = await storedKeys();
  // objects of this incident's rows, plus any object that belongs to no row at all (an orphan)
  const { rows: every } = await h.current.t.db.query<{ id: string }>({ text: 'SELECT id::text FROM media' });
  const known = new Set(every.map((r) => r.id));
  return all.filter((k) => {
    const id = k.split('/')[1]!;
    return ids.has(id) || !known.has(id);
  });
}

async function runJobs(): Promise<void> {
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const jobs = new JobRunner(h.current.t.db, silent);
  registerMediaJobs(jobs, h.current.t.db, h.current.storage, silent);
  while ((await jobs.runDue()) > 0) {
    /* until nothing is due */
  }
}
