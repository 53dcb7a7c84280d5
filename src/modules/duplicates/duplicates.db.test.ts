import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { buildSimilarQuery } from './duplicates.repository.js';

/** Possible duplicates, the pre-submit check, merging and the links between merged incidents. */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const WATER = 'ffa6c8d8-de96-46b5-8eba-9c1cb21bc738';
const SEWAGE = 'a2f22184-7bfc-4503-b373-137c4253a150';
const CRIME = '2a2a2bac-6c2c-43aa-9055-331961a12d78';

const REPORTER = '00000000-0000-4000-8000-00000000d001';
const OTHER = '00000000-0000-4000-8000-00000000d002';
const MODERATOR = '00000000-0000-4000-8000-00000000d003';
const ELSEWHERE = '00000000-0000-4000-8000-00000000d004';
const N1 = '00000000-0000-4000-8000-00000000d011';
const N2 = '00000000-0000-4000-8000-00000000d012';
const N3 = '00000000-0000-4000-8000-00000000d013';
const N4 = '00000000-0000-4000-8000-00000000d014';
const COMMUNITY = '00000000-0000-4000-8000-00000000dd01';
const OTHER_COMMUNITY = '00000000-0000-4000-8000-00000000dd02';

const moderator = () => as(MODERATOR, `moderator:${COMMUNITY}`);

