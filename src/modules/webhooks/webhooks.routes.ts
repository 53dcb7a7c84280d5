import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { notFound } from '../../platform/http/errors.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { recordAudit } from '../audit/audit.repository.js';
import { webhookSecret } from '../authorities/authorities.secrets.js';
import { isAdmin, refusal } from '../identity/actor.js';
import * as repo from './webhooks.repository.js';

const EVENT_TYPES = [
  'incident.created',
  'incident.updated',
  'incident.commented',
  'incident.confirmed',
  'incident.media',
  'incident.moderated',
] as const;

const Url = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 });
const Events = Type.Array(Type.Union(EVENT_TYPES.map((e) => Type.Literal(e))), { maxItems: 20, uniqueItems: true });
const Webhook = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  /** the last event it took (seq) */
  deliveredSeq: Type.Number(),
  failures: Type.Integer(),
  failingSince: Type.Union([Type.String(), Type.Null()]),
  retryAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Secret = Type.Object({ secret: Type.String() });

const present = (w: repo.WebhookRow) => ({
  id: w.id,
  name: w.name,
  url: w.url,
  events: w.events,
  enabled: w.enabled,
  disabledReason: w.disabled_reason,
  deliveredSeq: Number(w.delivered_seq),
  failures: w.failures,
  failingSince: w.failing_since?.toISOString() ?? null,
  retryAt: w.retry_at?.toISOString() ?? null,
  lastError: w.last_error,
  createdAt: w.created_at.toISOString(),
});

/**
 * `/admin/webhooks`: general webhooks (webhooks.dispatch.ts sends them), admins only, audited. A
 * webhook's secret (Standard Webhooks, `whsec_…`) is derived, not stored: read it with
 * `GET …/:id/secret`, rotate it with `POST …/:id/secret/rotate` (the old one signs along for a day).
 * A switched-off webhook (`enabled: false`, with the reason) is the dead letter: PATCH it back on
 * and it resumes at the first event it did not take.
 */
export async function webhookRoutes(
  fastify: FastifyInstance,
  deps: { db: Database; signingKey: Uint8Array },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['admin'];
  const admin = (request: FastifyRequest) => {
    if (!isAdmin(request.actor)) throw refusal(request.actor);
  };
  const audit = (request: FastifyRequest, action: string, id: string, data: object = {}) =>
    recordAudit(db, {
      actorId: request.actor.userId,
      action,
      entityType: 'webhook',
      entityId: id,
      data,
      requestId: request.id,
      ip: request.ip,
    });
  const secretOf = (w: repo.WebhookRow) => webhookSecret(deps.signingKey, `webhook:${w.id}`, w.secret_version);

  app.get(
    '/admin/webhooks',
    {
      schema: {
        tags,
        summary: 'General webhooks',
        response: { 200: Type.Object({ items: Type.Array(Webhook) }), 401: Problem, 403: Problem },
      },
    },
    async (request) => {
      admin(request);
      return { items: (await repo.listWebhooks(db)).map(present) };
    },
  );

  app.post(
    '/admin/webhooks',
    {
      schema: {
        tags,
        summary: 'Register a webhook for public incident events (all, or the types in `events`); answers its secret',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), url: Url, events: Type.Optional(Events) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ webhook: Webhook, secret: Type.String() }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request, reply) => {
      admin(request);
      const row = await db.transaction((tx) =>
        repo.insertWebhook(tx, { name: request.body.name, url: request.body.url, events: request.body.events ?? [] }),
      );
      await audit(request, 'webhook.create', row.id, { url: row.url, events: row.events });
      return reply.status(201).send({ webhook: present(row), secret: secretOf(row) });
    },
  );

  app.patch(
    '/admin/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Change a webhook; `enabled: true` switches a failed one back on where it stopped',
        params: Params,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Webhook, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => {
      admin(request);
      const current = await repo.findWebhook(db, request.params.id);
      if (!current) throw notFound();
      const b = request.body;
      const row = await repo.updateWebhook(db, current.id, {
        name: b.name ?? current.name,
        url: b.url ?? current.url,
        events: b.events ?? current.events,
        enabled: b.enabled ?? current.enabled,
        rotate: false,
      });
      await audit(request, 'webhook.update', current.id, { ...b });
      return present(row!);
    },
  );

  app.delete(
    '/admin/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Remove a webhook',
        params: Params,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      admin(request);
      if (!(await db.transaction((tx) => repo.deleteWebhook(tx, request.params.id)))) throw notFound();
      await audit(request, 'webhook.delete', request.params.id);
      return reply.status(204).send(null);
    },
  );

  for (const rotate of [false, true]) {
    const route = {
      schema: {
        tags,
        summary: rotate
          ? 'A new secret; the previous one keeps signing for a day'
          : "The webhook's signing secret (audited)",
        params: Params,
        response: { 200: Secret, 401: Problem, 403: Problem, 404: Problem },
      },
    };
    const handler = async (request: FastifyRequest<{ Params: { id: string } }>) => {
      admin(request);
      let row = await repo.findWebhook(db, request.params.id);
      if (!row) throw notFound();
      if (rotate) row = (await repo.updateWebhook(db, row.id, { ...row, rotate: true }))!;
      await audit(request, rotate ? 'webhook.secret.rotate' : 'webhook.secret.read', row.id);
      return { secret: secretOf(row) };
    };
    if (rotate) app.post('/admin/webhooks/:id/secret/rotate', route, handler);
    else app.get('/admin/webhooks/:id/secret', route, handler);
  }
}
