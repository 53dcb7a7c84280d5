import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { invalidField, notFound } from '../../platform/http/errors.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { findAuthority } from '../authorities/authorities.repository.js';
import { isAdmin, refusal } from '../identity/actor.js';
import { createKey, listKeys, revokeKey, type KeyOrigin } from './open311-keys.service.js';

const Key = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  authorityId: Type.Union([Type.String(), Type.Null()]),
  prefix: Type.String({ description: 'the first characters of the key, to tell keys apart' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });

/**
 * `/admin/open311/keys`: the Open311 API keys over HTTP, for admins (the CLI `open311 keys` does
 * the same): list without secrets, create (the key is in this one answer only), revoke. Audited.
 */
export async function open311KeyRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['admin'];
  const admin = (request: FastifyRequest): KeyOrigin => {
    if (!isAdmin(request.actor)) throw refusal(request.actor);
    return { actorId: request.actor.userId, requestId: request.id, ip: request.ip };
  };

  app.get(
    '/admin/open311/keys',
    {
      schema: {
        tags,
        summary: 'Open311 API keys, oldest first, revoked ones included (admin); never the secret',
        response: { 200: Type.Object({ items: Type.Array(Key) }), 401: Problem, 403: Problem },
      },
    },
    async (request) => {
      admin(request);
      return { items: await listKeys(db) };
    },
  );

  app.post(
    '/admin/open311/keys',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Make an Open311 API key (admin): the key is in this answer only, store it now',
        description: "With `authorityId`, the key is that authority's system's and may post status updates.",
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            authorityId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ id: Type.String(), name: Type.String(), key: Type.String() }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request, reply) => {
      const origin = admin(request);
      const name = request.body.name.trim();
      if (!name) throw invalidField('/body/name', 'validation.blank');
      const authorityId = request.body.authorityId ?? null;
      if (authorityId && !(await findAuthority(db, authorityId))) {
        throw invalidField('/body/authorityId', 'validation.authority_missing');
      }
      return reply.status(201).send(await createKey(db, name, authorityId, origin));
    },
  );

  app.delete(
    '/admin/open311/keys/:id',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Revoke an Open311 API key (admin); a revoked key keeps its first revocation time',
        params: Params,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      const origin = admin(request);
      if (!(await revokeKey(db, request.params.id, origin))) {
        throw notFound('error.open311_key_not_found.detail', { id: request.params.id });
      }
      return reply.status(204).send(null);
    },
  );
}
