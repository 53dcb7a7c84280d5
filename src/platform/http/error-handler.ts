import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { t, type Lang, type MessageKey } from '../../i18n/i18n.js';
import { isTemporaryDatabaseError } from '../db/database.js';
import { StorageUnavailableError } from '../storage/storage.js';
import { AppError, ERROR_STATUS, type ErrorCode, type FieldError } from './errors.js';
import { methodNotAllowed } from './hardening.js';

/**
 * The one place errors become HTTP responses: RFC 9457 problem+json, localized. 5xx bodies are
 * generic; the log keeps the detail under the request id. No stack, SQL or path ever leaves.
 */
export const PROBLEM_TYPE_BASE = 'https://buurtwag.org/problems/';
const RETRY_AFTER_SECONDS = 5;

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error, request);
    if (appError.status >= 500) {
      const level = appError.code === 'unavailable' ? 'warn' : 'error';
      request.log[level]({ err: error }, 'request failed');
    }
    return sendProblem(request, reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      // a path that exists under other methods is a 405 (hardening.ts keeps the route table)
      methodNotAllowed(app, request) ??
        new AppError('not_found', 'error.route_not_found.detail', {
          method: request.method,
          url: request.url.split('?')[0] ?? '',
        }),
    ),
  );
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const lang: Lang = request.lang ?? 'en';
  const body: Record<string, unknown> = {
    type: PROBLEM_TYPE_BASE + error.code.replaceAll('_', '-'),
    title: t(lang, `error.${titleKey(error.code)}.title` as MessageKey),
    status: error.status,
    detail: t(lang, error.detail, { ...error.params, requestId: request.id }),
  };
  if (error.fields.length > 0) {
    body.errors = error.fields.map((f) => ({ path: f.path, message: t(lang, f.message, f.params) }));
  }
  if (error.code === 'unavailable') reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (error.code === 'rate_limited' && typeof error.params.retryAfter === 'number') {
    reply.header('retry-after', String(error.params.retryAfter));
  }
  // Refused before the body was read (413 on an upload): close rather than drain megabytes
  // nobody will use. Node would otherwise read the rest of the body to keep the connection.
  if (request.raw.complete === false) reply.header('connection', 'close');
  if (error.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  if (error.code === 'method_not_allowed') reply.header('allow', String(error.params.allow));
  return reply
    .status(error.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('content-language', lang)
    .send(JSON.stringify(body));
}

function titleKey(code: ErrorCode): string {
  switch (code) {
    case 'bad_request':
      return 'bad_request';
    case 'precondition_failed':
      return 'conflict';
    default:
      return code;
  }
}

function toAppError(error: FastifyError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
    const fields = (error.validation as AjvError[]).map((e) => fieldFromAjv(e, context));
    return new AppError('bad_request', 'error.bad_request.detail', { count: fields.length }, fields);
  }
  if (isTemporaryDatabaseError(error)) return new AppError('unavailable', 'error.unavailable.detail');
  if (error instanceof StorageUnavailableError) return new AppError('unavailable', 'error.storage_unavailable.detail');
  // SQLSTATE class 22 (data exception): a value from the request that Postgres could not take
  if (typeof error.code === 'string' && /^22[0-9A-Z]{3}$/.test(error.code)) {
    return new AppError('bad_request', 'error.invalid_value.detail');
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'error.unsupported_media_type.detail', {
        expected: 'application/json',
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('too_large', 'error.too_large.detail');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('bad_request', 'error.malformed.detail', { reason: 'invalid JSON' });
    case 'FST_ERR_RATE_LIMIT_EXCEEDED':
      return new AppError('rate_limited', 'error.rate_limited.detail', { seconds: 60 });
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return new AppError('bad_request', 'error.malformed.detail', { reason: 'invalid JSON' });
  }
  const status = error.statusCode ?? 500;
  const known = Object.entries(ERROR_STATUS).find(([, s]) => s === status)?.[0] as ErrorCode | undefined;
  if (known && status < 500 && known !== 'bad_request') {
    return new AppError(known, `error.${titleKey(known)}.detail` as MessageKey);
  }
  request.log.debug({ code: error.code }, 'unmapped error');
  return new AppError('internal', 'error.internal.detail');
}

function fieldFromAjv(e: AjvError, context: string): FieldError {
  let path = `/${context}${e.instancePath}`;
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return { path: `${path}/${String(p.missingProperty)}`, message: 'validation.required' };
    case 'additionalProperties':
      return { path: `${path}/${String(p.additionalProperty)}`, message: 'validation.unknown_field' };
    case 'type':
      return { path, message: 'validation.type', params: { type: String(p.type) } };
    case 'minLength':
      return { path, message: 'validation.min_length', params: { limit: Number(p.limit) } };
    case 'maxLength':
      return { path, message: 'validation.max_length', params: { limit: Number(p.limit) } };
    case 'minimum':
    case 'exclusiveMinimum':
    case 'minItems':
      return { path, message: 'validation.minimum', params: { limit: Number(p.limit) } };
    case 'maximum':
    case 'exclusiveMaximum':
    case 'maxItems':
      return { path, message: 'validation.maximum', params: { limit: Number(p.limit) } };
    case 'enum':
      return { path, message: 'validation.enum', params: { values: (p.allowedValues as unknown[]).join(', ') } };
    case 'const':
      return { path, message: 'validation.enum', params: { values: String(p.allowedValue) } };
    case 'format':
      return { path, message: 'validation.format', params: { format: String(p.format) } };
    case 'pattern':
      return { path, message: 'validation.pattern' };
    default:
      path = path.replace(/\/$/, '');
      return { path, message: 'validation.invalid' };
  }
}
