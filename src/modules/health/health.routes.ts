import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import type { Bus } from '../../platform/bus/bus.js';
import { withTimeout } from '../../platform/timeout.js';

export interface HealthDeps {
  db: Database;
  storage: BlobStorage;
  bus: Bus;
  /** turns true when the node is shutting down: readiness fails at once so traffic moves away */
  isDraining: () => boolean;
}

const Check = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) });

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { rateLimitClass: 'none' },
      schema: { tags: ['operations'], summary: 'The process lives', response: { 200: Check } },
    },
    async () => ({
      status: 'ok',
      checks: {},
    }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimitClass: 'none' },
      schema: {
        tags: ['operations'],
        summary: 'Every configured dependency answers',
        response: { 200: Check, 503: Check },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      checks.database = await withTimeout(deps.db.ping(), 2000).then(
        () => 'ok',
        () => 'unavailable',
      );
      if (deps.isDraining()) checks.node = 'shutting down';
      const ok = Object.values(checks).every((c) => c === 'ok');
      // Reported, but the node stays ready without it: reports without files still work, and
      // taking every node out of the balancer over a media outage would stop those too.
      checks.storage = await withTimeout(deps.storage.ping(), 2000).then(
        () => 'ok',
        () => 'unavailable',
      );
      // Redis pub/sub too: without it live updates still arrive, through the database, more slowly
      checks.bus = deps.bus.state() === 'up' ? 'ok' : 'unavailable';
      if (!ok) reply.status(503).header('retry-after', '5');
      const degraded = checks.storage !== 'ok' || checks.bus !== 'ok';
      return { status: ok ? (degraded ? 'degraded' : 'ok') : 'unavailable', checks };
    },
  );
}
