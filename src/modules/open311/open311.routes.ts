import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { t } from '../../i18n/i18n.js';
import { isTemporaryDatabaseError, type Database } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/errors.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import {
  CONTENT_TYPE,
  listDocument,
  objectDocument,
  render,
  splitFormat,
  type Document,
  type Format,
} from './open311.format.js';
import { FORM_BODY_LIMIT, FormError, parseForm, type Form } from './open311.form.js';
import {
  presentPosted,
  presentRequest,
  presentService,
  presentServiceDefinition,
  presentUpdate,
} from './open311.presenter.js';
import {
  FileParams,
  LangQuery,
  PostRequestBody,
  PostUpdateBody,
  RequestsQuery,
  UpdatesQuery,
} from './open311.schemas.js';
import * as service from './open311.service.js';
import { Open311Error } from './open311.service.js';

export interface Open311Deps {
  db: Database;
  /** signs media_url (the first photo of a request) */
  storage: BlobStorage;
  mediaUrlTtlSeconds: number;
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
 * Open311 GeoReport v2: discovery, services, service definitions, requests (GET and POST), a
 * single request, tokens, and mySociety's servicerequestupdates, each as `.json` and `.xml`.
 * Errors answer in the spec's format, not as problem+json: this plugin has its own error and
 * not-found handlers, and its own parser for the form-encoded bodies Open311 clients POST.
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
  // for this plugin only: the rest of the API speaks JSON
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  for (const format of FORMATS) {
    app.get(
      `/discovery.${format}`,
      {
        config: { rateLimitClass: 'open311' },
        schema: { tags, summary: `Discovery (${format})`, querystring: LangQuery },
      },
      async (_request, reply) =>
        send(
          reply,
          format,
          objectDocument('discovery', {
            changeset: CHANGESET,
            contact: deps.contact ?? `See ${deps.publicUrl.replace(/\/+$/, '')}/docs for the API.`,
            key_service:
              'Reading requests needs no key. Keys for posting requests and reading servicerequestupdates are issued by the administrators.',
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
        config: { rateLimitClass: 'open311', cache: { tags: ['categories'], maxAge: 60 } },
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
        config: { rateLimitClass: 'open311', cache: { tags: ['categories', 'incidents'], maxAge: 10 } },
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
        const photos = await service.photoUrls(
          db,
          deps.storage,
          deps.mediaUrlTtlSeconds,
          rows.map((r) => r.id),
        );
        return send(
          reply,
          format,
          listDocument(
            'service_requests',
            rows.map((row) => presentRequest(row, request.lang, extended, photos.get(row.id) ?? null)),
          ),
        );
      },
    );
  }

  for (const format of FORMATS) {
    app.post(
      `/requests.${format}`,
      {
        config: { rateLimitClass: 'open311' },
        schema: {
          tags,
          summary: `Post a service request (${format})`,
          description:
            'A form (application/x-www-form-urlencoded) with a key: a public, anonymous report, answered at once ' +
            'with its id and token. The contact fields (email, names, phone, device_id, account_id) are accepted ' +
            'and never stored; media_url is not fetched; the location is lat and long (address_string is kept ' +
            'as the address, not looked up).',
          consumes: ['application/x-www-form-urlencoded'],
          body: PostRequestBody,
        },
      },
      async (request, reply) => {
        const posted = await service.postRequest(
          db,
          { lang: request.lang, requestId: request.id, clientAddress: request.ip },
          formOf(request),
        );
        // 200 as mySociety's Open311 endpoint answers (the spec names no other)
        return send(reply, format, listDocument('service_requests', [presentPosted(posted, true)]));
      },
    );

    app.post(
      `/servicerequestupdates.${format}`,
      {
        config: { rateLimitClass: 'open311' },
        schema: {
          tags,
          summary: `An authority's system posts a status update (${format})`,
          description:
            "mySociety's extension. The api_key must be one made for the authority the request was sent to; the " +
            'update moves the incident along its allowed status moves, lands on its timeline, and a repeated ' +
            'update_id changes nothing.',
          consumes: ['application/x-www-form-urlencoded'],
          body: PostUpdateBody,
        },
      },
      async (request, reply) => {
        const posted = await service.postUpdate(db, formOf(request));
        return send(reply, format, listDocument('service_request_updates', [posted]));
      },
    );

    app.get(
      `/servicerequestupdates.${format}`,
      {
        config: { rateLimitClass: 'open311' },
        schema: {
          tags,
          summary: `Updates of public requests: status changes and public comments, oldest first (${format})`,
          description:
            'mySociety’s extension, as FixMyStreet reads it. Needs api_key. Without dates, the last 24 hours; ' +
            'at most 90 days and 1,000 updates at once (ask again from the last updated_datetime).',
          querystring: UpdatesQuery,
        },
      },
      async (request, reply) => {
        await service.requireKey(db, request.query.api_key);
        const rows = await service.listUpdates(db, request.query);
        return send(reply, format, listDocument('service_requests_updates', rows.map(presentUpdate)));
      },
    );
  }

  app.get(
    '/tokens/:file',
    {
      config: { rateLimitClass: 'open311' },
      schema: {
        tags,
        summary: 'The request made for a token (`/tokens/{token}.json|.xml`); the token is the POST’s answer',
        params: FileParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const { name, format } = fileOf(request.params.file);
      const found = await service.findToken(db, name);
      return send(reply, format, listDocument('service_requests', [presentPosted(found, false)]));
    },
  );

  app.get(
    '/services/:file',
    {
      config: { rateLimitClass: 'open311' },
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
      config: { rateLimitClass: 'open311' },
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
      const photos = await service.photoUrls(db, deps.storage, deps.mediaUrlTtlSeconds, [row.id]);
      return send(
        reply,
        format,
        listDocument('service_requests', [presentRequest(row, request.lang, extended, photos.get(row.id) ?? null)]),
      );
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

/** The parsed form; a POST in any other content type is refused (the spec posts forms). */
function formOf(request: FastifyRequest): Form {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || typeof request.body !== 'object' || request.body === null) {
    throw new Open311Error(415, 'Send the request as a form: application/x-www-form-urlencoded.');
  }
  return request.body as Form;
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
  if (error instanceof FormError) return { status: 400, description: error.message };
  if (error instanceof AppError) {
    const fields = error.fields.map((f) => `${f.path}: ${t(request.lang, f.message, f.params)}`);
    return {
      status: error.status,
      description:
        fields.length > 0
          ? fields.join('; ')
          : t(request.lang, error.detail, { ...error.params, requestId: request.id }),
    };
  }
  if (error.validation) {
    const first = error.validation[0];
    const where = first?.instancePath ? first.instancePath.replace(/^\//, '') : (first?.params?.missingProperty ?? '');
    return { status: 400, description: `Invalid parameter ${String(where)}: ${first?.message ?? 'invalid'}.`.trim() };
  }
  if (isTemporaryDatabaseError(error)) {
    reply.header('retry-after', '5');
    return { status: 503, description: 'The service is unavailable; try again shortly.' };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, description: 'Bad request.' };
  }
  return { status: 500, description: `Internal error (request ${request.id}).` };
}
