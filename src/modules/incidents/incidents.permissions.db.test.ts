import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';

/**
 * The permission matrix over HTTP: every kind of caller × every kind of incident × every
 * action, against the table below (the policy as the product states it). A hidden incident is
 * 404, never 403.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

const REPORTER = '00000000-0000-4000-8000-0000000000a1';
const NEIGHBOUR = '00000000-0000-4000-8000-0000000000a2';
const MOD_A = '00000000-0000-4000-8000-0000000000a3';
const RESP_A = '00000000-0000-4000-8000-0000000000a4';
const MOD_B = '00000000-0000-4000-8000-0000000000a5';

type Caller = 'anonymous' | 'reporter' | 'neighbour' | 'moderatorA' | 'responderA' | 'moderatorB' | 'admin';
type Kind = 'public' | 'private' | 'anonymous';
type Action = 'view' | 'seeReporter' | 'triage' | 'editOwn';
const CALLERS: Caller[] = ['anonymous', 'reporter', 'neighbour', 'moderatorA', 'responderA', 'moderatorB', 'admin'];
const KINDS: Kind[] = ['public', 'private', 'anonymous'];

/** What each caller may do to an incident of each kind in community A (true = allowed). */
const ALLOWED: Record<Caller, Record<Kind, Record<Action, boolean>>> = {
  anonymous: {
    public: { view: true, seeReporter: true, triage: false, editOwn: false },
    private: { view: false, seeReporter: false, triage: false, editOwn: false },
    anonymous: { view: true, seeReporter: false, triage: false, editOwn: false },
  },
  reporter: {
    public: { view: true, seeReporter: true, triage: false, editOwn: true },
    private: { view: true, seeReporter: true, triage: false, editOwn: true },
    anonymous: { view: true, seeReporter: true, triage: false, editOwn: true },
  },
  neighbour: {
    public: { view: true, seeReporter: true, triage: false, editOwn: false },
    private: { view: false, seeReporter: false, triage: false, editOwn: false },
    anonymous: { view: true, seeReporter: false, triage: false, editOwn: false },
  },
  moderatorA: {
    public: { view: true, seeReporter: true, triage: true, editOwn: false },
    private: { view: true, seeReporter: true, triage: true, editOwn: false },
    anonymous: { view: true, seeReporter: true, triage: true, editOwn: false },
  },
  responderA: {
    public: { view: true, seeReporter: true, triage: true, editOwn: false },
    private: { view: true, seeReporter: true, triage: true, editOwn: false },
    anonymous: { view: true, seeReporter: true, triage: true, editOwn: false },
  },
  moderatorB: {
    public: { view: true, seeReporter: true, triage: false, editOwn: false },
    private: { view: false, seeReporter: false, triage: false, editOwn: false },
    anonymous: { view: true, seeReporter: false, triage: false, editOwn: false },
  },
  admin: {
    public: { view: true, seeReporter: true, triage: true, editOwn: false },
    private: { view: true, seeReporter: true, triage: true, editOwn: false },
    anonymous: { view: true, seeReporter: true, triage: true, editOwn: false },
  },
};

let communityA: string;
let communityB: string;
let potholeId: string;

async function headersFor(caller: Caller): Promise<Record<string, string>> {
  switch (caller) {
    case 'anonymous':
      return {};
    case 'reporter':
      return as(REPORTER);
    case 'neighbour':
      return as(NEIGHBOUR);
    case 'moderatorA':
      return as(MOD_A, `moderator:${communityA}`);
    case 'responderA':
      return as(RESP_A, `responder:${communityA}`);
    case 'moderatorB':
      return as(MOD_B, `moderator:${communityB}`);
    case 'admin':
      return as(ADMIN, 'admin');
  }
}

async function report(kind: Kind) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(REPORTER),
    payload: {
      title: `A ${kind} report`,
      description: '',
      categoryId: potholeId,
      location: { type: 'Point', coordinates: [18.42, -33.92] },
      isPublic: kind !== 'private',
      anonymous: kind === 'anonymous',
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; communityId: string };
}

