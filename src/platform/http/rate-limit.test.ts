import { randomUUID } from 'node:crypto';
import net from 'node:net';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FlakyProxy } from '../../../test/helpers/proxy.js';
import { registerRequestContext } from '../../modules/identity/request-context.plugin.js';
import { registerErrorHandling } from './error-handler.js';
import { clientAddress, registerRateLimits, type RateLimitPolicy, type RateLimits } from './rate-limit.js';

// CI (.ci/run) starts Redis here; the tests use a key prefix of their own
const REDIS_URL = 'redis://127.0.0.1:6379';

const SMALL: RateLimitPolicy = {
  export: [{ by: 'account', max: 2, windowSeconds: 3600 }],
  login: [
    { by: 'email', max: 3, windowSeconds: 60 },
    { by: 'ip', max: 5, windowSeconds: 60 },
  ],
  create: [
    { by: 'account', max: 3, windowSeconds: 3600 },
    { by: 'ip', signedOutOnly: true, max: 2, windowSeconds: 3600 },
  ],
  write: [
    { by: 'account', max: 4, windowSeconds: 60 },
    { by: 'ip', signedOutOnly: true, max: 4, windowSeconds: 60 },
  ],
  read: [
    { by: 'account', max: 5, windowSeconds: 60 },
    { by: 'ip', signedOutOnly: true, max: 5, windowSeconds: 60 },
  ],
  open311: [
    { by: 'apiKey', max: 3, windowSeconds: 60 },
    { by: 'ip', max: 100, windowSeconds: 60 },
  ],
};

interface Built {
  app: FastifyInstance;
  limits: RateLimits;
}

const opened: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

/** A small app wired as src/app.ts wires the real one: actor and language first, one error handler. */
async function build(
  options: { redisUrl?: string | null; prefix?: string; enabled?: boolean; trustProxy?: string[] } = {},
): Promise<Built> {
  const app = Fastify({ logger: false, trustProxy: options.trustProxy ?? false });
  registerRequestContext(app);
  // stands for authentication: X-Test-User signs in as that user
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-test-user'];
    if (typeof user === 'string') request.actor = { userId: user, roles: [] };
  });
  registerErrorHandling(app);
  const limits = registerRateLimits(app, {
    enabled: options.enabled ?? true,
    redisUrl: options.redisUrl ?? null,
    log: app.log,
    limits: SMALL,
    redisPrefix: options.prefix ?? `bwtest:${randomUUID()}:`,
    redisTimeoutMs: 150,
  });
  app.get('/things', async () => ({ ok: true }));
  app.post('/things', async () => ({ ok: true }));
  // inside a prefixed plugin, as the real routes are: the root hook still applies
  await app.register(
    async (api) => {
      api.post('/incidents', { config: { rateLimitClass: 'create' } }, async (_request, reply) =>
        reply.status(201).send({ ok: true }),
      );
    },
    { prefix: '/api/v1' },
  );
  app.post('/auth/login', { config: { rateLimitClass: 'login' } }, async () => ({ ok: true }));
  app.get('/healthz', { config: { rateLimitClass: 'none' } }, async () => ({ ok: true }));
  app.post('/open311/requests', { config: { rateLimitClass: 'open311' } }, async () => ({ ok: true }));
  await app.ready();
  opened.push(app);
  return { app, limits };
}

async function statuses(app: FastifyInstance, count: number, request: InjectOptions): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i += 1) out.push((await app.inject(request)).statusCode);
  return out;
}

