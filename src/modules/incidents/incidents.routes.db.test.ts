import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, RESIDENT_2, useTestApp } from '../../../test/helpers/app.js';

const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

let categories: Record<string, string>;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categories = Object.fromEntries(json(res).items.map((c: { slug: string; id: string }) => [c.slug, c.id]));
});

function body(overrides: Record<string, unknown> = {}) {
  return {
    title: 'Deep pothole on Jan Smuts Avenue',
    description: 'Two cars have already burst tyres here.',
    categoryId: categories.pothole,
    location: { type: 'Point', coordinates: [28.0473, -26.2041] },
    ...overrides,
  };
}

async function create(overrides: Record<string, unknown> = {}, user = RESIDENT, headers: Record<string, string> = {}) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: { ...(await as(user)), ...headers },
    payload: body(overrides),
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

describe('POST /incidents', () => {
  it('creates an incident with a reference, a Location header, a timeline event, an audit record and a job, in one transaction', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: body({ address: '12 Jan Smuts Ave', metadata: { lanes: 2 } }),
    });
    expect(res.statusCode).toBe(201);
    const incident = json(res);
    expect(res.headers.location).toBe(`/api/v1/incidents/${incident.id}`);
    expect(incident).toMatchObject({
      title: 'Deep pothole on Jan Smuts Avenue',
      status: 'reported',
      priority: 'medium',
      isPublic: true,
      requiresAuthority: false,
      address: '12 Jan Smuts Ave',
      metadata: { lanes: 2 },
      category: { slug: 'pothole', name: 'Pothole' },
      location: { type: 'Point', coordinates: [28.0473, -26.2041] },
      reporter: { id: RESIDENT, displayName: 'Test user 0001' },
      assignee: null,
    });
    expect(incident.reference).toMatch(/^BW-[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(Date.parse(incident.createdAt)).not.toBeNaN();

    const { db } = h.current.t;
    const events = await db.query<{ type: string }>({
      text: 'SELECT type FROM incident_events WHERE incident_id = $1',
      values: [incident.id],
    });
    expect(events.rows.map((e) => e.type)).toEqual(['created']);
    const audit = await db.query({
      text: `SELECT 1 FROM audit_log WHERE entity_id = $1 AND action = 'incident.create'`,
      values: [incident.id],
    });
    expect(audit.rows).toHaveLength(1);
    const jobs = await db.query({
      text: `SELECT 1 FROM jobs WHERE name = 'incident.created.v1' AND payload->>'incidentId' = $1`,
      values: [incident.id],
    });
    expect(jobs.rows).toHaveLength(1);
  });

  it('leaves nothing behind when the create fails half-way', async () => {
    const { db } = h.current.t;
    const before = await db.query<{ n: number }>({
      text: 'SELECT (SELECT count(*) FROM incidents) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM incident_events) AS n',
    });
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: body({ categoryId: '00000000-0000-4000-8000-00000000dead' }),
    });
    expect(res.statusCode).toBe(400);
    const after = await db.query<{ n: number }>({
      text: 'SELECT (SELECT count(*) FROM incidents) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM incident_events) AS n',
    });
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('validates every field at once and answers in problem+json, localized', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents?lang=af',
      headers: await as(RESIDENT),
      payload: {
        title: 'ab',
        description: 'x'.repeat(10_001),
        categoryId: categories.pothole,
        location: { type: 'Point', coordinates: [181, -91] },
        colour: 'red',
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['content-language']).toBe('af');
    const problem = json(res);
    expect(problem).toMatchObject({ status: 400, title: 'Ongeldige versoek' });
    expect(problem.type).toMatch(/^https:\/\//);
    const paths = problem.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual([
      '/body/colour',
      '/body/description',
      '/body/location/coordinates/0',
      '/body/location/coordinates/1',
      '/body/title',
    ]);
    expect(problem.errors.find((e: { path: string }) => e.path === '/body/colour').message).toBe(
      "is nie 'n bekende veld nie",
    );
    expect(res.body).not.toMatch(/stack|at .*\.ts|SELECT/);
  });

  it.each([
    ['a title of 256 characters', { title: 'x'.repeat(256) }, '/body/title'],
    ['a missing title', { title: undefined }, '/body/title'],
    ['latitude out of range', { location: { type: 'Point', coordinates: [28, 95] } }, '/body/location/coordinates/1'],
    ['a non-Point location', { location: { type: 'LineString', coordinates: [28, -26] } }, '/body/location/type'],
    ['an unknown category', { categoryId: '00000000-0000-4000-8000-00000000dead' }, '/body/categoryId'],
    ['metadata over 16 KiB', { metadata: { blob: 'x'.repeat(16 * 1024) } }, '/body/metadata'],
    ['a bad priority', { priority: 'urgent' }, '/body/priority'],
  ])('refuses %s with 400', async (_name, overrides, path) => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: body(overrides),
    });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses an inactive category', async () => {
    const created = await inject({
      method: 'POST',
      url: '/api/v1/categories',
      headers: await as(ADMIN, 'admin'),
      payload: { slug: 'retired-thing', name: { en: 'Retired', af: 'Afgetree' }, active: false },
    });
    expect(created.statusCode).toBe(201);
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: body({ categoryId: json(created).id }),
    });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0]).toMatchObject({ path: '/body/categoryId', message: 'is not an active category' });
  });

  it('accepts a report at the South Pole (outside the Mercator plane)', async () => {
    const incident = await create({ location: { type: 'Point', coordinates: [0, -90] } });
    expect(incident.location.coordinates).toEqual([0, -90]);
  });

  it('accepts a metadata object just under 16 KiB', async () => {
    const incident = await create({ metadata: { blob: 'x'.repeat(16 * 1024 - 20) } });
    expect(incident.metadata.blob).toHaveLength(16 * 1024 - 20);
  });

  it('refuses malformed JSON and other content types clearly', async () => {
    const bad = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...(await as(RESIDENT)), 'content-type': 'application/json' },
      payload: '{"title": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).title).toBe('Invalid request');
    const xml = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...(await as(RESIDENT)), 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(xml.statusCode).toBe(415);
  });

  it('asks a signed-out caller to sign in (401 with WWW-Authenticate)', async () => {
    const res = await inject({ method: 'POST', url: '/api/v1/incidents', payload: body() });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});

