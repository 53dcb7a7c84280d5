import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRequestContext } from '../../modules/identity/request-context.plugin.js';
import { registerErrorHandling } from './error-handler.js';
import { registerHardening } from './hardening.js';

const APP_ORIGIN = 'https://app.buurtwag.example';

/** A small app wired as src/app.ts wires the real one: actor and language, one error handler, /docs. */
async function build(corsOrigins: string[] = [APP_ORIGIN]): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  registerRequestContext(app);
  // stands for authentication: X-Test-User signs in as that user
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-test-user'];
    if (typeof user === 'string') request.actor = { userId: user, roles: [] };
  });
  registerErrorHandling(app);
  await registerHardening(app, { corsOrigins });
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'test', version: '1' } } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/things/:id', async () => ({ ok: true }));
  app.patch('/things/:id', async () => ({ ok: true }));
  app.get('/cached', async (_request, reply) => reply.header('cache-control', 'public, max-age=60').send({ ok: true }));
  await app.register(
    async (api) => {
      api.get('/incidents', async () => ({ items: [] }));
      api.post('/incidents', async (_request, reply) => reply.status(201).send({}));
    },
    { prefix: '/api/v1' },
  );
  await app.ready();
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(() => app.close());

describe('security headers', () => {
  it('sends helmet headers and a deny-all CSP on API responses', async () => {
    const res = await app.inject({ url: '/api/v1/incidents' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('keeps Swagger UI working: its own scripts and styles are allowed under /docs only', async () => {
    const page = await app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui-bundle.js');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const script = await app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
    expect(script.statusCode).toBe(200);
  });
});

describe('CORS', () => {
  it('allows the configured origin, with a preflight for writes', async () => {
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/incidents',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(preflight.headers['access-control-allow-methods']).toContain('PATCH');
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const res = await app.inject({ url: '/api/v1/incidents', headers: { origin: APP_ORIGIN } });
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(String(res.headers['access-control-expose-headers'])).toContain('Retry-After');
    expect(String(res.headers.vary)).toContain('Origin');
  });

  it('gives other origins no Access-Control-Allow-Origin', async () => {
    const res = await app.inject({ url: '/api/v1/incidents', headers: { origin: 'https://evil.example' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/incidents',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses any-origin together with credentials, and anything that is not an origin', async () => {
    const bare = Fastify({ logger: false });
    await expect(registerHardening(bare, { corsOrigins: ['*'], corsCredentials: true })).rejects.toThrow(/credentials/);
    await bare.close();
    const other = Fastify({ logger: false });
    await expect(registerHardening(other, { corsOrigins: ['https://ok.example/path'] })).rejects.toThrow(
      /not an origin/,
    );
    await other.close();
  });
});

describe('caching of signed-in answers', () => {
  it('sends no-store to authenticated requests unless the route chose its own', async () => {
    const signedIn = await app.inject({ url: '/api/v1/incidents', headers: { 'x-test-user': 'u1' } });
    expect(signedIn.headers['cache-control']).toBe('no-store');
    const withToken = await app.inject({ url: '/api/v1/incidents', headers: { authorization: 'Bearer abc' } });
    expect(withToken.headers['cache-control']).toBe('no-store');
    const anonymous = await app.inject({ url: '/api/v1/incidents' });
    expect(anonymous.headers['cache-control']).toBeUndefined();
    const own = await app.inject({ url: '/cached', headers: { authorization: 'Bearer abc' } });
    expect(own.headers['cache-control']).toBe('public, max-age=60');
    const problem = await app.inject({ url: '/nothing', headers: { 'x-test-user': 'u1' } });
    expect(problem.statusCode).toBe(404);
    expect(problem.headers['cache-control']).toBe('no-store');
  });
});

describe('405 Method Not Allowed', () => {
  it('answers a known path with another method with 405, Allow and a localized problem', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/incidents?lang=af' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({
      status: 405,
      title: 'Metode nie toegelaat nie',
      detail: 'DELETE word nie hier toegelaat nie; gebruik GET, HEAD, POST.',
    });
    const en = await app.inject({ method: 'PUT', url: '/things/42' });
    expect(en.statusCode).toBe(405);
    expect(en.headers.allow).toBe('GET, HEAD, PATCH');
    expect(JSON.parse(en.body).title).toBe('Method not allowed');
  });

  it('still answers 404 for paths that do not exist under any method', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/nothing-here'],
      ['DELETE', '/things/42/more'],
      ['POST', '/api/v1/incidentsx'],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.headers.allow).toBeUndefined();
    }
  });
});
