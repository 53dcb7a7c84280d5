import type { Readable } from 'node:stream';

/**
 * Blob storage for media: the filesystem under DATA_DIR/media (embedded) or S3/MinIO
 * (production). Keys are made by the server (`media/<uuid>/<variant>`); nothing a user sends
 * ever becomes part of a key or a path.
 */
export interface StoredObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface SignedUrlOptions {
  /** the Content-Type the object is served with, whatever the store holds */
  contentType: string;
  /** documents and originals are downloads (`attachment`), images and video `inline` */
  disposition: 'inline' | 'attachment';
  /** file name offered for a download: server-made, never the uploader's */
  filename?: string;
  expiresInSeconds: number;
}

export interface BlobStorage {
  readonly kind: 'filesystem' | 's3';
  /** Stores a local file under `key`, streamed (never read whole into memory). */
  putFile(key: string, filePath: string, contentType: string): Promise<void>;
  /** Removes the keys; a key that is not there is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** The object's bytes as a stream (never read whole into memory); null when the key is not there. */
  read(key: string): Promise<Readable | null>;
  /** Every object whose key starts with `prefix`, in pages, without loading all keys at once. */
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
  /** An absolute URL that serves the object until it expires; tampering with it makes it useless. */
  signedUrl(key: string, options: SignedUrlOptions): Promise<string>;
  /** Resolves when the store answers (readiness). */
  ping(): Promise<void>;
  close(): void;
}

/** The store did not answer, or not in time: the caller answers 503 (with Retry-After). */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/**
 * The store answered, but says it is set up wrong: no such bucket, credentials or region refused.
 * Waiting will not fix it, so it is not a 503: the caller lets it become a 500 and the log says why.
 */
export class StorageConfigurationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageConfigurationError';
  }
}

// One or more segments of lower-case letters, digits and dashes, with dots only between them:
// no empty segment, no `.` or `..`, no leading or trailing slash, nothing to escape in a URL or
// a path on any filesystem.
const KEY = /^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*(?:\/[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*)*$/;
const MAX_KEY_LENGTH = 200;

export function isValidKey(key: string): boolean {
  return key.length <= MAX_KEY_LENGTH && KEY.test(key);
}

/** Keys are made by the server, so a bad one is a bug: it fails loudly instead of being stored. */
export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new TypeError(`invalid storage key ${JSON.stringify(key)}`);
}

/** A list prefix: empty (everything), a key, or a key followed by `/`. */
export function assertValidPrefix(prefix: string): void {
  if (prefix !== '' && !isValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix)) {
    throw new TypeError(`invalid storage prefix ${JSON.stringify(prefix)}`);
  }
}

// A type/subtype with optional `; name=value` parameters, all plain tokens: nothing that could
// end the header or smuggle a second one.
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(?:; ?[a-z0-9_-]+=[a-z0-9_.-]+)*$/i;
// Server-made download names (`incident-1234.pdf`): quoting them in a header needs no escaping.
const FILENAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** S3 refuses presigned URLs valid for more than seven days; the filesystem store keeps the same limit. */
export const MAX_SIGNED_URL_SECONDS = 7 * 24 * 60 * 60;

export function isValidContentType(contentType: string): boolean {
  return contentType.length <= 200 && CONTENT_TYPE.test(contentType);
}

export function isValidFilename(filename: string): boolean {
  return FILENAME.test(filename);
}

/** Checks what a signed URL will promise; like keys, these values are server-made. */
export function assertValidSignedUrlOptions(options: SignedUrlOptions): void {
  if (!isValidContentType(options.contentType)) {
    throw new TypeError(`invalid content type ${JSON.stringify(options.contentType)}`);
  }
  if (options.disposition !== 'inline' && options.disposition !== 'attachment') {
    throw new TypeError(`invalid disposition ${JSON.stringify(options.disposition)}`);
  }
  if (options.filename !== undefined && !isValidFilename(options.filename)) {
    throw new TypeError(`invalid download file name ${JSON.stringify(options.filename)}`);
  }
  const seconds = options.expiresInSeconds;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SIGNED_URL_SECONDS) {
    throw new RangeError(`expiresInSeconds must be a whole number from 1 to ${MAX_SIGNED_URL_SECONDS}`);
  }
}

/** The Content-Disposition both stores serve: `inline` or `attachment`, with the offered name. */
export function contentDisposition(disposition: 'inline' | 'attachment', filename?: string): string {
  return filename === undefined ? disposition : `${disposition}; filename="${filename}"`;
}
