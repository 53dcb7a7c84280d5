/**
 * Realtime benchmark on one node: starts `serve` (embedded by default, `--postgres URL` for
 * server Postgres), makes a community with 1,000 public incidents, then
 *  1. opens N WebSocket clients (default 10,000) subscribed to that community and measures the
 *     server's RSS, and the delivery latency of one event to all of them (p50/p99 over every
 *     client, several events), from the moment the change was sent;
 *  2. re-subscribes the clients one incident each (10 per incident) and sends 200 events/s
 *     spread over the 1,000 incidents for a while, measuring delivery latency and RSS.
 *
 *   npx tsx bench/realtime.ts [--clients 10000] [--rate 200] [--seconds 10] [--postgres URL]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { benchServerEnv, ROOT, rssMb, serverArgs, startServer } from './serve.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    postgres: { type: 'string' },
    'no-deflate': { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(values.clients);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const INCIDENTS = 1000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-rt-'));
const ADMIN = { email: 'rt-bench-admin@example.invalid', password: randomBytes(12).toString('hex') };

async function main(): Promise<void> {
  const env = benchServerEnv({
    DATA_DIR: path.join(work, 'data'),
    ...(values.postgres ? { DATABASE_URL: values.postgres } : {}),
  });
  const created = spawnSync(
    process.execPath,
    await serverArgs(
      'users',
      'create',
      '--email',
      ADMIN.email,
      '--password',
      ADMIN.password,
      '--name',
      'Bench admin',
      '--role',
      'admin',
    ),
    { cwd: ROOT, env, encoding: 'utf8' },
  );
  if (created.status !== 0 && !/exists/.test(created.stderr)) throw new Error(created.stderr);
  const server = await startServer(env);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const token = await login(base);
    const { communityId, incidents } = await setUp(base, token);
    process.stdout.write(
      `realtime benchmark — ${values.postgres ? 'server Postgres' : 'embedded'}, ${os.cpus().length} cores\n`,
    );
    process.stdout.write(`server RSS idle: ${rssMb(server.pid).toFixed(0)} MB\n`);

    const clients = await openClients(`ws://127.0.0.1:${server.port}/api/v1/ws`, CLIENTS);
    await Promise.all(clients.map((c) => c.subscribe(`community:${communityId}`)));
    await sleep(1000);
    process.stdout.write(
      `${CLIENTS} sockets on community:${communityId.slice(0, 8)}…: server RSS ${rssMb(server.pid).toFixed(0)} MB\n`,
    );

    // 1. one event to everyone, five times
    const latencies: number[] = [];
    for (let round = 0; round < 5; round++) {
      const incident = incidents[round]!;
      for (const c of clients) c.expect(incident);
      const sent = performance.now();
      await comment(base, token, incident);
      const arrivals = await Promise.all(clients.map((c) => c.arrival));
      for (const t of arrivals) latencies.push(t - sent);
      await sleep(200);
    }
    process.stdout.write(
      `fan-out of one event to ${CLIENTS} sockets (5 events): p50 ${pct(latencies, 0.5)} ms, p99 ${pct(latencies, 0.99)} ms, ` +
        `max ${pct(latencies, 1)} ms; server RSS ${rssMb(server.pid).toFixed(0)} MB\n`,
    );

    // 2. one incident per socket, 200 events/s over the 1,000 incidents
    await Promise.all(clients.map((c) => c.unsubscribe(`community:${communityId}`)));
    await Promise.all(clients.map((c, i) => c.subscribe(`incident:${incidents[i % INCIDENTS]}`)));
    const sentAt = new Map<string, number>();
    const sustained: number[] = [];
    for (const c of clients) c.onEvent = (id, t) => sustained.push(t - (sentAt.get(id) ?? t));
    let maxRss = 0;
    const started = performance.now();
    let sent = 0;
    const total = RATE * SECONDS;
    const inflight = new Set<Promise<void>>();
    while (sent < total) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      while (sent < Math.min(due, total)) {
        const incident = incidents[(sent * 7919) % INCIDENTS]!;
        sentAt.set(incident, performance.now());
        const p = comment(base, token, incident).finally(() => inflight.delete(p));
        inflight.add(p);
        sent++;
      }
      maxRss = Math.max(maxRss, rssMb(server.pid));
      await sleep(5);
    }
    await Promise.all(inflight);
    await sleep(1000);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${total} events in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)}/s) over ${INCIDENTS} incidents, ` +
        `${CLIENTS / INCIDENTS} sockets each: ${sustained.length} deliveries, p50 ${pct(sustained, 0.5)} ms, ` +
        `p99 ${pct(sustained, 0.99)} ms; server RSS max ${maxRss.toFixed(0)} MB\n`,
    );
    for (const c of clients) c.close();
  } finally {
    server.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A client that notes when the event it waits for arrives (without parsing every message). */
