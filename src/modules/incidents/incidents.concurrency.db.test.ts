import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { parseIfMatch } from './incidents.routes.js';

const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

let categoryId: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categoryId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
});

async function create(): Promise<{ id: string; reference: string; version: number }> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Streetlight out on Main Road',
      description: 'Dark since Monday.',
      categoryId,
      location: { type: 'Point', coordinates: [28.0473, -26.2041] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function patch(id: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${id}`,
    headers: { ...(await as(ADMIN, 'admin')), ...headers },
    payload,
  });
}

async function events(id: string): Promise<string[]> {
  const { rows } = await h.current.t.db.query<{ type: string }>({
    text: 'SELECT type FROM incident_events WHERE incident_id = $1 ORDER BY id',
    values: [id],
  });
  return rows.map((r) => r.type);
}

describe('If-Match on incidents', () => {
  it('parses If-Match: weak and strong tags, lists, * and garbage', () => {
    expect(parseIfMatch(undefined)).toBeNull();
    expect(parseIfMatch('*')).toBeNull();
    expect(parseIfMatch('W/"3"')).toEqual([3]);
    expect(parseIfMatch('"3", W/"4"')).toEqual([3, 4]);
    expect(parseIfMatch('"abc"')).toEqual([]);
  });

  it('GET answers a weak ETag of the version, by id and by reference', async () => {
    const incident = await create();
    const byId = await inject({ url: `/api/v1/incidents/${incident.id}` });
    expect(byId.headers.etag).toBe(`W/"${incident.version}"`);
    const byReference = await inject({ url: `/api/v1/incidents/${incident.reference}` });
    expect(byReference.headers.etag).toBe(byId.headers.etag);
  });

  it('a matching If-Match proceeds and the answer carries the new ETag; a stale one is a localized 412 that writes nothing', async () => {
    const incident = await create();
    const etag = (await inject({ url: `/api/v1/incidents/${incident.id}` })).headers.etag as string;

    const ok = await patch(incident.id, { priority: 'high' }, { 'if-match': etag });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(json(ok).version).toBe(incident.version + 1);
    expect(ok.headers.etag).toBe(`W/"${incident.version + 1}"`);

    const stale = await patch(incident.id, { priority: 'low' }, { 'if-match': etag });
    expect(stale.statusCode).toBe(412);
    expect(stale.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(json(stale).detail).toContain(`version ${incident.version + 1}`);

    const af = await patch(incident.id, { priority: 'low' }, { 'if-match': etag, 'accept-language': 'af' });
    expect(af.statusCode).toBe(412);
    expect(json(af).detail).toContain('weergawe');

    const garbage = await patch(incident.id, { priority: 'low' }, { 'if-match': '"not-a-version"' });
    expect(garbage.statusCode).toBe(412);

    const current = json(await inject({ url: `/api/v1/incidents/${incident.id}` }));
    expect(current.priority).toBe('high');
    expect(await events(incident.id)).toEqual(['created', 'priority_changed']);
  });

  it('If-Match: * and no If-Match keep the old behaviour', async () => {
    const incident = await create();
    const star = await patch(incident.id, { priority: 'high' }, { 'if-match': '*' });
    expect(star.statusCode).toBe(200);
    const none = await patch(incident.id, { priority: 'low' });
    expect(none.statusCode).toBe(200);
    expect(json(none).version).toBe(incident.version + 2);
  });

  it('accepts the version in the body instead: stale is 412, current proceeds', async () => {
    const incident = await create();
    const ok = await patch(incident.id, { status: 'acknowledged', version: incident.version });
    expect(ok.statusCode, ok.body).toBe(200);
    const stale = await patch(incident.id, { status: 'in_progress', version: incident.version });
    expect(stale.statusCode).toBe(412);
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).status).toBe('acknowledged');
  });

  it('two concurrent PATCHes with the same If-Match: exactly one wins, the other is 412', async () => {
    const incident = await create();
    const headers = { ...(await as(ADMIN, 'admin')), 'if-match': `W/"${incident.version}"` };
    const [a, b] = await Promise.all([
      inject({ method: 'PATCH', url: `/api/v1/incidents/${incident.id}`, headers, payload: { priority: 'high' } }),
      inject({
        method: 'PATCH',
        url: `/api/v1/incidents/${incident.id}`,
        headers,
        payload: { status: 'acknowledged' },
      }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 412]);
    const after = json(await inject({ url: `/api/v1/incidents/${incident.id}` }));
    expect(after.version).toBe(incident.version + 1);
    expect((await events(incident.id)).length).toBe(2);
  });
});
