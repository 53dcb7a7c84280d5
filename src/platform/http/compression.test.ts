import { Readable } from 'node:stream';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isCompressible,
  MAX_INLINE_BYTES,
  MIN_COMPRESSED_BYTES,
  negotiateEncoding,
  registerCompression,
} from './compression.js';

describe('negotiateEncoding', () => {
  it('prefers Brotli, then gzip, as a browser asks', () => {
    expect(negotiateEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(negotiateEncoding('gzip, deflate')).toBe('gzip');
    expect(negotiateEncoding('x-gzip')).toBe('gzip');
    expect(negotiateEncoding('deflate')).toBeNull();
    expect(negotiateEncoding(undefined)).toBeNull();
    expect(negotiateEncoding('')).toBeNull();
  });
  it('follows the weights: the highest acceptable one, none that is refused', () => {
    expect(negotiateEncoding('br;q=0.5, gzip;q=1')).toBe('gzip');
    expect(negotiateEncoding('br;q=0, gzip')).toBe('gzip');
    expect(negotiateEncoding('BR; Q=0.8, gzip;q=0.8')).toBe('br');
    expect(negotiateEncoding('gzip;q=0, br;q=0')).toBeNull();
    expect(negotiateEncoding('identity')).toBeNull();
    // a weight that is not one is read as a refusal, not as 1
    expect(negotiateEncoding('br;q=2, gzip;q=0.1')).toBe('gzip');
    expect(negotiateEncoding('br;q=high')).toBeNull();
  });
  it('reads * as every coding not named', () => {
    expect(negotiateEncoding('*')).toBe('br');
    expect(negotiateEncoding('br;q=0, *')).toBe('gzip');
    expect(negotiateEncoding('*;q=0')).toBeNull();
    expect(negotiateEncoding('gzip, *;q=0')).toBe('gzip');
  });
});

describe('isCompressible', () => {
  it('takes text, JSON and XML of every flavour, JavaScript and SVG', () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/problem+json',
      'application/geo+json',
      'application/xml',
      'application/rss+xml; charset=utf-8',
      'text/csv; charset=utf-8',
      'text/html',
      'text/plain; version=0.0.4',
      'application/javascript',
      'image/svg+xml',
    ]) {
      expect(isCompressible(type), type).toBe(true);
    }
  });
  it('leaves what is compressed already, and live event streams', () => {
    for (const type of [
      'image/jpeg',
      'image/webp',
      'video/mp4',
      'application/zip',
      'application/octet-stream',
      'application/pdf',
      'text/event-stream',
    ]) {
      expect(isCompressible(type), type).toBe(false);
    }
  });
});

