import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, FAST_REALTIME, json, testBus, testStorage, useTestApp } from '../../../test/helpers/app.js';
import { backend } from '../../../test/helpers/database.js';
import { TestSocket } from '../../../test/helpers/ws.js';
import { buildApp } from '../../app.js';
import type { Bus } from '../../platform/bus/bus.js';
import type { Database } from '../../platform/db/database.js';

/**
 * Live updates over WebSocket. Server Postgres: two nodes on one database and Redis (a socket on
 * A, the writes on B). Embedded: one node, its in-process bus (B is A).
 */
const twoNodes = backend() === 'postgres';
const h = useTestApp(twoNodes ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {});

let nodeB: { app: FastifyInstance; db: Database; bus: Bus } | null = null;
let urlA: string;

const REPORTER = '00000000-0000-4000-8000-00000000c001';
const NEIGHBOUR = '00000000-0000-4000-8000-00000000c002';
const MODERATOR = '00000000-0000-4000-8000-00000000c003';
const COMMUNITY = '00000000-0000-4000-8000-00000000cc01';
let categoryId: string;

beforeAll(async () => {
  await h.current.app.listen({ port: 0, host: '127.0.0.1' });
  urlA = `ws://127.0.0.1:${(h.current.app.server.address() as AddressInfo).port}/api/v1/ws`;
  if (twoNodes) {
    const db = await h.current.t.connect();
    const bus = testBus(h.current.config, h.current.busPrefix);
    const app = await buildApp({
      config: h.current.config,
      db,
      storage: await testStorage(h.current.config),
      bus,
      realtimeOptions: FAST_REALTIME,
    });
    await app.ready();
    nodeB = { app, db, bus };
  }
  await h.current.t.db.query({
    text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
           VALUES ($1, 'rt-test', 'Realtime test', ST_Multi(ST_MakeEnvelope(28.0, -26.3, 28.1, -26.1, 4326)), 1)`,
    values: [COMMUNITY],
  });
  categoryId = json(await injectB({ url: '/api/v1/categories' })).items.find(
    (c: { slug: string }) => c.slug === 'pothole',
  ).id;
});

afterAll(async () => {
  if (nodeB) {
    await nodeB.app.close();
    await nodeB.bus.close();
    await nodeB.db.close();
  }
});

/** Writes go to node B (on embedded: the one node). */
const injectB = (options: InjectOptions) => (nodeB?.app ?? h.current.app).inject(options);

async function report(user = REPORTER, overrides: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await injectB({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(user),
    payload: {
      title: 'Streetlight out on Main Road',
      description: 'Dark since Friday',
      categoryId,
      location: { type: 'Point', coordinates: [28.05, -26.2] },
      ...overrides,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function acknowledge(incidentId: string): Promise<void> {
  const res = await injectB({
    method: 'PATCH',
    url: `/api/v1/incidents/${incidentId}`,
    headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
    payload: { status: 'acknowledged' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

const sockets: TestSocket[] = [];
async function connect(user?: string, roles?: string): Promise<TestSocket> {
  const socket = await TestSocket.open(urlA);
  sockets.push(socket);
  if (user) {
    const token = (await as(user, roles)).authorization!.slice('Bearer '.length);
    await socket.request({ type: 'auth', token }, (m) => m.type === 'auth.ok');
  }
  return socket;
}
afterAll(() => {
  for (const s of sockets) s.close();
});

async function subscribe(socket: TestSocket, channel: string, since?: number) {
  return socket.request({ type: 'subscribe', channel, ...(since === undefined ? {} : { since }) }, (m) =>
    ['subscribed', 'resync', 'error'].includes(m.type),
  );
}

const about = (id: string) => (m: Record<string, any>) => m.incident?.id === id;

describe('live updates', () => {
  it('a change made on one node reaches a socket on the other, after it committed', async () => {
    const incident = await report();
    const socket = await connect();
    expect((await subscribe(socket, `incident:${incident.id}`)).type).toBe('subscribed');
    await acknowledge(incident.id);
    // (its `created` may come first: it was not yet delivered when the socket subscribed)
    const event = await socket.next((m) => about(incident.id)(m) && m.type === 'incident.updated');
    expect(event).toMatchObject({
      type: 'incident.updated',
      channels: [`incident:${incident.id}`],
      incident: { id: incident.id, status: 'acknowledged' },
      event: { type: 'status_changed' },
    });
    expect(event.seq).toBeGreaterThan(0);

    // a community channel hears of new reports, by reference too
    const community = await connect();
    await subscribe(community, `community:${COMMUNITY}`);
    const fresh = await report();
    expect(await community.next(about(fresh.id))).toMatchObject({
      type: 'incident.created',
      incident: { reference: fresh.reference },
    });
    const byReference = await connect();
    expect((await subscribe(byReference, `incident:${fresh.reference}`)).type).toBe('subscribed');
    await acknowledge(fresh.id);
    await byReference.next(about(fresh.id));
  });

  it('never sends a private incident to a socket whose user could not GET it', async () => {
    const anonymous = await connect();
    const neighbour = await connect(NEIGHBOUR);
    const moderator = await connect(MODERATOR, `moderator:${COMMUNITY}`);
    const reporter = await connect(REPORTER);
    for (const s of [anonymous, neighbour, moderator, reporter]) {
      await subscribe(s, `community:${COMMUNITY}`);
      await subscribe(s, 'bbox:28.0,-26.3,28.1,-26.1');
    }
    await subscribe(reporter, 'me');
    const secret = await report(REPORTER, { isPublic: false, title: 'Private: my neighbour threatens me' });
    await acknowledge(secret.id);
    // a public report after it: once it has arrived, the private one would have too
    const sentinel = await report(REPORTER, { title: 'Public sentinel' });
    for (const s of [anonymous, neighbour, moderator, reporter]) await s.next(about(sentinel.id));

    expect(anonymous.events().filter(about(secret.id))).toEqual([]);
    expect(neighbour.events().filter(about(secret.id))).toEqual([]);
    expect(
      moderator
        .events()
        .filter(about(secret.id))
        .map((e) => e.type),
    ).toEqual(['incident.created', 'incident.updated']);
    // the reporter hears it once per event, however many of its channels match
    const own = reporter.events().filter(about(secret.id));
    expect(own.map((e) => e.type)).toEqual(['incident.created', 'incident.updated']);
    expect(own[0]!.channels.sort()).toEqual([`community:${COMMUNITY}`, 'bbox:28.0,-26.3,28.1,-26.1', 'me'].sort());
    // nor may a neighbour subscribe to it by id
    expect(await subscribe(neighbour, `incident:${secret.id}`)).toMatchObject({ type: 'error', code: 'not_found' });
  });

  it('stops sending within seconds of a role being revoked, and ends the socket of a banned user', async () => {
    const moderator = await connect(MODERATOR, `moderator:${COMMUNITY}`);
    await subscribe(moderator, `community:${COMMUNITY}`);
    const before = await report(REPORTER, { isPublic: false });
    await moderator.next(about(before.id));

    await h.current.t.db.query({ text: 'DELETE FROM user_roles WHERE user_id = $1', values: [MODERATOR] });
    await new Promise((r) => setTimeout(r, (FAST_REALTIME.userCheckMs ?? 0) * 3));
    const after = await report(REPORTER, { isPublic: false });
    const sentinel = await report(REPORTER);
    await moderator.next(about(sentinel.id));
    expect(moderator.events().filter(about(after.id))).toEqual([]);

    await h.current.t.db.query({ text: 'UPDATE users SET banned_at = now() WHERE id = $1', values: [MODERATOR] });
    expect(await moderator.closed).toBe(1008);
    await h.current.t.db.query({ text: 'UPDATE users SET banned_at = NULL WHERE id = $1', values: [MODERATOR] });
  });

  it('resumes after a disconnect with nothing missed and nothing twice', async () => {
    const incident = await report();
    const first = await connect();
    await subscribe(first, `incident:${incident.id}`);
    for (const priority of ['high', 'low']) {
      await injectB({
        method: 'PATCH',
        url: `/api/v1/incidents/${incident.id}`,
        headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
        payload: { priority },
      });
    }
    await first.next((m) => m.event?.data?.to === 'low');
    const seen = first.events();
    const lastSeq = seen.at(-1)!.seq as number;
    first.close();
    await first.closed;

    // while away: three more changes
    for (const priority of ['critical', 'medium', 'high']) {
      await injectB({
        method: 'PATCH',
        url: `/api/v1/incidents/${incident.id}`,
        headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
        payload: { priority },
      });
    }
    const again = await connect();
    expect(await subscribe(again, `incident:${incident.id}`, lastSeq)).toMatchObject({
      type: 'subscribed',
      seq: lastSeq,
    });
    await again.next(() => again.events().length >= 3);
    // and one live after the resume
    await acknowledge(incident.id);
    await again.next((m) => m.incident?.status === 'acknowledged');
    await new Promise((r) => setTimeout(r, 300));

    const missed = again.events();
    // each event says what changed; the incident is as it is now (the state to rebuild from)
    expect(missed.slice(0, 3).map((e) => e.event.data.to)).toEqual(['critical', 'medium', 'high']);
    expect(missed).toHaveLength(4);
    const seqs = [...seen, ...missed].map((e) => e.seq as number);
    expect(new Set(seqs).size).toBe(seqs.length); // none twice
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs); // in order
    // the database agrees: every event of the incident after the first socket's start was delivered
    const { rows } = await h.current.t.db.query<{ seq: number }>({
      text: 'SELECT seq FROM incident_events WHERE incident_id = $1 AND seq >= $2 ORDER BY seq',
      values: [incident.id, seen[0]!.seq],
    });
    expect(rows.map((r) => r.seq)).toEqual(seqs);
  });

  it('answers resync when the gap is too big to replay', async () => {
    const socket = await connect();
    const since = (await subscribe(socket, `community:${COMMUNITY}`)).seq as number;
    socket.close();
    const watcher = await connect();
    await subscribe(watcher, `community:${COMMUNITY}`);
    let last: Record<string, any> = {};
    for (let i = 0; i <= (FAST_REALTIME.maxMissed ?? 500); i++) last = await report();
    // sequenced and out on the bus (a resume is judged on what has been sequenced so far)
    await watcher.next(about(last.id));
    const again = await connect();
    const answer = await subscribe(again, `community:${COMMUNITY}`, since);
    expect(answer.type).toBe('resync');
    expect(answer.seq).toBeGreaterThan(since);
    // and it is live from there
    const next = await report();
    await again.next(about(next.id));
  });
});

describe('the conversation, live', () => {
  it('sends internal notes to staff only, public comments to all, and moderation as it happens', async () => {
    const incident = await report();
    const moderator = await connect(MODERATOR, `moderator:${COMMUNITY}`);
    const neighbour = await connect(NEIGHBOUR);
    for (const s of [moderator, neighbour]) await subscribe(s, `incident:${incident.id}`);
    const post = async (user: string, roles: string | undefined, payload: object) => {
      const res = await injectB({
        method: 'POST',
        url: `/api/v1/incidents/${incident.id}/comments`,
        headers: await as(user, roles),
        payload,
      });
      expect(res.statusCode, res.body).toBe(201);
      return json(res);
    };
    await post(MODERATOR, `moderator:${COMMUNITY}`, { body: 'Crew booked for Tuesday', internal: true });
    const comment = await post(NEIGHBOUR, undefined, { body: 'Still broken this morning' });
    for (const s of [moderator, neighbour]) await s.next((m) => m.event?.id === comment.id);
    const commented = (s: TestSocket) =>
      s
        .events()
        .filter((e) => e.type === 'incident.commented')
        .map((e) => e.event.data.body);
    expect(commented(moderator)).toEqual(['Crew booked for Tuesday', 'Still broken this morning']);
    expect(commented(neighbour)).toEqual(['Still broken this morning']);

    const hide = await injectB({
      method: 'POST',
      url: `/api/v1/incidents/${incident.id}/comments/${comment.id}/hide`,
      headers: await as(MODERATOR, `moderator:${COMMUNITY}`),
      payload: { reason: 'Personal details' },
    });
    expect(hide.statusCode, hide.body).toBe(200);
    for (const s of [moderator, neighbour]) {
      expect(await s.next((m) => m.type === 'incident.moderated')).toMatchObject({
        event: { type: 'comment_hidden', data: { commentId: comment.id } },
      });
    }
  });
});

describe('the socket itself', () => {
  it('checks the Origin of browsers, negotiates permessage-deflate, answers bad messages clearly', async () => {
    await expect(TestSocket.open(urlA, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const socket = await TestSocket.open(urlA, { origin: h.current.config.http.publicUrl, perMessageDeflate: true });
    sockets.push(socket);
    expect(socket.ws.extensions).toContain('permessage-deflate');
    expect(await socket.request({ type: 'frobnicate' }, (m) => m.type === 'error')).toMatchObject({
      code: 'bad_message',
    });
    expect(await socket.request('not json', (m) => m.type === 'error')).toMatchObject({ code: 'bad_message' });
    expect(await subscribe(socket, 'nowhere:1')).toMatchObject({ type: 'error', code: 'bad_channel' });
    expect(await subscribe(socket, 'me')).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await socket.request({ type: 'auth', token: 'forged' }, (m) => m.type === 'error')).toMatchObject({
      code: 'unauthorized',
    });
    expect(await socket.request({ type: 'ping' }, (m) => m.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('closes 1009 on an oversized message, 1008 on a flood of messages or subscriptions', async () => {
    const big = await connect();
    big.send({ type: 'ping', padding: 'x'.repeat(10_000) });
    expect(await big.closed).toBe(1009);

    const chatty = await connect();
    for (let i = 0; i < 200; i++) chatty.send({ type: 'ping' });
    expect(await chatty.closed).toBe(1008);

    const greedy = await connect();
    for (let i = 0; i < 60; i++) {
      greedy.send({ type: 'subscribe', channel: `bbox:${i},0,${i + 0.5},1` });
      await new Promise((r) => setTimeout(r, 60)); // under the message rate
    }
    expect(await greedy.closed).toBe(1008);
  });

  it('drops a socket that stops answering pings', async () => {
    const socket = await TestSocket.open(urlA, { autoPong: false });
    sockets.push(socket);
    const code = await Promise.race([
      socket.closed,
      new Promise((r) => setTimeout(() => r('still open'), (FAST_REALTIME.heartbeatMs ?? 0) * 4)),
    ]);
    expect(code).toBe(1006); // terminated, no close frame
  });

  it('says 1001 to every socket when the node shuts down', async () => {
    const db = await h.current.t.connect();
    const bus = testBus(h.current.config);
    const node = await buildApp({ config: h.current.config, db, storage: await testStorage(h.current.config), bus });
    await node.listen({ port: 0, host: '127.0.0.1' });
    const port = (node.server.address() as AddressInfo).port;
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/api/v1/ws`);
    await subscribe(socket, `community:${COMMUNITY}`);
    const started = Date.now();
    await node.close();
    expect(await socket.closed).toBe(1001);
    expect(Date.now() - started).toBeLessThan(5_000);
    await bus.close();
    await db.close();
  });
});
