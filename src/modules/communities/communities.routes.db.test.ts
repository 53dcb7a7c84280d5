import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, RESIDENT_2, useTestApp } from '../../../test/helpers/app.js';

const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const admin = () => as(ADMIN, 'admin');

/** A square of `half` degrees around (lon, lat), as a GeoJSON Polygon. */
function square(lon: number, lat: number, half: number) {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
      ],
    ],
  };
}

let potholeId: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  potholeId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
});

async function report(lon: number, lat: number) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Streetlight out',
      description: '',
      categoryId: potholeId,
      location: { type: 'Point', coordinates: [lon, lat] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function createCommunity(payload: Record<string, unknown>) {
  const res = await inject({ method: 'POST', url: '/api/v1/communities', headers: await admin(), payload });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

describe('communities', () => {
  it('gives an incident the smallest community whose boundary holds its point', async () => {
    const city = await createCommunity({
      slug: 'johannesburg',
      name: 'Johannesburg',
      boundary: square(28.05, -26.2, 0.3),
    });
    const suburb = await createCommunity({
      slug: 'melville',
      name: 'Melville',
      parentId: city.id,
      boundary: square(28.0, -26.17, 0.02),
    });
    expect(suburb.parentId).toBe(city.id);
    expect(suburb.boundary.type).toBe('MultiPolygon');

    expect((await report(28.0, -26.17)).communityId).toBe(suburb.id);
    expect((await report(28.2, -26.3)).communityId).toBe(city.id);
    expect((await report(18.42, -33.92)).communityId).toBeNull(); // Cape Town: outside both
  });

  it('moves existing incidents when a community is created inside, and back when it is deleted', async () => {
    const outer = await createCommunity({ slug: 'ekurhuleni', name: 'Ekurhuleni', boundary: square(28.3, -26.1, 0.2) });
    const incident = await report(28.31, -26.11);
    expect(incident.communityId).toBe(outer.id);

    const inner = await createCommunity({
      slug: 'benoni-ward',
      name: 'Benoni ward',
      parentId: outer.id,
      boundary: square(28.31, -26.11, 0.01),
    });
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).communityId).toBe(inner.id);

    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/communities/${outer.id}`, headers: await admin() })).statusCode,
    ).toBe(409);
    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/communities/${inner.id}`, headers: await admin() })).statusCode,
    ).toBe(204);
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).communityId).toBe(outer.id);
  });

  it('lists and fetches communities publicly, by id or slug, with GeoJSON boundaries', async () => {
    const list = json(await inject({ url: '/api/v1/communities' }));
    expect(list.items.map((c: { slug: string }) => c.slug)).toContain('melville');
    const bySlug = json(await inject({ url: '/api/v1/communities/melville' }));
    const byId = json(await inject({ url: `/api/v1/communities/${bySlug.id}` }));
    expect(byId).toEqual(bySlug);
    expect(byId.boundary.coordinates[0][0]).toHaveLength(5);
    expect((await inject({ url: '/api/v1/communities/nowhere' })).statusCode).toBe(404);
  });

  it('updates a boundary and re-derives which incidents belong', async () => {
    const c = await createCommunity({ slug: 'soweto', name: 'Soweto', boundary: square(27.9, -26.26, 0.01) });
    const incident = await report(27.93, -26.26); // just outside
    expect(incident.communityId).not.toBe(c.id);
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/communities/${c.id}`,
      headers: await admin(),
      payload: { boundary: square(27.9, -26.26, 0.05), name: 'Soweto North' },
    });
    expect(res.statusCode).toBe(200);
    expect(json(res).name).toBe('Soweto North');
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).communityId).toBe(c.id);
  });

  it('refuses invalid boundaries, cycles and duplicate slugs', async () => {
    const bowtie = {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 1],
          [1, 0],
          [0, 1],
          [0, 0],
        ],
      ],
    };
    const res = await inject({
      method: 'POST',
      url: '/api/v1/communities',
      headers: await admin(),
      payload: { slug: 'bowtie', name: 'Bow tie', boundary: bowtie },
    });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].path).toBe('/body/boundary');
    const open = {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 1],
        ],
      ],
    };
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/v1/communities',
          headers: await admin(),
          payload: { slug: 'open', name: 'Open', boundary: open },
        })
      ).statusCode,
    ).toBe(400);
    const point = { type: 'Point', coordinates: [0, 0] };
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/v1/communities',
          headers: await admin(),
          payload: { slug: 'pt', name: 'Pt', boundary: point },
        })
      ).statusCode,
    ).toBe(400);

    const parent = await createCommunity({ slug: 'parent-a', name: 'A', boundary: square(10, 10, 1) });
    const child = await createCommunity({
      slug: 'child-b',
      name: 'B',
      parentId: parent.id,
      boundary: square(10, 10, 0.5),
    });
    const cycle = await inject({
      method: 'PATCH',
      url: `/api/v1/communities/${parent.id}`,
      headers: await admin(),
      payload: { parentId: child.id },
    });
    expect(cycle.statusCode).toBe(400);
    expect(json(cycle).errors[0].path).toBe('/body/parentId');
    const dup = await inject({
      method: 'POST',
      url: '/api/v1/communities',
      headers: await admin(),
      payload: { slug: 'parent-a', name: 'A2', boundary: square(11, 11, 1) },
    });
    expect(dup.statusCode).toBe(409);
  });

  it('put who, from where and in which request on the audit trail', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/communities',
      headers: await admin(),
      payload: { slug: 'audited', name: 'Audited', boundary: square(5, 5, 0.1) },
    });
    expect(res.statusCode).toBe(201);
    const { rows } = await h.current.t.db.query({
      text: `SELECT actor_id, ip, request_id FROM audit_log WHERE action = 'community.create' AND entity_id = $1`,
      values: [json(res).id],
    });
    expect(rows).toEqual([{ actor_id: ADMIN, ip: '127.0.0.1', request_id: res.headers['x-request-id'] }]);
  });

  it('are managed by admins only', async () => {
    const payload = { slug: 'not-allowed', name: 'No', boundary: square(0, 0, 1) };
    expect((await inject({ method: 'POST', url: '/api/v1/communities', payload })).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/communities', headers: await as(RESIDENT), payload })).statusCode,
    ).toBe(403);
    const melville = json(await inject({ url: '/api/v1/communities/melville' }));
    const moderator = await as(RESIDENT, `moderator:${melville.id}`);
    expect(
      (
        await inject({
          method: 'PATCH',
          url: `/api/v1/communities/${melville.id}`,
          headers: moderator,
          payload: { name: 'x' },
        })
      ).statusCode,
    ).toBe(403);
  });

  it('give their staff triage powers there and nowhere else', async () => {
    const melville = json(await inject({ url: '/api/v1/communities/melville' }));
    const soweto = json(await inject({ url: '/api/v1/communities/soweto' }));
    const inMelville = await report(28.0, -26.17);
    const inSoweto = await report(27.9, -26.26);
    const moderator = await as(RESIDENT, `moderator:${melville.id}`);
    const patch = (id: string) =>
      inject({
        method: 'PATCH',
        url: `/api/v1/incidents/${id}`,
        headers: moderator,
        payload: { status: 'acknowledged' },
      });
    expect((await patch(inMelville.id)).statusCode).toBe(200);
    expect((await patch(inSoweto.id)).statusCode).toBe(403);
    expect(soweto.id).not.toBe(melville.id);
  });

  it('filter incident lists by community, including nested communities', async () => {
    const city = json(await inject({ url: '/api/v1/communities/johannesburg' }));
    const melville = json(await inject({ url: '/api/v1/communities/melville' }));
    const onlyCity = await report(27.8, -26.0); // inside Johannesburg and no smaller community
    expect(onlyCity.communityId).toBe(city.id);
    const inCity = json(await inject({ url: `/api/v1/incidents?communityId=${city.id}&limit=200` })).items;
    const inMelville = json(await inject({ url: `/api/v1/incidents?communityId=${melville.id}&limit=200` })).items;
    expect(inMelville.length).toBeGreaterThan(0);
    for (const i of inMelville) expect(inCity.map((x: { id: string }) => x.id)).toContain(i.id);
    expect(inCity.length).toBeGreaterThan(inMelville.length);
  });
});

describe('GET /communities/:id/staff', () => {
  const WARD = '00000000-0000-4000-8000-00000000c0a1';
  const OTHER = '00000000-0000-4000-8000-00000000c0a2';
  const MOD = '00000000-0000-4000-8000-00000000c0b1';
  const RESPONDER = '00000000-0000-4000-8000-00000000c0b2';
  const BOTH = '00000000-0000-4000-8000-00000000c0b3';
  const ELSEWHERE = '00000000-0000-4000-8000-00000000c0b4';
  const BANNED = '00000000-0000-4000-8000-00000000c0b5';

  it("lists the community's moderators and responders, with their roles, to its staff and admins only", async () => {
    const moderator = await as(MOD, `moderator:${WARD}`);
    await as(RESPONDER, `responder:${WARD}`);
    await as(BOTH, `moderator:${WARD},responder:${WARD}`);
    const elsewhere = await as(ELSEWHERE, `moderator:${OTHER}`);
    await as(BANNED, `responder:${WARD}`);
    await h.current.t.db.query({ text: 'UPDATE users SET banned_at = now() WHERE id = $1', values: [BANNED] });

    const res = await inject({ url: `/api/v1/communities/${WARD}/staff`, headers: moderator });
    expect(res.statusCode, res.body).toBe(200);
    const items = json(res).items as Array<{ id: string; displayName: string; roles: string[] }>;
    const byId = new Map(items.map((i) => [i.id, i]));
    expect([...byId.keys()].sort()).toEqual([MOD, RESPONDER, BOTH].sort());
    expect(byId.get(BOTH)!.roles).toEqual(['moderator', 'responder']);
    expect(byId.get(RESPONDER)!.roles).toEqual(['responder']);
    // no contact details go out
    expect(Object.keys(items[0]!).sort()).toEqual(['displayName', 'id', 'roles']);

    const byAdmin = await inject({ url: `/api/v1/communities/${WARD}/staff`, headers: await admin() });
    expect(json(byAdmin).items).toHaveLength(3);

    expect((await inject({ url: `/api/v1/communities/${WARD}/staff`, headers: elsewhere })).statusCode).toBe(403);
    expect((await inject({ url: `/api/v1/communities/${WARD}/staff`, headers: await as(RESIDENT_2) })).statusCode).toBe(
      403,
    );
    expect((await inject({ url: `/api/v1/communities/${WARD}/staff` })).statusCode).toBe(401);
    expect((await inject({ url: `/api/v1/communities/no-such-place/staff`, headers: moderator })).statusCode).toBe(404);
  });
});
