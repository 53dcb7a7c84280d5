import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../http/error-handler.js';
import { registerHardening } from '../http/hardening.js';
import { fileRoutes, parseRange } from './files.routes.js';
import { FileSystemStorage } from './filesystem.js';
import { S3Storage, type S3StorageOptions } from './s3.js';
import {
  StorageConfigurationError,
  StorageUnavailableError,
  type BlobStorage,
  type SignedUrlOptions,
  type StoredObjectInfo,
} from './storage.js';
import { deriveMediaKey, UrlSigner } from './url-signing.js';

// s3rver ships no types: the little of it used here
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

const BUCKET = 'buurtwag-test';
const PUBLIC_URL = 'http://media.test:3000';
// s3rver looks the access key up (it knows only this one) but checks no signature
const S3RVER_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };

let tmp: string;
let sourceDir: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'buurtwag-storage-'));
  sourceDir = path.join(tmp, 'sources');
  await fs.mkdir(sourceDir);
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function sourceFile(bytes: Buffer): Promise<string> {
  const file = path.join(sourceDir, randomUUID());
  await fs.writeFile(file, bytes);
  return file;
}

const mediaKey = (variant: string, id: string = randomUUID()) => `media/${id}/${variant}`;

async function collect(iterable: AsyncIterable<StoredObjectInfo>): Promise<StoredObjectInfo[]> {
  const items: StoredObjectInfo[] = [];
  for await (const item of iterable) items.push(item);
  return items.sort((a, b) => a.key.localeCompare(b.key));
}