beforeAll(async () => {
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2)
     VALUES ($1, 'duplicates-test', 'Duplicates test', ST_Multi(ST_MakeEnvelope(27.9, -26.4, 28.4, -25.6, 4326)), 1)`,
    [COMMUNITY],
  );
  // a sensitive category with a smaller radius, for the blurred matching
  await query('UPDATE categories SET sensitive = true, duplicate_radius_m = 200 WHERE id = $1', [CRIME]);
});

interface Created {
  id: string;
  reference: string;
}

async function report(
  title: string,
  coordinates: [number, number],
  options: { user?: string; categoryId?: string; isPublic?: boolean } = {},
): Promise<Created> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(options.user ?? REPORTER),
    payload: {
      title,
      description: '',
      categoryId: options.categoryId ?? POTHOLE,
      location: { type: 'Point', coordinates },
      ...(options.isPublic === undefined ? {} : { isPublic: options.isPublic }),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = json(res);
  return { id: body.id, reference: body.reference };
}

const get = async (url: string, headers: Record<string, string> = {}) => inject({ url: `/api/v1${url}`, headers });
const ids = (res: Awaited<ReturnType<typeof inject>>) => (json(res).items as Array<{ id: string }>).map((i) => i.id);

describe('GET /incidents/:id/similar', () => {
  const P: [number, number] = [28.2, -25.75];
  const at = (dLon: number, dLat: number): [number, number] => [P[0] + dLon, P[1] + dLat];
  let a: Created, b: Created, c: Created, i: Created, far: Created, water: Created, old: Created, hidden: Created;

  beforeAll(async () => {
    a = await report('Pothole on Main Road', P);
    b = await report('Big pothole on Main Road', at(0.0005, 0)); // ~50 m
    c = await report('Pothole in Main Road', at(0, 0.0013)); // ~144 m
    i = await report('Streetlight broken', at(0.0003, 0)); // ~30 m, another title
    far = await report('Pothole on Main Road', at(0.01, 0)); // ~1 km
    water = await report('Pothole on Main Road', at(0.0002, 0), { categoryId: WATER });
    old = await report('Pothole on Main Road', at(0.0004, 0));
    await query(`UPDATE incidents SET created_at = now() - interval '40 days' WHERE id = $1`, [old.id]);
    hidden = await report('Pothole on Main Road', at(0.0001, 0), { user: OTHER, isPublic: false });
  });

  it('finds near, same-category, recent incidents and ranks them by distance and title', async () => {
    const res = await get(`/incidents/${a.reference}/similar`);
    expect(res.statusCode, res.body).toBe(200);
    expect(ids(res)).toEqual([b.id, c.id, i.id]);
    const [first, second, third] = json(res).items;
    expect(first).toMatchObject({ reference: b.reference, status: 'reported', duplicateOf: null });
    expect(first.distance).toBeGreaterThan(45);
    expect(first.distance).toBeLessThan(55);
    expect(first.distance).toBe(Math.round(first.distance * 10) / 10);
    expect(first.similarity).toBeGreaterThan(0.5);
    expect(first.similarity).toBeLessThanOrEqual(1);
    expect(first.similarity).toBe(Math.round(first.similarity * 100) / 100);
    expect(second.similarity).toBeGreaterThan(0.5);
    expect(third.similarity).toBeLessThan(0.2);
  });

  it('excludes far, old, other-category and (for others) private incidents', async () => {
    const res = await get(`/incidents/${a.id}/similar`, await as(N1));
    const found = ids(res);
    for (const excluded of [a, far, water, old, hidden]) expect(found).not.toContain(excluded.id);
    // the private report's own reporter and the community's staff see it
    expect(ids(await get(`/incidents/${a.id}/similar`, await as(OTHER)))).toContain(hidden.id);
    expect(ids(await get(`/incidents/${a.id}/similar`, await moderator()))).toContain(hidden.id);
  });

  it('is 404 for an incident the caller may not see', async () => {
    expect((await get(`/incidents/${hidden.id}/similar`)).statusCode).toBe(404);
    expect((await get(`/incidents/${hidden.id}/similar`, await as(OTHER))).statusCode).toBe(200);
  });

  it('answers the pre-submit check from a point, for anyone', async () => {
    const url = (params: string) => `/incidents/similar?near=${P[0]},${P[1]}&categoryId=${POTHOLE}${params}`;
    const titled = await get(url(`&title=${encodeURIComponent('pothole main road')}`));
    expect(titled.statusCode, titled.body).toBe(200);
    const found = ids(titled);
    expect(found.slice(0, 3)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
    expect(found).toContain(i.id);
    for (const excluded of [far, water, old, hidden]) expect(found).not.toContain(excluded.id);
    // no title: nearest first, similarity 0
    const untitled = await get(url(''));
    expect(ids(untitled)).toEqual([a.id, i.id, b.id, c.id]);
    expect(json(untitled).items.every((x: { similarity: number }) => x.similarity === 0)).toBe(true);
    expect(json(untitled).items[0].distance).toBe(0);
    // the private one for its reporter
    expect(ids(await get(url(''), await as(OTHER)))).toContain(hidden.id);
  });

  it('validates the pre-submit parameters, in the caller’s language', async () => {
    const bad = await get(`/incidents/similar?near=abc&categoryId=${POTHOLE}&title=%20`);
    expect(bad.statusCode).toBe(400);
    expect(
      json(bad)
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['/query/near', '/query/title']);
    const af = await get(`/incidents/similar?near=28.2,-89&categoryId=${POTHOLE}&lang=af`);
    expect(af.statusCode).toBe(400);
    expect(json(af).errors[0]).toMatchObject({ path: '/query/near' });
    expect(json(af).errors[0].message).toContain('breedtegraad');
    const unknown = await get(`/incidents/similar?near=28.2,-25.75&categoryId=00000000-0000-4000-8000-000000000000`);
    expect(unknown.statusCode).toBe(400);
    expect(json(unknown).errors[0]).toMatchObject({ path: '/query/categoryId' });
    expect((await get(`/incidents/similar?near=28.2,-25.75`)).statusCode).toBe(400);
    expect((await get(`/incidents/similar?near=28.2,-25.75&categoryId=${POTHOLE}&radius=5`)).statusCode).toBe(400);
  });
});

describe('sensitive incidents', () => {
  // near the south-west corner of its blur cell; the cell's centre is ~165 m away
  const S: [number, number] = [28.04627, -26.20573];
  const CENTRE: [number, number] = [28.047375, -26.204625];
  // ~97 m from S, away from the centre (~261 m from it); the category's radius is 200 m
  const Q: [number, number] = [28.04557, -26.20633];
  let s: Created;
  beforeAll(async () => {
    s = await report('Suspicious car parked', S, { user: OTHER, categoryId: CRIME });
  });
  const check = (point: [number, number], headers: Record<string, string> = {}) =>
    get(`/incidents/similar?near=${point[0]},${point[1]}&categoryId=${CRIME}&title=suspicious`, headers);

  it('is matched at its blurred point for the public', async () => {
    expect(ids(await check(Q))).toEqual([]);
    const fromCentre = await check(CENTRE);
    expect(ids(fromCentre)).toEqual([s.id]);
    const item = json(fromCentre).items[0];
    expect(item.locationBlurred).toBe(true);
    expect(item.location.coordinates).toEqual(CENTRE);
    expect(item.distance % 250).toBe(0);
  });

  it('is matched at its exact point for its reporter and staff', async () => {
    for (const headers of [await as(OTHER), await moderator()]) {
      const res = await check(Q, headers);
      expect(ids(res)).toEqual([s.id]);
      expect(json(res).items[0].distance).toBeGreaterThan(80);
      expect(json(res).items[0].distance).toBeLessThan(110);
    }
  });
});

describe('the similar query plan', () => {
  it('uses the spatial index, not a scan of incidents', async () => {
    await query(
      `INSERT INTO incidents (reference, title, location, category_id, created_at)
       SELECT 'DUP-' || g, 'Filler sewage report ' || g,
              ST_SetSRID(ST_MakePoint(27.0 + random() * 2, -27.0 + random() * 2), 4326), $1,
              now() - random() * interval '60 days'
       FROM generate_series(1, 4000) g`,
      [SEWAGE],
    );
    await query('ANALYZE incidents');
    for (const visibility of [
      { kind: 'public' as const, orReporterId: null, orCommunityIds: [] },
      { kind: 'all' as const },
    ]) {
      const q = buildSimilarQuery({
        lon: 28.0,
        lat: -26.0,
        categoryId: SEWAGE,
        radius: 250,
        title: 'sewage spill',
        around: null,
        excludeId: null,
        visibility,
        limit: 20,
      });
      const { rows } = await query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.text}`, q.values);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Seq Scan on incidents/);
      expect(plan).toMatch(/incidents_location_m_gist/);
    }
  });
});