beforeAll(async () => {
  const square = (lon: number, lat: number) => ({
    type: 'Polygon',
    coordinates: [
      [
        [lon - 0.1, lat - 0.1],
        [lon + 0.1, lat - 0.1],
        [lon + 0.1, lat + 0.1],
        [lon - 0.1, lat + 0.1],
        [lon - 0.1, lat - 0.1],
      ],
    ],
  });
  const admin = await as(ADMIN, 'admin');
  const a = await inject({
    method: 'POST',
    url: '/api/v1/communities',
    headers: admin,
    payload: { slug: 'cape-town-a', name: 'A', boundary: square(18.42, -33.92) },
  });
  const b = await inject({
    method: 'POST',
    url: '/api/v1/communities',
    headers: admin,
    payload: { slug: 'durban-b', name: 'B', boundary: square(31.02, -29.85) },
  });
  communityA = json(a).id;
  communityB = json(b).id;
  potholeId = json(await inject({ url: '/api/v1/categories' })).items.find(
    (c: { slug: string }) => c.slug === 'pothole',
  ).id;
});

describe('permission matrix', () => {
  for (const kind of KINDS) {
    for (const caller of CALLERS) {
      it(`${caller} on a ${kind} incident`, async () => {
        const expected = ALLOWED[caller][kind];
        const incident = await report(kind);
        expect(incident.communityId).toBe(communityA);
        const headers = await headersFor(caller);

        const view = await inject({ url: `/api/v1/incidents/${incident.id}`, headers });
        expect(view.statusCode).toBe(expected.view ? 200 : 404);
        if (expected.view) expect(json(view).reporter !== null).toBe(expected.seeReporter);

        const list = json(await inject({ url: `/api/v1/incidents?near=18.42,-33.92&radius=100&limit=200`, headers }));
        expect(list.items.some((i: { id: string }) => i.id === incident.id)).toBe(expected.view);

        const triage = await inject({
          method: 'PATCH',
          url: `/api/v1/incidents/${incident.id}`,
          headers,
          payload: { priority: 'high' },
        });
        expect(triage.statusCode).toBe(
          expected.triage ? 200 : !expected.view ? 404 : caller === 'anonymous' ? 401 : 403,
        );

        const edit = await inject({
          method: 'PATCH',
          url: `/api/v1/incidents/${incident.id}`,
          headers,
          payload: { title: 'Reworded by the caller' },
        });
        expect(edit.statusCode).toBe(
          expected.editOwn ? 200 : !expected.view ? 404 : caller === 'anonymous' ? 401 : 403,
        );
      });
    }
  }
});

describe('own reports', () => {
  it('may be reworded and moved by the reporter only while still reported', async () => {
    const incident = await report('public');
    const mine = await as(REPORTER);
    const moved = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: mine,
      payload: { description: 'Now with details', location: { type: 'Point', coordinates: [31.02, -29.85] } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(json(moved)).toMatchObject({
      description: 'Now with details',
      location: { coordinates: [31.02, -29.85] },
      communityId: communityB,
    });
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` }));
    expect(timeline.items.at(-1)).toMatchObject({ type: 'edited', data: { fields: ['description', 'location'] } });

    await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await as(MOD_B, `moderator:${communityB}`),
      payload: { status: 'acknowledged' },
    });
    const late = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await as(REPORTER),
      payload: { title: 'Too late now' },
    });
    expect(late.statusCode).toBe(403);
  });
});

describe('reporting while signed out', () => {
  const payload = (lon: number, lat: number) => ({
    title: 'Seen on my way home',
    description: '',
    categoryId: potholeId,
    location: { type: 'Point', coordinates: [lon, lat] },
  });

  it('is refused unless the community allows it, and is then anonymous', async () => {
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/v1/incidents',
          payload: { ...payload(31.02, -29.85), categoryId: potholeId },
        })
      ).statusCode,
    ).toBe(401);
    expect((await inject({ method: 'POST', url: '/api/v1/incidents', payload: payload(0, 0) })).statusCode).toBe(401);
    const on = await inject({
      method: 'PATCH',
      url: `/api/v1/communities/${communityB}`,
      headers: await as(ADMIN, 'admin'),
      payload: { anonymousReporting: true },
    });
    expect(json(on).anonymousReporting).toBe(true);
    const res = await inject({ method: 'POST', url: '/api/v1/incidents', payload: payload(31.02, -29.85) });
    expect(res.statusCode, res.body).toBe(201);
    expect(json(res).reporter).toBeNull();
    const staffView = json(
      await inject({ url: `/api/v1/incidents/${json(res).id}`, headers: await as(MOD_B, `moderator:${communityB}`) }),
    );
    expect(staffView.reporter).toBeNull();
  });
});
