import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { presentTarget } from './sla.presenter.js';
import { SlaTarget, SlaTargetChanged, SlaTargetList, SlaTargetPut } from './sla.schemas.js';
import * as service from './sla.service.js';

const Params = Type.Object({ categoryId: Type.String({ maxLength: 64, description: 'a category id or slug' }) });

/** `/admin/sla`: per-category targets; staff read them, admins set them. */
export async function slaRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['admin'];

  app.get(
    '/admin/sla',
    {
      schema: {
        tags,
        summary: 'SLA targets of every category, in minutes (staff)',
        response: { 200: SlaTargetList, 401: Problem, 403: Problem },
      },
    },
    async (request) => ({ items: (await service.listTargets(db, request.actor)).map(presentTarget) }),
  );

  app.get(
    '/admin/sla/:categoryId',
    {
      schema: {
        tags,
        summary: "One category's SLA targets (staff)",
        params: Params,
        response: { 200: SlaTarget, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => presentTarget(await service.getTarget(db, request.actor, request.params.categoryId)),
  );

  app.patch(
    '/admin/sla/:categoryId',
    {
      schema: {
        tags,
        summary: "Set a category's SLA targets (admin)",
        description:
          'Minutes from the report to acknowledging it (leaving `reported`) and to resolving it. An omitted ' +
          'field stays as it is; null removes that target. The due dates of the open incidents of the category ' +
          'are recomputed in the same transaction.',
        params: Params,
        body: SlaTargetPut,
        response: { 200: SlaTargetChanged, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      const { target, recomputed } = await service.updateTarget(
        db,
        request.actor,
        request.params.categoryId,
        request.body,
        { requestId: request.id, ip: request.ip },
      );
      return { ...presentTarget(target), recomputed };
    },
  );
}
