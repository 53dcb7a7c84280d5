import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { presentAuthority, presentDeadForward } from './authorities.presenter.js';
import {
  Authority,
  AuthorityCreate,
  AuthorityList,
  AuthorityPatch,
  DeadForwardList,
  DeadForwardQuery,
} from './authorities.schemas.js';
import * as service from './authorities.service.js';

/**
 * Authorities (where incidents are forwarded) and the forwarding dead letters; admins only.
 * Registered under /api/v1.
 */
export async function authorityRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['authorities'];
  const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const origin = (request: { id: string; ip: string }) => ({ requestId: request.id, ip: request.ip });

  app.get(
    '/authorities',
    {
      schema: {
        tags,
        summary: 'Every authority with its jurisdiction (admin)',
        response: { 200: AuthorityList, 401: Problem, 403: Problem },
      },
    },
    async (request) => ({ items: (await service.listAuthorities(db, request.actor)).map(presentAuthority) }),
  );

  app.get(
    '/authorities/:id',
    {
      schema: {
        tags,
        summary: 'One authority, by id or slug (admin)',
        params: Params,
        response: { 200: Authority, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => presentAuthority(await service.getAuthority(db, request.actor, request.params.id)),
  );

  app.post(
    '/authorities',
    {
      schema: {
        tags,
        summary:
          'Create an authority with a GeoJSON (Multi)Polygon jurisdiction (admin); delivery.apiKey is write-only',
        body: AuthorityCreate,
        response: { 201: Authority, 400: Problem, 401: Problem, 403: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const row = await service.createAuthority(db, request.actor, request.body, origin(request));
      return reply.status(201).header('location', `/api/v1/authorities/${row.id}`).send(presentAuthority(row));
    },
  );

  app.patch(
    '/authorities/:id',
    {
      schema: {
        tags,
        summary: 'Change an authority (admin); a delivery without apiKey keeps the stored key',
        params: Params,
        body: AuthorityPatch,
        response: { 200: Authority, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request) =>
      presentAuthority(
        await service.updateAuthority(db, request.actor, request.params.id, request.body, origin(request)),
      ),
  );

  app.delete(
    '/authorities/:id',
    {
      schema: {
        tags,
        summary: 'Delete an authority (admin); its incidents keep their history, their authority becomes null',
        params: Params,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteAuthority(db, request.actor, request.params.id, origin(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/admin/forwarding/dead',
    {
      schema: {
        tags,
        summary: 'Forwarding jobs that failed for good (admin)',
        querystring: DeadForwardQuery,
        response: { 200: DeadForwardList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => {
      const { rows, nextCursor } = await service.listDeadForwards(db, request.actor, request.query);
      return { items: rows.map(presentDeadForward), nextCursor };
    },
  );

  app.post(
    '/admin/forwarding/dead/:jobId/replay',
    {
      schema: {
        tags,
        summary: 'Give a dead forwarding job its attempts back and run it now (admin)',
        params: Type.Object({ jobId: Type.String({ pattern: '^[0-9]{1,18}$' }) }),
        response: { 204: Type.Null(), 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.replayDeadForward(db, request.actor, request.params.jobId, origin(request));
      return reply.status(204).send(null);
    },
  );
}
