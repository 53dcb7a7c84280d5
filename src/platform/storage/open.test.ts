import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config.js';

/**
 * The AWS SDK (~10 MB and ~0.1 s of loading the server) is loaded only when S3 is configured: the
 * embedded default and nodes keeping media on disk never import the S3 store.
 */
describe('openStorage', () => {
  afterEach(() => {
    vi.doUnmock('./s3.js');
    vi.resetModules();
  });

  async function openWith(env: Record<string, string>): Promise<{ kind: string; s3Imported: boolean }> {
    let s3Imported = false;
    vi.resetModules();
    vi.doMock('./s3.js', async (importOriginal) => {
      s3Imported = true;
      return importOriginal();
    });
    const { openStorage } = await import('./open.js');
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: '/tmp/bw-open-storage', ...env });
    const storage = await openStorage(config, new Uint8Array(32));
    storage.close();
    return { kind: storage.kind, s3Imported };
  }

  it('keeps media on disk without importing the S3 store when S3 is not configured', async () => {
    expect(await openWith({})).toEqual({ kind: 'filesystem', s3Imported: false });
  });

  it('imports the S3 store when S3 is configured', async () => {
    const s3 = { S3_ENDPOINT: 'http://127.0.0.1:9', S3_BUCKET: 'media', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' };
    expect(await openWith(s3)).toEqual({ kind: 's3', s3Imported: true });
  });
});
