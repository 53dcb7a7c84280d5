import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { contextOf } from '../incidents/incidents.routes.js';
import { IdOrReferenceParams, IncidentList, TimelineItem } from '../incidents/incidents.schemas.js';
import * as service from './conversation.service.js';
import {
  CommentCreate,
  CommentModeration,
  CommentParams,
  Confirmations,
  FollowingQuery,
} from './conversation.schemas.js';

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

/** Comments, internal notes, comment moderation, "me too" and following, under /api/v1. */
export async function conversationRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['conversation'];

  app.post(
    '/incidents/:idOrReference/comments',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Comment on an incident, or (staff of its community) add an internal note',
        description:
          'Anyone signed in who may see the incident may comment; the commenter starts following it. ' +
          'The answer is the new timeline item.',
        params: IdOrReferenceParams,
        headers: IdempotencyHeaders,
        body: CommentCreate,
        response: { 201: TimelineItem, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const result = await service.addComment(
        db,
        contextOf(request),
        request.params.idOrReference,
        request.body,
        request.headers['idempotency-key'] ?? null,
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(result.status as 201).send(result.body);
    },
  );

  app.post(
    '/incidents/:idOrReference/comments/:eventId/hide',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Hide a comment from the public (moderators and responders of its community, admins)',
        description:
          'Staff still see the comment with its body and the reason; everyone else sees that a comment was ' +
          'hidden, without its body. Hiding a hidden comment changes nothing.',
        params: CommentParams,
        body: CommentModeration,
        response: { 200: TimelineItem, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) =>
      service.setCommentHidden(db, contextOf(request), request.params.idOrReference, request.params.eventId, {
        hidden: true,
        reason: request.body.reason,
      }),
  );

  app.post(
    '/incidents/:idOrReference/comments/:eventId/unhide',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Show a hidden comment again (moderators and responders of its community, admins)',
        description: 'An optional reason goes to the audit trail.',
        params: CommentParams,
        body: Type.Union([Type.Partial(CommentModeration), Type.Null()]),
        response: { 200: TimelineItem, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) =>
      service.setCommentHidden(db, contextOf(request), request.params.idOrReference, request.params.eventId, {
        hidden: false,
        reason: request.body?.reason ?? null,
      }),
  );

  app.post(
    '/incidents/:idOrReference/confirmations',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: '"Me too": confirm an incident someone else reported (once per person)',
        description:
          '201 the first time, 200 when the caller had confirmed already. The timeline shows the new count, ' +
          'never who confirmed. The caller starts following the incident.',
        params: IdOrReferenceParams,
        response: { 200: Confirmations, 201: Confirmations, 401: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const result = await service.confirm(db, contextOf(request), request.params.idOrReference);
      return reply.status(result.created ? 201 : 200).send(result.body);
    },
  );

  app.delete(
    '/incidents/:idOrReference/confirmations',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Take a "me too" back',
        params: IdOrReferenceParams,
        response: { 200: Confirmations, 401: Problem, 404: Problem },
      },
    },
    async (request) => service.withdrawConfirmation(db, contextOf(request), request.params.idOrReference),
  );

  app.put(
    '/incidents/:idOrReference/follow',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Follow an incident (idempotent)',
        params: IdOrReferenceParams,
        response: { 204: Type.Null(), 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.follow(db, contextOf(request), request.params.idOrReference);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/incidents/:idOrReference/follow',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Stop following an incident (idempotent)',
        params: IdOrReferenceParams,
        response: { 204: Type.Null(), 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.unfollow(db, contextOf(request), request.params.idOrReference);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me/following',
    {
      schema: {
        tags,
        summary: 'The incidents the caller follows and may see, newest follow first',
        querystring: FollowingQuery,
        response: { 200: IncidentList, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.listFollowing(db, contextOf(request), request.query),
  );
}
