import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import type { AuditOrigin } from '../audit/audit.repository.js';
import { presentTemplate } from './templates.presenter.js';
import {
  Template,
  TemplateCreate,
  TemplateList,
  TemplateListQuery,
  TemplateParams,
  TemplatePatch,
} from './templates.schemas.js';
import * as service from './templates.service.js';

const originOf = (request: FastifyRequest): AuditOrigin => ({ requestId: request.id, ip: request.ip });

/**
 * `/admin/templates`: response templates, texts in en and af that staff post as a public comment
 * when they move an incident to a status (PATCH /incidents/:id or bulk, with `templateId`).
 * Admins write them; staff read them to pick one.
 */
export async function templateRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['admin'];

  app.get(
    '/admin/templates',
    {
      schema: {
        tags,
        summary: 'Response templates, by status and category (staff)',
        querystring: TemplateListQuery,
        response: { 200: TemplateList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => ({
      items: (await service.listTemplates(db, request.actor, request.query)).map(presentTemplate),
    }),
  );

  app.get(
    '/admin/templates/:id',
    {
      schema: {
        tags,
        summary: 'One response template (staff)',
        params: TemplateParams,
        response: { 200: Template, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => presentTemplate(await service.getTemplate(db, request.actor, request.params.id)),
  );

  app.post(
    '/admin/templates',
    {
      schema: {
        tags,
        summary: 'Create a response template (admin)',
        body: TemplateCreate,
        response: { 201: Template, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const row = await service.createTemplate(db, request.actor, request.body, originOf(request));
      return reply.status(201).header('location', `/api/v1/admin/templates/${row.id}`).send(presentTemplate(row));
    },
  );

  app.patch(
    '/admin/templates/:id',
    {
      schema: {
        tags,
        summary: 'Change a response template (admin)',
        params: TemplateParams,
        body: TemplatePatch,
        response: { 200: Template, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) =>
      presentTemplate(
        await service.updateTemplate(db, request.actor, request.params.id, request.body, originOf(request)),
      ),
  );

  app.delete(
    '/admin/templates/:id',
    {
      schema: {
        tags,
        summary: 'Delete a response template (admin); comments already posted stay',
        params: TemplateParams,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteTemplate(db, request.actor, request.params.id, originOf(request));
      return reply.status(204).send(null);
    },
  );
}
