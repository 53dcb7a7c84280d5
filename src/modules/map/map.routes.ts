import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { ClusterList, ClustersQuery } from './map.schemas.js';
import * as service from './map.service.js';

export async function mapRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.get(
    '/incidents/clusters',
    {
      config: { cache: { tags: ['categories', 'incidents'], maxAge: 10 } },
      schema: {
        tags: ['incidents', 'map'],
        summary: 'Public incidents counted per grid cell of a box, for the map at low zoom',
        description:
          'The grid follows `zoom` (cells of ~64 screen pixels, aligned with the ~250 m blur grid, so sensitive ' +
          'incidents count where their blurred location is). Public, visible reports only, the same for every ' +
          'viewer. Without `since`/`until` and at zoom ≤ 14 the answer comes from a pre-aggregated rollup of ~2 km ' +
          'cells (`source: rollup`); otherwise from the incidents, and then a cluster of one names its incident.',
        querystring: ClustersQuery,
        response: { 200: ClusterList, 400: Problem },
      },
    },
    async (request) => service.listClusters(db, request.query),
  );
}
