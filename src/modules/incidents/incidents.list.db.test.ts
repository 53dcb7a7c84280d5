import type { InjectOptions } from 'fastify';
import { Value } from 'typebox/value';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, RESIDENT_2, useTestApp } from '../../../test/helpers/app.js';
import { IncidentList } from './incidents.schemas.js';

/**
 * Lists: near (nearest first, with distance), bbox, every filter and sort, and cursor pagination
 * that returns each row exactly once while inserts go on.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

const CENTRE = [28.0473, -26.2041] as const;
// metres per degree at this latitude (roughly): enough to place points at known distances
const M_PER_DEG_LAT = 110_850;
const M_PER_DEG_LON = 99_800;

let categories: Record<string, string>;
const ids: Record<string, string> = {};

async function create(name: string, dxM: number, dyM: number, extra: Record<string, unknown> = {}, user = RESIDENT) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(user),
    payload: {
      title: `Incident ${name}`,
      description: `Test incident ${name}`,
      categoryId: categories.pothole,
      location: { type: 'Point', coordinates: [CENTRE[0] + dxM / M_PER_DEG_LON, CENTRE[1] + dyM / M_PER_DEG_LAT] },
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  ids[name] = json(res).id;
  return json(res);
}

beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categories = Object.fromEntries(json(res).items.map((c: { slug: string; id: string }) => [c.slug, c.id]));
  // A ring of incidents at known distances from CENTRE, in a deliberately shuffled order.
  await create('d300', 300, 0);
  await create('d100', 0, 100);
  await create('d900', -900, 0, { categoryId: categories['water-leak'], priority: 'high' });
  await create('d500', 0, -500, { priority: 'critical' });
  await create('d2000', 2000, 0);
  await create('d700', 700, 0, { isPublic: false }, RESIDENT_2);
  await create('d50', 50, 0, { priority: 'low', title: 'Burst water main near the school' });
  await create('far', 40_000, 0);
});

const names = (body: { items: Array<{ id: string }> }) =>
  body.items.map((i) => Object.entries(ids).find(([, id]) => id === i.id)?.[0] ?? 'other');

describe('near', () => {
  it('lists public incidents within the radius, nearest first, with their distance', async () => {
    const res = await inject({ url: `/api/v1/incidents?near=${CENTRE.join(',')}&radius=1000` });
    expect(res.statusCode).toBe(200);
    const body = json(res);
    expect(names(body)).toEqual(['d50', 'd100', 'd300', 'd500', 'd900']);
    const distances = body.items.map((i: { distance: number }) => i.distance);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(distances[0]).toBeGreaterThan(40);
    expect(distances[0]).toBeLessThan(60);
    expect(distances[4]).toBeGreaterThan(850);
    expect(distances[4]).toBeLessThan(950);
    expect(body.nextCursor).toBeNull();
  });

  it('includes the caller’s own private incident', async () => {
    const res = await inject({
      url: `/api/v1/incidents?near=${CENTRE.join(',')}&radius=1000`,
      headers: await as(RESIDENT_2),
    });
    expect(names(json(res))).toContain('d700');
  });

  it('shows staff everything', async () => {
    const res = await inject({
      url: `/api/v1/incidents?near=${CENTRE.join(',')}&radius=1000`,
      headers: await as(ADMIN, 'admin'),
    });
    expect(names(json(res))).toEqual(['d50', 'd100', 'd300', 'd500', 'd700', 'd900']);
  });

  // Lists are written by jsonBytes, not the schema's serializer (sendJsonBytes), so nothing
  // strips a field the contract does not have: every item must be exactly the documented shape.
  it('answers exactly the documented shape, for the public and for staff', async () => {
    for (const headers of [{}, await as(RESIDENT_2), await as(ADMIN, 'admin')]) {
      const res = await inject({ url: `/api/v1/incidents?near=${CENTRE.join(',')}&radius=1000`, headers });
      const body = json(res);
      expect(body.items.length).toBeGreaterThan(0);
      expect(Value.Check(IncidentList, body)).toBe(true);
      expect(Value.Clean(IncidentList, structuredClone(body))).toEqual(body);
    }
  });

  it('combines with filters', async () => {
    const near = `near=${CENTRE.join(',')}&radius=5000`;
    expect(names(json(await inject({ url: `/api/v1/incidents?${near}&priority=high,critical` })))).toEqual([
      'd500',
      'd900',
    ]);
    expect(names(json(await inject({ url: `/api/v1/incidents?${near}&category=water-leak` })))).toEqual(['d900']);
    expect(names(json(await inject({ url: `/api/v1/incidents?${near}&q=water` })))).toEqual(['d50']);
    expect(names(json(await inject({ url: `/api/v1/incidents?${near}&status=acknowledged` })))).toEqual([]);
    expect(names(json(await inject({ url: `/api/v1/incidents?${near}&sort=-priority` })))).toEqual([
      'd500',
      'd900',
      'd2000',
      'd100',
      'd300',
      'd50',
    ]);
  });

  it.each([
    ['near=abc', '/query/near'],
    ['near=28,-26,1', '/query/near'],
    ['near=200,-26', '/query/near'],
    ['near=28,-89', '/query/near'],
    ['near=28,-26&radius=50001', '/query/radius'],
    ['near=28,-26&radius=0', '/query/radius'],
    ['radius=100', '/query/radius'],
    ['sort=distance', '/query/sort'],
    ['status=open', '/query/status'],
    ['priority=urgent', '/query/priority'],
    ['limit=201', '/query/limit'],
    ['limit=0', '/query/limit'],
    ['cursor=garbage', '/query/cursor'],
    ['since=yesterday', '/query/since'],
    ['bbox=1,2,3', '/query/bbox'],
    ['bbox=28,-26,27,-25', '/query/bbox'],
    ['foo=bar', '/query/foo'],
  ])('refuses %s with 400 naming the field', async (query, path) => {
    const res = await inject({ url: `/api/v1/incidents?${query}` });
    expect(res.statusCode, res.body).toBe(400);
    expect(json(res).errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe('bbox and filters', () => {
  it('lists public incidents in a box, nearest the middle of the box first, or newest first', async () => {
    const [lon, lat] = CENTRE;
    // holds d50, d100, d300 (east 300 m = 0.003°) and d500 (south 500 m = 0.0045°); its middle is
    // 0.001° south of CENTRE: d50 0.0011° from it, d100 0.0019°, d300 0.0032°, d500 0.0035°
    const box = [lon - 0.004, lat - 0.006, lon + 0.004, lat + 0.004].join(',');
    const res = await inject({ url: `/api/v1/incidents?bbox=${box}` });
    expect(res.statusCode).toBe(200);
    expect(names(json(res))).toEqual(['d50', 'd100', 'd300', 'd500']);
    expect(json(res).items[0].distance).toBeUndefined();
    const newest = await inject({ url: `/api/v1/incidents?bbox=${box}&sort=-createdAt` });
    expect(names(json(newest))).toEqual(['d50', 'd500', 'd100', 'd300']);
  });

  it('filters by time, by reporter=me, and requires sign-in for "me"', async () => {
    const all = json(await inject({ url: '/api/v1/incidents?limit=200', headers: await as(ADMIN, 'admin') }));
    const oldest = all.items[all.items.length - 1];
    const since = json(
      await inject({ url: `/api/v1/incidents?since=${encodeURIComponent(oldest.createdAt)}&limit=200` }),
    );
    expect(since.items.length).toBeGreaterThan(0);
    const until = json(await inject({ url: `/api/v1/incidents?until=${encodeURIComponent(oldest.createdAt)}` }));
    expect(until.items.map((i: { id: string }) => i.id)).not.toContain(oldest.id);
    expect(names(json(await inject({ url: '/api/v1/incidents?reporter=me', headers: await as(RESIDENT_2) })))).toEqual([
      'd700',
    ]);
    expect((await inject({ url: '/api/v1/incidents?reporter=me' })).statusCode).toBe(401);
  });

  it('finds by reference through q', async () => {
    const incident = json(await inject({ url: `/api/v1/incidents/${ids.d300}` }));
    const res = json(await inject({ url: `/api/v1/incidents?q=${incident.reference.toLowerCase()}` }));
    expect(res.items.map((i: { id: string }) => i.id)).toEqual([ids.d300]);
  });

  it('treats LIKE wildcards in q as plain text', async () => {
    expect(json(await inject({ url: '/api/v1/incidents?q=%25%25%25' })).items).toEqual([]);
    expect(json(await inject({ url: '/api/v1/incidents?q=___' })).items).toEqual([]);
  });
});

describe('cursor pagination', () => {
  async function pageThrough(url: string, pageSize: number, between?: (page: number) => Promise<void>) {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res = await inject({
        url: `${url}${url.includes('?') ? '&' : '?'}limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res);
      seen.push(...body.items.map((i: { id: string }) => i.id));
      cursor = body.nextCursor;
      if (!cursor) break;
      await between?.(page);
    }
    return seen;
  }

  it.each([
    ['newest first', '/api/v1/incidents'],
    ['oldest first', '/api/v1/incidents?sort=createdAt'],
    ['by priority', '/api/v1/incidents?sort=-priority'],
    ['nearest first', `/api/v1/incidents?near=${CENTRE.join(',')}&radius=50000`],
    ['nearest the middle of a box first', `/api/v1/incidents?bbox=27.9,-26.3,28.5,-26.1`],
  ])('returns every row exactly once, %s, while inserts go on', async (_name, url) => {
    const before = await pageThrough(url, 200);
    let inserted = 0;
    const seen = await pageThrough(url, 2, async (page) => {
      // inserts between pages, at the same place (ties in distance) and with later timestamps
      await create(`extra-${_name}-${page}`, 0, 100, { priority: 'critical' });
      inserted++;
    });
    expect(inserted).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length); // never twice
    for (const id of before) expect(seen).toContain(id); // nothing that existed is skipped
  });

  it('pages through reports at exactly the same spot in id order, each once', async () => {
    const spot = { lon: 27.95, lat: -26.05 };
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: await as(RESIDENT),
        payload: {
          title: `Same spot ${i}`,
          description: '',
          categoryId: categories.pothole,
          location: { type: 'Point', coordinates: [spot.lon, spot.lat] },
        },
      });
      made.push(json(res).id);
    }
    const seen = await pageThrough(`/api/v1/incidents?near=${spot.lon},${spot.lat}&radius=10`, 3);
    expect(seen).toEqual([...made].sort());
  });

  it('refuses a cursor made for another sort', async () => {
    const first = json(await inject({ url: '/api/v1/incidents?limit=1' }));
    expect(first.nextCursor).toBeTruthy();
    const res = await inject({ url: `/api/v1/incidents?sort=-priority&cursor=${first.nextCursor}` });
    expect(res.statusCode).toBe(400);
  });

  it('refuses a tampered cursor without leaking an error', async () => {
    const tampered = Buffer.from(
      JSON.stringify({ s: '-createdAt', k: ['2026-13-45 99:99:99+00', '00000000-0000-4000-8000-000000000001'] }),
    ).toString('base64url');
    const res = await inject({ url: `/api/v1/incidents?cursor=${tampered}` });
    expect(res.statusCode).toBe(400);
  });
});

describe('sensitive incidents on the map', () => {
  // a point near the west edge of its ~250 m blur cell: the public is told the cell's centre,
  // about 110 m east and 60 m south of it
  const exact = [28.04626, -26.2041] as const;
  const cell = 0.00225;
  const blurred = exact.map((d) => Math.floor(d / cell) * cell + cell / 2) as [number, number];
  let crime: string;

  beforeAll(async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT_2),
      payload: {
        title: 'Break-in at number 12',
        description: 'Back door forced',
        categoryId: categories['crime-suspicious-activity'],
        location: { type: 'Point', coordinates: [...exact] },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    crime = json(res).id;
  });

  const found = async (query: string, headers: Record<string, string> = {}) =>
    (
      json(await inject({ url: `/api/v1/incidents?${query}&category=crime-suspicious-activity`, headers }))
        .items as Array<{ id: string }>
    )
      .map((i) => i.id)
      .includes(crime);

  it('matches the point the public is shown, never the exact one, so a shrinking radius finds nothing', async () => {
    expect(await found(`near=${exact.join(',')}&radius=30`)).toBe(false);
    expect(await found(`near=${blurred.join(',')}&radius=30`)).toBe(true);
    const d = 0.0002; // ~20 m
    expect(await found(`bbox=${exact[0] - d},${exact[1] - d},${exact[0] + d},${exact[1] + d}`)).toBe(false);
    expect(await found(`bbox=${blurred[0] - d},${blurred[1] - d},${blurred[0] + d},${blurred[1] + d}`)).toBe(true);
  });

  it('matches the exact point for those who may see it', async () => {
    expect(await found(`near=${exact.join(',')}&radius=30`, await as(RESIDENT_2))).toBe(true);
    expect(await found(`near=${exact.join(',')}&radius=30`, await as(ADMIN, 'admin'))).toBe(true);
    expect(await found(`near=${blurred.join(',')}&radius=30`, await as(ADMIN, 'admin'))).toBe(false);
  });
});
