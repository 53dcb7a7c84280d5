import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { escapeHtml, unsubscribePage } from '../notifications/notifications.templates.js';
import {
  AlertIdParams,
  AlertUnsubscribeParams,
  AlertUnsubscribeResult,
  AreaAlert,
  AreaAlertCreate,
  AreaAlertList,
} from './alerts.schemas.js';
import * as service from './alerts.service.js';

export interface AlertRouteDeps {
  db: Database;
  /** the notifier's unsubscribe key: alert mails carry links signed with it */
  unsubscribeKey: Uint8Array;
}

/** Area alerts under /api/v1: the caller's own, and the removal link in alert mails. */
export async function alertRoutes(fastify: FastifyInstance, deps: AlertRouteDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['notifications'];

  // RFC 8058: mail clients POST `List-Unsubscribe=One-Click` as a form (only in this plugin)
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get(
    '/me/area-alerts',
    {
      schema: {
        tags,
        summary: 'The caller’s area alerts: new public reports in a community or a circle, at once or daily',
        response: { 200: AreaAlertList, 401: Problem },
      },
    },
    async (request) => service.listAlerts(db, request.actor),
  );

  app.post(
    '/me/area-alerts',
    {
      schema: {
        tags,
        summary: `Adds an area alert: {communityId} or {center, radius (50..20000 m)}, optional category slugs, frequency immediate|daily (at most 10 per person)`,
        body: AreaAlertCreate,
        response: { 201: AreaAlert, 400: Problem, 401: Problem, 409: Problem },
      },
    },
    async (request, reply) => reply.status(201).send(await service.createAlert(db, request.actor, request.body)),
  );

  app.delete(
    '/me/area-alerts/:id',
    {
      schema: {
        tags,
        summary: 'Removes one of the caller’s area alerts',
        params: AlertIdParams,
        response: { 204: Type.Null(), 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteAlert(db, request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );

  // the token is a path segment, as for the notifier's unsubscribe links (RFC 8058)
  app.get(
    '/area-alerts/unsubscribe/:token',
    {
      schema: {
        tags,
        summary: 'The page behind an alert mail’s removal link: a button that POSTs (a GET changes nothing)',
        params: AlertUnsubscribeParams,
        response: { 200: Type.String(), 400: Problem },
      },
    },
    async (request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(unsubscribePage(request.lang, escapeHtml(encodeURIComponent(request.params.token)))),
  );

  app.post(
    '/area-alerts/unsubscribe/:token',
    {
      schema: {
        tags,
        summary:
          'One-click removal of the area alert an alert mail came from (RFC 8058); no sign-in, the token is signed',
        params: AlertUnsubscribeParams,
        body: Type.Optional(Type.Record(Type.String(), Type.String())),
        response: { 200: AlertUnsubscribeResult, 400: Problem },
      },
    },
    async (request) => {
      const { removed } = await service.unsubscribe(db, deps.unsubscribeKey, request.params.token);
      return { unsubscribed: true as const, removed };
    },
  );
}
