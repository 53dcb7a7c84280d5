import { pipeline, Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { addVary } from './vary.js';

/**
 * Response compression, negotiated from Accept-Encoding: Brotli, else gzip, else the bytes as
 * they are. Residents pay for mobile data by the megabyte, and a map's list page of 200 incidents
 * is ~170 KB of JSON: Brotli makes it ~28 KB. In embedded mode nothing else compresses (no proxy);
 * behind nginx an answer that arrives compressed is passed on as it is.
 *
 * Measured on a W4 page (bench/README.md, session 11): Brotli quality 1 takes 0.26 ms for
 * 172 KB → 28 KB, gzip level 4 1.1 ms for 30.6 KB (nginx's level 5: 1.3 ms, 29.6 KB). Higher
 * Brotli qualities cost 2–5× the time for 2–9 % fewer bytes: the wrong trade for live answers.
 */
export const BROTLI_QUALITY = 1;
export const GZIP_LEVEL = 4;
/** Smaller answers go as they are: the encoding's framing and the work would eat the saving. */
export const MIN_COMPRESSED_BYTES = 1024;

export type ContentCoding = 'br' | 'gzip';

/** Types worth compressing: text, JSON and XML of every flavour, JavaScript, SVG. Images, video and archives are compressed already. */
const COMPRESSIBLE =
  /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:json|xml)\b|application\/(?:javascript|ecmascript)\b|image\/svg\+xml\b)/i;

export function isCompressible(contentType: string): boolean {
  const type = contentType.trim();
  // a live stream of events would wait in the encoder's buffer instead of reaching the client
  if (/^text\/event-stream\b/i.test(type)) return false;
  return COMPRESSIBLE.test(type);
}

/**
 * The coding to send, from an Accept-Encoding header (RFC 9110 §12.5.3): the acceptable one
 * with the highest weight, Brotli before gzip on a tie; null: send the bytes as they are
 * (identity is always acceptable to us: a client that refuses it gets it rather than a 406).
 */
export function negotiateEncoding(acceptEncoding: string | undefined): ContentCoding | null {
  if (!acceptEncoding) return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    if (name === '') continue;
    let weight = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((s) => s.trim());
      if (key?.toLowerCase() === 'q') {
        const q = Number(value);
        weight = Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
      }
    }
    weights.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
  const weightOf = (coding: ContentCoding) => weights.get(coding) ?? weights.get('*') ?? 0;
  const br = weightOf('br');
  const gzip = weightOf('gzip');
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return null;
}

/** For a stream, whose size is not known: Brotli's default window. */
function compressor(coding: ContentCoding): zlib.BrotliCompress | zlib.Gzip {
  return coding === 'br'
    ? zlib.createBrotliCompress({ params: brotliParams() })
    : zlib.createGzip({ level: GZIP_LEVEL });
}

function brotliParams(size?: number): Record<number, number> {
  return {
    [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    // a window just large enough for the whole answer: the same bytes out, and less to set up
    // than the default 4 MiB (a W4 page: 0.27 ms against 0.38)
    ...(size !== undefined
      ? {
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
          [zlib.constants.BROTLI_PARAM_LGWIN]: Math.min(
            zlib.constants.BROTLI_DEFAULT_WINDOW,
            Math.max(zlib.constants.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(size))),
          ),
        }
      : {}),
  };
}

/**
 * Up to this size an answer is compressed on the event loop (a W4 page: ~0.3 ms), larger ones on
 * libuv's thread pool so they never stall it. Under W4, handing every page to the pool cost
 * ~0.15 ms more CPU a request, and with 50 encoders at once the server's RSS peaked at 308 MB
 * instead of 267 (bench/README.md, session 11).
 */
export const MAX_INLINE_BYTES = 256 * 1024;

function compressBytes(coding: ContentCoding, bytes: Buffer): Promise<Buffer> {
  if (bytes.length <= MAX_INLINE_BYTES) {
    return Promise.resolve(
      coding === 'br'
        ? zlib.brotliCompressSync(bytes, { params: brotliParams(bytes.length) })
        : zlib.gzipSync(bytes, { level: GZIP_LEVEL }),
    );
  }
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, result: Buffer) => (err ? reject(err) : resolve(result));
    if (coding === 'br') zlib.brotliCompress(bytes, { params: brotliParams(bytes.length) }, done);
    else zlib.gzip(bytes, { level: GZIP_LEVEL }, done);
  });
}

/**
 * Compresses every answer that is worth it, for the clients that ask. Registered after every
 * other onSend hook that reads the body (the response cache computes its ETag over the bytes as
 * they are, so both forms share it; a 304 has no body to compress).
 */
export function registerCompression(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!hasCompressibleBody(reply, payload)) return payload;
    if (payload instanceof Readable) {
      // caches must keep the forms apart, also for the clients that get the bytes as they are
      addVary(reply, 'Accept-Encoding');
      const coding = negotiateEncoding(request.headers['accept-encoding']);
      if (coding === null) return payload;
      // a stream's length is not known up front: compressed as it goes, sent chunked
      setEncodingHeaders(reply, coding);
      const encoded = compressor(coding);
      pipeline(payload, encoded, () => {
        // an error is the source's (say a database cursor failing mid-export): the answer ends
        // short as it would without compression, and the route's own handling reports it
      });
      return encoded;
    }
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size < MIN_COMPRESSED_BYTES) return payload;
    addVary(reply, 'Accept-Encoding');
    const coding = negotiateEncoding(request.headers['accept-encoding']);
    if (coding === null) return payload;
    const encoded = await compressBytes(coding, typeof payload === 'string' ? Buffer.from(payload) : payload);
    setEncodingHeaders(reply, coding);
    return encoded;
  });
}

/** A body that compression may change: bytes or a stream, of a compressible type, not encoded or ranged already. */
function hasCompressibleBody(reply: FastifyReply, payload: unknown): payload is string | Buffer | Readable {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload) && !(payload instanceof Readable)) return false;
  // 206 ranges count the bytes as they are; 204 and 304 have no body
  if (reply.statusCode === 204 || reply.statusCode === 206 || reply.statusCode === 304) return false;
  if (reply.hasHeader('content-encoding') || reply.hasHeader('content-range')) return false;
  const contentType = reply.getHeader('content-type');
  return typeof contentType === 'string' && isCompressible(contentType);
}

function setEncodingHeaders(reply: FastifyReply, coding: ContentCoding): void {
  reply.header('content-encoding', coding);
  // Fastify measures the encoded body itself; a stream goes chunked
  reply.removeHeader('content-length');
  // a strong validator names these exact bytes, which the encoded form is not (RFC 9110 §8.8.1)
  const etag = reply.getHeader('etag');
  if (typeof etag === 'string' && etag.startsWith('"')) reply.header('etag', `W/${etag}`);
}
