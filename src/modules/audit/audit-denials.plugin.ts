import type { FastifyInstance } from 'fastify';
import type { Database } from '../../platform/db/database.js';
import { recordAudit } from './audit.repository.js';

/**
 * Every authorization denial (403: signed in, not allowed) goes on the audit trail, whichever
 * route and policy refused it. Written as the refusal is sent (so it is on record when the client
 * hears of it), outside the refused transaction, and never able to fail the request.
 */
export function registerDenialAudit(app: FastifyInstance, db: Database): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 403) return payload;
    try {
      await recordAudit(db, {
        actorId: request.actor?.userId ?? null,
        action: 'authz.denied',
        entityType: 'route',
        entityId: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        data: { url: request.url.split('?')[0] },
        requestId: request.id,
        ip: request.ip,
      });
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'could not audit a denial');
    }
    return payload;
  });
}
