import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../platform/http/errors.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { contextOf } from '../incidents/incidents.routes.js';
import { IdOrReferenceParams } from '../incidents/incidents.schemas.js';
import { MAX_UPLOAD_BYTES } from './media.kinds.js';
import * as service from './media.service.js';
import { MediaItem, MediaList, MediaParams, OriginalLink } from './media.schemas.js';

/** Multipart framing around the largest file: boundaries and part headers. */
const MULTIPART_OVERHEAD = 64 * 1024;

export async function mediaRoutes(fastify: FastifyInstance, deps: service.MediaDeps): Promise<void> {
  // only this plugin's routes accept multipart bodies
  await fastify.register(multipart, {
    limits: {
      // one more byte than any kind allows, so the upload's own check (per kind) is what fires
      fileSize: MAX_UPLOAD_BYTES + 1,
      files: 1,
      fields: 5,
      fieldSize: 1024,
      parts: 6,
      headerPairs: 50,
    },
  });
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['media'];

  app.post(
    '/incidents/:idOrReference/media',
    {
      config: { rateLimitClass: 'write' },
      // refused before the body is read: a declared length over the largest allowed upload
      onRequest: async (request) => {
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD) {
          throw new AppError('too_large', 'error.upload_too_large.detail', {
            limit: Math.round(MAX_UPLOAD_BYTES / (1024 * 1024)),
          });
        }
      },
      schema: {
        tags,
        summary: 'Add a photo, video or PDF to an incident (multipart/form-data, field "file")',
        description:
          'The type is read from the bytes: JPEG, PNG, WebP, HEIC/HEIF photos (≤ 15 MB, ≤ 40 megapixels), ' +
          'MP4 and WebM video (≤ 100 MB), PDF (≤ 10 MB). Photos are turned upright, stripped of all metadata ' +
          '(GPS included) and re-encoded; videos lose their metadata boxes. At most 10 files per incident.',
        params: IdOrReferenceParams,
        response: {
          201: MediaItem,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          409: Problem,
          413: Problem,
          415: Problem,
          429: Problem,
          503: Problem,
        },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new AppError('unsupported_media_type', 'error.multipart_expected.detail');
      }
      const item = await service.uploadMedia(deps, contextOf(request), request.params.idOrReference, async () => {
        const part = await request.file();
        return part && part.fieldname === 'file' ? part.file : null;
      });
      return reply.status(201).header('location', `/api/v1/incidents/${item.incidentId}/media/${item.id}`).send(item);
    },
  );

  app.get(
    '/incidents/:idOrReference/media',
    {
      schema: {
        tags,
        summary: "An incident's photos, videos and documents, with signed URLs that expire",
        params: IdOrReferenceParams,
        response: { 200: MediaList, 404: Problem },
      },
    },
    async (request) => service.listMedia(deps, contextOf(request), request.params.idOrReference),
  );

  app.get(
    '/incidents/:idOrReference/media/:mediaId',
    {
      schema: {
        tags,
        summary: 'One file of an incident, with fresh signed URLs',
        params: MediaParams,
        response: { 200: MediaItem, 404: Problem },
      },
    },
    async (request) => service.getMedia(deps, contextOf(request), request.params.idOrReference, request.params.mediaId),
  );

  app.get(
    '/incidents/:idOrReference/media/:mediaId/original',
    {
      schema: {
        tags,
        summary: 'Admins: a 5-minute link to the untouched upload, where originals are kept (audited)',
        params: MediaParams,
        response: { 200: OriginalLink, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request) =>
      service.originalLink(deps, contextOf(request), request.params.idOrReference, request.params.mediaId),
  );

  app.delete(
    '/incidents/:idOrReference/media/:mediaId',
    {
      schema: {
        tags,
        summary: 'Remove a file and every stored variant of it (who added it, or staff of the community)',
        params: MediaParams,
        response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (request, reply) => {
      await service.deleteMedia(deps, contextOf(request), request.params.idOrReference, request.params.mediaId);
      return reply.status(204).send(null);
    },
  );
}
