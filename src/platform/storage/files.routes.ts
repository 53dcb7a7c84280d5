import fs from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { notFound } from '../http/errors.js';
import type { FileSystemStorage, ResolvedFile } from './filesystem.js';
import { contentDisposition } from './storage.js';

/**
 * Serves the filesystem store's signed URLs (`/files/<key>?e=…&t=…&d=…&n=…&s=…`): what S3 does
 * for the S3 store. Every refusal — bad key, altered or expired URL, file gone — is the same 404,
 * so a URL reveals nothing about which part was wrong or whether the file exists.
 */
export interface FileRoutesOptions {
  storage: FileSystemStorage;
}

// A file can never run script or load anything on our origin, even an HTML or SVG upload that
// slipped through: `sandbox` treats it as a unique origin, `default-src 'none'` blocks loads.
const FILE_CSP = "default-src 'none'; sandbox";

interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

export async function fileRoutes(app: FastifyInstance, options: FileRoutesOptions): Promise<void> {
  const { storage } = options;

  app.route({
    method: ['GET', 'HEAD'],
    url: '/files/*',
    // No abuse limit: the signature is checked before the disk is touched (an HMAC costs less
    // than the limiter's own Redis round trip), a valid URL was handed out by the API moments
    // ago, and a page of thumbnails or a video seeking (one Range request per seek) would
    // otherwise eat the API's read budget. S3 serves its URLs unlimited as well.
    config: { rateLimitClass: 'none' },
    schema: { hide: true },
    handler: async (request, reply) => {
      const params = request.params as Record<string, string | undefined>;
      const now = Math.floor(Date.now() / 1000);
      const resolved = storage.resolveSigned(params['*'] ?? '', singleValues(request.query), now);
      if (resolved === null) throw notFound();

      // open first, then stat the open file: a delete between the two cannot serve a different file
      const file = await fs.open(resolved.path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw notFound();
        throw err;
      });
      let streaming = false;
      try {
        const stat = await file.stat();
        if (!stat.isFile()) throw notFound();
        const size = stat.size;
        setFileHeaders(reply, resolved, now);

        const range = typeof request.headers.range === 'string' ? parseRange(request.headers.range, size) : null;
        // an If-Range we cannot check (we send no validators) means: send the whole file
        const honoured = request.headers['if-range'] === undefined ? range : null;
        if (honoured === 'unsatisfiable') {
          return reply.code(416).header('content-range', `bytes */${size}`).send();
        }
        let start = 0;
        let end = size - 1;
        if (honoured) {
          ({ start, end } = honoured);
          reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
        }
        reply.header('content-length', String(end - start + 1));
        if (request.method === 'HEAD' || size === 0) return reply.send();
        // the stream owns the file handle from here and closes it when done or aborted
        streaming = true;
        return reply.send(file.createReadStream({ start, end }));
      } finally {
        if (!streaming) await file.close();
      }
    },
  });
}

function setFileHeaders(reply: FastifyReply, file: ResolvedFile, now: number): void {
  reply
    .header('content-type', file.contentType)
    .header('content-disposition', contentDisposition(file.disposition, file.filename))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', FILE_CSP)
    // the web app may embed the file from its own origin (helmet's default is same-origin);
    // the signed URL is the permission, as it is for S3's presigned URLs
    .header('cross-origin-resource-policy', 'cross-origin')
    // private: the URL is a capability for one viewer; cached no longer than it stays valid
    .header('cache-control', `private, max-age=${Math.max(0, file.expiresAt - now)}`)
    .header('accept-ranges', 'bytes');
}

/**
 * One range of `bytes=a-b`, `bytes=a-` or `bytes=-n`, clamped to the file. Null: no usable Range
 * (malformed, or several ranges), so the whole file is sent, as RFC 9110 allows.
 */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    // suffix: the last n bytes
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** A parameter given twice (an array) counts as absent: the signature then fails. */
function singleValues(query: unknown): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  if (typeof query !== 'object' || query === null) return values;
  for (const [name, value] of Object.entries(query)) values[name] = typeof value === 'string' ? value : undefined;
  return values;
}