class BenchClient {
  private waitingFor: string | null = null;
  private resolve: ((t: number) => void) | null = null;
  arrival: Promise<number> = Promise.resolve(0);
  onEvent: ((incidentId: string, t: number) => void) | null = null;
  private replies = new Map<string, () => void>();

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const t = performance.now();
      const text = String(data);
      if (text.startsWith('{"type":"incident.')) {
        const id = /"incident":\{"id":"([^"]+)"/.exec(text)?.[1];
        if (id && id === this.waitingFor && this.resolve) {
          this.resolve(t);
          this.resolve = null;
        }
        if (id && this.onEvent) this.onEvent(id, t);
        return;
      }
      const reply = JSON.parse(text) as { type: string; channel?: string };
      if (reply.channel) this.replies.get(`${reply.type}:${reply.channel}`)?.();
    });
  }

  expect(incidentId: string): void {
    this.waitingFor = incidentId;
    this.arrival = new Promise((resolve) => (this.resolve = resolve));
  }

  subscribe(channel: string): Promise<void> {
    return this.request('subscribe', 'subscribed', channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.request('unsubscribe', 'unsubscribed', channel);
  }

  private request(type: string, answer: string, channel: string): Promise<void> {
    return new Promise((resolve) => {
      this.replies.set(`${answer}:${channel}`, () => {
        this.replies.delete(`${answer}:${channel}`);
        resolve();
      });
      this.ws.send(JSON.stringify({ type, channel }));
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

async function openClients(url: string, count: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += 250) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(250, count - i) },
        () =>
          new Promise<BenchClient>((resolve, reject) => {
            const ws = new WebSocket(url, { perMessageDeflate: !values['no-deflate'] });
            ws.once('open', () => resolve(new BenchClient(ws)));
            ws.once('error', reject);
          }),
      ),
    );
    clients.push(...batch);
  }
  return clients;
}

async function setUp(base: string, token: string): Promise<{ communityId: string; incidents: string[] }> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const community = await fetch(`${base}/api/v1/communities`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      slug: `bench-${randomBytes(3).toString('hex')}`,
      name: 'Bench community',
      boundary: {
        type: 'Polygon',
        coordinates: [
          [
            [27.7, -26.4],
            [28.4, -26.4],
            [28.4, -25.9],
            [27.7, -25.9],
            [27.7, -26.4],
          ],
        ],
      },
    }),
  });
  if (community.status !== 201) throw new Error(`community: ${community.status} ${await community.text()}`);
  const communityId = ((await community.json()) as { id: string }).id;
  const categories = (await (await fetch(`${base}/api/v1/categories`)).json()) as {
    items: Array<{ id: string; slug: string }>;
  };
  const categoryId = categories.items.find((c) => c.slug === 'pothole')!.id;
  const incidents: string[] = [];
  for (let i = 0; i < INCIDENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, async (_, j) => {
        const res = await fetch(`${base}/api/v1/incidents`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            title: `Realtime bench ${i + j}`,
            description: 'Fan-out',
            categoryId,
            location: {
              type: 'Point',
              coordinates: [27.8 + ((i + j) % 50) * 0.01, -26.3 + Math.floor((i + j) / 50) * 0.01],
            },
          }),
        });
        return ((await res.json()) as { id: string }).id;
      }),
    );
    incidents.push(...batch);
  }
  return { communityId, incidents };
}

async function comment(base: string, token: string, incident: string): Promise<void> {
  const res = await fetch(`${base}/api/v1/incidents/${incident}/comments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ body: 'Crew on site' }),
  });
  if (res.status !== 201) throw new Error(`comment: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function login(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

function pct(xs: number[], p: number): string {
  if (xs.length === 0) return '–';
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
