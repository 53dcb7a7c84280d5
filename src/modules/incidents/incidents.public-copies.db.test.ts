import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { renderAllQueuedCopies, renderQueuedCopies, startPublicCopyRenderer } from './incidents.public-copies.js';

/**
 * The public map's list (a signed-out visitor's box, nearest its middle first) comes from the
 * public copies. It must show exactly what the incidents show a visitor, the moment a change
 * commits, whether the copy is made yet or not.
 */
// this file renders the copies itself, step by step; the last test starts a node's renderer
const h = useTestApp({}, { renderPublicCopies: false });
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const REPORTER = '00000000-0000-4000-8000-0000000000c1';
const STAFF = '00000000-0000-4000-8000-0000000000c2';
// a box of its own, away from every other test's points
const BOX = [19.4, -32.6, 19.5, -32.5] as const;
const boxUrl = (extra = '') => `/api/v1/incidents?bbox=${BOX.join(',')}&limit=200${extra}`;

let categoryIds: Record<string, string>;
let communityId: string;
const ids: Record<string, string> = {};

interface Listed {
  id: string;
  title: string;
  status: string;
  category: { id: string; slug: string; name: string };
  location: { coordinates: [number, number] };
  address: string | null;
  reporter: { id: string; displayName: string } | null;
  locationBlurred: boolean;
}

async function list(url = boxUrl()): Promise<Listed[]> {
  const res = await inject({ url });
  expect(res.statusCode, res.body).toBe(200);
  return json(res).items;
}

async function report(title: string, lon: number, lat: number, extra: Record<string, unknown> = {}) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(REPORTER),
    payload: {
      title,
      description: `About ${title}`,
      categoryId: categoryIds.pothole,
      location: { type: 'Point', coordinates: [lon, lat] },
      address: `${title} Street`,
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id as string;
}

const queued = async () =>
  (await query<{ n: number }>('SELECT count(*)::int AS n FROM incident_public_copy_queue')).rows[0]!.n;
const copied = async () =>
  (await query<{ n: number }>('SELECT count(*)::int AS n FROM incident_public_copies')).rows[0]!.n;

beforeAll(async () => {
  const categories = json(await inject({ url: '/api/v1/categories' })).items as Array<{ slug: string; id: string }>;
  categoryIds = Object.fromEntries(categories.map((c) => [c.slug, c.id]));
  const admin = await as(ADMIN, 'admin');
  const [a, b, c, d] = BOX;
  const community = await inject({
    method: 'POST',
    url: '/api/v1/communities',
    headers: admin,
    payload: {
      slug: 'public-copies',
      name: 'Public copies',
      boundary: {
        type: 'Polygon',
        coordinates: [
          [
            [a, b],
            [c, b],
            [c, d],
            [a, d],
            [a, b],
          ],
        ],
      },
    },
  });
  expect(community.statusCode, community.body).toBe(201);
  communityId = json(community).id;
  ids.plain = await report('Plain', 19.45, -32.55);
  ids.anonymous = await report('Anonymous', 19.452, -32.551, { anonymous: true });
  ids.sensitive = await report('Sensitive', 19.4466, -32.5533, {
    categoryId: categoryIds['crime-suspicious-activity'],
  });
  ids.private = await report('Private', 19.451, -32.549, { isPublic: false });
  ids.far = await report('Far', 19.49, -32.59);
});

