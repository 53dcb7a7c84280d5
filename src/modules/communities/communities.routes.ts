import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { presentCommunity, presentCommunityStaff } from './communities.presenter.js';
import {
  Community,
  CommunityCreate,
  CommunityList,
  CommunityPatch,
  CommunityStaffList,
} from './communities.schemas.js';
import * as service from './communities.service.js';

export async function communityRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['communities'];
  const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

  app.get(
    '/communities',
    { schema: { tags, summary: 'Every community with its boundary', response: { 200: CommunityList } } },
    async () => ({
      items: (await service.listCommunities(db)).map(presentCommunity),
    }),
  );

  app.get(
    '/communities/:id',
    {
      schema: {
        tags,
        summary: 'One community, by id or slug',
        params: Params,
        response: { 200: Community, 404: Problem },
      },
    },
    async (request) => presentCommunity(await service.getCommunity(db, request.params.id)),
  );

  app.get(
    '/communities/:id/staff',
    {
      schema: {
        tags,
        summary: "The community's moderators and responders, to assign incidents to (its staff and admins)",
        params: Params,
        response: { 200: CommunityStaffList, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) => ({
      items: (await service.listCommunityStaff(db, request.actor, request.params.id)).map(presentCommunityStaff),
    }),
  );

  app.post(
    '/communities',
    {
      schema: {
        tags,
        summary: 'Create a community with a GeoJSON (Multi)Polygon boundary (admin)',
        body: CommunityCreate,
        response: { 201: Community, 400: Problem, 401: Problem, 403: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const row = await service.createCommunity(db, request.actor, request.body, {
        requestId: request.id,
        ip: request.ip,
      });
      return reply.status(201).header('location', `/api/v1/communities/${row.id}`).send(presentCommunity(row));
    },
  );

  app.patch(
    '/communities/:id',
    {
      schema: {
        tags,
        summary: 'Change a community (admin)',
        params: Params,
        body: CommunityPatch,
        response: { 200: Community, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request) =>
      presentCommunity(
        await service.updateCommunity(db, request.actor, request.params.id, request.body, {
          requestId: request.id,
          ip: request.ip,
        }),
      ),
  );

  app.delete(
    '/communities/:id',
    {
      schema: {
        tags,
        summary: 'Delete a community without children (admin); its incidents move to the next smallest',
        params: Params,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteCommunity(db, request.actor, request.params.id, { requestId: request.id, ip: request.ip });
      return reply.status(204).send(null);
    },
  );
}
