import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';

/** Where `npm run build:web` puts the app. */
export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/dist');

// Paths that belong to the server: an unknown one there is the API's 404 (problem+json), never the app.
const SERVER_PATHS = /^\/(api|open311|files|docs|healthz|readyz|metrics)(\/|$|\?)/;

export interface WebAppOptions {
  distDir: string;
  web: Config['web'];
  /** the S3 host browsers fetch photos from, when media is not served by this server */
  mediaOrigin: string | null;
}

/**
 * Serves the built web app: hashed files under /assets for a year (their names change with their
 * content), the page itself and the service worker never from a cache without asking, and the
 * page for every other path so the app's own routes (/incidents/BW-…) load directly. The page
 * carries the settings it needs (map tiles, geocoder) as inline JSON, read by web/src/config.ts.
 * Without a build (tests that never built it) nothing is registered.
 */
export async function webAppRoutes(app: FastifyInstance, options: WebAppOptions): Promise<void> {
  const indexFile = path.join(options.distDir, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.warn({ distDir: options.distDir }, 'web app not built (npm run build:web): serving the API only');
    return;
  }
  const page = renderPage(readFileSync(indexFile, 'utf8'), options.web);
  const csp = pageCsp(options);
  // files at the top of dist (sw.js, the manifest, icons): anything else is an app route
  const rootFiles = new Set(
    readdirSync(options.distDir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name !== 'index.html' && !/\.(br|gz|tsv)$/.test(e.name))
      .map((e) => e.name),
  );

  await app.register(fastifyStatic, {
    root: options.distDir,
    serve: false,
    preCompressed: true,
    etag: true,
    lastModified: true,
    cacheControl: false,
  });

  app.get('/assets/*', { schema: { hide: true } }, (request, reply) => {
    const file = (request.params as { '*': string })['*'];
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    return reply.sendFile(`assets/${file}`);
  });

  app.get('/*', { schema: { hide: true }, config: { contentSecurityPolicy: csp } }, (request, reply) => {
    const pathname = request.url.split('?')[0] ?? '/';
    if (SERVER_PATHS.test(pathname)) return reply.callNotFound();
    const name = pathname.slice(1);
    if (rootFiles.has(name)) {
      // the service worker and manifest must be re-checked on every load, or an old app lives on
      reply.header(
        'cache-control',
        name === 'sw.js' || name.endsWith('.webmanifest') ? 'no-cache' : 'public, max-age=86400',
      );
      if (name === 'sw.js') reply.header('service-worker-allowed', '/');
      return reply.sendFile(name);
    }
    // a file-like path that is not there is a real 404, not the app
    if (/\.[a-z0-9]{1,8}$/i.test(name)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);
  });
}

/** Where browsers load photos from: this server (embedded storage), or the S3 host. */
export function mediaOrigin(config: Pick<Config, 's3'>): string | null {
  if (!config.s3) return null;
  const endpoint = config.s3.publicEndpoint ?? config.s3.endpoint;
  return endpoint ? new URL(endpoint).origin : 'https://*.amazonaws.com';
}

/** The page's settings, as JSON inside the page (escaped so no value can close the script element). */
export function renderPage(template: string, web: Config['web']): string {
  const settings = {
    tileUrl: web.tileUrl,
    tileAttribution: web.tileAttribution,
    geocoder: web.geocoder,
  };
  const json = JSON.stringify(settings).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return template.replace(
    /<script id="buurtwag-config" type="application\/json">[^<]*<\/script>/,
    `<script id="buurtwag-config" type="application/json">${json}</script>`,
  );
}

/** The page may load its own code, the map tiles, photos, and talk to this server and the geocoder. */
export function pageCsp(options: Pick<WebAppOptions, 'web' | 'mediaOrigin'>): Record<string, string[]> {
  const tiles = templateOrigin(options.web.tileUrl);
  const geocoder = options.web.geocoder.kind === 'nominatim' ? templateOrigin(options.web.geocoder.url) : null;
  const images = [
    "'self'",
    'data:',
    'blob:',
    ...(tiles ? [tiles] : []),
    ...(options.mediaOrigin ? [options.mediaOrigin] : []),
  ];
  return {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    // Leaflet positions tiles and pins with inline style attributes
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: images,
    connectSrc: ["'self'", ...(geocoder ? [geocoder] : [])],
    workerSrc: ["'self'"],
    manifestSrc: ["'self'"],
    objectSrc: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  };
}

/** The origin of a URL template such as https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png. */
function templateOrigin(template: string): string | null {
  const match = /^(https?):\/\/([^/?#]+)/.exec(template);
  if (!match) return null;
  // Leaflet's {s} subdomains become a CSP host wildcard
  const host = match[2]!.replace(/\{s\}/g, '*');
  return /^[A-Za-z0-9.*:[\]-]+$/.test(host) ? `${match[1]}://${host}` : null;
}
