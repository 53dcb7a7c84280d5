import type { Config } from '../../config.js';
import { FileSystemStorage } from './filesystem.js';
import type { StorageLogger } from './s3.js';
import type { BlobStorage } from './storage.js';
import { deriveMediaKey, UrlSigner } from './url-signing.js';

/**
 * The configured media store: S3 when S3 is configured, else files under DATA_DIR/media (keys are media/<uuid>/<variant>).
 * `jwtSecret` (platform/secrets.ts) keys the filesystem store's signed URLs, through a key
 * derived from it, so every node that shares JWT_SECRET accepts every other node's URLs.
 * The AWS SDK is loaded only when S3 is configured: with ioredis (platform/ioredis.ts) it made
 * ~16 MB and ~0.15 s of loading the server, which the embedded default and every node storing
 * media on disk would carry for nothing.
 */
export async function openStorage(
  config: Pick<Config, 's3' | 'dataDir' | 'http'>,
  jwtSecret: Uint8Array,
  log?: StorageLogger,
): Promise<BlobStorage> {
  const { s3 } = config;
  if (s3 !== null) {
    const { S3Storage } = await import('./s3.js');
    return new S3Storage({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      sse: s3.sse,
      kmsKeyId: s3.kmsKeyId,
      publicEndpoint: s3.publicEndpoint,
      ...(log ? { log } : {}),
    });
  }
  return new FileSystemStorage({
    // keys start with media/, so files land under DATA_DIR/media/<uuid>/…
    root: config.dataDir,
    publicUrl: config.http.publicUrl,
    signer: new UrlSigner(deriveMediaKey(jwtSecret)),
  });
}
