import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metadata } from 'sharp';
import { MAX_IMAGE_PIXELS, MediaRejected } from './media.kinds.js';

/**
 * Photos are never stored as uploaded: each is decoded and re-encoded into a display size and a
 * thumbnail, as WebP and as a JPEG fallback. Re-encoding is what removes the metadata (EXIF with
 * GPS and serial numbers, XMP, IPTC, comments, ICC profiles): sharp writes none of it unless
 * keepExif()/keepMetadata()/withMetadata() is called, and nothing here calls them. An embedded
 * ICC profile is applied while decoding (the pixels are converted to sRGB), then dropped; browsers
 * take untagged images as sRGB.
 */

export type ImageVariantName = 'display.webp' | 'display.jpg' | 'thumb.webp' | 'thumb.jpg';

export interface ImageVariant {
  name: ImageVariantName;
  path: string;
  contentType: 'image/webp' | 'image/jpeg';
  width: number;
  height: number;
  size: number;
}

export interface ProcessedImage {
  /** the original's size as it is meant to be seen (EXIF orientation applied) */
  width: number;
  height: number;
  variants: ImageVariant[];
}

/** long side of the display variant, in pixels; smaller images keep their size */
export const DISPLAY_MAX_SIDE = 1600;
/** long side of the thumbnail */
export const THUMB_MAX_SIDE = 320;
/** images decoded at once per process (see withImageSlot) */
export const IMAGE_CONCURRENCY = 2;

/** what sharp's metadata() calls the formats we accept (HEIC and AVIF are both "heif") */
const DECODABLE_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'heif']);

type Sharp = typeof import('sharp').default;
let sharpLoading: Promise<Sharp> | null = null;

/**
 * sharp (libvips) is loaded on the first photo, not at start: it costs ~30 MB of resident memory
 * that a node serving only the API never needs.
 */
function loadSharp(): Promise<Sharp> {
  sharpLoading ??= import('sharp').then(({ default: sharp }) => {
    // libvips' operation cache would keep recent inputs, results and open file descriptors (of
    // temp files we delete right after): an upload is processed once, so the cache only costs memory
    sharp.cache(false);
    return sharp;
  });
  return sharpLoading;
}

/**
 * A counting semaphore: at most `limit` callers run at once, the others wait in arrival order.
 * A finishing caller hands its slot straight to the next one, so a late arrival cannot jump
 * the queue.
 */
export class Semaphore {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active < this.limit) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

/**
 * Decoding a 12 MP photo takes tens of megabytes and both cores for a moment; twenty uploads at
 * once must queue rather than all decode together.
 */
export const imageConcurrency = new Semaphore(IMAGE_CONCURRENCY);

/**
 * Runs `fn` holding one of the process's image slots: `withImageSlot(() => processImage(…))`.
 * processImage does not take a slot itself, so a caller holding one can call it; but never take
 * a second slot inside `fn` (two callers each holding one and waiting for another would hang).
 */
export function withImageSlot<T>(fn: () => Promise<T>): Promise<T> {
  return imageConcurrency.run(fn);
}

/**
 * Decodes the image at `inputPath` once and writes display.{webp,jpg} and thumb.{webp,jpg} into
 * `outDir` (created if missing). Throws MediaRejected when the file is not an image we can make
 * safe: too_many_pixels, heic_unsupported, unsupported_type (a format sharp reads but we do not
 * take, e.g. SVG) or unreadable. Call it inside withImageSlot.
 */
export async function processImage(inputPath: string, outDir: string): Promise<ProcessedImage> {
  // a missing input is our bug, not the uploader's: let fs say so before sharp calls it "unreadable"
  await stat(inputPath);
  const header = await readHeader(inputPath);
  const display = await decodeForDisplay(inputPath, header);
  // the thumbnail is made from the display pixels, not from the original: one decode in all
  const thumb = await resizeRaw(display, THUMB_MAX_SIDE);
  await mkdir(outDir, { recursive: true });
  const variants = await Promise.all([
    encode(display, 'display.webp', outDir),
    encode(display, 'display.jpg', outDir),
    encode(thumb, 'thumb.webp', outDir),
    encode(thumb, 'thumb.jpg', outDir),
  ]);
  return { width: header.uprightWidth, height: header.uprightHeight, variants };
}

interface ImageHeader {
  format: string;
  compression: Metadata['compression'];
  uprightWidth: number;
  uprightHeight: number;
}

