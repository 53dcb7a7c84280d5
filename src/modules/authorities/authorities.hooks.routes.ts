import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { registerJsonBodyParser } from '../../platform/http/json-body.js';
import { receiveUpdate, revealSecret } from './authorities.inbound.js';

const UpdateBody = Type.Object(
  {
    update_id: Type.String({ minLength: 1, maxLength: 200 }),
    service_request_id: Type.String({ minLength: 1, maxLength: 200 }),
    status: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    updated_datetime: Type.Optional(Type.String({ maxLength: 64 })),
  },
  // their systems send what they send: fields we do not know are ignored, not refused
  { additionalProperties: true },
);

type WithRawBody = FastifyRequest & { rawBody?: string };

/**
 * `POST /api/v1/hooks/authorities/:id`: an authority's system pushes a status update, signed per
 * Standard Webhooks with the secret of that authority (GET /authorities/:id/webhook-secret). The
 * signature covers the exact bytes, so this plugin keeps the raw body of JSON requests.
 */
export async function authorityHookRoutes(
  fastify: FastifyInstance,
  deps: { db: Database; signingKey: Uint8Array },
): Promise<void> {
  registerJsonBodyParser(fastify, {
    bodyLimit: 64 * 1024,
    onText: (request, text) => ((request as WithRawBody).rawBody = text),
  });
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/hooks/authorities/:id',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags: ['authorities'],
        summary: 'An authority pushes a status update (Standard Webhooks signature; update_id makes it idempotent)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: UpdateBody,
        response: {
          200: Type.Object({ duplicate: Type.Boolean(), status: Type.String() }),
          400: Problem,
          401: Problem,
          404: Problem,
          409: Problem,
        },
      },
    },
    async (request) =>
      receiveUpdate(
        deps.db,
        deps.signingKey,
        request.params.id,
        request.headers,
        (request as WithRawBody).rawBody ?? '',
        request.body,
      ),
  );

  const SecretAnswer = Type.Object({
    secret: Type.String(),
    previous: Type.Union([Type.Object({ secret: Type.String(), validUntil: Type.String() }), Type.Null()]),
  });
  for (const rotate of [false, true]) {
    const url = rotate ? '/authorities/:id/webhook-secret/rotate' : '/authorities/:id/webhook-secret';
    const route = {
      schema: {
        tags: ['authorities'],
        summary: rotate
          ? 'Admins: a new webhook secret; the previous one keeps working for 24 hours (audited)'
          : "Admins: the authority's webhook secret (whsec_…): Buurtwag signs forwards with it, and the authority signs its updates with it (audited)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: SecretAnswer, 401: Problem, 403: Problem, 404: Problem },
      },
    };
    const handler = async (request: FastifyRequest<{ Params: { id: string } }>) =>
      revealSecret(
        deps.db,
        deps.signingKey,
        { actor: request.actor, requestId: request.id, clientAddress: request.ip },
        request.params.id,
        rotate,
      );
    if (rotate) app.post(url, route, handler);
    else app.get(url, route, handler);
  }
}