describe('Idempotency-Key', () => {
  it('returns the first response again for the same key and body, and creates once', async () => {
    const headers = { ...(await as(RESIDENT)), 'idempotency-key': 'create-once-1' };
    const payload = body({ title: 'Idempotent report' });
    const first = await inject({ method: 'POST', url: '/api/v1/incidents', headers, payload });
    // the same body with its keys in another order is the same request
    const reordered = Object.fromEntries(Object.entries(payload).reverse());
    const second = await inject({ method: 'POST', url: '/api/v1/incidents', headers, payload: reordered });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(json(second)).toEqual(json(first));
    expect(second.headers.location).toBe(first.headers.location);
    const { rows } = await h.current.t.db.query({ text: `SELECT 1 FROM incidents WHERE title = 'Idempotent report'` });
    expect(rows).toHaveLength(1);
  });

  it('answers 409 when the key is reused with another body', async () => {
    const headers = { ...(await as(RESIDENT)), 'idempotency-key': 'create-once-2' };
    expect(
      (await inject({ method: 'POST', url: '/api/v1/incidents', headers, payload: body({ title: 'First body' }) }))
        .statusCode,
    ).toBe(201);
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers,
      payload: body({ title: 'Second body' }),
    });
    expect(res.statusCode).toBe(409);
    expect(json(res).detail).toContain('Idempotency-Key');
  });

  it('creates once when the same key races in parallel', async () => {
    const headers = { ...(await as(RESIDENT)), 'idempotency-key': 'race-1' };
    const payload = body({ title: 'Raced report' });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => inject({ method: 'POST', url: '/api/v1/incidents', headers, payload })),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(6).fill(201));
    expect(new Set(results.map((r) => json(r).id)).size).toBe(1);
    const { rows } = await h.current.t.db.query({ text: `SELECT 1 FROM incidents WHERE title = 'Raced report'` });
    expect(rows).toHaveLength(1);
  });

  it('keeps keys apart per user', async () => {
    const a = await create({ title: 'Key of user one' }, RESIDENT, { 'idempotency-key': 'shared-key' });
    const b = await create({ title: 'Key of user two' }, RESIDENT_2, { 'idempotency-key': 'shared-key' });
    expect(a.id).not.toBe(b.id);
  });
});

