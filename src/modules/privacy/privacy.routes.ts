import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Bus } from '../../platform/bus/bus.js';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import * as service from './privacy.service.js';
import {
  ConsentAccept,
  ConsentList,
  ErasureRequest,
  ErasureSummary,
  ExportLink,
  ExportQuery,
  ExportRequest,
} from './privacy.schemas.js';

export interface PrivacyRouteDeps {
  db: Database;
  storage: BlobStorage;
  bus: Bus;
  userState: UserStateCache;
  publicUrl: string;
  termsVersion: string;
}

/** A user whose tokens must stop working now: every node drops its cached state for them. */
export const FORGET_USER_TOPIC = 'identity.forget-user';

const security = (request: FastifyRequest): service.SecurityContext => ({ requestId: request.id, ip: request.ip });

/** The person's own data: export, erasure, consents; under /api/v1. */
export async function privacyRoutes(fastify: FastifyInstance, deps: PrivacyRouteDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db, storage, bus, userState } = deps;
  const tags = ['privacy'];

  // the user-state cache lives 30 s per node; an erasure on any node ends the tokens on all at once
  const unsubscribe = bus.subscribe(FORGET_USER_TOPIC, (userId) => userState.forget(userId));
  app.addHook('onClose', async () => unsubscribe());
  const announce: service.ErasureAnnouncer = async (userId) => {
    userState.forget(userId);
    await bus.publish(FORGET_USER_TOPIC, userId);
  };

  app.post(
    '/me/export',
    {
      config: { rateLimitClass: 'login' },
      schema: {
        tags,
        summary: 'Ask for a copy of all your data (re-enter your password)',
        description:
          'Answers a one-time download link that works for 15 minutes. GET it to receive a zip with ' +
          '`data.json` (account, consents, sessions, reports, comments, activity, media, follows, ' +
          'confirmations, uploads, audit entries) and `files/…` (the stored photos, videos and documents ' +
          'you added). The link itself is the credential, so a browser can open it as a plain download.',
        body: ExportRequest,
        response: { 201: ExportLink, 400: Problem, 401: Problem, 429: Problem },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.requestExport(db, request.actor, request.body.password, deps.publicUrl, security(request))),
  );

  app.get(
    '/me/export',
    {
      schema: {
        tags,
        summary: 'Download your data export (the link from POST /me/export)',
        description: 'A zip, streamed. The link works once and for 15 minutes; after that: 404.',
        querystring: ExportQuery,
        produces: ['application/zip'],
        response: {
          // a stream: Fastify sends it as it is, this only documents it
          200: Type.Unsafe<Readable>({ type: 'string', format: 'binary', description: 'application/zip' }),
          400: Problem,
          404: Problem,
        },
      },
    },
    async (request, reply) => {
      const zip = await service.downloadExport(db, storage, request.query.code, security(request));
      return reply
        .type('application/zip')
        .header('content-disposition', 'attachment; filename="buurtwag-export.zip"')
        .header('cache-control', 'no-store')
        .send(zip);
    },
  );

  app.delete(
    '/me',
    {
      config: { rateLimitClass: 'login' },
      schema: {
        tags,
        summary: 'Erase your account (re-enter your password)',
        description:
          'At once: every sign-in and access token ends. Your name, email and password are removed; the ' +
          'account id stays as a pseudonym. Public reports stay, as "Anonymous", with the location coarsened ' +
          'to a ~250 m cell, no address, and names, emails, phone numbers and coordinates cut from the text; ' +
          'private reports are deleted; comments stay with the same cuts; follows and "me too"s go. ' +
          '`deletePhotos: true` also deletes the files you added. Authorities that received your reports ' +
          'are notified (`incident.reporter_erased`).',
        body: ErasureRequest,
        response: { 200: ErasureSummary, 400: Problem, 401: Problem, 429: Problem },
      },
    },
    async (request) => service.eraseOwnAccount(db, request.actor, request.body, security(request), announce),
  );

  app.get(
    '/me/consents',
    {
      schema: {
        tags,
        summary: 'The terms and privacy versions you accepted, oldest first',
        response: { 200: ConsentList, 401: Problem },
      },
    },
    async (request) => ({
      ...(await service.listMyConsents(db, request.actor)),
      required: deps.termsVersion,
    }),
  );

  app.post(
    '/me/consents',
    {
      config: { rateLimitClass: 'write' },
      schema: {
        tags,
        summary: 'Accept the terms and privacy notice in force',
        body: ConsentAccept,
        response: { 204: Type.Null(), 400: Problem, 401: Problem },
      },
    },
    async (request, reply) => {
      await service.acceptTerms(db, request.actor, request.body.termsVersion, deps.termsVersion, security(request));
      return reply.status(204).send(null);
    },
  );
}