describe('POST /incidents/:id/merge', () => {
  const P: [number, number] = [28.3, -25.7];
  const merge = async (duplicate: string, into: string, headers: Record<string, string>) =>
    inject({ method: 'POST', url: `/api/v1/incidents/${duplicate}/merge`, headers, payload: { into } });
  const confirm = async (incident: string, user: string) => {
    const res = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident}/confirmations`,
      headers: await as(user),
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  const follow = async (incident: string, user: string) => {
    const res = await inject({ method: 'PUT', url: `/api/v1/incidents/${incident}/follow`, headers: await as(user) });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  const counted = async (incident: string) => {
    const { rows } = await query<{ confirmations: number; rows: number }>(
      `SELECT confirmations, (SELECT count(*)::int FROM incident_confirmations WHERE incident_id = $1) AS rows
       FROM incidents WHERE id = $1`,
      [incident],
    );
    return rows[0]!;
  };
  const followers = async (incident: string) =>
    (
      await query<{ user_id: string }>('SELECT user_id FROM incident_follows WHERE incident_id = $1 ORDER BY user_id', [
        incident,
      ])
    ).rows.map((r) => r.user_id);
  const timeline = async (incident: string) =>
    json(await get(`/incidents/${incident}/timeline`, await moderator())).items as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;

  let original: Created, duplicate: Created;
  beforeAll(async () => {
    original = await report('Burst pipe on Oak Street', P, { user: REPORTER });
    duplicate = await report('Burst pipe Oak Street', [P[0] + 0.0003, P[1]], { user: OTHER });
    await confirm(original.id, N1);
    await confirm(duplicate.id, N1); // confirmed both: counts once
    await confirm(duplicate.id, N2);
    await confirm(duplicate.id, REPORTER); // the original's reporter: not a confirmation of their own report
    await follow(duplicate.id, N3);
  });

  it('refuses by the policy: 401 signed out, 403 for others, 404 for what the caller cannot see', async () => {
    expect((await merge(duplicate.id, original.id, {})).statusCode).toBe(401);
    expect((await merge(duplicate.id, original.id, await as(N1))).statusCode).toBe(403);
    expect((await merge(duplicate.id, original.id, await as(OTHER))).statusCode).toBe(403);
    expect(
      (await merge(duplicate.id, original.id, await as(ELSEWHERE, `moderator:${OTHER_COMMUNITY}`))).statusCode,
    ).toBe(403);
    const privateOne = await report('Burst pipe, private', [P[0] + 0.0001, P[1]], { user: N4, isPublic: false });
    // ELSEWHERE may not see it: 404, before any 403
    expect(
      (await merge(privateOne.id, original.id, await as(ELSEWHERE, `moderator:${OTHER_COMMUNITY}`))).statusCode,
    ).toBe(404);
    expect((await merge(duplicate.id, 'BW-NOPE0000', await moderator())).statusCode).toBe(404);
    expect((await merge(duplicate.id, duplicate.reference, await moderator())).statusCode).toBe(400);
    // nothing changed
    expect(json(await get(`/incidents/${duplicate.id}`)).status).toBe('reported');
  });

  it('merges: status, links both ways, followers and confirmations moved and counted once', async () => {
    const res = await merge(duplicate.reference, original.reference, await moderator());
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toMatchObject({
      id: duplicate.id,
      status: 'duplicate',
      duplicateOf: { id: original.id, reference: original.reference },
    });
    expect(json(await get(`/incidents/${original.id}`))).toMatchObject({ duplicateOf: null, confirmations: 2 });
    expect(await counted(original.id)).toEqual({ confirmations: 2, rows: 2 });
    expect(await counted(duplicate.id)).toEqual({ confirmations: 0, rows: 0 });
    expect(await followers(original.id)).toEqual([REPORTER, OTHER, N1, N2, N3].sort());
    expect(await followers(duplicate.id)).toEqual([]);

    const merged = await get(`/incidents/${original.reference}/duplicates`);
    expect(merged.statusCode).toBe(200);
    expect(ids(merged)).toEqual([duplicate.id]);
    expect(ids(await get(`/incidents/${duplicate.id}/duplicates`))).toEqual([]);
    // a merged incident is no longer offered as a possible duplicate
    expect(ids(await get(`/incidents/${original.id}/similar`))).not.toContain(duplicate.id);

    expect(await timeline(duplicate.id)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'status_changed', data: { from: 'reported', to: 'duplicate' } }),
        expect.objectContaining({ type: 'merged_into', data: { id: original.id, reference: original.reference } }),
      ]),
    );
    expect(await timeline(original.id)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'merged_from', data: { id: duplicate.id, reference: duplicate.reference } }),
      ]),
    );
    const { rows: audit } = await query<{ actor_id: string; data: Record<string, unknown> }>(
      `SELECT actor_id, data FROM audit_log WHERE action = 'incident.merge' AND entity_id = $1`,
      [duplicate.id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_id: MODERATOR,
      data: { into: { id: original.id, reference: original.reference }, movedConfirmations: 1 },
    });
  });

  it('is 409 from a status that cannot become duplicate', async () => {
    const again = await merge(duplicate.id, original.id, await moderator());
    expect(again.statusCode).toBe(409);
    expect(json(again).detail).toContain('duplicate');
    const busy = await report('Burst pipe being fixed', [P[0] + 0.0002, P[1]]);
    await query(`UPDATE incidents SET status = 'in_progress' WHERE id = $1`, [busy.id]);
    const res = await merge(busy.id, original.id, await as(ADMIN, 'admin'));
    expect(res.statusCode).toBe(409);
    expect(json(res).detail).toBe('An incident cannot move from in_progress to duplicate.');
    // into a duplicate: 409 too
    const third = await report('Burst pipe again', [P[0] + 0.0002, P[1] + 0.0001]);
    expect((await merge(third.id, duplicate.id, await moderator())).statusCode).toBe(409);
    // an acknowledged one merges (as admin)
    await query(`UPDATE incidents SET status = 'acknowledged' WHERE id = $1`, [third.id]);
    expect((await merge(third.id, original.id, await as(ADMIN, 'admin'))).statusCode).toBe(200);
  });

  it('does not name a private original to those who may not see it', async () => {
    const hiddenOriginal = await report('Burst pipe, private report', [P[0] - 0.0003, P[1]], {
      user: N4,
      isPublic: false,
    });
    const copy = await report('Burst pipe near the school', [P[0] - 0.0004, P[1]], { user: N3 });
    expect((await merge(copy.id, hiddenOriginal.id, await moderator())).statusCode).toBe(200);
    expect(json(await get(`/incidents/${copy.id}`)).duplicateOf).toBeNull();
    expect(json(await get(`/incidents/${copy.id}`, await as(N4))).duplicateOf).toEqual({
      id: hiddenOriginal.id,
      reference: hiddenOriginal.reference,
    });
    const publicTimeline = json(await get(`/incidents/${copy.id}/timeline`)).items as Array<{ type: string }>;
    expect(publicTimeline.map((e) => e.type)).not.toContain('merged_into');
    expect((await timeline(copy.id)).map((e) => e.type)).toContain('merged_into');
  });

  it('sends comments and confirmations on the duplicate to the original', async () => {
    const before = (await counted(original.id)).confirmations;
    const comment = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${duplicate.id}/comments`,
      headers: await as(N4),
      payload: { body: 'Still leaking this morning' },
    });
    expect(comment.statusCode, comment.body).toBe(201);
    expect(
      (await timeline(original.id)).some((e) => e.type === 'comment' && e.data.body === 'Still leaking this morning'),
    ).toBe(true);
    expect((await timeline(duplicate.id)).some((e) => e.type === 'comment')).toBe(false);
    await confirm(duplicate.id, N4);
    expect(await counted(original.id)).toEqual({ confirmations: before + 1, rows: before + 1 });
    expect(await counted(duplicate.id)).toEqual({ confirmations: 0, rows: 0 });
  });
});
