import { randomUUID } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidSignedUrlOptions,
  isValidKey,
  StorageUnavailableError,
  type BlobStorage,
  type SignedUrlOptions,
  type StoredObjectInfo,
} from './storage.js';
import type { UrlSigner } from './url-signing.js';

/**
 * The embedded store: one file per key under a root directory (DATA_DIR; keys begin with media/), served at /files/<key> by
 * files.routes.ts through URLs signed with the node's media key. Keys map to paths one to one
 * (`media/<uuid>/display.webp` → `DATA_DIR/media/<uuid>/display.webp`); the key rules
 * (storage.ts) leave nothing that could climb out of the root.
 */
export interface FileSystemStorageOptions {
  /** the directory that holds every object; made on first use */
  root: string;
  /** the app's public origin (config.http.publicUrl): signed URLs are absolute */
  publicUrl: string;
  signer: UrlSigner;
}

/** What the serving route needs once a URL checks out. */
export interface ResolvedFile {
  path: string;
  contentType: string;
  disposition: 'inline' | 'attachment';
  filename?: string;
  /** unix seconds: how long the answer may be cached */
  expiresAt: number;
}

// Temporary files start with a dot, which no key segment can, so list() never reports a
// half-written file and a key can never name one.
const TEMP_PREFIX = '.tmp-';
// Disk trouble that a retry later may get past (a full disk is freed, a mount comes back):
// reported as unavailable, so the caller answers 503 instead of 500.
const UNAVAILABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EAGAIN']);

export class FileSystemStorage implements BlobStorage {
  readonly kind = 'filesystem' as const;
  private readonly root: string;
  private readonly publicUrl: string;
  private readonly signer: UrlSigner;

  constructor(options: FileSystemStorageOptions) {
    this.root = path.resolve(options.root);
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.signer = options.signer;
  }

  // the content type is not kept: every signed URL says how its file is served
  async putFile(key: string, filePath: string, _contentType: string): Promise<void> {
    assertValidKey(key);
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const temp = path.join(dir, `${TEMP_PREFIX}${randomUUID()}`);
    try {
      await this.copyInto(filePath, dir, temp);
      // rename within one directory is atomic: a reader sees the old file or the whole new one
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(err, `storing ${key}`);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    for (const key of keys) {
      const target = this.pathOf(key);
      try {
        await fs.rm(target, { force: true });
        await this.removeEmptyParents(path.dirname(target));
      } catch (err) {
        throw mapFsError(err, `deleting ${key}`);
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    try {
      return (await fs.stat(this.pathOf(key))).isFile();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw mapFsError(err, `checking ${key}`);
    }
  }

  async read(key: string): Promise<Readable | null> {
    assertValidKey(key);
    try {
      // opened before it is handed out, so a missing file is null here rather than a stream error later
      const handle = await fs.open(this.pathOf(key), 'r');
      return handle.createReadStream();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw mapFsError(err, `reading ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    assertValidPrefix(prefix);
    // walk only the deepest directory the prefix names, then match the rest as text, as S3 does
    const slash = prefix.lastIndexOf('/');
    const start = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.walk(start, prefix);
  }

  async signedUrl(key: string, options: SignedUrlOptions): Promise<string> {
    assertValidKey(key);
    assertValidSignedUrlOptions(options);
    const params = this.signer.sign(key, {
      contentType: options.contentType,
      disposition: options.disposition,
      ...(options.filename !== undefined ? { filename: options.filename } : {}),
      expiresAt: Math.floor(Date.now() / 1000) + options.expiresInSeconds,
    });
    return `${this.publicUrl}/files/${key}?${new URLSearchParams({ ...params })}`;
  }

  /**
   * The file a signed URL names, with how to serve it, or null when the URL is not good (bad
   * key, altered, expired). The key here comes from a request, so a bad one is refused, not a bug.
   * Whether the file is still there is the caller's to find out, when it opens it. `now`: unix s.
   */
  resolveSigned(
    key: string,
    query: Readonly<Record<string, string | undefined>>,
    now: number = Math.floor(Date.now() / 1000),
  ): ResolvedFile | null {
    if (!isValidKey(key)) return null;
    const options = this.signer.verify(key, query, now);
    if (options === null) return null;
    const resolved: ResolvedFile = {
      path: this.pathOf(key),
      contentType: options.contentType,
      disposition: options.disposition,
      expiresAt: options.expiresAt,
    };
    if (options.filename !== undefined) resolved.filename = options.filename;
    return resolved;
  }

  /** Writable: a probe file is made and removed (a read-only or vanished mount fails here). */
  async ping(): Promise<void> {
    const probe = path.join(this.root, `${TEMP_PREFIX}ping-${randomUUID()}`);
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.writeFile(probe, '', { flag: 'wx' });
      await fs.rm(probe, { force: true });
    } catch (err) {
      throw new StorageUnavailableError(`media directory ${this.root} is not writable`, { cause: err });
    }
  }

  close(): void {
    // nothing held open between calls
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async copyInto(source: string, dir: string, temp: string): Promise<void> {
    // The source is opened before the temporary file is made, each awaited: with both opening
    // at once, a missing source failed the copy while the temporary file was still being
    // created, so putFile's removal could come first and leave it behind (seen in CI).
    const input = await fs.open(source, 'r');
    const output = await this.createTemp(dir, temp).catch(async (err: unknown) => {
      await input.close();
      throw err;
    });
    // the streams close their handles
    await pipeline(input.createReadStream(), output.createWriteStream());
    // on disk before the rename makes it visible: after a power cut a key is whole or absent,
    // never an empty file under its final name
    const handle = await fs.open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Creates the temporary file. A delete() of the directory's last file may remove the
   * directory between our mkdir and the open; one more mkdir settles that race.
   */
  private async createTemp(dir: string, temp: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      await fs.mkdir(dir, { recursive: true });
      try {
        return await fs.open(temp, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw err;
      }
    }
  }

  /** Removes directories left empty up to (not including) the root; stops at the first non-empty one. */
  private async removeEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current !== this.root && current.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(current);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // not empty (another variant, or a put in progress), or removed by a concurrent delete
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
        throw err;
      }
      current = path.dirname(current);
    }
  }

  /** Depth-first, one directory handle at a time: memory stays flat however many files there are. */
  private async *walk(relativeDir: string, prefix: string): AsyncGenerator<StoredObjectInfo> {
    const dirPath = relativeDir === '' ? this.root : this.pathOf(relativeDir);
    let dir;
    try {
      dir = await fs.opendir(dirPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapFsError(err, `listing ${prefix}`);
    }
    // for await closes the handle when the loop ends, breaks or throws
    for await (const entry of dir) {
      const key = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (!isValidKey(key)) continue; // temporary files and anything not put here by putFile
      // a directory is entered when it can hold keys under the prefix
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix)) yield* this.walk(key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const stat = await fs.stat(path.join(dirPath, entry.name));
          yield { key, size: stat.size, lastModified: stat.mtime };
        } catch (err) {
          // deleted while we walked: it is simply not there any more
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw mapFsError(err, `listing ${prefix}`);
        }
      }
    }
  }
}

function mapFsError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    return new StorageUnavailableError(`media storage failed ${what} (${code})`, { cause: err });
  }
  return err;
}
