import type { FastifyRequest } from 'fastify';
import { stdSerializers } from 'pino';

/**
 * What the request logs may hold: no personal data. Fastify's defaults log the client's address
 * (personal data under the GDPR) and the full URL (a query can carry an email, a search, a signed
 * media link). The request id ties a log line to the audit trail, which keeps the address where
 * the law says it may be kept.
 */
export function serializeRequest(request: FastifyRequest): { method: string; url: string; route?: string } {
  const route = request.routeOptions?.url;
  return { method: request.method, url: (request.url ?? '').split('?')[0] ?? '', ...(route ? { route } : {}) };
}

interface SafeError {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
}

/**
 * An error as the log keeps it: its kind, message, code and stack, but not the driver's extra
 * fields. A Postgres error's `detail` repeats the offending values ("Key (email)=(…) already
 * exists"), and `where`/`parameters`/`query` can carry a row's contents.
 */
export function serializeError(err: unknown): SafeError {
  if (!(err instanceof Error)) {
    // the jobs and other background loops log `{ err: { message } }`: keep that message
    const message = (err as { message?: unknown } | null)?.message;
    return { type: typeof err, message: typeof message === 'string' ? message : String(err), stack: '' };
  }
  const full = stdSerializers.err(err);
  const safe: SafeError = { type: full.type, message: full.message, stack: full.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') safe.code = code;
  const constraint = (err as { constraint?: unknown }).constraint;
  if (typeof constraint === 'string') safe.constraint = constraint;
  if (err.cause instanceof Error) safe.cause = serializeError(err.cause);
  return safe;
}
