import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../src/modules/open311/open311-keys.service.js';
import { as, json, useTestApp } from './helpers/app.js';
import { TestSocket } from './helpers/ws.js';

/**
 * The privacy canary. A person with a recognisable email, phone, name and id makes anonymous and
 * sensitive reports at exact, recognisable coordinates (and an Open311 client posts one with
 * full contact details). Then every channel the public can reach is read — REST, the
 * WebSocket, Open311 JSON and XML, the public summaries, error bodies and the server's own
 * logs — and none of those canaries may appear in any of them. Staff may see the exact
 * location; that is checked too, so the test would notice if the canaries were simply missing.
 */
const logs: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logs.push(chunk.toString('utf8'));
    done();
  },
});
const h = useTestApp({ LOG_LEVEL: 'info' }, { logStream });
const inject = (options: InjectOptions) => h.current.app.inject(options);

const MODERATOR = '00000000-0000-4000-8000-0000000ca7a2';
const NEIGHBOUR = '00000000-0000-4000-8000-0000000ca7a3';
const WITNESS = '00000000-0000-4000-8000-0000000ca7a4';
const COMMUNITY = '00000000-0000-4000-8000-0000000ca7c1';
const CRIME = '2a2a2bac-6c2c-43aa-9055-331961a12d78';
const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';

const EMAIL = 'thandeka.canary@example.org';
const NAME = 'Thandeka Kanarie-Mokoena';
const PHONE = '+27 82 555 0173';
const PHONE_DIGITS = '825550173';
const ADDRESS = '17 Kanariestraat, Melville';
// Exact points, well inside their ~250 m cells so no blurred value shares their digits.
const SENSITIVE: [number, number] = [28.007913, -26.177281];
const ANONYMOUS: [number, number] = [28.012577, -26.181934];
const BOTH: [number, number] = [28.011912, -26.174281];
const OPEN311: [number, number] = [28.003331, -26.173779];
const exactTexts = (p: [number, number]) => [p[0].toFixed(5), p[1].toFixed(5)];

/** Every string that must never reach the public. */
const CANARIES = [
  EMAIL,
  EMAIL.split('@')[0]!,
  NAME,
  'Kanarie-Mokoena',
  PHONE,
  PHONE_DIGITS,
  ADDRESS,
  ...exactTexts(SENSITIVE),
  ...exactTexts(BOTH),
  ...exactTexts(OPEN311),
];

/** Everything the public channels returned, with where it came from. */
const seen: Array<{ channel: string; text: string }> = [];
function record(channel: string, res: LightMyRequestResponse): LightMyRequestResponse {
  seen.push({ channel, text: `${JSON.stringify(res.headers)}\n${res.body}` });
  return res;
}

const ids = { sensitive: '', anonymous: '', both: '', open311: '' };
const refs = { sensitive: '', anonymous: '', both: '', open311: '' };
let wsUrl = '';
const sockets: TestSocket[] = [];

beforeAll(async () => {
  await h.current.app.listen({ port: 0, host: '127.0.0.1' });
  wsUrl = `ws://127.0.0.1:${(h.current.app.server.address() as AddressInfo).port}/api/v1/ws`;
  await h.current.t.db.query({
    text: `INSERT INTO communities (id, slug, name, boundary, area_m2, anonymous_reporting)
           VALUES ($1, 'canary-town', 'Canary town', ST_Multi(ST_MakeEnvelope(27.99, -26.19, 28.02, -26.16, 4326)), 1, true)`,
    values: [COMMUNITY],
  });
});

afterAll(() => {
  for (const s of sockets) s.close();
});

async function register(): Promise<Record<string, string>> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email: EMAIL, password: 'a long canary passphrase 42', displayName: NAME },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = json(res);
  // the canary id is the account's real id from here on
  CANARIES.push(body.user.id);
  return { authorization: `Bearer ${body.accessToken}` };
}

async function report(
  headers: Record<string, string>,
  body: { title: string; categoryId: string; coordinates: [number, number]; address: string; anonymous: boolean },
) {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers,
    payload: {
      title: body.title,
      description: `Seen near my house. Call me if needed.`,
      categoryId: body.categoryId,
      location: { type: 'Point', coordinates: body.coordinates },
      address: body.address,
      anonymous: body.anonymous,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res) as { id: string; reference: string };
}

