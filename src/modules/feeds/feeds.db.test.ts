import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { JSDOM, type XmlDocument, type XmlElement } from 'jsdom';
import { beforeAll, describe, expect, it } from 'vitest';
import { as, json, useTestApp } from '../../../test/helpers/app.js';

/**
 * The public feeds, parsed as XML (jsdom's DOMParser, which reports a parse error as a
 * <parsererror> document), checked for the elements RSS 2.0 and Atom 1.0 require, and for what
 * must never be in them.
 */
const h = useTestApp({ PUBLIC_URL: 'https://buurtwag.test' });
const inject = (options: InjectOptions) => h.current.app.inject(options);
const { DOMParser } = new JSDOM('').window;

const TOWN = randomUUID();
const HELD = randomUUID();
const MODERATOR = randomUUID();
const HOME: [number, number] = [151.05, -38.95];
// well inside its ~250 m blur cell
const SECRET: [number, number] = [151.051234, -38.948766];
const ids: Record<string, { id: string; reference: string }> = {};
let plainSlug = '';

function parse(body: string): XmlDocument {
  const doc = new DOMParser().parseFromString(body, 'application/xml');
  expect(doc.getElementsByTagName('parsererror'), body).toHaveLength(0);
  return doc;
}
const ATOM = 'http://www.w3.org/2005/Atom';
const text = (el: XmlElement | XmlDocument, name: string, ns: string | null = null) =>
  (ns ? el.getElementsByTagNameNS(ns, name)[0] : el.getElementsByTagName(name)[0])?.textContent ?? null;

async function report(headers: Record<string, string>, payload: Record<string, unknown>) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers,
    payload: { description: 'See <b>this</b> & that', location: { type: 'Point', coordinates: HOME }, ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; reference: string };
}

beforeAll(async () => {
  for (const [id, box, premoderation] of [
    [TOWN, [151, -39, 151.1, -38.9], false],
    [HELD, [151.2, -39, 151.3, -38.9], true],
  ] as const) {
    await h.current.t.db.query({
      text: `INSERT INTO communities (id, slug, name, boundary, area_m2, premoderation)
             VALUES ($1::uuid, 'feeds-' || $1::text, $2, ST_Multi(ST_MakeEnvelope($3, $4, $5, $6, 4326)), 1, $7)`,
      values: [id, id === TOWN ? 'Feed Town & <Co>' : 'Held Town', ...box, premoderation],
    });
  }
  await as(MODERATOR, `moderator:${HELD}`);
  const categories = json(await inject({ url: '/api/v1/categories' })).items as Array<{
    id: string;
    slug: string;
    sensitive: boolean;
  }>;
  const plain = categories.find((c) => !c.sensitive)!;
  const sensitive = categories.find((c) => c.sensitive)!;
  plainSlug = plain.slug;
  const reporter = await as(randomUUID());
  ids.public = await report(reporter, {
    title: 'Pothole <deep> & "wide"',
    categoryId: plain.id,
    address: '3 Main Road',
  });
  ids.private = await report(reporter, { title: 'Private matter', categoryId: plain.id, isPublic: false });
  ids.hidden = await report(reporter, { title: 'Hidden matter', categoryId: plain.id });
  await h.current.t.db.query({ text: 'UPDATE incidents SET hidden = true WHERE id = $1', values: [ids.hidden.id] });
  ids.held = await report(reporter, {
    title: 'Held matter',
    categoryId: plain.id,
    location: { type: 'Point', coordinates: [151.25, -38.95] },
  });
  ids.sensitive = await report(reporter, {
    title: 'Suspicious van',
    categoryId: sensitive.id,
    location: { type: 'Point', coordinates: SECRET },
    address: '9 Hidden Street',
  });
});