const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('rate limits in memory', () => {
  it('counts Open311 requests per api_key, from the form body or the query', async () => {
    const { app } = await build();
    const post = (key: string) =>
      app.inject({ method: 'POST', url: '/open311/requests', payload: { api_key: key, service_code: 'pothole' } });
    expect([(await post('key-a')).statusCode, (await post('key-a')).statusCode]).toEqual([200, 200]);
    expect((await app.inject({ method: 'POST', url: '/open311/requests?api_key=key-a' })).statusCode).toBe(200);
    expect((await post('key-a')).statusCode).toBe(429);
    expect((await post('key-b')).statusCode).toBe(200); // another key, another count
  });

  it('answers 429 problem+json with Retry-After and the RateLimit headers, localized', async () => {
    const { app } = await build();
    const ok = await app.inject({ url: '/things' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['ratelimit-limit']).toBe('5');
    expect(ok.headers['ratelimit-remaining']).toBe('4');
    expect(Number(ok.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(ok.headers['ratelimit-policy']).toBe('"read-ip";q=5;w=60');
    expect(ok.headers.ratelimit).toMatch(/^"read-ip";r=4;t=\d+$/);

    expect(await statuses(app, 4, { url: '/things' })).toEqual([200, 200, 200, 200]);
    const limited = await app.inject({ url: '/things?lang=af' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    const body = JSON.parse(limited.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 429,
      title: 'Te veel versoeke',
      type: expect.stringContaining('rate-limited'),
    });
    expect(body.detail).toContain(String(retryAfter));
  });

  it('counts per account when signed in and per address when not, per route class', async () => {
    const { app } = await build();
    const alice = randomUUID();
    const bob = randomUUID();
    // writes (the default for POST): 4 a minute
    expect(await statuses(app, 5, { method: 'POST', url: '/things', headers: as(alice) })).toEqual([
      200, 200, 200, 200, 429,
    ]);
    // another account from the same address has its own count; reads are a class of their own
    expect((await app.inject({ method: 'POST', url: '/things', headers: as(bob) })).statusCode).toBe(200);
    expect((await app.inject({ url: '/things', headers: as(alice) })).statusCode).toBe(200);
    // signed out: counted by address, apart from the accounts
    expect(await statuses(app, 5, { method: 'POST', url: '/things' })).toEqual([200, 200, 200, 200, 429]);
    // exempt routes are never counted
    expect(await statuses(app, 8, { url: '/healthz' })).toEqual(Array(8).fill(200));
  });

  it('limits reporting: per account when signed in, tighter per address when signed out', async () => {
    const { app } = await build();
    const carol = randomUUID();
    expect(await statuses(app, 4, { method: 'POST', url: '/api/v1/incidents', headers: as(carol) })).toEqual([
      201, 201, 201, 429,
    ]);
    expect(await statuses(app, 3, { method: 'POST', url: '/api/v1/incidents' })).toEqual([201, 201, 429]);
    // the general write limit is counted apart
    expect((await app.inject({ method: 'POST', url: '/things', headers: as(carol) })).statusCode).toBe(200);
  });

  it('limits sign-in by the email tried (any case, any address) and by the address', async () => {
    const { app } = await build({ trustProxy: ['127.0.0.1'] });
    const login = (email: string, ip: string): InjectOptions => ({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': ip },
      payload: { email, password: 'x' },
    });
    // one account from three addresses: the 4th attempt is refused
    expect((await app.inject(login('Dana@Example.org', '203.0.113.1'))).statusCode).toBe(200);
    expect((await app.inject(login('dana@example.org ', '203.0.113.2'))).statusCode).toBe(200);
    expect((await app.inject(login('DANA@example.org', '203.0.113.3'))).statusCode).toBe(200);
    const refused = await app.inject(login('dana@example.org', '203.0.113.4'));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers.ratelimit).toMatch(/^"login-email";r=0;/);
    // one address trying many accounts: 5 attempts, then refused
    const tries = [];
    for (let i = 0; i < 6; i += 1)
      tries.push((await app.inject(login(`user${i}@example.org`, '198.51.100.9'))).statusCode);
    expect(tries).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('trusts X-Forwarded-For only from the configured proxies', async () => {
    const { app } = await build({ trustProxy: ['127.0.0.1'] });
    const viaProxy = (client: string): InjectOptions => ({
      url: '/things',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': client },
    });
    expect(await statuses(app, 6, viaProxy('203.0.113.10'))).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await app.inject(viaProxy('203.0.113.11'))).statusCode).toBe(200);

    // from an address that is not a trusted proxy the header is ignored: rotating it does not help
    const forged = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await app.inject({
        url: '/things',
        remoteAddress: '192.0.2.50',
        headers: { 'x-forwarded-for': `203.0.113.${100 + i}` },
      });
      forged.push(res.statusCode);
    }
    expect(forged).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('counts IPv6 clients per /64', () => {
    expect(clientAddress('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddress('192.0.2.1')).toBe('192.0.2.1');
  });

  it('does nothing when turned off (RATE_LIMITS=off)', async () => {
    const { app, limits } = await build({ enabled: false });
    expect(limits.backend()).toBe('off');
    const res = await app.inject({ url: '/things' });
    expect(res.headers['ratelimit-limit']).toBeUndefined();
    expect(await statuses(app, 10, { method: 'POST', url: '/api/v1/incidents' })).toEqual(Array(10).fill(201));
  });
});

describe('rate limits in Redis', () => {
  it('shares one limit between two nodes', async () => {
    const prefix = `bwtest:${randomUUID()}:`;
    const a = await build({ redisUrl: REDIS_URL, prefix });
    const b = await build({ redisUrl: REDIS_URL, prefix });
    await until(() => a.limits.backend() === 'redis' && b.limits.backend() === 'redis');
    const erin = as(randomUUID());
    expect(await statuses(a.app, 2, { url: '/things', headers: erin })).toEqual([200, 200]);
    expect(await statuses(b.app, 2, { url: '/things', headers: erin })).toEqual([200, 200]);
    const fifth = await a.app.inject({ url: '/things', headers: erin });
    expect(fifth.statusCode).toBe(200);
    expect(fifth.headers['ratelimit-remaining']).toBe('0');
    const sixth = await b.app.inject({ url: '/things', headers: erin });
    expect(sixth.statusCode).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('counts in memory, quickly, when Redis cannot be reached', async () => {
    const { app, limits } = await build({ redisUrl: 'redis://127.0.0.1:1' });
    const codes = [];
    for (let i = 0; i < 6; i += 1) {
      const start = Date.now();
      codes.push((await app.inject({ url: '/things' })).statusCode);
      expect(Date.now() - start).toBeLessThan(1000);
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
    expect(limits.backend()).toBe('memory');
  });

  describe('when Redis goes away and comes back', () => {
    const proxy = new FlakyProxy({ port: 0 }, { host: '127.0.0.1', port: 6379 });
    afterAll(() => proxy.down());

    it('falls back to memory, then shares the limit again', async () => {
      await proxy.up();
      const url = `redis://127.0.0.1:${proxy.listenPort}`;
      const prefix = `bwtest:${randomUUID()}:`;
      const a = await build({ redisUrl: url, prefix });
      const b = await build({ redisUrl: url, prefix });
      await until(() => a.limits.backend() === 'redis' && b.limits.backend() === 'redis');
      const frank = as(randomUUID());
      expect(await statuses(a.app, 2, { url: '/things', headers: frank })).toEqual([200, 200]);
      expect(await statuses(b.app, 2, { url: '/things', headers: frank })).toEqual([200, 200]);

      await proxy.down();
      // node a now counts alone, from zero, and still limits
      const codes = [];
      for (let i = 0; i < 6; i += 1) {
        const start = Date.now();
        codes.push((await a.app.inject({ url: '/things', headers: frank })).statusCode);
        expect(Date.now() - start).toBeLessThan(1000);
      }
      expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
      expect(a.limits.backend()).toBe('memory');

      await proxy.up();
      await until(() => a.limits.backend() === 'redis' && b.limits.backend() === 'redis');
      // Redis still holds the 4 counted before the outage: one more passes, then both refuse
      expect((await b.app.inject({ url: '/things', headers: frank })).statusCode).toBe(200);
      expect((await a.app.inject({ url: '/things', headers: frank })).statusCode).toBe(429);
      expect((await b.app.inject({ url: '/things', headers: frank })).statusCode).toBe(429);
    });
  });

  it('does not wait for a Redis that stops answering', async () => {
    const stall = await StallProxy.start(6379);
    try {
      const { app, limits } = await build({ redisUrl: `redis://127.0.0.1:${stall.port}` });
      await until(() => limits.backend() === 'redis');
      const gina = as(randomUUID());
      expect((await app.inject({ url: '/things', headers: gina })).statusCode).toBe(200);
      stall.stalled = true;
      const started = Date.now();
      const codes: number[] = [];
      for (let i = 0; i < 6; i += 1) codes.push((await app.inject({ url: '/things', headers: gina })).statusCode);
      // one command timeout (150 ms here), then memory until Redis is tried again
      expect(Date.now() - started).toBeLessThan(1000);
      expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
      expect(limits.backend()).toBe('memory');
    } finally {
      stall.resume();
      await stall.close();
    }
  });
});

/** Forwards to Redis but, while `stalled`, holds its answers back (a Redis that hangs). */
class StallProxy {
  stalled = false;
  private held: Array<() => void> = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<StallProxy> {
    let proxy: StallProxy | null = null;
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy?.sockets.add(s);
        s.on('error', () => s.destroy());
      }
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (proxy?.stalled) proxy.held.push(() => client.write(d));
        else client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as net.AddressInfo;
    proxy = new StallProxy(server, address.port);
    return proxy;
  }

  resume(): void {
    this.stalled = false;
    for (const send of this.held.splice(0)) send();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
