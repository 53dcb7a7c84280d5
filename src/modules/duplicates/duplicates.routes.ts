import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { IdOrReferenceParams, Incident } from '../incidents/incidents.schemas.js';
import type { RequestContext } from '../incidents/incidents.service.js';
import { DuplicateList, MergeBody, SimilarList, SimilarQuery } from './duplicates.schemas.js';
import * as service from './duplicates.service.js';

const contextOf = (request: FastifyRequest): RequestContext => ({
  actor: request.actor,
  lang: request.lang,
  requestId: request.id,
  clientAddress: request.ip,
});

const LangQuery = Type.Object({ lang: Type.Optional(Type.String()) }, { additionalProperties: false });

/** Possible duplicates, merging a duplicate into the original, and the links between them. */
export async function duplicateRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['incidents'];

  app.get(
    '/incidents/similar',
    {
      schema: {
        tags,
        summary: 'Before reporting: incidents near a point, of a category, that may already be this one',
        querystring: SimilarQuery,
        response: { 200: SimilarList, 400: Problem },
      },
    },
    async (request) => service.similarAt(db, contextOf(request), request.query),
  );

  app.get(
    '/incidents/:idOrReference/similar',
    {
      schema: {
        tags,
        summary: 'Possible duplicates of an incident: same category, near, recent, alike titles; best first',
        params: IdOrReferenceParams,
        querystring: LangQuery,
        response: { 200: SimilarList, 404: Problem },
      },
    },
    async (request) => service.similarTo(db, contextOf(request), request.params.idOrReference),
  );

  app.get(
    '/incidents/:idOrReference/duplicates',
    {
      schema: {
        tags,
        summary: 'The incidents merged into this one',
        params: IdOrReferenceParams,
        querystring: LangQuery,
        response: { 200: DuplicateList, 404: Problem },
      },
    },
    async (request) => service.duplicatesOf(db, contextOf(request), request.params.idOrReference),
  );

  app.post(
    '/incidents/:idOrReference/merge',
    {
      schema: {
        tags,
        summary: 'Merge a duplicate into the original (staff of both communities)',
        params: IdOrReferenceParams,
        body: MergeBody,
        response: { 200: Incident, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request) => service.merge(db, contextOf(request), request.params.idOrReference, request.body.into),
  );
}