describe('the privacy canary', () => {
  let personHeaders: Record<string, string>;
  let liveSocket: TestSocket;
  let liveFrom = 0;

  beforeAll(async () => {
    // a public socket watching the whole area before anything is reported
    liveSocket = await TestSocket.open(wsUrl);
    sockets.push(liveSocket);
    const subscribed = await liveSocket.request({ type: 'subscribe', channel: 'bbox:27.99,-26.19,28.02,-26.16' }, (m) =>
      ['subscribed', 'error'].includes(m.type),
    );
    expect(subscribed.type).toBe('subscribed');
    liveFrom = liveSocket.messages.length;

    personHeaders = await register();
    // a named report in a sensitive category: its place is the canary, not its reporter
    const sensitive = await report(await as(WITNESS), {
      title: 'Suspicious car parked outside',
      categoryId: CRIME,
      coordinates: SENSITIVE,
      address: ADDRESS,
      anonymous: false,
    });
    // an anonymous report in an ordinary category: its place is public, its reporter the canary
    const anonymous = await report(personHeaders, {
      title: 'Deep pothole at the corner',
      categoryId: POTHOLE,
      coordinates: ANONYMOUS,
      address: 'Corner of 4th Avenue and 7th Street',
      anonymous: true,
    });
    // both at once
    const both = await report(personHeaders, {
      title: 'Break-in at the corner shop',
      categoryId: CRIME,
      coordinates: BOTH,
      address: ADDRESS,
      anonymous: true,
    });
    Object.assign(ids, { sensitive: sensitive.id, anonymous: anonymous.id, both: both.id });
    Object.assign(refs, { sensitive: sensitive.reference, anonymous: anonymous.reference, both: both.reference });

    // Open311 clients send contact details; they are never stored
    const key = await createKey(h.current.t.db, 'canary client');
    const posted = await inject({
      method: 'POST',
      url: '/open311/v2/requests.json',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        api_key: key.key,
        service_code: 'crime-suspicious-activity',
        lat: String(OPEN311[1]),
        long: String(OPEN311[0]),
        description: 'Men checking car doors in the parking lot',
        address_string: ADDRESS,
        email: EMAIL,
        first_name: 'Thandeka',
        last_name: 'Kanarie-Mokoena',
        phone: PHONE,
      }).toString(),
    });
    expect(posted.statusCode, posted.body).toBe(200);
    refs.open311 = json(posted)[0].service_request_id;
    ids.open311 = json(posted)[0].token;

    // a staff change and a public comment, so that updates travel too
    const moderator = await as(MODERATOR, `moderator:${COMMUNITY}`);
    for (const id of Object.values(ids)) {
      const res = await inject({
        method: 'PATCH',
        url: `/api/v1/incidents/${id}`,
        headers: moderator,
        payload: { status: 'acknowledged' },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const comment = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${ids.anonymous}/comments`,
      headers: moderator,
      payload: { body: 'A team is on its way.' },
    });
    expect(comment.statusCode, comment.body).toBe(201);
  });

  it('staff do see the exact location, so the canaries are really there to be found', async () => {
    const res = await inject({
      url: `/api/v1/incidents/${ids.sensitive}`,
      headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
    });
    expect(json(res).location.coordinates).toEqual(SENSITIVE);
    expect(json(res).address).toBe(ADDRESS);
    for (const id of [ids.anonymous, ids.both]) {
      const anon = await inject({
        url: `/api/v1/incidents/${id}`,
        headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
      });
      expect(json(anon).reporter.displayName).toBe(NAME);
    }
    const both = await inject({
      url: `/api/v1/incidents/${ids.both}`,
      headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
    });
    expect(json(both).location.coordinates).toEqual(BOTH);
  });

  it('the REST API shows the public neither who reported anonymously nor where a sensitive report is', async () => {
    const neighbour = await as(NEIGHBOUR);
    for (const headers of [{}, neighbour]) {
      const who = Object.keys(headers).length ? 'neighbour' : 'visitor';
      for (const [kind, id] of Object.entries(ids)) {
        record(`GET incident ${kind} (${who})`, await inject({ url: `/api/v1/incidents/${id}`, headers }));
        record(
          `GET incident ${kind} by reference (${who})`,
          await inject({ url: `/api/v1/incidents/${refs[kind as keyof typeof refs]}`, headers }),
        );
        record(`GET timeline ${kind} (${who})`, await inject({ url: `/api/v1/incidents/${id}/timeline`, headers }));
        record(`GET similar ${kind} (${who})`, await inject({ url: `/api/v1/incidents/${id}/similar`, headers }));
        record(`GET media ${kind} (${who})`, await inject({ url: `/api/v1/incidents/${id}/media`, headers }));
      }
      const lists = [
        '/api/v1/incidents?bbox=27.99,-26.19,28.02,-26.16',
        '/api/v1/incidents?near=28.0,-26.17&radius=5000',
        '/api/v1/incidents?near=28.0,-26.17&radius=5000&sort=distance',
        `/api/v1/incidents?communityId=${COMMUNITY}`,
        '/api/v1/incidents?q=corner',
        '/api/v1/incidents?bbox=27.99,-26.19,28.02,-26.16&category=crime-suspicious-activity',
        `/api/v1/incidents/similar?near=28.0,-26.17&categoryId=${CRIME}&title=car`,
      ];
      for (const url of lists) {
        const res = record(`GET ${url} (${who})`, await inject({ url, headers }));
        expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(500);
      }
      const list = json(await inject({ url: '/api/v1/incidents?bbox=27.99,-26.19,28.02,-26.16', headers }));
      expect(list.items.map((i: { id: string }) => i.id).sort()).toEqual(Object.values(ids).sort());
    }
  });

  it('Open311 in JSON and XML shows none of it', async () => {
    for (const format of ['json', 'xml']) {
      record(`open311 requests.${format}`, await inject({ url: `/open311/v2/requests.${format}` }));
      for (const ref of Object.values(refs)) {
        record(`open311 request ${ref}.${format}`, await inject({ url: `/open311/v2/requests/${ref}.${format}` }));
      }
      record(`open311 tokens.${format}`, await inject({ url: `/open311/v2/tokens/${ids.open311}.${format}` }));
    }
  });

  it('statistics, the map clusters and exports show none of it', async () => {
    const neighbour = await as(NEIGHBOUR);
    for (const headers of [{}, neighbour]) {
      const who = Object.keys(headers).length ? 'neighbour' : 'visitor';
      for (const url of [
        '/api/v1/stats',
        `/api/v1/stats?communityId=${COMMUNITY}`,
        '/api/v1/stats/heatmap?bbox=27.99,-26.19,28.02,-26.16',
        `/api/v1/communities/${COMMUNITY}/summary`,
        ...[12, 15, 17, 19].map((z) => `/api/v1/incidents/clusters?bbox=27.99,-26.19,28.02,-26.16&zoom=${z}`),
      ]) {
        const res = record(`GET ${url} (${who})`, await inject({ url, headers }));
        expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(500);
      }
      // exports are for staff: the public and residents are refused, and the refusal says nothing
      for (const format of ['csv', 'geojson']) {
        const url = `/api/v1/incidents/export?format=${format}&communityId=${COMMUNITY}`;
        const res = record(`GET ${url} (${who})`, await inject({ url, headers }));
        expect([401, 403]).toContain(res.statusCode);
      }
    }
    // the clusters do count the canary reports, so their absence above means something
    const zoomed = json(await inject({ url: '/api/v1/incidents/clusters?bbox=27.99,-26.19,28.02,-26.16&zoom=19' })) as {
      total: number;
    };
    expect(zoomed.total).toBe(Object.keys(ids).length);
  });

  it('the live feed shows none of it', async () => {
    // every report and every status change arrived on the public socket
    for (const id of Object.values(ids)) {
      await liveSocket.next((m) => m.incident?.id === id && m.type === 'incident.updated', 10_000, liveFrom);
    }
    // and a socket that asks for the past after the fact
    const late = await TestSocket.open(wsUrl);
    sockets.push(late);
    for (const id of Object.values(ids)) {
      await late.request({ type: 'subscribe', channel: `incident:${id}`, since: 0 }, (m) =>
        ['subscribed', 'resync', 'error'].includes(m.type),
      );
    }
    seen.push({ channel: 'websocket (bbox)', text: JSON.stringify(liveSocket.messages) });
    seen.push({ channel: 'websocket (incident)', text: JSON.stringify(late.messages) });
  });

  it('the RSS and Atom feeds show none of it', async () => {
    const slugs = (json(await inject({ url: '/api/v1/categories' })).items as Array<{ id: string; slug: string }>)
      .filter((c) => c.id === CRIME || c.id === POTHOLE)
      .map((c) => c.slug);
    expect(slugs).toHaveLength(2);
    for (const format of ['rss', 'atom']) {
      const urls = [
        `/feeds/incidents.${format}`,
        `/feeds/communities/${COMMUNITY}.${format}`,
        ...slugs.map((slug) => `/feeds/categories/${slug}.${format}`),
        `/feeds/area.${format}?near=28.0,-26.17&radius=5000`,
        `/feeds/area.${format}?bbox=27.99,-26.19,28.02,-26.16`,
      ];
      for (const url of urls) {
        const res = record(`feed ${url}`, await inject({ url }));
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        // the canary reports are really in it (by reference), so their absence below means something
        if (url.includes('/communities/'))
          for (const ref of [refs.sensitive, refs.anonymous, refs.both]) expect(res.body).toContain(ref);
      }
    }
  });

  it('error bodies do not echo personal data back', async () => {
    record(
      'register an email in use',
      await inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: EMAIL, password: 'another long passphrase 42', displayName: 'Someone else' },
      }),
    );
    record(
      'sign in with a wrong password',
      await inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: EMAIL, password: 'wrong password entirely' },
      }),
    );
    record(
      'a report with an unknown field',
      await inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: personHeaders,
        payload: {
          title: 'x',
          categoryId: POTHOLE,
          location: { type: 'Point', coordinates: SENSITIVE },
          email: EMAIL,
          phone: PHONE,
        },
      }),
    );
    record('staff-only routes', await inject({ url: '/api/v1/admin/audit' }));
  });

  it('no public channel and no log line carries a canary', async () => {
    expect(seen.length).toBeGreaterThan(60);
    // what the person themselves sees is theirs: only the public and other residents are checked
    const hits = seen.flatMap(({ channel, text }) =>
      CANARIES.filter((c) => text.includes(c)).map((c) => `${channel}: ${c}`),
    );
    expect(hits).toEqual([]);
    const logText = logs.join('');
    expect(logText.length).toBeGreaterThan(1000); // the requests above were logged
    expect(CANARIES.filter((c) => logText.includes(c))).toEqual([]);
  });
});
