import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidSignedUrlOptions,
  contentDisposition,
  StorageConfigurationError,
  StorageUnavailableError,
  type BlobStorage,
  type SignedUrlOptions,
  type StoredObjectInfo,
} from './storage.js';

/**
 * The production store: S3 or anything that speaks it (MinIO). Browsers fetch media straight
 * from the store through presigned URLs; this process only writes, lists and deletes.
 */
export interface S3StorageOptions {
  /** null: AWS itself; otherwise the store's URL as this server reaches it */
  endpoint: string | null;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** server-side encryption asked for on every put; null: the bucket's default */
  sse: 'AES256' | 'aws:kms' | null;
  /** with sse 'aws:kms': the key; null: the account's default KMS key */
  kmsKeyId: string | null;
  /**
   * The store's URL as browsers reach it, when that differs from `endpoint` (MinIO on an
   * internal network name behind a public host). Used only to presign: the signature covers the
   * host, so the URL must be signed for the host the browser will ask.
   */
  publicEndpoint: string | null;
  log?: StorageLogger;
}

export interface StorageLogger {
  warn(obj: object, msg: string): void;
}

/*
 * No call may hang, whatever the store does. The budget for a store that accepts the connection
 * and then never answers:
 *   - small calls (head, list, delete, ping): each attempt ends after REQUEST_TIMEOUT_MS (1.5 s,
 *     connection included); the SDK tries twice with a backoff of at most 50 ms: ≤ 3.05 s, and
 *     OPERATION_DEADLINE_MS (3.5 s) cuts anything else short (a throttling retry told to wait).
 *   - a put: no total deadline, since 100 MB on a slow link may rightly take minutes; instead the
 *     connection may only stay silent (nothing sent, nothing received) so long. A small object
 *     is written at once, then IDLE_TIMEOUT_MS (1.5 s) of silence ends the attempt; two attempts
 *     (ours: the SDK cannot resend a stream): ≤ 3 s + connection time. Above LARGE_PUT_BYTES a
 *     put goes through a client allowing LARGE_PUT_IDLE_TIMEOUT_MS (10 s) of silence: a store
 *     may rightly think for seconds after the last byte of 100 MB before it answers.
 * A store that refuses connections (stopped) fails within milliseconds, and one that does not
 * even accept them within CONNECTION_TIMEOUT_MS per attempt.
 *
 * Option names are those of @smithy/node-http-handler 4.14: `requestTimeout` is the deadline
 * for a response to start and only logs a warning unless `throwOnRequestTimeout` is set, and
 * the idle timeout is `socketTimeout`. With `requestTimeout` alone a silent store hangs a call.
 */
const CONNECTION_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 1_500;
const IDLE_TIMEOUT_MS = 1_500;
const LARGE_PUT_BYTES = 8 * 1024 * 1024;
const LARGE_PUT_IDLE_TIMEOUT_MS = 10_000;
const OPERATION_DEADLINE_MS = 3_500;
const MAX_ATTEMPTS = 2;
const PUT_ATTEMPTS = 2;
/** parallel DeleteObject calls: one call per key (s3rver's and some MinIO versions' multi-delete is unreliable) */
const DELETE_CONCURRENCY = 8;

// errors of a store that is down, unreachable, overloaded or too slow: worth a retry later
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);
const TRANSIENT_ERROR_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'SlowDown']);
// answers that mean the store is set up wrong: waiting will not help
const CONFIGURATION_ERROR_NAMES = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
  'InvalidBucketName',
  'KMS.NotFoundException',
]);

