import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { AuditList, AuditListQuery } from './audit.schemas.js';
import * as service from './audit.service.js';

export async function auditRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'The audit trail, newest first, with filters (admin)',
        querystring: AuditListQuery,
        response: { 200: AuditList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => service.listAudit(db, request.actor, request.query),
  );
}