describe('the public box list', () => {
  it('shows a visitor what each incident shows them, before its copy is made and after, in the same order', async () => {
    const before = await list();
    expect(before.map((i) => i.title)).toEqual(['Plain', 'Anonymous', 'Sensitive', 'Far']);
    for (const item of before) {
      expect(item).toEqual(json(await inject({ url: `/api/v1/incidents/${item.id}` })));
    }
    const sensitive = before.find((i) => i.id === ids.sensitive)!;
    expect(sensitive.locationBlurred).toBe(true);
    expect(sensitive.address).toBeNull();
    expect(before.find((i) => i.id === ids.anonymous)!.reporter).toBeNull();

    await renderAllQueuedCopies(h.current.t.db);
    expect(await queued()).toBe(0);
    expect(await copied()).toBe(4); // the private one has none
    expect(await list()).toEqual(before);
  });

  it('reads the copies once they are made', async () => {
    await renderAllQueuedCopies(h.current.t.db);
    await query(
      `UPDATE incident_public_copies SET doc = replace(doc, '"title":"Far"', '"title":"From the copy"') WHERE incident_id = $1`,
      [ids.far],
    );
    expect((await list()).find((i) => i.id === ids.far)!.title).toBe('From the copy');
    // put right again: its incident is outdated, so the list renders it, then the renderer does
    await query(`UPDATE incidents SET title = 'Far' WHERE id = $1`, [ids.far]);
    expect((await list()).find((i) => i.id === ids.far)!.title).toBe('Far');
  });

  it('shows every change at once: to the incident, its reporter, its category, its visibility', async () => {
    await renderAllQueuedCopies(h.current.t.db);
    const staff = await as(STAFF, `moderator:${communityId}`);
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${ids.plain}`,
      headers: staff,
      payload: { status: 'acknowledged' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await query(`UPDATE users SET display_name = 'Renamed reporter' WHERE id = $1`, [REPORTER]);
    await query(`UPDATE categories SET sensitive = true WHERE id = $1`, [categoryIds.pothole]);
    await query(`UPDATE incidents SET hidden = true WHERE id = $1`, [ids.far]);

    for (const round of ['before the copies are made again', 'after']) {
      const items = await list();
      const plain = items.find((i) => i.id === ids.plain)!;
      expect(plain.status, round).toBe('acknowledged');
      expect(plain.reporter?.displayName, round).toBe('Renamed reporter');
      expect(plain.locationBlurred, round).toBe(true);
      expect(plain.address, round).toBeNull();
      expect(
        items.map((i) => i.id),
        round,
      ).not.toContain(ids.far);
      for (const item of items)
        expect(item, round).toEqual(json(await inject({ url: `/api/v1/incidents/${item.id}` })));
      await renderAllQueuedCopies(h.current.t.db);
    }
    await query(`UPDATE categories SET sensitive = false WHERE id = $1`, [categoryIds.pothole]);
    await query(`UPDATE incidents SET hidden = false WHERE id = $1`, [ids.far]);
  });

  it('shows a renamed authority at once, on the incidents routed to it', async () => {
    await renderAllQueuedCopies(h.current.t.db);
    const { rows } = await query<{ id: string }>(
      `INSERT INTO authorities (slug, name, jurisdiction, area_m2)
       VALUES ('copies-council', 'Copies Council', ST_Multi(ST_MakeEnvelope(19.4, -32.6, 19.5, -32.5, 4326)), 1)
       RETURNING id`,
    );
    const authority = rows[0]!.id;
    await query('UPDATE incidents SET authority_id = $1 WHERE id = $2', [authority, ids.anonymous]);
    await renderAllQueuedCopies(h.current.t.db);
    const shown = async () =>
      (await list()).find((i) => i.id === ids.anonymous) as Listed & { authority: { name: string } };
    expect((await shown()).authority.name).toBe('Copies Council');
    await query(`UPDATE authorities SET name = 'Renamed Council' WHERE id = $1`, [authority]);
    expect(await queued()).toBe(1);
    expect((await shown()).authority.name).toBe('Renamed Council');
    await renderAllQueuedCopies(h.current.t.db);
    expect((await shown()).authority.name).toBe('Renamed Council');
    await query('UPDATE incidents SET authority_id = NULL WHERE id = $1', [ids.anonymous]);
    await renderAllQueuedCopies(h.current.t.db);
  });

  it('names categories in the language asked for, and follows a renamed category at once', async () => {
    await renderAllQueuedCopies(h.current.t.db);
    const af = await list(boxUrl('&lang=af'));
    const en = await list();
    const pothole = (items: Listed[]) => items.find((i) => i.id === ids.plain)!.category.name;
    expect(pothole(en)).toBe('Pothole');
    expect(pothole(af)).not.toBe(pothole(en));
    const renamed = await inject({
      method: 'PATCH',
      url: `/api/v1/categories/${categoryIds.pothole}`,
      headers: await as(ADMIN, 'admin'),
      payload: { name: { en: 'Holes in the road', af: pothole(af) } },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(pothole(await list())).toBe('Holes in the road');
  });

  it('answers near lists with filters the same way, with distances in metres, rounded where the point is blurred', async () => {
    await query('DELETE FROM incident_public_copies');
    await query(
      'INSERT INTO incident_public_copy_queue SELECT id, point(ST_X(location_m), ST_Y(location_m)) FROM incidents WHERE is_public AND NOT hidden ON CONFLICT DO NOTHING',
    );
    const near = (filters = '') => list(`/api/v1/incidents?near=19.45,-32.55&radius=1000&limit=50${filters}`);
    const pages: Array<Array<Listed & { distance: number }>> = [];
    for (const step of ['queued', 'copied']) {
      const all = (await near()) as Array<Listed & { distance: number }>;
      expect(
        all.map((i) => i.title),
        step,
      ).toEqual(['Plain', 'Anonymous', 'Sensitive']);
      expect(all[0]!.distance, step).toBe(0);
      const sensitive = all.find((i) => i.id === ids.sensitive)!;
      // blurred: 250 m steps, from the point the public is shown
      expect(sensitive.distance % 250, step).toBe(0);
      for (const { distance, ...item } of all) {
        expect(typeof distance).toBe('number');
        expect(item, step).toEqual(json(await inject({ url: `/api/v1/incidents/${item.id}` })));
      }
      expect(
        (await near('&category=crime-suspicious-activity')).map((i) => i.id),
        step,
      ).toEqual([ids.sensitive]);
      expect(
        (await near('&status=resolved')).map((i) => i.id),
        step,
      ).toEqual([]);
      expect((await near('&status=reported,acknowledged&priority=medium')).length, step).toBe(3);
      pages.push(all);
      await renderAllQueuedCopies(h.current.t.db);
    }
    expect(pages[1]).toEqual(pages[0]);
  });

  it('pages through copies and queued incidents together, each row once, nearest the middle first', async () => {
    await renderAllQueuedCopies(h.current.t.db);
    for (let i = 0; i < 24; i++) await report(`Grid ${i}`, 19.42 + (i % 6) * 0.01, -32.58 + Math.floor(i / 6) * 0.01);
    // half of the new ones copied, half still queued
    await renderQueuedCopies(h.current.t.db, 12);
    expect(await queued()).toBeGreaterThan(0);
    const expected = (await list()).map((i) => i.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await inject({
        url: `/api/v1/incidents?bbox=${BOX.join(',')}&limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      });
      const body = json(res);
      seen.push(...body.items.map((i: Listed) => i.id));
      cursor = body.nextCursor;
      // the renderer goes on between pages
      await renderQueuedCopies(h.current.t.db, 3);
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('is kept by each node itself: a new report gets its copy within seconds', async () => {
    const id = await report('Renderer', 19.47, -32.52);
    const renderer = startPublicCopyRenderer(h.current.t.db, h.current.app.log);
    try {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const { rows } = await query('SELECT 1 FROM incident_public_copies WHERE incident_id = $1', [id]);
        if (rows.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('no copy after 10 s');
    } finally {
      await renderer.stop();
    }
  });

  it('keeps copies as ASCII text, every other character escaped, and lists the text as it was written', async () => {
    const title = 'Rioolpyp gebars – ’n vuil straat, ê 😀';
    const id = await report(title, 19.41, -32.51);
    await renderAllQueuedCopies(h.current.t.db);
    const { rows } = await query<{ doc: string }>('SELECT doc FROM incident_public_copies WHERE incident_id = $1', [
      id,
    ]);
    expect(rows[0]!.doc).toMatch(/^[\x20-\x7e]*$/);
    expect((await list()).find((i) => i.id === id)!.title).toBe(title);
    expect((await list(boxUrl('&lang=af'))).find((i) => i.id === id)!.title).toBe(title);
  });

  it('finds a queued incident where it is now, after its reporter moved it', async () => {
    // still queued at the old place when it moves
    const id = await report('Moved', 19.43, -32.57);
    const moved = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${id}`,
      headers: await as(REPORTER),
      payload: { location: { type: 'Point', coordinates: [19.48, -32.52] } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await queued()).toBeGreaterThan(0);
    const near = async (lon: number, lat: number) =>
      (await list(`/api/v1/incidents?near=${lon},${lat}&radius=200&limit=50`)).map((i) => i.id);
    expect(await near(19.43, -32.57)).not.toContain(id);
    expect(await near(19.48, -32.52)).toContain(id);
    await renderAllQueuedCopies(h.current.t.db);
    expect(await near(19.43, -32.57)).not.toContain(id);
    expect(await near(19.48, -32.52)).toContain(id);
  });
});
