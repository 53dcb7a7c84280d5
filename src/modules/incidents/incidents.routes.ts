import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { sendJsonBytes } from '../../platform/http/json-bytes.js';
import { Problem } from '../../platform/http/problem.schema.js';
import * as service from './incidents.service.js';
import {
  IdOrReferenceParams,
  Incident,
  IncidentCreate,
  IncidentList,
  IncidentListQuery,
  IncidentPatch,
  Timeline,
} from './incidents.schemas.js';

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ maxLength: 1000, description: 'the ETag of a GET (W/"<version>"), several comma-separated, or *' }),
  ),
});

/**
 * A weak validator: the version counts the incident's own writes, but the JSON for it also
 * depends on the viewer (privacy) and the language (category name), so the bytes are not
 * guaranteed to be identical, which a strong ETag would promise. The URL already names the
 * incident, so the version alone is enough.
 */
export const etagOf = (incident: { version: number }): string => `W/"${incident.version}"`;

/**
 * The versions an If-Match accepts (weak or strong form alike: the version is what we compare);
 * null for no header or `*`. A header that names no version of ours matches nothing: 412.
 */
export function parseIfMatch(header: string | undefined): number[] | null {
  if (header === undefined || header.trim() === '*') return null;
  const versions: number[] = [];
  for (const tag of header.split(',')) {
    const match = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(tag);
    if (match?.[1] !== undefined) versions.push(Number(match[1]));
  }
  return versions;
}

export function contextOf(request: FastifyRequest): service.RequestContext {
  return { actor: request.actor, lang: request.lang, requestId: request.id, clientAddress: request.ip };
}

export async function incidentRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['incidents'];

  app.post(
    '/incidents',
    {
      config: { rateLimitClass: 'create' },
      schema: {
        tags,
        summary: 'Report an incident',
        headers: IdempotencyHeaders,
        body: IncidentCreate,
        response: { 201: Incident, 400: Problem, 401: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const result = await service.createIncident(
        db,
        contextOf(request),
        request.body,
        request.headers['idempotency-key'] ?? null,
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply
        .status(result.status as 201)
        .header('location', result.location)
        .send(result.body);
    },
  );

  app.get(
    '/incidents',
    {
      schema: {
        tags,
        summary: 'List incidents: near a point (nearest first), in a box, or everywhere, with filters',
        querystring: IncidentListQuery,
        response: { 200: IncidentList, 400: Problem, 401: Problem },
      },
    },
    async (request, reply) => sendJsonBytes(reply, await service.listIncidents(db, contextOf(request), request.query)),
  );

  app.get(
    '/incidents/:idOrReference',
    {
      schema: {
        tags,
        summary: 'One incident, by id or by reference (BW-…)',
        params: IdOrReferenceParams,
        querystring: Type.Object({ lang: Type.Optional(Type.String()) }),
        response: { 200: Incident, 404: Problem },
      },
    },
    async (request, reply) => {
      const incident = await service.getIncident(db, contextOf(request), request.params.idOrReference);
      return reply.header('etag', etagOf(incident)).send(incident);
    },
  );

  app.patch(
    '/incidents/:idOrReference',
    {
      schema: {
        tags,
        summary: 'Triage: status, priority, assignee, category, visibility (staff of its community)',
        description:
          'Optimistic concurrency: send the `ETag` of the GET back as `If-Match` (or its `version` in the body); ' +
          'when the incident has changed since, the answer is 412 and nothing is written. `If-Match: *` or ' +
          'neither means "whatever the current version". The answer carries the new `ETag`.',
        params: IdOrReferenceParams,
        headers: IfMatchHeaders,
        body: IncidentPatch,
        response: {
          200: Incident,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          409: Problem,
          412: Problem,
        },
      },
    },
    async (request, reply) => {
      const incident = await service.updateIncident(
        db,
        contextOf(request),
        request.params.idOrReference,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('etag', etagOf(incident)).send(incident);
    },
  );

  app.delete(
    '/incidents/:idOrReference',
    {
      schema: {
        tags,
        summary: 'Delete an incident with its timeline and files (admins; the reporter while it is still reported)',
        params: IdOrReferenceParams,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteIncident(db, contextOf(request), request.params.idOrReference);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/incidents/:idOrReference/timeline',
    {
      schema: {
        tags,
        summary: 'What happened to an incident, oldest first',
        params: IdOrReferenceParams,
        querystring: Type.Object({ lang: Type.Optional(Type.String()) }),
        response: { 200: Timeline, 404: Problem },
      },
    },
    async (request) => service.getTimeline(db, contextOf(request), request.params.idOrReference),
  );
}
