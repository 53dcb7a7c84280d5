import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { AppError } from './errors.js';
import { registerJsonBodyParser } from './json-body.js';

/**
 * HTTP hardening: security headers (helmet), CORS for the configured origins only,
 * `Cache-Control: no-store` on answers to signed-in requests, and the route table that lets the
 * not-found handler answer 405 (with Allow) for a path that exists under other methods.
 * Call registerHardening before any route is registered: the route table is filled as routes
 * are added.
 */
export interface HardeningOptions {
  /** exact origins allowed to call the API from a browser (`https://app.example.org`); '*' = any */
  corsOrigins: readonly string[];
  /**
   * Access-Control-Allow-Credentials. Off by default: the API authenticates with a bearer token,
   * which a browser does not attach on its own, so cross-origin callers need no credentials mode.
   */
  corsCredentials?: boolean;
  /** where Swagger UI is served (its page needs scripts and styles from this origin) */
  docsPrefix?: string;
}

// The API answers JSON and problem+json only: nothing in a response may load, run or frame.
const API_CSP = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

// Swagger UI loads its own scripts and styles from /docs and sets inline styles: helmet's default
// policy (self only, inline styles, data: images) lets it work; still no inline script.
const DOCS_CSP = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
};

const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept-Language',
  'Idempotency-Key',
  'If-Match',
  'X-Request-Id',
];
// headers a browser script may read: pagination and creation, retry hints, tracing
const CORS_EXPOSED_HEADERS = [
  'Location',
  'ETag',
  'Content-Language',
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'X-Request-Id',
];
const ORIGIN = /^https?:\/\/[^/?#\s]+$/;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** this route's Content-Security-Policy directives, instead of the API's deny-all */
    contentSecurityPolicy?: Record<string, string[]>;
  }
}

type HeaderMiddleware = ReturnType<typeof helmet>;

/**
 * Helmet's headers for one CSP, built once. (@fastify/helmet builds helmet's middleware again
 * for every request, parsing the CSP each time: 8 % of an incident fetch's CPU.)
 */
const securityHeaders = (directives: Record<string, string[]>): HeaderMiddleware =>
  helmet({ contentSecurityPolicy: { useDefaults: false, directives } });

export async function registerHardening(app: FastifyInstance, options: HardeningOptions): Promise<void> {
  const routes = new RouteTable();
  routeTables.set(app, routes);
  const docsPrefix = options.docsPrefix ?? '/docs';
  const apiHeaders = securityHeaders(API_CSP);
  const docsHeaders = securityHeaders(DOCS_CSP);
  const routeHeaders = new Map<string, HeaderMiddleware>();
  app.addHook('onRoute', (route) => {
    routes.add(route.url, route.method);
    const own = route.config?.contentSecurityPolicy;
    if (own) routeHeaders.set(route.url, securityHeaders(own));
    else if (route.url === docsPrefix || route.url.startsWith(`${docsPrefix}/`))
      routeHeaders.set(route.url, docsHeaders);
  });

  // on every answer, not-found and errors included
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.routeOptions.url;
    const headers = (url !== undefined ? routeHeaders.get(url) : undefined) ?? apiHeaders;
    headers(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });

  await app.register(cors, corsOptions(options));

  // JSON nested deeper than any schema of ours goes is refused from its text, before it is parsed
  registerJsonBodyParser(app);

  // A signed-in answer must never be kept by a shared cache or the browser's disk cache, where
  // the next person at the computer or behind the proxy would get it. Routes may set their own.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (
      !reply.hasHeader('cache-control') &&
      (request.headers.authorization !== undefined || (request.actor?.userId ?? null) !== null)
    ) {
      reply.header('cache-control', 'no-store');
    }
    done(null, payload);
  });
}

function corsOptions(options: HardeningOptions): Parameters<typeof cors>[1] {
  const credentials = options.corsCredentials ?? false;
  const anyOrigin = options.corsOrigins.includes('*');
  if (anyOrigin && credentials) {
    throw new Error('CORS: any origin (*) together with credentials would let every site act as the signed-in user');
  }
  const origins = options.corsOrigins.filter((o) => o !== '*').map((o) => o.replace(/\/$/, ''));
  const bad = origins.filter((o) => !ORIGIN.test(o));
  if (bad.length > 0) throw new Error(`CORS: not an origin (scheme://host[:port]): ${bad.join(', ')}`);
  return {
    // exact strings only: a pattern from configuration is too easy to get wrong (evil-example.org)
    origin: anyOrigin ? '*' : origins.length > 0 ? origins : false,
    credentials,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  };
}

/**
 * For the not-found handler: when the path exists under other methods, the 405 to answer (its
 * `allow` param becomes the Allow header in sendProblem); null when the path does not exist.
 */
export function methodNotAllowed(app: FastifyInstance, request: FastifyRequest): AppError | null {
  const routes = routeTables.get(app);
  if (!routes) return null;
  const allowed = routes.methodsFor(request.url.split('?')[0] ?? '');
  if (allowed.length === 0 || allowed.includes(request.method)) return null;
  return new AppError('method_not_allowed', 'error.method_not_allowed.detail', {
    method: request.method,
    allow: allowed.join(', '),
  });
}

const routeTables = new WeakMap<FastifyInstance, RouteTable>();

/**
 * Every registered path pattern with its methods. Fastify can tell whether a route pattern is
 * registered (hasRoute/findRoute) but not which patterns match a concrete URL, so the patterns
 * are compiled to regular expressions here (find-my-way syntax: `:param`, `:param(regex)`, `*`).
 */
class RouteTable {
  private readonly byUrl = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, method: string | string[]): void {
    // catch-alls (the CORS preflight route `OPTIONS *`) would make every path "exist"
    if (url === '*' || url === '/*') return;
    let entry = this.byUrl.get(url);
    if (!entry) {
      entry = { pattern: compilePattern(url), methods: new Set() };
      this.byUrl.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m.toUpperCase());
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  }

  methodsFor(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.byUrl.values()) {
      if (pattern.test(path)) for (const m of ms) methods.add(m);
    }
    return [...methods].sort();
  }
}

function compilePattern(url: string): RegExp {
  let source = '';
  let i = 0;
  while (i < url.length) {
    const ch = url[i]!;
    if (ch === ':' && url[i + 1] === ':') {
      source += ':';
      i += 2;
    } else if (ch === ':') {
      i += 1;
      while (i < url.length && !'/-.('.includes(url[i]!)) i += 1;
      if (url[i] === '(') {
        let depth = 0;
        const start = i + 1;
        for (; i < url.length; i += 1) {
          if (url[i] === '(') depth += 1;
          else if (url[i] === ')' && --depth === 0) break;
        }
        source += `(?:${url.slice(start, i).replace(/^\^/, '').replace(/\$$/, '')})`;
        i += 1;
      } else {
        source += '[^/]+';
      }
    } else if (ch === '*') {
      source += '.*';
      i += 1;
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${source}$`);
}
