import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { isValidContentType, isValidFilename } from './storage.js';

/**
 * Signed URLs for the filesystem store: what S3's presigned URLs are for the S3 store. The query
 * carries how the file is to be served (type, disposition, name) and until when; an HMAC over all
 * of it and the key means changing any one part makes the URL worthless. Nothing is kept on the
 * server, so every node that shares the key can check a URL another node made.
 */
export interface SignedServeOptions {
  contentType: string;
  disposition: 'inline' | 'attachment';
  filename?: string;
  /** unix seconds; the URL is refused from this second on */
  expiresAt: number;
}

/** The query parameters of a signed URL: short, since they sit in every media URL of a page. */
export interface SignedParams {
  /** expiry, unix seconds */
  e: string;
  /** content type */
  t: string;
  /** disposition: inline or attachment */
  d: 'inline' | 'attachment';
  /** download file name, when there is one */
  n?: string;
  /** signature, base64url HMAC-SHA256 */
  s: string;
}

const MEDIA_KEY_INFO = 'buurtwag media urls v1';
const MIN_SECRET_BYTES = 32;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const UNIX_SECONDS = /^[1-9][0-9]{0,11}$/;

/**
 * The media URL key, derived from the JWT secret: every node that shares JWT_SECRET derives the
 * same key, yet a media signature can never be replayed as (or reveal anything about) a token
 * signature, since the two keys are unrelated without the secret.
 */
export function deriveMediaKey(jwtSecret: Uint8Array | string): Uint8Array {
  const ikm = typeof jwtSecret === 'string' ? new TextEncoder().encode(jwtSecret) : jwtSecret;
  return new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), MEDIA_KEY_INFO, 32));
}

export class UrlSigner {
  private readonly secret: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < MIN_SECRET_BYTES) throw new RangeError(`a URL signing key needs ${MIN_SECRET_BYTES} bytes`);
    this.secret = new Uint8Array(secret);
  }

  sign(key: string, options: SignedServeOptions): SignedParams {
    const params: SignedParams = {
      e: String(options.expiresAt),
      t: options.contentType,
      d: options.disposition,
      s: this.signature(key, options),
    };
    if (options.filename !== undefined) params.n = options.filename;
    return params;
  }

  /**
   * What the URL's signer promised, or null when anything is missing, malformed, altered or
   * expired. `now` is unix seconds.
   */
  verify(
    key: string,
    params: Readonly<Record<string, string | undefined>>,
    now: number = Math.floor(Date.now() / 1000),
  ): SignedServeOptions | null {
    const { e, t, d, n, s } = params;
    if (e === undefined || t === undefined || d === undefined || s === undefined) return null;
    if (!UNIX_SECONDS.test(e) || !SIGNATURE.test(s) || !isValidContentType(t)) return null;
    if (d !== 'inline' && d !== 'attachment') return null;
    if (n !== undefined && !isValidFilename(n)) return null;
    const options: SignedServeOptions = { contentType: t, disposition: d, expiresAt: Number(e) };
    if (n !== undefined) options.filename = n;
    // the signature first, so an expired URL and a forged one take the same time to refuse
    const expected = Buffer.from(this.signature(key, options), 'base64url');
    const given = Buffer.from(s, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return options.expiresAt > now ? options : null;
  }

  private signature(key: string, options: SignedServeOptions): string {
    // a JSON array is unambiguous: no choice of values can make two different URLs sign the same
    // bytes (which joining with a separator would allow), and "no file name" differs from any name
    const message = JSON.stringify([
      'v1',
      key,
      options.expiresAt,
      options.contentType,
      options.disposition,
      options.filename ?? null,
    ]);
    return createHmac('sha256', this.secret).update(message).digest('base64url');
  }
}
