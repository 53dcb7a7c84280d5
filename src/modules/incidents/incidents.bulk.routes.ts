import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { bulkUpdate } from './incidents.bulk.service.js';
import { BULK_MAX_ITEMS, BulkRequest, BulkResult } from './incidents.bulk.schemas.js';
import { contextOf } from './incidents.routes.js';

/**
 * POST /incidents/bulk. Its own plugin, registered under the same prefix as incidentRoutes: the
 * static path wins over `/incidents/:idOrReference` in the router, and there is no POST on that
 * path anyway.
 */
export async function bulkRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.post(
    '/incidents/bulk',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags: ['incidents'],
        summary: 'One action (status, priority, assignee, hidden) on many incidents (staff)',
        description:
          `Up to ${BULK_MAX_ITEMS} ids or references, all in one transaction. Each item is checked and applied ` +
          'exactly as a PATCH would be (timeline, audit, job) in its own savepoint: an item that fails ' +
          '(404 not visible, 403 not your community, 409 status move, 400 unknown assignee) changes nothing and ' +
          'does not stop the others. `hidden` is moderation (staff of the community or admin). Signed out: 401; ' +
          'signed in without any staff role: 403 for the whole request.',
        body: BulkRequest,
        response: { 200: BulkResult, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => bulkUpdate(db, contextOf(request), request.body),
  );
}