interface Fetched {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

interface Subject {
  storage: BlobStorage;
  /** GET a signed URL the way a browser would */
  fetch(url: string): Promise<Fetched>;
}

const BAD_KEYS = [
  '',
  '/media/x/original',
  'media/x/',
  'media//original',
  '../etc/passwd',
  'media/../original',
  'media/./original',
  'media/x/.hidden',
  'Media/X/original',
  'media/x/display webp',
  'media/%2e%2e/original',
  'media\\x\\original',
  `media/${'a'.repeat(300)}`,
];

/** What every store must do alike. */
function contract(name: string, subject: () => Subject): void {
  describe(`${name}: the storage contract`, () => {
    it('stores a file, knows it exists, and lists it', async () => {
      const { storage } = subject();
      const id = randomUUID();
      const bytes = randomBytes(1234);
      await storage.putFile(mediaKey('display.webp', id), await sourceFile(bytes), 'image/webp');
      await storage.putFile(mediaKey('thumb.jpg', id), await sourceFile(randomBytes(10)), 'image/jpeg');

      expect(await storage.exists(mediaKey('display.webp', id))).toBe(true);
      expect(await storage.exists(mediaKey('original', id))).toBe(false);

      const listed = await collect(storage.list(`media/${id}/`));
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        [mediaKey('display.webp', id), 1234],
        [mediaKey('thumb.jpg', id), 10],
      ]);
      for (const o of listed) {
        expect(o.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(o.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
      }
      // a prefix is text, not a directory: part of a segment matches too
      expect((await collect(storage.list(`media/${id}/thu`))).map((o) => o.key)).toEqual([mediaKey('thumb.jpg', id)]);
      expect((await collect(storage.list(`media/${id.slice(0, 8)}`))).map((o) => o.key)).toContain(
        mediaKey('thumb.jpg', id),
      );
      expect(await collect(storage.list(`media/${randomUUID()}/`))).toEqual([]);
    });

    it('replaces an object put again under the same key', async () => {
      const { storage } = subject();
      const key = mediaKey('original');
      await storage.putFile(key, await sourceFile(Buffer.from('first version')), 'application/pdf');
      await storage.putFile(key, await sourceFile(Buffer.from('second')), 'application/pdf');
      const [object] = await collect(storage.list(key));
      expect(object?.size).toBe(6);
    });

    it('streams a file of several megabytes whole', async () => {
      const { storage, fetch } = subject();
      const key = mediaKey('video');
      const bytes = randomBytes(9 * 1024 * 1024 + 7); // past S3Storage's large-put threshold
      await storage.putFile(key, await sourceFile(bytes), 'video/mp4');
      const response = await fetch(
        await storage.signedUrl(key, { contentType: 'video/mp4', disposition: 'inline', expiresInSeconds: 60 }),
      );
      expect(response.status).toBe(200);
      expect(response.body.equals(bytes)).toBe(true);
    });

    it('deletes, and deleting a key that is not there is no error', async () => {
      const { storage } = subject();
      const id = randomUUID();
      const keys = [mediaKey('display.webp', id), mediaKey('thumb.jpg', id)];
      for (const key of keys) await storage.putFile(key, await sourceFile(randomBytes(5)), 'image/jpeg');

      await storage.delete([...keys, mediaKey('original', id)]);
      for (const key of keys) expect(await storage.exists(key)).toBe(false);
      expect(await collect(storage.list(`media/${id}/`))).toEqual([]);
      await storage.delete([mediaKey('original')]);
      await storage.delete([]);
    });

    it('serves a signed URL with the type and disposition it was signed for', async () => {
      const { storage, fetch } = subject();
      const key = mediaKey('document');
      const bytes = Buffer.from('%PDF-1.7 not really');
      // stored as one type, served as the type the URL names
      await storage.putFile(key, await sourceFile(bytes), 'application/octet-stream');

      const download = await fetch(
        await storage.signedUrl(key, {
          contentType: 'application/pdf',
          disposition: 'attachment',
          filename: 'incident-42.pdf',
          expiresInSeconds: 300,
        }),
      );
      expect(download.status).toBe(200);
      expect(download.body.equals(bytes)).toBe(true);
      expect(download.headers['content-type']).toBe('application/pdf');
      expect(download.headers['content-disposition']).toBe('attachment; filename="incident-42.pdf"');

      const inline = await fetch(
        await storage.signedUrl(key, { contentType: 'image/webp', disposition: 'inline', expiresInSeconds: 300 }),
      );
      expect(inline.status).toBe(200);
      expect(inline.headers['content-type']).toBe('image/webp');
      expect(inline.headers['content-disposition']).toBe('inline');
    });

    it('refuses keys outside the key rules, before touching the store', async () => {
      const { storage } = subject();
      const file = await sourceFile(Buffer.from('x'));
      const url: SignedUrlOptions = { contentType: 'image/jpeg', disposition: 'inline', expiresInSeconds: 60 };
      for (const key of BAD_KEYS) {
        await expect(storage.putFile(key, file, 'image/jpeg'), key).rejects.toThrow(TypeError);
        await expect(storage.exists(key), key).rejects.toThrow(TypeError);
        await expect(storage.delete([mediaKey('original'), key]), key).rejects.toThrow(TypeError);
        await expect(storage.signedUrl(key, url), key).rejects.toThrow(TypeError);
      }
      await expect(collect(storage.list('../'))).rejects.toThrow(TypeError);
    });

    it('refuses signed URL options that could break the headers or outlive S3’s limit', async () => {
      const { storage } = subject();
      const key = mediaKey('original');
      const base: SignedUrlOptions = { contentType: 'image/jpeg', disposition: 'inline', expiresInSeconds: 60 };
      await expect(storage.signedUrl(key, { ...base, contentType: 'text/html\r\nx: y' })).rejects.toThrow(TypeError);
      await expect(storage.signedUrl(key, { ...base, filename: 'a"b.pdf' })).rejects.toThrow(TypeError);
      await expect(storage.signedUrl(key, { ...base, expiresInSeconds: 0 })).rejects.toThrow(RangeError);
      await expect(storage.signedUrl(key, { ...base, expiresInSeconds: 8 * 86_400 })).rejects.toThrow(RangeError);
    });

    it('answers ping', async () => {
      await subject().storage.ping();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// filesystem

const signer = new UrlSigner(deriveMediaKey('a JWT secret of at least thirty-two characters'));

describe('filesystem store', () => {
  let root: string;
  let storage: FileSystemStorage;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = path.join(tmp, 'media');
    storage = new FileSystemStorage({ root, publicUrl: `${PUBLIC_URL}/`, signer });
    app = Fastify({ logger: false });
    registerErrorHandling(app);
    // the real hardening: its helmet headers must not win over the file's own
    await registerHardening(app, { corsOrigins: [] });
    await app.register(fileRoutes, { storage });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  async function inject(
    url: string,
    options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {},
  ): Promise<Fetched> {
    // a path is sent as it is (URL would resolve dots), an absolute URL as its path and query
    const parsed = url.startsWith('/') ? null : new URL(url);
    const response = await app.inject({
      method: options.method ?? 'GET',
      url: parsed ? parsed.pathname + parsed.search : url,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name] = value?.toString();
    return { status: response.statusCode, headers, body: response.rawPayload };
  }

  /** a GET over a real socket, the path exactly as given */
  async function rawGet(requestPath: string): Promise<Fetched> {
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as net.AddressInfo;
    return new Promise((resolve, reject) => {
      // options, not a URL string: http.get would resolve the dots of a URL string
      const request = http.get({ host: '127.0.0.1', port, path: requestPath }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers: Record<string, string | undefined> = {};
          for (const [name, value] of Object.entries(response.headers)) headers[name] = value?.toString();
          resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
      });
      request.on('error', reject);
    });
  }

  contract('filesystem', () => ({ storage, fetch: (url) => inject(url) }));

  async function stored(bytes: Buffer, options: Partial<SignedUrlOptions> = {}) {
    const key = mediaKey('video');
    await storage.putFile(key, await sourceFile(bytes), 'video/mp4');
    const url = await storage.signedUrl(key, {
      contentType: 'video/mp4',
      disposition: 'inline',
      expiresInSeconds: 600,
      ...options,
    });
    return { key, url: new URL(url) };
  }

  it('makes absolute URLs under the public URL, and keeps files as plain files under the root', async () => {
    const { key, url } = await stored(Buffer.from('abc'));
    expect(url.origin).toBe(PUBLIC_URL);
    expect(url.pathname).toBe(`/files/${key}`);
    expect([...url.searchParams.keys()].sort()).toEqual(['d', 'e', 's', 't']);
    expect(Number(url.searchParams.get('e')) - Date.now() / 1000).toBeGreaterThan(590);
    expect(await fs.readFile(path.join(root, ...key.split('/')), 'utf8')).toBe('abc');
  });

  it('serves with headers that keep the file inert, cache it privately, and allow ranges', async () => {
    const { url } = await stored(Buffer.from('hello'));
    const response = await inject(url.href);
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('hello');
    expect(response.headers).toMatchObject({
      'content-type': 'video/mp4',
      'content-length': '5',
      'content-disposition': 'inline',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cross-origin-resource-policy': 'cross-origin',
      'accept-ranges': 'bytes',
    });
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers['cache-control'] ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(600);
  });

  it('answers 404 problem+json when any signed part of the URL is changed', async () => {
    const { key, url } = await stored(Buffer.from('secret'), { disposition: 'attachment', filename: 'a.mp4' });
    expect((await inject(url.href)).status).toBe(200);
    const tamper = (change: (u: URL) => void) => {
      const copy = new URL(url.href);
      change(copy);
      return inject(copy.href);
    };
    const otherKey = mediaKey('video');
    await storage.putFile(otherKey, await sourceFile(Buffer.from('other')), 'video/mp4');
    const tampered = [
      await tamper((u) => (u.pathname = `/files/${otherKey}`)),
      await tamper((u) => u.searchParams.set('e', String(Number(u.searchParams.get('e')) + 3600))),
      await tamper((u) => u.searchParams.set('t', 'text/html')),
      await tamper((u) => u.searchParams.set('d', 'inline')),
      await tamper((u) => u.searchParams.set('n', 'b.mp4')),
      await tamper((u) => u.searchParams.delete('n')),
      // another last character (a 32-byte HMAC's last base64url character is one of 16, 'A' among them)
      await tamper((u) => {
        const sig = u.searchParams.get('s')!;
        u.searchParams.set('s', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'Q' : 'A'}`);
      }),
      await tamper((u) => u.searchParams.delete('s')),
      await tamper((u) => u.searchParams.append('s', u.searchParams.get('s')!)),
      await tamper((u) => (u.pathname = '/files/')),
      await inject(`/files/${key.toUpperCase()}${url.search}`),
      // inject, like URL, would resolve the dots itself: over a socket they arrive as sent
      await rawGet(`/files/${key.replace('media/', 'media/../media/')}${url.search}`),
      await rawGet(`/files/${key.replace('media/', 'media/%2e%2e/media/')}${url.search}`),
    ];
    for (const response of tampered) {
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.toString()).not.toContain('secret');
    }
  });

  it('answers 404 once the URL has expired, and for a signed key whose file is gone', async () => {
    const key = mediaKey('thumb.jpg');
    await storage.putFile(key, await sourceFile(Buffer.from('x')), 'image/jpeg');
    const now = Math.floor(Date.now() / 1000);
    const query = (expiresAt: number) =>
      new URLSearchParams({ ...signer.sign(key, { contentType: 'image/jpeg', disposition: 'inline', expiresAt }) });
    expect((await inject(`/files/${key}?${query(now + 60)}`)).status).toBe(200);
    expect((await inject(`/files/${key}?${query(now - 1)}`)).status).toBe(404);
    expect((await inject(`/files/${key}?${query(now)}`)).status).toBe(404);

    const { key: goneKey, url } = await stored(Buffer.from('soon gone'));
    await storage.delete([goneKey]);
    const gone = await inject(url.href);
    expect(gone.status).toBe(404);
    expect(gone.headers['content-type']).toContain('application/problem+json');
  });

  it('serves single byte ranges so video can seek, and 416 beyond the end', async () => {
    const bytes = Buffer.from('0123456789');
    const { url } = await stored(bytes);
    const range = (value: string) => inject(url.href, { headers: { range: value } });

    const middle = await range('bytes=2-5');
    expect(middle.status).toBe(206);
    expect(middle.body.toString()).toBe('2345');
    expect(middle.headers['content-range']).toBe('bytes 2-5/10');
    expect(middle.headers['content-length']).toBe('4');

    const open = await range('bytes=7-');
    expect([open.status, open.body.toString(), open.headers['content-range']]).toEqual([206, '789', 'bytes 7-9/10']);

    const suffix = await range('bytes=-3');
    expect([suffix.status, suffix.body.toString(), suffix.headers['content-range']]).toEqual([
      206,
      '789',
      'bytes 7-9/10',
    ]);

    const clamped = await range('bytes=8-100');
    expect([clamped.status, clamped.body.toString(), clamped.headers['content-range']]).toEqual([
      206,
      '89',
      'bytes 8-9/10',
    ]);

    for (const unsatisfiable of ['bytes=10-', 'bytes=20-30', 'bytes=-0']) {
      const response = await range(unsatisfiable);
      expect(response.status, unsatisfiable).toBe(416);
      expect(response.headers['content-range']).toBe('bytes */10');
      expect(response.body.length).toBe(0);
    }

    // several ranges, or nonsense: the whole file, as RFC 9110 allows
    for (const ignored of ['bytes=0-1,4-5', 'bytes=5-2', 'items=0-1', 'bytes=-']) {
      const response = await range(ignored);
      expect([response.status, response.body.toString()], ignored).toEqual([200, '0123456789']);
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const { url } = await stored(Buffer.from('0123456789'));
    const head = await inject(url.href, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('10');
    expect(head.headers['content-type']).toBe('video/mp4');
    expect(head.body.length).toBe(0);

    const partial = await inject(url.href, { method: 'HEAD', headers: { range: 'bytes=-4' } });
    expect([partial.status, partial.headers['content-range'], partial.body.length]).toEqual([206, 'bytes 6-9/10', 0]);
  });

  it('serves an empty file', async () => {
    const { url } = await stored(Buffer.alloc(0));
    const response = await inject(url.href);
    expect([response.status, response.headers['content-length'], response.body.length]).toEqual([200, '0', 0]);
  });

  it('leaves no temporary file behind, after a put or a failed one', async () => {
    const id = randomUUID();
    await storage.putFile(mediaKey('original', id), await sourceFile(Buffer.from('x')), 'image/jpeg');
    // many at once, so that the opens queue in libuv's thread pool: the temporary file was once
    // created by a write stream still opening after a missing source had failed the copy, and
    // so after its removal (seen once in CI)
    const failures = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        storage.putFile(mediaKey('thumb.jpg', id), path.join(sourceDir, 'missing'), 'image/jpeg'),
      ),
    );
    for (const failure of failures) expect(failure).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    expect(await fs.readdir(path.join(root, 'media', id))).toEqual(['original']);
  });

  it('removes directories that a delete leaves empty, and only those', async () => {
    const a = randomUUID();
    const b = randomUUID();
    await storage.putFile(mediaKey('original', a), await sourceFile(Buffer.from('a')), 'image/jpeg');
    await storage.putFile(mediaKey('thumb.jpg', a), await sourceFile(Buffer.from('a')), 'image/jpeg');
    await storage.putFile(mediaKey('original', b), await sourceFile(Buffer.from('b')), 'image/jpeg');

    await storage.delete([mediaKey('original', a)]);
    expect(await fs.readdir(path.join(root, 'media', a))).toEqual(['thumb.jpg']);
    await storage.delete([mediaKey('thumb.jpg', a)]);
    await expect(fs.stat(path.join(root, 'media', a))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await storage.exists(mediaKey('original', b))).toBe(true);
    expect((await fs.stat(root)).isDirectory()).toBe(true);
  });

  it('reports a root it cannot write to as unavailable', async () => {
    const blocker = path.join(tmp, 'not-a-directory');
    await fs.writeFile(blocker, '');
    const broken = new FileSystemStorage({ root: path.join(blocker, 'media'), publicUrl: PUBLIC_URL, signer });
    await expect(broken.ping()).rejects.toThrow(StorageUnavailableError);
  });

  it('parses ranges', () => {
    expect(parseRange('bytes=0-0', 1)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=-5', 3)).toEqual({ start: 0, end: 2 });
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes= 1-2', 10)).toBeNull();
  });
});

describe('URL signing', () => {
  const options = { contentType: 'image/webp', disposition: 'inline' as const, expiresAt: 2_000_000_000 };

  it('verifies what it signed, until the expiry', () => {
    const params = signer.sign('media/x/display.webp', options);
    expect(signer.verify('media/x/display.webp', { ...params }, 1_999_999_999)).toEqual(options);
    expect(signer.verify('media/x/display.webp', { ...params }, 2_000_000_000)).toBeNull();
  });

  it('covers the file name, and tells no name from an empty one', () => {
    const params = signer.sign('media/x/document', { ...options, disposition: 'attachment', filename: 'a.pdf' });
    expect(signer.verify('media/x/document', { ...params }, 0)?.filename).toBe('a.pdf');
    expect(signer.verify('media/x/document', { ...params, n: undefined }, 0)).toBeNull();
    expect(signer.verify('media/x/document', { ...params, n: 'b.pdf' }, 0)).toBeNull();
  });

  it('refuses URLs signed with another key, and keys too short to be secret', () => {
    const other = new UrlSigner(deriveMediaKey('another JWT secret, also thirty-two characters'));
    expect(other.verify('media/x/display.webp', { ...signer.sign('media/x/display.webp', options) }, 0)).toBeNull();
    expect(() => new UrlSigner(new Uint8Array(16))).toThrow(RangeError);
  });

  it('derives one media key per JWT secret, unlike the secret itself', () => {
    const secret = 'a JWT secret of at least thirty-two characters';
    const key = deriveMediaKey(secret);
    expect(key).toHaveLength(32);
    expect(Buffer.from(deriveMediaKey(new TextEncoder().encode(secret))).equals(Buffer.from(key))).toBe(true);
    expect(Buffer.from(key).toString()).not.toContain(secret.slice(0, 8));
  });
});

// ---------------------------------------------------------------------------------------------
// S3, against s3rver on loopback

describe('S3 store', () => {
  let s3rverDir: string;
  let server: S3rverInstance;
  let port: number;
  let storage: S3Storage;

  const optionsFor = (endpoint: string, changes: Partial<S3StorageOptions> = {}): S3StorageOptions => ({
    endpoint,
    region: 'us-east-1',
    bucket: BUCKET,
    ...S3RVER_CREDENTIALS,
    sse: null,
    kmsKeyId: null,
    publicEndpoint: null,
    ...changes,
  });

  async function startS3rver(onPort: number): Promise<S3rverInstance> {
    const instance = new S3rver({
      port: onPort,
      address: '127.0.0.1',
      silent: true,
      directory: s3rverDir,
      configureBuckets: [{ name: BUCKET }],
    });
    port = (await instance.run()).port;
    return instance;
  }

  beforeAll(async () => {
    s3rverDir = path.join(tmp, 's3rver');
    server = await startS3rver(0);
    storage = new S3Storage(optionsFor(`http://127.0.0.1:${port}`));
  });

  afterAll(async () => {
    storage.close();
    await server.close().catch(() => undefined);
  });

  async function realFetch(url: string): Promise<Fetched> {
    const response = await fetch(url);
    const headers: Record<string, string | undefined> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
  }

  contract('s3', () => ({ storage, fetch: realFetch }));

  it('presigns for the time asked, and for the public endpoint when there is one', async () => {
    const key = mediaKey('display.webp');
    const url = new URL(
      await storage.signedUrl(key, { contentType: 'image/webp', disposition: 'inline', expiresInSeconds: 3600 }),
    );
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.host).toBe(`127.0.0.1:${port}`);
    expect(url.pathname).toBe(`/${BUCKET}/${key}`);
    expect(url.searchParams.get('response-content-type')).toBe('image/webp');
    expect(url.searchParams.has('x-amz-checksum-mode')).toBe(false);

    const publicStore = new S3Storage(
      optionsFor(`http://127.0.0.1:${port}`, { publicEndpoint: 'https://media.example.org' }),
    );
    try {
      const publicUrl = new URL(
        await publicStore.signedUrl(key, {
          contentType: 'application/pdf',
          disposition: 'attachment',
          filename: 'incident-1.pdf',
          expiresInSeconds: 60,
        }),
      );
      expect(publicUrl.origin).toBe('https://media.example.org');
      expect(publicUrl.pathname).toBe(`/${BUCKET}/${key}`);
      expect(publicUrl.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(publicUrl.searchParams.get('response-content-disposition')).toBe('attachment; filename="incident-1.pdf"');
    } finally {
      publicStore.close();
    }
  });

  it('asks for server-side encryption on every put when configured', async () => {
    const encrypted = new S3Storage(optionsFor(`http://127.0.0.1:${port}`, { sse: 'AES256' }));
    try {
      const key = mediaKey('original');
      await encrypted.putFile(key, await sourceFile(Buffer.from('x')), 'image/jpeg');
      expect(await encrypted.exists(key)).toBe(true);
    } finally {
      encrypted.close();
    }
    expect(() => new S3Storage(optionsFor('http://127.0.0.1:1', { kmsKeyId: 'k' }))).toThrow(TypeError);
  });

  it('reports a missing bucket as a configuration error, not as unavailable', async () => {
    const wrong = new S3Storage(optionsFor(`http://127.0.0.1:${port}`, { bucket: 'no-such-bucket' }));
    try {
      await expect(wrong.ping()).rejects.toThrow(StorageConfigurationError);
      await expect(
        wrong.putFile(mediaKey('original'), await sourceFile(Buffer.from('x')), 'image/jpeg'),
      ).rejects.toThrow(StorageConfigurationError);
    } finally {
      wrong.close();
    }
  });

  /** how long the call took to fail, and with what */
  async function failure(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
    const started = performance.now();
    try {
      await call();
    } catch (error) {
      return { error, ms: performance.now() - started };
    }
    throw new Error('the call did not fail');
  }

  it('is unavailable, quickly, while the store is down, and works again once it is back', async () => {
    const key = mediaKey('original');
    const file = await sourceFile(randomBytes(100));
    await storage.putFile(key, file, 'image/jpeg'); // a kept-alive connection to the old server
    await server.close();

    const results = await Promise.all([
      failure(() => storage.putFile(key, file, 'image/jpeg')),
      failure(() => storage.exists(key)),
      failure(() => storage.ping()),
      failure(() => collect(storage.list('media/'))),
      failure(() => storage.delete([key])),
    ]);
    for (const { error, ms } of results) {
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect(ms).toBeLessThan(5_000);
    }

    server = await startS3rver(port);
    await storage.ping();
    await storage.putFile(key, file, 'image/jpeg');
    expect(await storage.exists(key)).toBe(true);
  });

  it('gives up within 5 s on a store that takes the connection and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port: silentPort } = silent.address() as net.AddressInfo;
    const stuck = new S3Storage(optionsFor(`http://127.0.0.1:${silentPort}`));
    try {
      const file = await sourceFile(randomBytes(2048));
      const results = await Promise.all([
        failure(() => stuck.putFile(mediaKey('original'), file, 'image/jpeg')),
        failure(() => stuck.exists(mediaKey('original'))),
        failure(() => stuck.ping()),
        failure(() => collect(stuck.list('media/'))),
      ]);
      for (const { error, ms } of results) {
        expect(error).toBeInstanceOf(StorageUnavailableError);
        expect(ms).toBeLessThan(5_000);
      }
      expect(sockets.size).toBeGreaterThanOrEqual(4);
    } finally {
      stuck.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
