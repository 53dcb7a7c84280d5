import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_BYTES, MediaRejected, SNIFF_BYTES, type MediaKind, type SniffedType } from './media.kinds.js';
import { sniffType } from './media.sniff.js';

/** More bytes arrived than the detected kind allows. */
export class UploadTooLarge extends Error {
  constructor(
    readonly kind: MediaKind,
    readonly limit: number,
  ) {
    super(`${kind} larger than ${limit} bytes`);
    this.name = 'UploadTooLarge';
  }
}

/** The multipart body broke off or was malformed (busboy's word), not our disk. */
export class MalformedUpload extends Error {
  constructor(options: { cause: unknown }) {
    super('malformed or incomplete upload', options);
    this.name = 'MalformedUpload';
  }
}

export interface ReceivedFile {
  path: string;
  size: number;
  type: SniffedType;
}

/**
 * Streams an upload to `dir/upload` on local disk. The type comes from the first bytes; from
 * then on the kind's limit applies, and reading stops the moment it is passed, so a 2 GB body
 * costs at most the limit in disk and a few chunks in memory.
 */
export async function receiveUpload(source: Readable, dir: string): Promise<ReceivedFile> {
  const target = path.join(dir, 'upload');
  const gate = new TypeGate();
  const file = fs.createWriteStream(target, { flags: 'wx', mode: 0o600 });
  let diskError: unknown = null;
  file.once('error', (err) => (diskError = err));
  try {
    await pipeline(source, gate, file);
  } catch (err) {
    // ours (too large, refused type) or the disk's go on as they are; anything else came from
    // the request body: busboy's "unexpected end", a client that went away
    if (err instanceof UploadTooLarge || err instanceof MediaRejected || err === diskError) throw err;
    throw new MalformedUpload({ cause: err });
  }
  // busboy marks a file cut at its size limit instead of failing: the kind's limit is lower anyway
  if ((source as Readable & { truncated?: boolean }).truncated) {
    throw new UploadTooLarge(gate.type?.kind ?? 'video', MAX_BYTES[gate.type?.kind ?? 'video']);
  }
  if (gate.type === null) throw new MediaRejected('unsupported_type', 'empty upload');
  return { path: target, size: gate.size, type: gate.type };
}

/** Holds the first SNIFF_BYTES back until the type is known, then counts against its limit. */
class TypeGate extends Transform {
  type: SniffedType | null = null;
  size = 0;
  private head: Buffer[] = [];
  private headBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.type !== null) {
      const limit = MAX_BYTES[this.type.kind];
      if (this.size > limit) return done(new UploadTooLarge(this.type.kind, limit));
      return done(null, chunk);
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return done();
    this.decide().then(
      (held) => done(null, held),
      (err: unknown) => done(err as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    if (this.type !== null || this.headBytes === 0) return done();
    // a file shorter than the sniff window
    this.decide().then(
      (held) => {
        if (held.length > 0) this.push(held);
        done();
      },
      (err: unknown) => done(err as Error),
    );
  }

  private async decide(): Promise<Buffer> {
    const held = Buffer.concat(this.head);
    this.head = [];
    const type = await sniffType(held.subarray(0, SNIFF_BYTES));
    if (type === null) throw new MediaRejected('unsupported_type', 'type not allowed');
    const limit = MAX_BYTES[type.kind];
    if (this.size > limit) throw new UploadTooLarge(type.kind, limit);
    this.type = type;
    return held;
  }
}
