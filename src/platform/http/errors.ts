import type { MessageKey } from '../../i18n/i18n.js';

/**
 * Typed application errors. Services throw these; the one error handler (error-handler.ts) maps
 * them to RFC 9457 problem+json in the caller's language. Nothing else builds error responses.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  /** JSON pointer-ish path of the field: "/body/title", "/query/near" */
  path: string;
  message: MessageKey;
  params?: Record<string, string | number>;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: MessageKey,
    readonly params: Record<string, string | number> = {},
    readonly fields: FieldError[] = [],
  ) {
    super(`${code}: ${detail}`);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (detail: MessageKey = 'error.not_found.detail', params: Record<string, string | number> = {}) =>
  new AppError('not_found', detail, params);

export const invalid = (fields: FieldError[]) =>
  new AppError('bad_request', 'error.bad_request.detail', { count: fields.length }, fields);

export const invalidField = (path: string, message: MessageKey, params?: Record<string, string | number>) =>
  invalid([{ path, message, ...(params ? { params } : {}) }]);
