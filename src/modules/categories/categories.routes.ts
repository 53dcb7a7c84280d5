import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { presentCategory, presentCategoryForAdmin } from './categories.presenter.js';
import { CategoryCreate, CategoryList, CategoryPatch, CategoryWithTranslations } from './categories.schemas.js';
import * as service from './categories.service.js';
import { categorySlaFor } from '../sla/sla.service.js';

export async function categoryRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['categories'];

  app.get(
    '/categories',
    {
      config: { cache: { tags: ['categories'], maxAge: 60 } },
      schema: {
        tags,
        summary: 'Categories in the caller’s language',
        querystring: Type.Object(
          {
            lang: Type.Optional(Type.String()),
            includeInactive: Type.Optional(Type.Boolean({ description: 'admins only' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: CategoryList },
      },
    },
    async (request) => {
      const rows = await service.listCategories(db, request.actor, request.query.includeInactive ?? false);
      return { items: rows.map((row) => presentCategory(row, request.lang)) };
    },
  );

  app.get(
    '/categories/:id',
    {
      schema: {
        tags,
        summary: 'One category, by id or slug, with every translation',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ lang: Type.Optional(Type.String()) }),
        response: { 200: CategoryWithTranslations, 404: Problem },
      },
    },
    async (request) => {
      const row = await service.getCategory(db, request.params.id);
      const sla = await categorySlaFor(db, request.actor, row.id);
      return { ...presentCategoryForAdmin(row, request.lang), ...(sla ? { sla } : {}) };
    },
  );

  app.post(
    '/categories',
    {
      schema: {
        tags,
        summary: 'Create a category (admin)',
        body: CategoryCreate,
        response: { 201: CategoryWithTranslations, 400: Problem, 401: Problem, 403: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const row = await service.createCategory(db, request.actor, request.body, {
        requestId: request.id,
        ip: request.ip,
      });
      return reply
        .status(201)
        .header('location', `/api/v1/categories/${row.id}`)
        .send(presentCategoryForAdmin(row, request.lang));
    },
  );

  app.patch(
    '/categories/:id',
    {
      schema: {
        tags,
        summary: 'Edit or deactivate a category (admin)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: CategoryPatch,
        response: {
          200: CategoryWithTranslations,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          409: Problem,
        },
      },
    },
    async (request) =>
      presentCategoryForAdmin(
        await service.updateCategory(db, request.actor, request.params.id, request.body, {
          requestId: request.id,
          ip: request.ip,
        }),
        request.lang,
      ),
  );
}
