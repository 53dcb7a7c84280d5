import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';

/**
 * Compression in the real app: what residents' phones download. The answers decode to exactly
 * what a client that asks for no compression gets, the response cache's validators hold across
 * both forms, and HTTP_COMPRESSION=off leaves it to a proxy.
 */
const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const BROWSER = { 'accept-encoding': 'gzip, deflate, br, zstd' };
const BOX = '/api/v1/incidents?bbox=27.99,-26.21,28.01,-26.19&limit=200';

describe('compression', () => {
  const h = useTestApp();
  const inject = (options: InjectOptions) => h.current.app.inject(options);

  beforeAll(async () => {
    const headers = await as(RESIDENT);
    for (let i = 0; i < 12; i++) {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers,
        payload: {
          title: `Pothole number ${i} on Main Road`,
          description: 'Deep enough to break an axle; cars swerve into the oncoming lane to miss it.',
          categoryId: POTHOLE,
          location: { type: 'Point', coordinates: [28 + i * 0.0005, -26.2] },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
  });

  it('sends a list page in Brotli to a browser, the same incidents as uncompressed', async () => {
    const plain = await inject({ url: BOX });
    expect(plain.statusCode).toBe(200);
    expect(json(plain).items).toHaveLength(12);
    expect(plain.headers['content-encoding']).toBeUndefined();

    const br = await inject({ url: BOX, headers: BROWSER });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(br.headers.vary).toContain('Accept-Encoding');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(json(plain));
  });

  it('keeps the response cache’s ETag for both forms, and a 304 without a body', async () => {
    const plain = await inject({ url: '/api/v1/categories?lang=af' });
    const first = await inject({ url: '/api/v1/categories?lang=af', headers: BROWSER });
    const hit = await inject({ url: '/api/v1/categories?lang=af', headers: BROWSER });
    expect(first.headers['content-encoding']).toBe('br');
    expect(hit.headers['x-cache']).toBe('hit');
    expect(hit.headers['content-encoding']).toBe('br');
    for (const res of [first, hit]) {
      expect(JSON.parse(brotliDecompressSync(res.rawPayload).toString())).toEqual(json(plain));
      expect(res.headers.etag).toBe(plain.headers.etag);
      expect(String(res.headers.vary).split(', ')).toEqual(
        expect.arrayContaining(['Accept-Language', 'Authorization', 'Accept-Encoding']),
      );
    }
    const notModified = await inject({
      url: '/api/v1/categories?lang=af',
      headers: { ...BROWSER, 'if-none-match': String(first.headers.etag) },
    });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers['content-encoding']).toBeUndefined();
    expect(notModified.rawPayload.length).toBe(0);
  });

  it('compresses a streamed export as it goes', async () => {
    const headers = await as(ADMIN, 'admin');
    const url = '/api/v1/incidents/export?format=csv';
    const plain = await inject({ url, headers });
    expect(plain.statusCode, plain.body).toBe(200);
    const gzip = await inject({ url, headers: { ...headers, 'accept-encoding': 'gzip' } });
    expect(gzip.statusCode).toBe(200);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers['content-length']).toBeUndefined();
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(plain.body);
    expect(plain.body).toContain('Pothole number 11 on Main Road');
  });

  it('leaves a short error as it is', async () => {
    const res = await inject({ url: '/api/v1/incidents?bbox=1,2,3', headers: BROWSER });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(json(res).status).toBe(400);
  });
});

describe('compression off (HTTP_COMPRESSION=off: a proxy does it)', () => {
  const h = useTestApp({ HTTP_COMPRESSION: 'off' });

  it('sends the bytes as they are, whatever the client accepts', async () => {
    const res = await h.current.app.inject({ url: '/api/v1/categories', headers: BROWSER });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(String(res.headers.vary ?? '')).not.toContain('Accept-Encoding');
    expect(json(res).items.length).toBeGreaterThanOrEqual(12);
  });
});
