import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { contextOf } from '../incidents/incidents.routes.js';
import * as service from './stats.service.js';
import { CommunityParams, CommunitySummary, Heatmap, HeatmapQuery, Stats, StatsQuery } from './stats.schemas.js';

/** Statistics for staff, the heat map, and each community's public transparency summary. */
export async function statsRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['stats'];

  app.get(
    '/stats',
    {
      schema: {
        tags,
        summary: 'Counts by status, category, community and ISO week; times to acknowledge and resolve; overdue',
        description:
          'Staff: moderators and responders see their communities (and those nested inside), admins everything. ' +
          '`since`/`until` filter on the creation time. Percentiles are exact up to 20,000 incidents, above that ' +
          'estimated from a histogram (`exact: false`).',
        querystring: StatsQuery,
        response: { 200: Stats, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (request) => service.getStats(db, contextOf(request), request.query),
  );

  app.get(
    '/stats/heatmap',
    {
      schema: {
        tags,
        summary: 'Incidents per grid cell of a box (cells of at least ~250 m: the blur grid)',
        description: 'Public reports for everyone; staff also count the other reports of their communities.',
        querystring: HeatmapQuery,
        response: { 200: Heatmap, 400: Problem },
      },
    },
    async (request) => service.getHeatmap(db, contextOf(request), request.query),
  );

  app.get(
    '/communities/:id/summary',
    {
      config: { cache: { tags: ['incidents'], maxAge: 30 } },
      schema: {
        tags,
        summary: "A community's transparency summary: public reports, resolved, median time to resolve",
        params: CommunityParams,
        querystring: Type.Object({ lang: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: CommunitySummary, 404: Problem },
      },
    },
    async (request) => service.getCommunitySummary(db, contextOf(request), request.params.id),
  );
}
