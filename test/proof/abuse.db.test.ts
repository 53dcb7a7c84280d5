import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deeplyNested,
  fuzzRequest,
  leaksInternals,
  operations,
  rng,
  WORLD_BOXES,
  type FuzzContext,
} from '../../bench/proof/fuzz.lib.js';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../helpers/app.js';

/**
 * The bounded version of bench/proof/abuse.ts: a few hundred requests generated from the OpenAPI
 * document and broken on purpose, deeply nested JSON, world-size boxes, a 100 MB body and a
 * hundred slowloris sockets. The server must answer every one with a 4xx (or 2xx), never a 5xx,
 * never with a stack trace, and keep serving others meanwhile. (How fast it stays is the
 * bench's business.)
 */
const FUZZED = 400;
const h = useTestApp();
let base = '';
let ctx: FuzzContext;
let resident: Record<string, string>;

beforeAll(async () => {
  const { app } = h.current;
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  resident = await as(RESIDENT);
  const admin = await as(ADMIN, 'admin');
  const categories = json(await app.inject({ url: '/api/v1/categories' })).items as Array<{ id: string }>;
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: resident,
    payload: {
      title: 'Target of the fuzzer',
      description: '',
      categoryId: categories[0]!.id,
      location: { type: 'Point', coordinates: [28.04, -26.2] },
    },
  });
  expect(created.statusCode).toBe(201);
  ctx = {
    ids: [json(created).id, json(created).reference, categories[0]!.id, RESIDENT],
    tokens: [resident.authorization!, admin.authorization!],
  };
});

function expectHandled(res: { statusCode: number; body: string }, what: string): void {
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  expect(leaksInternals(res.body), `${what} leaks internals: ${res.body.slice(0, 300)}`).toBe(false);
}

describe('abuse', () => {
  it('answers requests generated from the OpenAPI document and broken on purpose without a 5xx', async () => {
    const { app } = h.current;
    const doc = json(await app.inject({ url: '/api/v1/openapi.json' }));
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(50);
    const random = rng(0xabcd);
    const statuses = new Map<number, number>();
    for (let i = 0; i < FUZZED; i++) {
      // every operation at least once, then at random
      const op = i < ops.length ? ops[i]! : ops[Math.floor(random() * ops.length)]!;
      const req = fuzzRequest(op, random, ctx);
      const res = await app.inject({
        method: req.method as 'GET',
        url: req.url,
        headers: req.headers,
        ...(req.body !== undefined ? { payload: req.body } : {}),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      expectHandled(res, `${req.method} ${req.url.slice(0, 200)}`);
    }
    // the generator reaches past validation too, not only 400s
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect([...statuses.keys()].some((s) => s === 400)).toBe(true);
  });

  it('refuses deeply nested JSON with a 4xx', async () => {
    for (const depth of [1_000, 100_000]) {
      const res = await h.current.app.inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: { ...resident, 'content-type': 'application/json' },
        payload: deeplyNested(depth),
      });
      expectHandled(res, `nested ${depth}`);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
    }
  });

  it('answers world-size and nonsense boxes', async () => {
    for (const bbox of WORLD_BOXES) {
      const res = await h.current.app.inject({ url: `/api/v1/incidents?bbox=${bbox}&limit=200` });
      expectHandled(res, bbox);
    }
    const world = await h.current.app.inject({ url: '/api/v1/incidents?bbox=-180,-90,180,90&limit=200' });
    expect(world.statusCode).toBe(200);
  });

  it('refuses a 100 MB body with 413 before reading it all', async () => {
    const url = new URL('/api/v1/incidents', base);
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const result = await new Promise<{ status: number; sentBeforeAnswer: number }>((resolve, reject) => {
      let sent = 0;
      let answeredAt = -1;
      const req = http.request(url, {
        method: 'POST',
        headers: { ...resident, 'content-type': 'application/json', 'content-length': String(total) },
      });
      req.on('response', (res) => {
        answeredAt = sent;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sentBeforeAnswer: answeredAt }));
      });
      req.on('error', (err) => (answeredAt >= 0 ? undefined : reject(err)));
      const pump = () => {
        while (sent < total && answeredAt < 0) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (answeredAt < 0) req.end();
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(result.sentBeforeAnswer).toBeLessThan(100 * 1024 * 1024);
  });

  it('keeps serving while a hundred slowloris sockets dribble headers', async () => {
    const { port } = new URL(base);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = net.connect(Number(port), '127.0.0.1');
      s.on('error', () => undefined);
      s.write(`GET /api/v1/categories HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `);
      sockets.push(s);
    }
    const dribble = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write('a');
    }, 200);
    try {
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${base}/api/v1/categories`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    } finally {
      clearInterval(dribble);
      for (const s of sockets) s.destroy();
    }
  });
});
