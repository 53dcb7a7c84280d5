import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { CLAIMABLE } from '../jobs/jobs.js';
import { processRegistry } from './process.js';
import { withTimeout } from '../timeout.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route checks its own `Authorization: Bearer` (not an access token): /metrics */
    ownBearer?: boolean;
  }
}

/** What /metrics reads from the realtime hub of this node. */
export interface SocketStats {
  readonly size: number;
  readonly deliveredEvents: number;
}

export interface MetricsDeps {
  db: Database;
  sockets: SocketStats;
  /** a scrape's job-queue query gives up after this (the scrape still answers, with jobs_up 0) */
  jobsQueryTimeoutMs?: number;
}

export interface AppMetrics {
  readonly contentType: string;
  /** the exposition text: this app's metrics and the process's */
  render(): Promise<string>;
  /** an answered request, by its route pattern (never the raw URL: ids would explode the series) */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

// ms-scale API: the p99 target is 50 ms; the tail up to the 30 s request timeout
const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(deps: MetricsDeps): AppMetrics {
  const registry = new Registry();
  const registers = [registry];
  const { db, sockets } = deps;

  const requests = new Histogram({
    name: 'buurtwag_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  new Gauge({
    name: 'buurtwag_db_pool_connections',
    help: 'Database pool connections: total open, idle, and callers waiting for one',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const stats = db.stats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });

  const jobsDue = new Gauge({
    name: 'buurtwag_jobs_waiting',
    help: 'Jobs due and not claimed by a runner, per queue (job name)',
    labelNames: ['queue'] as const,
    registers,
  });
  const jobsAge = new Gauge({
    name: 'buurtwag_jobs_oldest_waiting_seconds',
    help: 'How long the oldest due, unclaimed job of a queue has waited',
    labelNames: ['queue'] as const,
    registers,
  });
  const jobsDead = new Gauge({
    name: 'buurtwag_jobs_dead',
    help: 'Jobs that failed for good and wait for an operator, per queue',
    labelNames: ['queue'] as const,
    registers,
  });
  const jobsUp = new Gauge({
    name: 'buurtwag_jobs_query_up',
    help: '1 when the job-queue figures of this scrape could be read, 0 when the query failed or timed out',
    registers,
  });

  new Gauge({
    name: 'buurtwag_websocket_connections',
    help: 'Open WebSocket connections on this node',
    registers,
    collect() {
      this.set(sockets.size);
    },
  });
  let deliveredSeen = 0;
  new Counter({
    name: 'buurtwag_realtime_events_total',
    help: 'Timeline events handed to this node’s realtime fan-out (rate() gives events/s)',
    registers,
    collect() {
      const now = sockets.deliveredEvents;
      if (now > deliveredSeen) this.inc(now - deliveredSeen);
      deliveredSeen = now;
    },
  });

  const timeoutMs = deps.jobsQueryTimeoutMs ?? 1_000;
  async function collectJobs(): Promise<void> {
    jobsDue.reset();
    jobsAge.reset();
    jobsDead.reset();
    try {
      const queues = await withTimeout(readJobQueues(db, timeoutMs), timeoutMs + 500);
      for (const q of queues) {
        if (q.waiting > 0) {
          jobsDue.set({ queue: q.name }, q.waiting);
          jobsAge.set({ queue: q.name }, q.oldest_seconds);
        }
        if (q.dead > 0) jobsDead.set({ queue: q.name }, q.dead);
      }
      jobsUp.set(1);
    } catch {
      // the scrape must answer even when the database does not: the gap shows as jobs_query_up 0
      jobsUp.set(0);
    }
  }

  return {
    contentType: registry.contentType,
    async render() {
      await collectJobs();
      return Registry.merge([registry, processRegistry]).metrics();
    },
    observeRequest(method, route, status, seconds) {
      requests.observe({ method, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
    },
  };
}

interface QueueRow {
  name: string;
  waiting: number;
  oldest_seconds: number;
  dead: number;
}

/**
 * Both halves use an index (jobs_due_idx, jobs_dead_idx), and the transaction's statement_timeout
 * stops a slow one on the server instead of leaving it running after we gave up.
 */
async function readJobQueues(db: Database, timeoutMs: number): Promise<QueueRow[]> {
  return db.transaction(async (tx) => {
    await tx.query({ text: `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}` });
    const { rows } = await tx.query<QueueRow>({
      name: 'metrics.job_queues',
      text: `WITH waiting AS (
               SELECT name, count(*)::int AS waiting,
                      EXTRACT(EPOCH FROM (now() - min(run_at)))::float8 AS oldest_seconds
               FROM jobs
               WHERE ${CLAIMABLE}
               GROUP BY name),
             dead AS (
               SELECT name, count(*)::int AS dead FROM jobs WHERE dead_at IS NOT NULL GROUP BY name)
             SELECT coalesce(w.name, d.name) AS name, coalesce(w.waiting, 0) AS waiting,
                    coalesce(w.oldest_seconds, 0) AS oldest_seconds, coalesce(d.dead, 0) AS dead
             FROM waiting w FULL JOIN dead d ON d.name = w.name`,
    });
    return rows;
  });
}

/**
 * Who may read /metrics on the main port. A token always wins; without one, a separate
 * METRICS_PORT is the way in; with neither, development and tests are open and production
 * refuses (figures such as queue depths and traffic are not for the public).
 */
export type MetricsAccess = { kind: 'token'; token: string } | { kind: 'open' } | { kind: 'refused' };

export function metricsAccess(
  config: { token: string | null; port: number | null },
  production: boolean,
): MetricsAccess {
  if (config.token !== null) return { kind: 'token', token: config.token };
  if (config.port !== null || production) return { kind: 'refused' };
  return { kind: 'open' };
}

export function registerMetrics(app: FastifyInstance, metrics: AppMetrics, access: MetricsAccess): void {
  app.addHook('onResponse', async (request, reply) => {
    // not-found answers have no route: one series for all of them, whatever was asked
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      config: { rateLimitClass: 'none', ownBearer: true },
      schema: { hide: true },
      onRequest: async (request) => {
        if (access.kind === 'refused') throw new AppError('forbidden', 'error.metrics_refused.detail');
        if (access.kind === 'token' && !bearerMatches(request, access.token)) {
          throw new AppError('unauthorized', 'error.metrics_token.detail');
        }
      },
    },
    async (_request, reply) => {
      const body = await metrics.render();
      return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
    },
  );
}

function bearerMatches(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(/^Bearer (\S+)$/.exec(header)?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * METRICS_PORT: a plain server that answers GET /metrics and nothing else. It carries no token:
 * keep the port off the public network (a NetworkPolicy, or a host firewall).
 */
export async function startMetricsServer(
  metrics: AppMetrics,
  options: { host: string; port: number },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.render().then(
      (body) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** this node's metrics (server.ts serves them on METRICS_PORT too) */
    metrics: AppMetrics;
  }
}