describe('GET /incidents/:idOrReference', () => {
  it('finds an incident by id and by reference, in any case', async () => {
    const incident = await create();
    for (const key of [incident.id, incident.reference, incident.reference.toLowerCase()]) {
      const res = await inject({ url: `/api/v1/incidents/${key}` });
      expect(res.statusCode, key).toBe(200);
      expect(json(res).id).toBe(incident.id);
    }
  });

  it('answers 404 for what does not exist', async () => {
    for (const key of ['00000000-0000-4000-8000-000000000404', 'BW-00000000', 'not-a-reference']) {
      const res = await inject({ url: `/api/v1/incidents/${key}` });
      expect(res.statusCode).toBe(404);
      expect(json(res).status).toBe(404);
    }
  });

  it('hides a private incident behind 404 from everyone but its reporter and staff', async () => {
    const incident = await create({ isPublic: false, title: 'Private matter' });
    expect((await inject({ url: `/api/v1/incidents/${incident.id}` })).statusCode).toBe(404);
    expect((await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT_2) })).statusCode).toBe(
      404,
    );
    expect((await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT) })).statusCode).toBe(
      200,
    );
    expect(
      (await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(ADMIN, 'admin') })).statusCode,
    ).toBe(200);
    // and a PATCH by a stranger must not reveal it either
    const patch = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await as(RESIDENT_2),
      payload: { priority: 'high' },
    });
    expect(patch.statusCode).toBe(404);
  });

  it('hides the reporter of an anonymous report from the public but not from the reporter or staff', async () => {
    const incident = await create({ anonymous: true, title: 'Anonymous report' });
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).reporter).toBeNull();
    expect(
      json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT_2) })).reporter,
    ).toBeNull();
    expect(
      json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT) })).reporter.id,
    ).toBe(RESIDENT);
    expect(
      json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(ADMIN, 'admin') })).reporter.id,
    ).toBe(RESIDENT);
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` }));
    expect(timeline.items[0].type).toBe('created');
    expect(timeline.items[0].actor).toBeNull();
  });

  it('blurs the location of a sensitive incident for the public', async () => {
    const incident = await create({
      categoryId: categories['crime-suspicious-activity'],
      location: { type: 'Point', coordinates: [28.031234, -26.187654] },
      address: '5 Secret Rd',
    });
    const pub = json(await inject({ url: `/api/v1/incidents/${incident.id}` }));
    expect(pub.locationBlurred).toBe(true);
    expect(pub.address).toBeNull();
    expect(pub.location.coordinates).not.toEqual([28.031234, -26.187654]);
    expect(Math.abs(pub.location.coordinates[0] - 28.031234)).toBeLessThan(0.003);
    expect(Math.abs(pub.location.coordinates[1] - -26.187654)).toBeLessThan(0.003);
    const own = json(await inject({ url: `/api/v1/incidents/${incident.id}`, headers: await as(RESIDENT) }));
    expect(own.location.coordinates).toEqual([28.031234, -26.187654]);
  });
});

describe('PATCH /incidents/:id', () => {
  const staff = () => as(ADMIN, 'admin');

  it('follows the status moves of the contract and refuses the rest with 409', async () => {
    const incident = await create();
    const headers = await staff();
    const move = (status: string) =>
      inject({ method: 'PATCH', url: `/api/v1/incidents/${incident.id}`, headers, payload: { status } });
    expect((await move('resolved')).statusCode).toBe(409);
    expect((await move('acknowledged')).statusCode).toBe(200);
    expect((await move('reported')).statusCode).toBe(409);
    expect((await move('in_progress')).statusCode).toBe(200);
    expect((await move('closed')).statusCode).toBe(409);
    expect((await move('resolved')).statusCode).toBe(200);
    expect((await move('in_progress')).statusCode).toBe(200); // reopen
    expect((await move('resolved')).statusCode).toBe(200);
    const closed = await move('closed');
    expect(closed.statusCode).toBe(200);
    expect(json(closed).status).toBe('closed');
    const reopen = await move('in_progress');
    expect(reopen.statusCode).toBe(409);
    expect(json(reopen).detail).toBe('An incident cannot move from closed to in_progress.');
  });

  it.each([
    ['reported', 'rejected'],
    ['reported', 'duplicate'],
    ['acknowledged', 'rejected'],
    ['acknowledged', 'duplicate'],
  ])('allows %s → %s', async (from, to) => {
    const incident = await create();
    if (from === 'acknowledged') {
      await inject({
        method: 'PATCH',
        url: `/api/v1/incidents/${incident.id}`,
        headers: await staff(),
        payload: { status: 'acknowledged' },
      });
    }
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await staff(),
      payload: { status: to },
    });
    expect(res.statusCode).toBe(200);
  });

  it('puts every change on the timeline and in the audit log', async () => {
    const incident = await create();
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await staff(),
      payload: {
        status: 'acknowledged',
        priority: 'high',
        assigneeId: RESIDENT_2,
        categoryId: categories['water-leak'],
        isPublic: false,
      },
    });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({
      status: 'acknowledged',
      priority: 'high',
      assignee: { id: RESIDENT_2, displayName: 'Test user 0002' },
      category: { slug: 'water-leak' },
      isPublic: false,
      version: 2,
    });
    // a list shows the same names
    const listed = json(
      await inject({ url: '/api/v1/incidents?near=28.0473,-26.2041&radius=10&limit=200', headers: await staff() }),
    ).items.find((i: { id: string }) => i.id === incident.id);
    expect(listed).toMatchObject({
      reporter: { id: RESIDENT, displayName: 'Test user 0001' },
      assignee: { id: RESIDENT_2, displayName: 'Test user 0002' },
    });
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline`, headers: await staff() }));
    expect(timeline.items.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'status_changed',
      'priority_changed',
      'assigned',
      'category_changed',
      'visibility_changed',
    ]);
    expect(timeline.items[1]).toMatchObject({ data: { from: 'reported', to: 'acknowledged' }, actor: { id: ADMIN } });
    const audit = await h.current.t.db.query({
      text: `SELECT data FROM audit_log WHERE entity_id = $1 AND action = 'incident.update'`,
      values: [incident.id],
    });
    expect(audit.rows).toHaveLength(1);
  });

  it('refuses residents (403), signed-out callers (401) and staff of another community (403)', async () => {
    const incident = await create();
    const url = `/api/v1/incidents/${incident.id}`;
    expect(
      (await inject({ method: 'PATCH', url, headers: await as(RESIDENT), payload: { priority: 'high' } })).statusCode,
    ).toBe(403);
    expect((await inject({ method: 'PATCH', url, payload: { priority: 'high' } })).statusCode).toBe(401);
    const other = await as(RESIDENT_2, 'moderator:00000000-0000-4000-8000-00000000c0de');
    expect((await inject({ method: 'PATCH', url, headers: other, payload: { priority: 'high' } })).statusCode).toBe(
      403,
    );
  });

  it('refuses unknown fields, an empty body and an unknown assignee', async () => {
    const incident = await create();
    const url = `/api/v1/incidents/${incident.id}`;
    expect(
      (await inject({ method: 'PATCH', url, headers: await staff(), payload: { colour: 'red' } })).statusCode,
    ).toBe(400);
    expect((await inject({ method: 'PATCH', url, headers: await staff(), payload: {} })).statusCode).toBe(400);
    const res = await inject({
      method: 'PATCH',
      url,
      headers: await staff(),
      payload: { assigneeId: '00000000-0000-4000-8000-00000000beef' },
    });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].path).toBe('/body/assigneeId');
  });
});