describe('feeds', () => {
  it('serve valid RSS 2.0 of public reports only, linking to the web app, escaped', async () => {
    const res = await inject({ url: `/feeds/communities/${TOWN}.rss` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    const doc = parse(res.body);
    const rss = doc.documentElement;
    expect(rss.tagName).toBe('rss');
    expect(rss.getAttribute('version')).toBe('2.0');
    const channel = rss.getElementsByTagName('channel')[0]!;
    expect(text(channel, 'title')).toBe('Buurtwag: new reports in Feed Town & <Co>');
    expect(text(channel, 'link')).toBe('https://buurtwag.test/');
    expect(text(channel, 'description')).toBeTruthy();
    const items = [...doc.getElementsByTagName('item')];
    const titles = items.map((i) => text(i, 'title'));
    expect(titles.sort()).toEqual(['Pothole <deep> & "wide"', 'Suspicious van']);
    const pothole = items.find((i) => text(i, 'title')?.startsWith('Pothole'))!;
    expect(text(pothole, 'link')).toBe(`https://buurtwag.test/incidents/${ids.public!.reference}`);
    expect(text(pothole, 'guid')).toBe(`https://buurtwag.test/incidents/${ids.public!.reference}`);
    expect(text(pothole, 'description')).toContain('See <b>this</b> & that');
    expect(text(pothole, 'description')).toContain('3 Main Road');
    expect(new Date(text(pothole, 'pubDate')!).getTime()).not.toBeNaN();
    // raw markup never reaches the XML unescaped
    expect(res.body).not.toContain('<deep>');
    expect(res.body).not.toContain('<b>');
  });

  it('serve valid Atom 1.0 with every required element', async () => {
    const res = await inject({ url: `/feeds/communities/${TOWN}.atom?lang=af` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(res.headers['content-language']).toBe('af');
    const doc = parse(res.body);
    const feed = doc.documentElement;
    expect(feed.namespaceURI).toBe(ATOM);
    expect(feed.localName).toBe('feed');
    expect(text(feed, 'id', ATOM)).toBeTruthy();
    expect(text(feed, 'title', ATOM)).toBe('Buurtwag: nuwe verslae in Feed Town & <Co>');
    expect(new Date(text(feed, 'updated', ATOM)!).getTime()).not.toBeNaN();
    expect(text(feed, 'name', ATOM)).toBe('Buurtwag');
    const self = [...feed.getElementsByTagNameNS(ATOM, 'link')].find((l) => l.getAttribute('rel') === 'self');
    expect(self?.getAttribute('href')).toBe(`https://buurtwag.test/feeds/communities/${TOWN}.atom?lang=af`);
    const entries = [...doc.getElementsByTagNameNS(ATOM, 'entry')];
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      expect(text(entry, 'id', ATOM)).toMatch(/^https:\/\/buurtwag\.test\/incidents\/BW-/);
      expect(text(entry, 'title', ATOM)).toBeTruthy();
      expect(new Date(text(entry, 'updated', ATOM)!).getTime()).not.toBeNaN();
      expect(entry.getElementsByTagNameNS(ATOM, 'link')[0]!.getAttribute('href')).toBe(text(entry, 'id', ATOM));
    }
    expect(res.body).toContain('Status: Aangemeld');
  });

  it('never show a sensitive report’s exact place or address, nor private, hidden or held ones', async () => {
    const urls = [
      '/feeds/incidents.rss',
      '/feeds/incidents.atom',
      `/feeds/communities/${TOWN}.rss`,
      `/feeds/categories/${plainSlug}.atom`,
      `/feeds/area.rss?near=${HOME[0]},${HOME[1]}&radius=5000`,
      `/feeds/area.atom?bbox=151,-39,151.3,-38.9`,
    ];
    for (const url of urls) {
      const res = await inject({ url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      parse(res.body);
      for (const secret of [
        SECRET[0].toFixed(5),
        SECRET[1].toFixed(5),
        '9 Hidden Street',
        'Private matter',
        'Hidden matter',
        'Held matter',
      ])
        expect(res.body, url).not.toContain(secret);
    }
    // a tiny circle around the exact place finds nothing: only the blurred cell counts
    const tiny = await inject({ url: `/feeds/area.rss?near=${SECRET[0]},${SECRET[1]}&radius=20` });
    expect(parse(tiny.body).getElementsByTagName('item')).toHaveLength(0);
    const wide = parse((await inject({ url: `/feeds/area.rss?near=${HOME[0]},${HOME[1]}&radius=5000` })).body);
    const van = [...wide.getElementsByTagName('item')].find((i) => text(i, 'title') === 'Suspicious van')!;
    expect(text(van, 'description')).toContain('Approximate location');

    // approved, the held report joins its feed
    const approved = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${ids.held!.id}/approve`,
      headers: await as(MODERATOR, `moderator:${HELD}`),
      payload: {},
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect((await inject({ url: `/feeds/communities/${HELD}.rss` })).body).toContain('Held matter');
  });

  it('answer 304 to a matching ETag or an unchanged Last-Modified', async () => {
    const url = `/feeds/categories/${plainSlug}.rss`;
    const first = await inject({ url });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const lastModified = first.headers['last-modified'] as string;
    expect(new Date(lastModified).getTime()).not.toBeNaN();
    const cached = await inject({ url, headers: { 'if-none-match': etag } });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    expect((await inject({ url, headers: { 'if-modified-since': lastModified } })).statusCode).toBe(304);
    expect((await inject({ url, headers: { 'if-none-match': '"other"' } })).statusCode).toBe(200);
    // another language is another document
    const af = await inject({ url: `${url}?lang=af`, headers: { 'if-none-match': etag } });
    expect(af.statusCode).toBe(200);
    expect(first.headers.vary).toContain('Accept-Language');
  });

  it('refuse bad areas with localized problems, and 404 unknown communities and categories', async () => {
    const none = await inject({ url: '/feeds/area.rss' });
    expect(none.statusCode).toBe(400);
    expect(none.headers['content-type']).toContain('application/problem+json');
    const bad = await inject({ url: '/feeds/area.atom?near=200,10&lang=af' });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).errors[0].path).toBe('/query/near');
    expect((await inject({ url: '/feeds/area.rss?near=151,-39&radius=60000' })).statusCode).toBe(400);
    expect((await inject({ url: '/feeds/area.rss?bbox=2,2,1,1' })).statusCode).toBe(400);
    expect((await inject({ url: `/feeds/communities/${randomUUID()}.rss` })).statusCode).toBe(404);
    expect((await inject({ url: '/feeds/categories/no-such-thing.atom' })).statusCode).toBe(404);
    expect((await inject({ url: `/feeds/communities/${TOWN}.json` })).statusCode).toBe(400);
  });
});

describe('feeds with CORS origins configured', () => {
  const cors = useTestApp({ PUBLIC_URL: 'https://buurtwag.test', CORS_ORIGINS: 'https://app.example' });

  it('vary on the language beside the origin, not instead of it', async () => {
    const res = await cors.current.app.inject({
      url: '/feeds/incidents.rss',
      headers: { origin: 'https://app.example' },
    });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers.vary).split(', ')).toEqual(expect.arrayContaining(['Origin', 'Accept-Language']));
  });
});
