import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { escapeHtml, unsubscribePage } from './notifications.templates.js';
import {
  MarkRead,
  MarkReadResult,
  NotificationList,
  NotificationQuery,
  Preferences,
  PreferencesPatch,
  PushEndpoint,
  PushSubscription,
  UnsubscribeParams,
  UnsubscribeResult,
} from './notifications.schemas.js';
import * as service from './notifications.service.js';

export interface NotificationRouteDeps {
  db: Database;
  unsubscribeKey: Uint8Array;
  vapidPublicKey: string;
  /** http:// push endpoints (a local test receiver); https only in production */
  allowHttpPush: boolean;
}

/** In-app notifications, preferences, Web Push subscriptions and one-click unsubscribe, under /api/v1. */
export async function notificationRoutes(fastify: FastifyInstance, deps: NotificationRouteDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['notifications'];
  const ctx = (request: { actor: service.Context['actor']; lang: service.Context['lang'] }) => ({
    actor: request.actor,
    lang: request.lang,
  });

  // RFC 8058: mail clients POST `List-Unsubscribe=One-Click` as a form (only in this plugin)
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get(
    '/me/notifications',
    {
      schema: {
        tags,
        summary: 'The caller’s in-app notifications, newest first, with the unread count',
        querystring: NotificationQuery,
        response: { 200: NotificationList, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.listNotifications(db, ctx(request), request.query),
  );

  app.post(
    '/me/notifications/read',
    {
      schema: {
        tags,
        summary: 'Mark notifications read: {ids: [...]} or {all: true}',
        body: MarkRead,
        response: { 200: MarkReadResult, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.markRead(db, ctx(request), request.body),
  );

  app.get(
    '/me/notification-preferences',
    {
      schema: {
        tags,
        summary: 'Which notifications the caller gets, per channel and per kind',
        response: { 200: Preferences, 401: Problem },
      },
    },
    async (request) => service.getPreferences(db, ctx(request)),
  );

  app.put(
    '/me/notification-preferences',
    {
      schema: {
        tags,
        summary: 'Change switches; the ones not given stay as they are',
        body: PreferencesPatch,
        response: { 200: Preferences, 400: Problem, 401: Problem },
      },
    },
    async (request) => service.updatePreferences(db, ctx(request), request.body),
  );

  app.post(
    '/me/push-subscriptions',
    {
      schema: {
        tags,
        summary: 'Receive Web Push in this browser (the PushSubscription as JSON)',
        body: PushSubscription,
        response: { 201: Type.Object({ id: Type.String() }), 400: Problem, 401: Problem },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.subscribePush(db, ctx(request), request.body, { allowHttp: deps.allowHttpPush })),
  );

  app.delete(
    '/me/push-subscriptions',
    {
      schema: {
        tags,
        summary: 'Stop Web Push to a browser',
        body: PushEndpoint,
        response: { 204: Type.Null(), 401: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.unsubscribePush(db, ctx(request), request.body.endpoint);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/push/vapid-public-key',
    {
      schema: {
        tags,
        summary: 'The applicationServerKey for PushManager.subscribe (base64url)',
        response: { 200: Type.Object({ publicKey: Type.String() }) },
      },
    },
    async () => ({ publicKey: deps.vapidPublicKey }),
  );

  // the token is a path segment: `?token=` is refused app-wide (access tokens never go in URLs);
  // this one can only switch mail off, and RFC 8058 needs it in the URL
  app.get(
    '/unsubscribe/:token',
    {
      schema: {
        tags,
        summary: 'The page behind an unsubscribe link: a button that POSTs (a GET changes nothing, for link scanners)',
        params: UnsubscribeParams,
        response: { 200: Type.String(), 400: Problem },
      },
    },
    async (request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(unsubscribePage(request.lang, escapeHtml(encodeURIComponent(request.params.token)))),
  );

  app.post(
    '/unsubscribe/:token',
    {
      schema: {
        tags,
        summary: 'One-click unsubscribe (RFC 8058); works without signing in, the token is signed',
        params: UnsubscribeParams,
        body: Type.Optional(Type.Record(Type.String(), Type.String())),
        response: { 200: UnsubscribeResult, 400: Problem },
      },
    },
    async (request) => {
      const claim = await service.unsubscribe(db, deps.unsubscribeKey, request.params.token);
      return { unsubscribed: true as const, channel: claim.channel, kind: claim.kind };
    },
  );
}