describe('categories', () => {
  it('are localized by ?lang and Accept-Language, with Content-Language', async () => {
    const af = await inject({ url: '/api/v1/categories', headers: { 'accept-language': 'af-ZA,af;q=0.9,en;q=0.8' } });
    expect(af.headers['content-language']).toBe('af');
    const names = json(af).items.map((c: { name: string }) => c.name);
    expect(names).toContain('Waterlekkasie');
    const en = await inject({ url: '/api/v1/categories?lang=en', headers: { 'accept-language': 'af' } });
    expect(en.headers['content-language']).toBe('en');
    expect(json(en).items.map((c: { name: string }) => c.name)).toContain('Water leak');
    const fallback = await inject({ url: '/api/v1/categories', headers: { 'accept-language': 'zu' } });
    expect(fallback.headers['content-language']).toBe('en');
  });

  it('ship twelve defaults, each translated into Afrikaans', async () => {
    const en = json(await inject({ url: '/api/v1/categories?lang=en' })).items;
    const af = json(await inject({ url: '/api/v1/categories?lang=af' })).items;
    const defaults = en.filter((c: { slug: string }) => c.slug !== 'retired-thing');
    expect(defaults.length).toBeGreaterThanOrEqual(12);
    for (const category of defaults) {
      const translated = af.find((c: { id: string }) => c.id === category.id);
      expect(translated.name.length).toBeGreaterThan(0);
      expect(translated.description.length).toBeGreaterThan(0);
    }
    expect(af.filter((c: { name: string }, i: number) => c.name !== en[i].name).length).toBeGreaterThanOrEqual(10);
    expect(en.find((c: { slug: string }) => c.slug === 'crime-suspicious-activity').sensitive).toBe(true);
  });

  it('are managed by admins only', async () => {
    const payload = { slug: 'load-shedding', name: { en: 'Load shedding', af: 'Beurtkrag' } };
    expect(
      (await inject({ method: 'POST', url: '/api/v1/categories', headers: await as(RESIDENT), payload })).statusCode,
    ).toBe(403);
    const created = await inject({
      method: 'POST',
      url: '/api/v1/categories',
      headers: await as(ADMIN, 'admin'),
      payload,
    });
    expect(created.statusCode).toBe(201);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/categories', headers: await as(ADMIN, 'admin'), payload }))
        .statusCode,
    ).toBe(409);
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/categories/${json(created).id}?lang=af`,
      headers: await as(ADMIN, 'admin'),
      payload: { color: '#112233' },
    });
    expect(json(patched)).toMatchObject({
      name: 'Beurtkrag',
      color: '#112233',
      translations: { name: { en: 'Load shedding', af: 'Beurtkrag' } },
    });
  });
});
