import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { IdOrReferenceParams } from '../incidents/incidents.schemas.js';
import { presentAlert } from './emergency.presenter.js';
import { CommunityQuery, EmergencyAlert, OnDuty, OnDutyList } from './emergency.schemas.js';
import * as service from './emergency.service.js';

/** Emergency escalation: an incident's alert, acknowledging it, and going on or off duty. */
export async function emergencyRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.get(
    '/incidents/:idOrReference/emergency-alert',
    {
      schema: {
        tags: ['emergency'],
        summary: "An incident's emergency alert: its level and who acknowledged it (staff of its community)",
        params: IdOrReferenceParams,
        response: { 200: EmergencyAlert, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => presentAlert(await service.getAlert(db, request.actor, request.params.idOrReference)),
  );

  app.post(
    '/incidents/:idOrReference/acknowledge-alert',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Acknowledge an emergency alert, which stops its escalation (staff of its community)',
        description:
          'A critical incident, or one in an emergency category, alerts the staff on duty of its community and ' +
          'escalates every EMERGENCY_ESCALATION_MINUTES (moderators, admins, the external emergency system) until ' +
          'someone acknowledges it here. Acknowledging again answers the first acknowledgement. 409 when the ' +
          'incident has no alert, or its alert stopped because the incident was closed.',
        params: IdOrReferenceParams,
        response: { 200: EmergencyAlert, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request) =>
      presentAlert(
        await service.acknowledge(db, request.actor, request.params.idOrReference, {
          requestId: request.id,
          ip: request.ip,
        }),
      ),
  );

  app.get(
    '/me/on-duty',
    {
      schema: {
        tags: ['emergency'],
        summary: 'The communities where the caller is on duty for emergency alerts',
        response: { 200: OnDutyList, 401: Problem },
      },
    },
    async (request) => ({
      items: (await service.listOnDuty(db, request.actor)).map((r) => ({
        communityId: r.community_id,
        communityName: r.community_name,
        since: new Date(r.since).toISOString(),
      })),
    }),
  );

  app.put(
    '/me/on-duty',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Go on duty for emergency alerts in a community (its responders and moderators)',
        description:
          'Emergency alerts go first to the staff on duty in the community; when nobody is, to all its ' +
          'responders. Idempotent: going on duty again keeps the first `since`.',
        querystring: CommunityQuery,
        response: { 200: OnDuty, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => {
      const { communityId, since } = await service.goOnDuty(db, request.actor, request.query.communityId);
      return { communityId, since: new Date(since).toISOString() };
    },
  );

  app.delete(
    '/me/on-duty',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Go off duty in a community (idempotent)',
        querystring: CommunityQuery,
        response: { 204: Type.Null(), 400: Problem, 401: Problem },
      },
    },
    async (request, reply) => {
      await service.goOffDuty(db, request.actor, request.query.communityId);
      return reply.status(204).send(null);
    },
  );
}