export class S3Storage implements BlobStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /** puts above LARGE_PUT_BYTES: the same, with a longer idle timeout */
  private readonly largePuts: S3Client;
  /** signs URLs for the browser's host; the same client when there is no public endpoint */
  private readonly presigner: S3Client;
  private readonly bucket: string;
  private readonly encryption: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string };

  constructor(options: S3StorageOptions) {
    if (options.kmsKeyId !== null && options.sse !== 'aws:kms') {
      throw new TypeError('an S3 KMS key id needs server-side encryption aws:kms');
    }
    this.bucket = options.bucket;
    this.encryption = {};
    if (options.sse !== null) this.encryption.ServerSideEncryption = options.sse;
    if (options.kmsKeyId !== null) this.encryption.SSEKMSKeyId = options.kmsKeyId;

    const common: S3ClientConfig = {
      region: options.region,
      // path style (`host/bucket/key`): MinIO and s3rver need it, and AWS still accepts it
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
      // checksums only where S3 demands one: by default the SDK streams bodies as aws-chunked
      // with a trailing checksum, which s3rver and some MinIO versions refuse, and presigned GET
      // URLs would carry x-amz-checksum-mode
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: sdkLogger(options.log),
    };
    const withTimeouts = (idleTimeoutMs: number): S3ClientConfig => ({
      ...common,
      ...(options.endpoint !== null ? { endpoint: options.endpoint } : {}),
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: {
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
        socketTimeout: idleTimeoutMs,
      },
    });
    this.client = new S3Client(withTimeouts(IDLE_TIMEOUT_MS));
    this.largePuts = new S3Client(withTimeouts(LARGE_PUT_IDLE_TIMEOUT_MS));
    this.presigner =
      options.publicEndpoint === null ? this.client : new S3Client({ ...common, endpoint: options.publicEndpoint });
  }

  async putFile(key: string, filePath: string, contentType: string): Promise<void> {
    assertValidKey(key);
    const { size } = await fs.stat(filePath);
    const client = size > LARGE_PUT_BYTES ? this.largePuts : this.client;
    for (let attempt = 1; ; attempt++) {
      // a fresh stream per attempt: a stream half read by a failed attempt cannot be resent
      const body = createReadStream(filePath);
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: size,
            ContentType: contentType,
            ...this.encryption,
          }),
          // no total deadline for a body that may be large: the idle timeout guards it
          { requestTimeout: 0 },
        );
        return;
      } catch (err) {
        const mapped = toStorageError(err, `storing ${key}`);
        if (!(mapped instanceof StorageUnavailableError) || attempt >= PUT_ATTEMPTS) throw mapped;
      } finally {
        body.destroy();
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(
        keys
          .slice(i, i + DELETE_CONCURRENCY)
          .map((key) =>
            this.call(`deleting ${key}`, (o) =>
              this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), o),
            ),
          ),
      );
    }
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    try {
      await this.call(`checking ${key}`, (o) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), o),
      );
      return true;
    } catch (err) {
      // a HEAD answer has no body, so "no such key" and "no such bucket" look alike here; ping
      // tells the two apart. (AWS answers 403, not 404, for a missing key to credentials without
      // s3:ListBucket, which list() needs anyway: that surfaces as a configuration error.)
      if (httpStatus(err) === 404) return false;
      throw err;
    }
  }

  async read(key: string): Promise<Readable | null> {
    assertValidKey(key);
    try {
      // no deadline for the whole body (it may be large): the client's idle timeout guards it
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        requestTimeout: 0,
      });
      return answer.Body instanceof Readable ? answer.Body : null;
    } catch (err) {
      if (httpStatus(err) === 404 || (err as { name?: string } | null)?.name === 'NoSuchKey') return null;
      throw toStorageError(err, `reading ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${prefix}`, (o) =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
          o,
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async signedUrl(key: string, options: SignedUrlOptions): Promise<string> {
    assertValidKey(key);
    assertValidSignedUrlOptions(options);
    // signing happens here, with no call to the store
    return getSignedUrl(
      this.presigner,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentType: options.contentType,
        ResponseContentDisposition: contentDisposition(options.disposition, options.filename),
      }),
      { expiresIn: options.expiresInSeconds },
    );
  }

  async ping(): Promise<void> {
    try {
      await this.call('checking the bucket', (o) =>
        this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), o),
      );
    } catch (err) {
      if (httpStatus(err) === 404) {
        throw new StorageConfigurationError(`S3 bucket "${this.bucket}" does not exist`, { cause: err });
      }
      throw err;
    }
  }

  close(): void {
    this.client.destroy();
    this.largePuts.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }

  /** A small call: bounded as a whole, its failures sorted into unavailable / misconfigured. */
  private async call<T>(what: string, run: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    try {
      return await run({ abortSignal: AbortSignal.timeout(OPERATION_DEADLINE_MS) });
    } catch (err) {
      throw toStorageError(err, what);
    }
  }
}

/**
 * The SDK's own log. Its per-call lines are dropped: info lines come with every call, and error
 * lines repeat a failure the caller gets thrown (with the whole input, stream object included).
 * Its warnings reach ours, but for the one about a stream it could not resend: putFile resends.
 */
function sdkLogger(log: StorageLogger | undefined): NonNullable<S3ClientConfig['logger']> {
  const quiet = () => undefined;
  return {
    trace: quiet,
    debug: quiet,
    info: quiet,
    error: quiet,
    warn: (...args: unknown[]) => {
      const message = args.filter((arg) => typeof arg === 'string').join(' ');
      if (message === '' || message.includes('non-retryable streaming request')) return;
      log?.warn({ sdkMessage: message }, 'S3 client warning');
    },
  };
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** The store is down or overloaded (503 later), set up wrong (500 with a reason), or neither (as is). */
export function toStorageError(err: unknown, what: string): unknown {
  if (err instanceof StorageUnavailableError || err instanceof StorageConfigurationError) return err;
  if (isUnavailable(err)) return new StorageUnavailableError(`S3 failed ${what}: ${describe(err)}`, { cause: err });
  const status = httpStatus(err);
  const name = (err as Error | null)?.name ?? '';
  if (CONFIGURATION_ERROR_NAMES.has(name) || status === 301 || status === 403) {
    return new StorageConfigurationError(`S3 refused ${what}: ${describe(err)}`, { cause: err });
  }
  return err;
}

function isUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { name, code, cause } = err as { name?: unknown; code?: unknown; cause?: unknown };
  if (typeof name === 'string' && TRANSIENT_ERROR_NAMES.has(name)) return true;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  const status = httpStatus(err);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return isUnavailable(cause, depth + 1);
}

function describe(err: unknown): string {
  const { name, code, message } = err as { name?: unknown; code?: unknown; message?: unknown };
  const status = httpStatus(err);
  return [name, code, status, message].filter((part) => part !== undefined && part !== '').join(' ');
}
