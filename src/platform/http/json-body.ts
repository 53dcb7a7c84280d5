import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid } from './errors.js';

/** Deeper than any schema of ours goes (the deepest, a GeoJSON MultiPolygon inside a body, is 6). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text opens more than `limit` arrays or objects inside each other, read from the
 * text before it is parsed. Parsing 100,000 levels builds 100,000 objects (tens of milliseconds
 * of one core, and garbage) that the schema validator would then overflow the stack on; this scan
 * stops at the first bracket past the limit. Brackets inside strings do not count; the text need
 * not be valid JSON (JSON.parse decides that afterwards).
 */
export function jsonDeeperThan(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** The error a body nested past the limit gets: a 400 like any other invalid body. */
const tooDeep = () => invalid([{ path: '/body', message: 'validation.invalid' }]);

/**
 * Replaces the `application/json` parser of this scope with Fastify's own (which refuses
 * `__proto__` and `constructor.prototype` keys) behind the depth scan. `onText` sees the body's
 * text first (a signed webhook keeps the exact bytes it must verify); `bodyLimit` narrows the
 * server's limit for this scope.
 */
export function registerJsonBodyParser(
  app: FastifyInstance,
  options: { bodyLimit?: number; onText?: (request: FastifyRequest, text: string) => void } = {},
): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}) },
    (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      options.onText?.(request, text);
      if (jsonDeeperThan(text)) {
        done(tooDeep());
        return;
      }
      parseJson(request, text, done);
    },
  );
}
