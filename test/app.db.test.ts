import { describe, expect, it } from 'vitest';
import { as, json, RESIDENT, useTestApp } from './helpers/app.js';

const h = useTestApp();

describe('operations and documentation', () => {
  it('serves health and readiness', async () => {
    expect((await h.current.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await h.current.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toEqual({ status: 'ok', checks: { database: 'ok', storage: 'ok', bus: 'ok' } });
  });

  it('publishes an OpenAPI 3.1 document generated from the route schemas, and Swagger UI', async () => {
    const res = await h.current.app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = json(res);
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/v1/incidents',
      '/api/v1/incidents/{idOrReference}',
      '/api/v1/incidents/{idOrReference}/timeline',
      '/api/v1/categories',
      '/api/v1/communities',
      '/api/v1/communities/{id}',
      '/healthz',
      '/readyz',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
    const create = doc.paths['/api/v1/incidents'].post;
    expect(create.requestBody.content['application/json'].schema.properties.title).toMatchObject({
      minLength: 3,
      maxLength: 255,
    });
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    const list = doc.paths['/api/v1/incidents'].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(
      expect.arrayContaining([
        'near',
        'radius',
        'bbox',
        'status',
        'category',
        'priority',
        'q',
        'communityId',
        'since',
        'until',
        'reporter',
        'assignee',
        'sort',
        'limit',
        'cursor',
      ]),
    );
    const ui = await h.current.app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('answers unknown routes with a localized problem', async () => {
    const res = await h.current.app.inject({ url: '/api/v1/nothing-here?lang=af' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(json(res)).toMatchObject({ status: 404, title: 'Nie gevind nie' });
  });

  it('keeps a sane request id from the proxy and makes one otherwise', async () => {
    const kept = await h.current.app.inject({ url: '/healthz', headers: { 'x-request-id': 'nginx-abc-123' } });
    expect(kept.headers['x-request-id']).toBe('nginx-abc-123');
    const replaced = await h.current.app.inject({
      url: '/healthz',
      headers: { 'x-request-id': 'bad id with spaces <script>' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await h.current.app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { 'content-type': 'application/json', ...(await as(RESIDENT)) },
      payload: JSON.stringify({ title: 'x', description: 'y'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
    expect(json(res).title).toBe('Too large');
  });
});