describe('registerCompression', () => {
  let app: FastifyInstance;
  // repetitive like a list page, and well over the threshold
  const items = Array.from({ length: 200 }, (_, i) => ({ id: i, title: `Pothole on street ${i}`, status: 'reported' }));
  const csv = Array.from({ length: 2000 }, (_, i) => `${i},Pothole,reported\n`).join('');

  beforeAll(async () => {
    app = Fastify();
    registerCompression(app);
    app.get('/list', async () => ({ items }));
    app.get('/small', async () => ({ ok: true }));
    // over MAX_INLINE_BYTES: compressed on the thread pool
    app.get('/large', async () => ({ items: Array.from({ length: 40 }, () => items) }));
    app.get('/bytes', async (_request, reply) =>
      reply.type('application/json').send(Buffer.from(JSON.stringify({ items }))),
    );
    app.get('/csv', async (_request, reply) =>
      reply.type('text/csv; charset=utf-8').send(Readable.from([csv.slice(0, 5000), csv.slice(5000)])),
    );
    app.get('/photo', async (_request, reply) => reply.type('image/jpeg').send(Buffer.alloc(50_000, 7)));
    app.get('/encoded', async (_request, reply) =>
      reply.type('application/javascript').header('content-encoding', 'br').send(Buffer.alloc(5000, 1)),
    );
    app.get('/range', async (_request, reply) =>
      reply.code(206).type('text/plain').header('content-range', 'bytes 0-4999/9000').send('x'.repeat(5000)),
    );
    app.get('/tagged', async (_request, reply) =>
      reply.type('text/plain').header('etag', '"v1"').send('y'.repeat(5000)),
    );
    app.get('/varied', async (_request, reply) =>
      reply.type('text/plain').header('vary', 'accept-encoding, Origin').send('z'.repeat(5000)),
    );
    app.get('/any', async (_request, reply) => reply.type('text/plain').header('vary', '*').send('z'.repeat(5000)));
    app.get('/weak', async (_request, reply) =>
      reply.type('text/plain').header('etag', 'W/"v1"').send('y'.repeat(5000)),
    );
    await app.ready();
  });
  afterAll(() => app.close());

  it('sends a large JSON answer in Brotli or gzip, as asked, and the same bytes decoded', async () => {
    const plain = await app.inject({ url: '/list' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.rawPayload.length).toBeGreaterThan(MIN_COMPRESSED_BYTES);

    const br = await app.inject({ url: '/list', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toBe('Accept-Encoding');
    expect(Number(br.headers['content-length'])).toBe(br.rawPayload.length);
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);

    const gzip = await app.inject({ url: '/bytes', headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(Number(gzip.headers['content-length'])).toBe(gzip.rawPayload.length);
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(JSON.stringify({ items }));
  });

  it('compresses an answer too large for the event loop on the thread pool, in either coding', async () => {
    const plain = await app.inject({ url: '/large' });
    expect(plain.rawPayload.length).toBeGreaterThan(MAX_INLINE_BYTES);
    const br = await app.inject({ url: '/large', headers: { 'accept-encoding': 'br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
    const gzip = await app.inject({ url: '/large', headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(plain.body);
  });

  it('compresses a stream as it goes, without a length', async () => {
    const res = await app.inject({ url: '/csv', headers: { 'accept-encoding': 'br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-length']).toBeUndefined();
    expect(brotliDecompressSync(res.rawPayload).toString()).toBe(csv);
  });

  it('leaves small answers, compressed types, encoded bodies and ranges as they are', async () => {
    const asks = { 'accept-encoding': 'br, gzip' };
    const small = await app.inject({ url: '/small', headers: asks });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.headers.vary).toBeUndefined();
    expect(small.json()).toEqual({ ok: true });

    const photo = await app.inject({ url: '/photo', headers: asks });
    expect(photo.headers['content-encoding']).toBeUndefined();
    expect(photo.rawPayload.length).toBe(50_000);

    const encoded = await app.inject({ url: '/encoded', headers: asks });
    expect(encoded.headers['content-encoding']).toBe('br');
    expect(encoded.rawPayload.equals(Buffer.alloc(5000, 1))).toBe(true);

    const range = await app.inject({ url: '/range', headers: asks });
    expect(range.headers['content-encoding']).toBeUndefined();
    expect(range.body).toBe('x'.repeat(5000));
  });

  it('weakens a strong ETag on the encoded form and keeps a weak one', async () => {
    const plain = await app.inject({ url: '/tagged' });
    expect(plain.headers.etag).toBe('"v1"');
    const br = await app.inject({ url: '/tagged', headers: { 'accept-encoding': 'br' } });
    expect(br.headers.etag).toBe('W/"v1"');
    const weak = await app.inject({ url: '/weak', headers: { 'accept-encoding': 'br' } });
    expect(weak.headers.etag).toBe('W/"v1"');
  });

  it('names Accept-Encoding in Vary once, beside what is there', async () => {
    const varied = await app.inject({ url: '/varied', headers: { 'accept-encoding': 'br' } });
    expect(varied.headers.vary).toBe('accept-encoding, Origin');
    const any = await app.inject({ url: '/any', headers: { 'accept-encoding': 'br' } });
    expect(any.headers.vary).toBe('*');
    expect(any.headers['content-encoding']).toBe('br');
  });

  it('answers HEAD with the headers of the encoded form', async () => {
    for (const url of ['/list', '/csv']) {
      const res = await app.inject({ method: 'HEAD', url, headers: { 'accept-encoding': 'br' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-encoding'], url).toBe('br');
      expect(res.rawPayload.length, url).toBe(0);
    }
  });
});
