import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { t } from '../../i18n/i18n.js';
import { isConnectionError, type Database } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/errors.js';
import {
  CONTENT_TYPE,
  listDocument,
  objectDocument,
  render,
  splitFormat,
  type Document,
  type Format,
} from './open311.format.js';
import { presentRequest, presentService, presentServiceDefinition } from './open311.presenter.js';
import { FileParams, LangQuery, RequestsQuery } from './open311.schemas.js';
import * as service from './open311.service.js';
import { Open311Error } from './open311.service.js';

export interface Open311Deps {
  db: Database;
  /** the server's public base URL (config.http.publicUrl): discovery names the endpoint with it */
  publicUrl: string;
  /** who to ask about the API, for discovery */
  contact?: string;
}

const FORMATS: readonly Format[] = ['json', 'xml'];
const SPECIFICATION = 'http://wiki.open311.org/GeoReport_v2';
/** When this endpoint last changed in a way clients may care about (discovery's changeset). */
export const CHANGESET = '2026-11-26T00:00:00Z';

/**
 * Open311 GeoReport v2, read side: discovery, services, service definitions, requests and a
 * single request, each as `.json` and `.xml`. Errors answer in the spec's format, not as
 * problem+json: this plugin has its own error and not-found handlers.
 */
export async function open311Routes(fastify: FastifyInstance, deps: Open311Deps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const tags = ['open311'];
  const endpointUrl = deps.publicUrl.replace(/\/+$/, '') + fastify.prefix;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, description } = toOpen311Error(error, request, reply);
    if (status >= 500) request.log.error({ err: error }, 'open311 request failed');
    return sendError(reply, formatOf(request), status, description);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, formatOf(request), 404, `No such resource: ${request.url.split('?')[0] ?? ''}`),
  );

  for (const format of FORMATS) {
    app.get(
      `/discovery.${format}`,
      { schema: { tags, summary: `Discovery (${format})`, querystring: LangQuery } },
      async (_request, reply) =>
        send(
          reply,
          format,
          objectDocument('discovery', {
            changeset: CHANGESET,
            contact: deps.contact ?? `See ${deps.publicUrl.replace(/\/+$/, '')}/docs for the API.`,
            key_service: 'Reading needs no key. Keys for posting requests are issued by the administrators.',
            endpoints: [
              {
                specification: SPECIFICATION,
                url: endpointUrl,
                changeset: CHANGESET,
                type: 'production',
                formats: ['text/xml', 'application/json'],
              },
            ],
          }),
        ),
    );

    app.get(
      `/services.${format}`,
      {
        schema: { tags, summary: `Service list: one service per active category (${format})`, querystring: LangQuery },
      },
      async (request, reply) => {
        const rows = await service.listServices(db);
        return send(
          reply,
          format,
          listDocument(
            'services',
            rows.map((row) => presentService(row, request.lang)),
          ),
        );
      },
    );

    app.get(
      `/requests.${format}`,
      {
        schema: {
          tags,
          summary: `Service requests: public incidents, newest (or nearest) first (${format})`,
          querystring: RequestsQuery,
        },
      },
      async (request, reply) => {
        const filter = service.parseRequestsQuery(request.query);
        const extended = flag('extended_statuses', request.query.extended_statuses);
        const rows = await service.listRequests(db, filter);
        return send(
          reply,
          format,
          listDocument(
            'service_requests',
            rows.map((row) => presentRequest(row, request.lang, extended)),
          ),
        );
      },
    );
  }

  app.get(
    '/services/:file',
    {
      schema: {
        tags,
        summary: 'Service definition: the attributes of a service (`/services/{service_code}.json|.xml`)',
        params: FileParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const { name, format } = fileOf(request.params.file);
      const row = await service.getService(db, name);
      return send(reply, format, objectDocument('service_definition', presentServiceDefinition(row, request.lang)));
    },
  );

  app.get(
    '/requests/:file',
    {
      schema: {
        tags,
        summary: 'One service request, by reference or id (`/requests/{id}.json|.xml`), as a list of one',
        params: FileParams,
        querystring: RequestsQuery,
      },
    },
    async (request, reply) => {
      const { name, format } = fileOf(request.params.file);
      const extended = flag('extended_statuses', request.query.extended_statuses);
      const row = await service.getRequest(db, name);
      return send(reply, format, listDocument('service_requests', [presentRequest(row, request.lang, extended)]));
    },
  );
}

function send(reply: FastifyReply, format: Format, doc: Document): FastifyReply {
  return reply.status(200).header('content-type', CONTENT_TYPE[format]).send(render(format, doc));
}

function sendError(reply: FastifyReply, format: Format, status: number, description: string): FastifyReply {
  const doc = listDocument('errors', [{ code: status, description }]);
  return reply.status(status).header('content-type', CONTENT_TYPE[format]).send(render(format, doc));
}

/** The format the caller asked for by extension; JSON when there is none to go by. */
function formatOf(request: FastifyRequest): Format {
  const path = request.url.split('?')[0] ?? '';
  return path.endsWith('.xml') ? 'xml' : 'json';
}

function fileOf(file: string): { name: string; format: Format } {
  const parsed = splitFormat(file);
  if (!parsed || parsed.name === '') throw new Open311Error(404, `No such resource: ${file} (use .json or .xml).`);
  return parsed;
}

function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new Open311Error(400, `${name} must be true or false.`);
}

function toOpen311Error(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): { status: number; description: string } {
  if (error instanceof Open311Error) return { status: error.status, description: error.description };
  if (error instanceof AppError) {
    return {
      status: error.status,
      description: t(request.lang, error.detail, { ...error.params, requestId: request.id }),
    };
  }
  if (error.validation) {
    const first = error.validation[0];
    const where = first?.instancePath ? first.instancePath.replace(/^\//, '') : (first?.params?.missingProperty ?? '');
    return { status: 400, description: `Invalid parameter ${String(where)}: ${first?.message ?? 'invalid'}.`.trim() };
  }
  if (isConnectionError(error)) {
    reply.header('retry-after', '5');
    return { status: 503, description: 'The service is unavailable; try again shortly.' };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, description: 'Bad request.' };
  }
  return { status: 500, description: `Internal error (request ${request.id}).` };
}
