import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { contextOf } from '../incidents/incidents.routes.js';
import { ExportQuery } from './exports.schemas.js';
import * as service from './exports.service.js';

export async function exportRoutes(fastify: FastifyInstance, deps: { db: Database }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;

  app.get(
    '/incidents/export',
    {
      config: { rateLimitClass: 'export' },
      schema: {
        tags: ['incidents'],
        summary: 'Export the incidents that match the list filters, as CSV or GeoJSON (staff; streamed)',
        description:
          'Staff of `communityId` (and the communities nested in it); admins may leave it out. Oldest first. ' +
          'Each row shows what the exporter may see of it through the API. CSV text cells that a spreadsheet ' +
          'would run as a formula (starting with = + - @, tab or CR) get a leading apostrophe.',
        querystring: ExportQuery,
        // a stream is sent as it is: the 200 schema documents, it does not serialize
        response: {
          200: Type.String({ description: 'text/csv or application/geo+json' }),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (request, reply) => {
      const file = await service.exportIncidents(db, contextOf(request), request.query);
      return reply
        .header('content-type', file.contentType)
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .send(Readable.from(file.chunks, { objectMode: false }) as unknown as string);
    },
  );
}
