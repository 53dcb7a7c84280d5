import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { TestSocket } from '../../../test/helpers/ws.js';
import { appendEvents } from '../../modules/timeline/timeline.repository.js';
import { metricsAccess, startMetricsServer } from './metrics.js';

/**
 * /metrics on a real app, on both backends: the exposition parses and has every family, the HTTP
 * histogram is labelled by route pattern, the token guards it, and the business counters move
 * with committed creates and status moves only.
 */
const TOKEN = 'metrics-token-0123456789abcdef';
const h = useTestApp({ METRICS_TOKEN: TOKEN });
const inject = (options: InjectOptions) => h.current.app.inject(options);
const scrape = async () => {
  const res = await inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode, res.body).toBe(200);
  return parseExposition(res.body);
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

/** The Prometheus text format (0.0.4), strictly: a line that is not HELP, TYPE or a sample fails. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes
    // "Nan" for an event-loop histogram with no samples yet)
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|nan|[+-]inf)$/i.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

const value = (e: Exposition, name: string, labels: Record<string, string> = {}) =>
  e.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

let pothole: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  pothole = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
});

async function createIncident(): Promise<string> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Streetlight out on Melville Road',
      description: 'Dark since Monday.',
      categoryId: pothole,
      location: { type: 'Point', coordinates: [28.0473, -26.2041] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id as string;
}

async function move(id: string, status: string): Promise<void> {
  const res = await inject({
    method: 'PATCH',
    url: `/api/v1/incidents/${id}`,
    headers: await as(ADMIN, 'admin'),
    payload: { status },
  });
  expect(res.statusCode, res.body).toBe(200);
}

describe('GET /metrics', () => {
  it('is refused without the token and with a wrong one, as problem+json', async () => {
    const none = await inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    const wrong = await inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN.replace('0', '1')}` } });
    expect(wrong.statusCode).toBe(401);
    // an access token is not the metrics token either
    expect((await inject({ url: '/metrics', headers: await as(ADMIN, 'admin') })).statusCode).toBe(401);
    const ok = await inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toContain('text/plain');
  });

  it('parses, and has every family after some traffic', async () => {
    await inject({ url: '/healthz' });
    await inject({ url: '/api/v1/categories' });
    const e = await scrape();
    const families: Array<[string, string]> = [
      ['buurtwag_http_request_duration_seconds', 'histogram'],
      ['buurtwag_db_pool_connections', 'gauge'],
      ['buurtwag_jobs_waiting', 'gauge'],
      ['buurtwag_jobs_oldest_waiting_seconds', 'gauge'],
      ['buurtwag_jobs_dead', 'gauge'],
      ['buurtwag_jobs_query_up', 'gauge'],
      ['buurtwag_websocket_connections', 'gauge'],
      ['buurtwag_realtime_events_total', 'counter'],
      ['buurtwag_incidents_created_total', 'counter'],
      ['buurtwag_incidents_acknowledged_total', 'counter'],
      ['buurtwag_incidents_resolved_total', 'counter'],
      ['buurtwag_incident_time_to_acknowledge_seconds', 'histogram'],
      ['buurtwag_nodejs_eventloop_lag_p99_seconds', 'gauge'],
      ['buurtwag_process_resident_memory_bytes', 'gauge'],
    ];
    for (const [name, type] of families) expect(e.types.get(name), name).toBe(type);
    expect(value(e, 'buurtwag_jobs_query_up')).toBe(1);
    // the pool has opened at least one connection, and nobody waits for one now
    expect(value(e, 'buurtwag_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(value(e, 'buurtwag_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(
      value(e, 'buurtwag_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/healthz',
        status_class: '2xx',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('labels requests by route pattern, never by the raw URL', async () => {
    const id = '5b0f6e0e-7a1c-4c39-9c57-9f2d1b1e0a77';
    expect((await inject({ url: `/api/v1/incidents/${id}` })).statusCode).toBe(404);
    await inject({ url: `/no/such/path/${id}` });
    const res = await inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.body).not.toContain(id);
    const e = parseExposition(res.body);
    expect(
      value(e, 'buurtwag_http_request_duration_seconds_count', {
        route: '/api/v1/incidents/:idOrReference',
        status_class: '4xx',
      }),
    ).toBeGreaterThanOrEqual(1);
    // an unknown path is one series: "unmatched", or the web app's catch-all when the app is built
    expect(
      value(e, 'buurtwag_http_request_duration_seconds_count', { route: 'unmatched' }) +
        value(e, 'buurtwag_http_request_duration_seconds_count', { route: '/*' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('reports the depth, oldest age and dead jobs of each queue', async () => {
    const { db } = h.current.t;
    await db.query({
      text: `INSERT INTO jobs (name, payload, run_at) VALUES
               ('test.metrics.v1', '{}', now() - interval '90 seconds'),
               ('test.metrics.v1', '{}', now() - interval '10 seconds'),
               ('test.metrics.v1', '{}', now() + interval '1 hour')`,
    });
    await db.query({
      text: `INSERT INTO jobs (name, payload, attempts, max_attempts, dead_at, last_error)
             VALUES ('test.dead.v1', '{}', 3, 3, now(), 'gone')`,
    });
    try {
      const e = await scrape();
      // the future one is not due yet
      expect(value(e, 'buurtwag_jobs_waiting', { queue: 'test.metrics.v1' })).toBe(2);
      const age = value(e, 'buurtwag_jobs_oldest_waiting_seconds', { queue: 'test.metrics.v1' });
      expect(age).toBeGreaterThanOrEqual(90);
      expect(age).toBeLessThan(90 + 120);
      expect(value(e, 'buurtwag_jobs_dead', { queue: 'test.dead.v1' })).toBe(1);
    } finally {
      await db.query({ text: `DELETE FROM jobs WHERE name IN ('test.metrics.v1', 'test.dead.v1')` });
    }
  });

  it('counts open WebSocket connections and the events fanned out', async () => {
    const before = await scrape();
    const app = h.current.app;
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/api/v1/ws`);
    try {
      const open = await scrape();
      expect(value(open, 'buurtwag_websocket_connections')).toBe(value(before, 'buurtwag_websocket_connections') + 1);
      await createIncident();
      // the fan-out runs after COMMIT, on its own schedule
      await vi.waitFor(
        async () =>
          expect(value(await scrape(), 'buurtwag_realtime_events_total')).toBeGreaterThan(
            value(before, 'buurtwag_realtime_events_total'),
          ),
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      socket.ws.close();
      await socket.closed;
    }
  });

  it('moves the business counters with created, acknowledged and resolved, and times the acknowledgement', async () => {
    const before = await scrape();
    const id = await createIncident();
    // as if reported two hours ago: the histogram must see the report's age, not the test's speed
    await h.current.t.db.query({
      text: `UPDATE incidents SET created_at = now() - interval '2 hours' WHERE id = $1`,
      values: [id],
    });
    await move(id, 'acknowledged');
    await move(id, 'in_progress');
    await move(id, 'resolved');
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    expect(delta('buurtwag_incidents_created_total')).toBe(1);
    expect(delta('buurtwag_incidents_acknowledged_total')).toBe(1);
    expect(delta('buurtwag_incidents_resolved_total')).toBe(1);
    expect(delta('buurtwag_incident_time_to_acknowledge_seconds_count')).toBe(1);
    const waited = delta('buurtwag_incident_time_to_acknowledge_seconds_sum');
    expect(waited).toBeGreaterThanOrEqual(7200);
    expect(waited).toBeLessThan(7200 + 300);
    expect(delta('buurtwag_incident_time_to_acknowledge_seconds_bucket', { le: '3600' })).toBe(0);
    expect(delta('buurtwag_incident_time_to_acknowledge_seconds_bucket', { le: '14400' })).toBe(1);
    // a refused move counts nothing
    const refused = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${id}`,
      headers: await as(ADMIN, 'admin'),
      payload: { status: 'acknowledged' },
    });
    expect(refused.statusCode).toBe(409);
    expect(value(await scrape(), 'buurtwag_incidents_acknowledged_total')).toBe(
      value(after, 'buurtwag_incidents_acknowledged_total'),
    );
  });

  it('does not count a status move whose transaction rolled back', async () => {
    const id = await createIncident();
    const before = await scrape();
    await expect(
      h.current.t.db.transaction(async (tx) => {
        await appendEvents(tx, [
          { incidentId: id, type: 'status_changed', actorId: null, data: { from: 'reported', to: 'acknowledged' } },
        ]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const after = await scrape();
    expect(value(after, 'buurtwag_incidents_acknowledged_total')).toBe(
      value(before, 'buurtwag_incidents_acknowledged_total'),
    );
    expect(value(after, 'buurtwag_incident_time_to_acknowledge_seconds_count')).toBe(
      value(before, 'buurtwag_incident_time_to_acknowledge_seconds_count'),
    );
  });
});

describe('METRICS_PORT', () => {
  it('serves the same metrics without a token on its own port, and nothing else there', async () => {
    const server = await startMetricsServer(h.current.app.metrics, { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(parseExposition(await res.text()).types.get('buurtwag_http_request_duration_seconds')).toBe('histogram');
      expect((await fetch(`http://127.0.0.1:${server.port}/api/v1/categories`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('who may read /metrics on the main port', () => {
  it('is the token holder; else nobody when a metrics port is set or in production; else anyone', () => {
    expect(metricsAccess({ token: TOKEN, port: 9100 }, true)).toEqual({ kind: 'token', token: TOKEN });
    expect(metricsAccess({ token: null, port: 9100 }, false)).toEqual({ kind: 'refused' });
    expect(metricsAccess({ token: null, port: null }, true)).toEqual({ kind: 'refused' });
    expect(metricsAccess({ token: null, port: null }, false)).toEqual({ kind: 'open' });
  });
});
