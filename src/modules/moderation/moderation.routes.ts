import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import { CommentParams } from '../conversation/conversation.schemas.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import { contextOf } from '../incidents/incidents.routes.js';
import { IdOrReferenceParams, Incident, IncidentList, TimelineItem } from '../incidents/incidents.schemas.js';
import { MediaItem, MediaParams } from '../media/media.schemas.js';
import {
  BanEntryCreate,
  BanEntryCreated,
  BanEntryParams,
  BanList,
  BanListQuery,
  BanResult,
  CommentRedaction,
  HistoryQuery,
  IncidentRedaction,
  ModerationHistory,
  OptionalReasonBody,
  PendingQuery,
  ReasonBody,
  UserParams,
} from './moderation.schemas.js';
import * as service from './moderation.service.js';

export interface ModerationDeps {
  db: Database;
  storage: BlobStorage;
  config: Config['media'];
  userState: UserStateCache;
}

const refusals = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/**
 * Moderation under /api/v1: hiding incidents and files, redacting words, pre-moderation, bans and
 * the moderation history. Hiding comments is the conversation module's (same rules, same history).
 */
export async function moderationRoutes(fastify: FastifyInstance, deps: ModerationDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['moderation'];
  const write = { rateLimitClass: 'write' as const };

  for (const hidden of [true, false]) {
    app.post(
      `/incidents/:idOrReference/${hidden ? 'hide' : 'unhide'}`,
      {
        config: write,
        schema: {
          tags,
          summary: hidden
            ? 'Hide an incident from the public (staff of its community, admins)'
            : 'Show a hidden incident again (staff of its community, admins)',
          description: hidden
            ? 'Its staff and its reporter still see it. The timeline note and the reason are internal. ' +
              'Hiding a hidden incident changes nothing.'
            : 'A report held by pre-moderation is approved instead (409 here). The reason is optional.',
          params: IdOrReferenceParams,
          body: hidden ? ReasonBody : OptionalReasonBody,
          response: { 200: Incident, ...refusals, 409: Problem },
        },
      },
      async (request) =>
        service.setIncidentHidden(
          db,
          contextOf(request),
          request.params.idOrReference,
          hidden,
          request.body?.reason ?? null,
        ),
    );

    app.post(
      `/incidents/:idOrReference/media/:mediaId/${hidden ? 'hide' : 'unhide'}`,
      {
        config: write,
        schema: {
          tags,
          summary: hidden
            ? 'Hide a photo, video or document from the public (staff of its community, admins)'
            : 'Show a hidden file again (staff of its community, admins)',
          description:
            'A hidden file is missing from the list and a 404 for everyone but the staff and its uploader, ' +
            'who see it with `hidden` set (the reason: staff only).',
          params: MediaParams,
          body: hidden ? ReasonBody : OptionalReasonBody,
          response: { 200: MediaItem, ...refusals },
        },
      },
      async (request) =>
        service.setMediaHidden(
          deps,
          contextOf(request),
          request.params.idOrReference,
          request.params.mediaId,
          hidden,
          request.body?.reason ?? null,
        ),
    );
  }

  app.post(
    '/incidents/:idOrReference/redact',
    {
      config: write,
      schema: {
        tags,
        summary: "Replace an incident's title or description for good (moderators of its community, admins)",
        description:
          'The old words are not kept anywhere the API can reach: not in the incident, its timeline (which ' +
          'says that the field was redacted), the audit trail or stored idempotent answers.',
        params: IdOrReferenceParams,
        body: IncidentRedaction,
        response: { 200: Incident, ...refusals },
      },
    },
    async (request) => service.redactIncident(db, contextOf(request), request.params.idOrReference, request.body),
  );

  app.post(
    '/incidents/:idOrReference/comments/:eventId/redact',
    {
      config: write,
      schema: {
        tags,
        summary: "Replace a comment's body for good (moderators of its community, admins)",
        params: CommentParams,
        body: CommentRedaction,
        response: { 200: TimelineItem, ...refusals },
      },
    },
    async (request) =>
      service.redactComment(db, contextOf(request), request.params.idOrReference, request.params.eventId, request.body),
  );

  app.post(
    '/incidents/:idOrReference/approve',
    {
      config: write,
      schema: {
        tags,
        summary: 'Publish a report held by pre-moderation (moderators of its community, admins)',
        params: IdOrReferenceParams,
        body: OptionalReasonBody,
        response: { 200: Incident, ...refusals, 409: Problem },
      },
    },
    async (request) =>
      service.decideApproval(
        db,
        contextOf(request),
        request.params.idOrReference,
        'approve',
        request.body?.reason ?? null,
      ),
  );

  app.post(
    '/incidents/:idOrReference/reject',
    {
      config: write,
      schema: {
        tags,
        summary: 'Reject a report held by pre-moderation: it stays hidden, status rejected where allowed',
        params: IdOrReferenceParams,
        body: ReasonBody,
        response: { 200: Incident, ...refusals, 409: Problem },
      },
    },
    async (request) =>
      service.decideApproval(db, contextOf(request), request.params.idOrReference, 'reject', request.body.reason),
  );

  app.get(
    '/admin/moderation/pending',
    {
      schema: {
        tags,
        summary: 'Reports held by pre-moderation, oldest first (moderators of their community, admins)',
        querystring: PendingQuery,
        response: { 200: IncidentList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => service.listPending(db, contextOf(request), request.query),
  );

  app.get(
    '/admin/moderation',
    {
      schema: {
        tags,
        summary: 'The moderation history, newest first (moderators: their communities; admins: all)',
        description:
          'Hiding and showing incidents, comments and files, redactions, pre-moderation decisions, merges, ' +
          'bans and ban list changes, each with who, what, why and when. Every entry is in the audit trail too.',
        querystring: HistoryQuery,
        response: { 200: ModerationHistory, ...refusals },
      },
    },
    async (request) => service.listHistory(db, contextOf(request), request.query),
  );

  // ---------------------------------------------------------------------------------------------
  // Bans (admin)

  for (const banned of [true, false]) {
    app.post(
      `/admin/users/:id/${banned ? 'ban' : 'unban'}`,
      {
        config: write,
        schema: {
          tags,
          summary: banned
            ? 'Ban an account: its sign-ins and tokens end, its reports are hidden (admin)'
            : 'Lift a ban (admin); reports it hid stay hidden until shown again',
          params: UserParams,
          body: banned ? ReasonBody : OptionalReasonBody,
          response: { 200: BanResult, ...refusals },
        },
      },
      async (request) =>
        service.setUserBanned(deps, contextOf(request), request.params.id, banned, request.body?.reason ?? null),
    );
  }

  app.get(
    '/admin/bans',
    {
      schema: {
        tags,
        summary: 'The ban list: emails and domains whose reports stay hidden, newest first (admin)',
        querystring: BanListQuery,
        response: { 200: BanList, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => service.listBans(db, contextOf(request), request.query),
  );

  app.post(
    '/admin/bans',
    {
      config: write,
      schema: {
        tags,
        summary: 'Put an email or a domain on the ban list (admin); 200 when it was on it already',
        body: BanEntryCreate,
        response: { 200: BanEntryCreated, 201: BanEntryCreated, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request, reply) => {
      const result = await service.addBan(db, contextOf(request), request.body);
      return reply.status(result.created ? 201 : 200).send(result.body);
    },
  );

  app.delete(
    '/admin/bans/:id',
    {
      config: write,
      schema: {
        tags,
        summary: 'Take an entry off the ban list (admin)',
        params: BanEntryParams,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.removeBan(db, contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