/** uncompressed 8-bit sRGB pixels (3 channels, or 4 with alpha) */
interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** Reads the header only: the size and format are known before a single pixel is decoded. */
async function readHeader(inputPath: string): Promise<ImageHeader> {
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    // With sharp's pixel limit on, a flood fails here with a generic "exceeds pixel limit" error;
    // off, we get the claimed size and refuse it ourselves below. Reading a header allocates
    // nothing in proportion to the size it claims.
    meta = await sharp(inputPath, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new MediaRejected('unreadable', `not a readable image: ${errorText(err)}`);
  }
  if (!DECODABLE_FORMATS.has(meta.format)) {
    throw new MediaRejected('unsupported_type', `image format ${meta.format} is not accepted`);
  }
  // one page/frame is decoded (animated WebP: the first frame), so one page's pixels count
  const pixels = meta.width * (meta.pageHeight ?? meta.height);
  if (!(pixels > 0)) throw new MediaRejected('unreadable', 'image has no size');
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new MediaRejected('too_many_pixels', `image has ${pixels} pixels, more than ${MAX_IMAGE_PIXELS}`);
  }
  return {
    format: meta.format,
    compression: meta.compression,
    uprightWidth: meta.autoOrient.width,
    uprightHeight: meta.autoOrient.height,
  };
}

/**
 * The one decode of the original: upright, shrunk to the display size, as raw pixels. Shrinking
 * while decoding keeps memory small: JPEG and WebP decode at a reduced scale ("shrink on load"),
 * and libvips streams PNG rows through the resize, so a 40 MP PNG never sits whole in memory
 * (unless it has to be turned by 90°, which needs it all: 160 MB at worst, at most two at once).
 */
async function decodeForDisplay(inputPath: string, header: ImageHeader): Promise<RawImage> {
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(inputPath, {
      // the second guard, should the header have told the first one something else
      limitInputPixels: MAX_IMAGE_PIXELS,
      // sharp's advice for untrusted input: a truncated or corrupt file is refused, not half-shown
      failOn: 'warning',
      sequentialRead: true,
    })
      .rotate()
      .resize({ width: DISPLAY_MAX_SIDE, height: DISPLAY_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return toRawImage(data, info.width, info.height, info.channels);
  } catch (err) {
    const full = err instanceof Error ? err.message : String(err);
    const text = errorText(err);
    if (/pixel limit/i.test(full)) throw new MediaRejected('too_many_pixels', `image is too large: ${text}`);
    if (header.format === 'heif' && (header.compression === 'hevc' || /hevc/i.test(full))) {
      throw new MediaRejected('heic_unsupported', 'HEIC photos (HEVC) cannot be decoded here; send a JPEG');
    }
    throw new MediaRejected('unreadable', `image does not decode: ${text}`);
  }
}

async function resizeRaw(image: RawImage, maxSide: number): Promise<RawImage> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(image.data, { raw: rawDescriptor(image) })
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return toRawImage(data, info.width, info.height, info.channels);
}

async function encode(image: RawImage, name: ImageVariantName, outDir: string): Promise<ImageVariant> {
  const sharp = await loadSharp();
  const path = join(outDir, name);
  const pixels = sharp(image.data, { raw: rawDescriptor(image) });
  const webp = name.endsWith('.webp');
  const info = webp
    ? await pixels.webp({ quality: 80 }).toFile(path)
    : // JPEG has no alpha: transparent parts go white, as they look on a page
      await pixels.flatten({ background: '#ffffff' }).jpeg({ quality: 82, progressive: true }).toFile(path);
  return {
    name,
    path,
    contentType: webp ? 'image/webp' : 'image/jpeg',
    width: info.width,
    height: info.height,
    size: info.size,
  };
}

function rawDescriptor(image: RawImage): { width: number; height: number; channels: 3 | 4 } {
  return { width: image.width, height: image.height, channels: image.channels };
}

function toRawImage(data: Buffer, width: number, height: number, channels: number): RawImage {
  // toColourspace('srgb') leaves three channels, four with alpha
  if (channels !== 3 && channels !== 4) throw new Error(`unexpected ${channels}-channel output from sharp`);
  return { data, width, height, channels };
}

function errorText(err: unknown): string {
  // libvips repeats its warnings; the first line says what went wrong
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? text;
}
