import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  avifImage,
  elfExecutable,
  heicHevc,
  htmlPage,
  jpegHtmlPolyglot,
  jpegWithExif,
  MP4_SAMPLE,
  MP4_SECRETS,
  mp4WithLocation,
  mp4WithTrailingJunk,
  noisyJpeg,
  pdfDocument,
  pixelFloodPng,
  pngImage,
  readExif,
  stcoOffsets,
  svgImage,
  WEBM_SECRETS,
  webmWithTags,
  webpImage,
  type ExifPhoto,
} from '../../../test/fixtures/media.js';
import { checkPdf } from './media.documents.js';
import {
  DISPLAY_MAX_SIDE,
  imageConcurrency,
  processImage,
  Semaphore,
  THUMB_MAX_SIDE,
  withImageSlot,
  type ProcessedImage,
} from './media.images.js';
import { MediaRejected, SNIFF_BYTES, type RejectReason } from './media.kinds.js';
import { sniffType } from './media.sniff.js';
import { scrubVideo } from './media.video.js';

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'buurtwag-media-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function saved(bytes: Buffer): Promise<string> {
  const path = join(dir, `input-${++fileCount}`);
  await writeFile(path, bytes);
  return path;
}

const outDir = (): string => join(dir, `out-${++fileCount}`);

/** the reason a promise was refused with, or what happened instead (so a failing case says which) */
async function rejection(promise: Promise<unknown>): Promise<RejectReason | string> {
  return promise.then(
    () => 'accepted',
    (err: unknown) => (err instanceof MediaRejected ? err.reason : `other error: ${String(err)}`),
  );
}

const ftyp = (brand: string): Buffer =>
  Buffer.concat([
    Buffer.from([0, 0, 0, 20]),
    Buffer.from(`ftyp${brand}`, 'latin1'),
    Buffer.from([0, 0, 2, 0]),
    Buffer.from(brand, 'latin1'),
    Buffer.from([0, 0, 0, 8]),
    Buffer.from('mdat'),
  ]);

// ---------------------------------------------------------------------------------------------

describe('sniffType', () => {
  it('accepts photos, MP4, WebM and PDF by their bytes', async () => {
    const photo = await jpegWithExif({
      width: 40,
      height: 30,
      orientation: 1,
      gps: { lat: 1, lon: 1 },
      make: 'A',
      model: 'B',
      serial: 'C',
    });
    expect(await sniffType(photo)).toEqual({ kind: 'image', contentType: 'image/jpeg' });
    expect(await sniffType(await pngImage(4, 4))).toEqual({ kind: 'image', contentType: 'image/png' });
    expect(await sniffType(await webpImage(4, 4))).toEqual({ kind: 'image', contentType: 'image/webp' });
    expect(await sniffType(await avifImage(8, 8))).toEqual({ kind: 'image', contentType: 'image/avif' });
    expect(await sniffType(heicHevc())).toEqual({ kind: 'image', contentType: 'image/heic' });
    expect(await sniffType(ftyp('mif1'))).toEqual({ kind: 'image', contentType: 'image/heif' });
    expect(await sniffType(mp4WithLocation())).toEqual({ kind: 'video', contentType: 'video/mp4' });
    expect(await sniffType(ftyp('mp42'))).toEqual({ kind: 'video', contentType: 'video/mp4' });
    expect(await sniffType(webmWithTags())).toEqual({ kind: 'video', contentType: 'video/webm' });
    expect(await sniffType(webmWithTags({ live: true }))).toEqual({ kind: 'video', contentType: 'video/webm' });
    expect(await sniffType(pdfDocument())).toEqual({ kind: 'document', contentType: 'application/pdf' });
  });

  it('refuses everything else, including what browsers would run', async () => {
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } })
      .gif()
      .toBuffer();
    const zip = Buffer.concat([
      Buffer.from('PK\x03\x04', 'latin1'),
      Buffer.from([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]),
      Buffer.from('a.txt'),
      Buffer.from('PK\x05\x06', 'latin1'),
      Buffer.alloc(18),
    ]);
    const matroska = webmWithTags();
    matroska.write('matr', matroska.indexOf('webm'), 'latin1'); // DocType "matr": not webm
    const refused: Record<string, Buffer> = {
      svg: svgImage(),
      html: htmlPage(),
      xml: Buffer.from('<?xml version="1.0"?><a/>'),
      gif,
      zip,
      elf: elfExecutable(),
      pe: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)]),
      script: Buffer.from('#!/bin/sh\nrm -rf /\n'),
      text: Buffer.from('hello world\n'),
      empty: Buffer.alloc(0),
      quicktime: ftyp('qt  '),
      '3gp': ftyp('3gp4'),
      m4v: ftyp('M4V '),
      'heif sequence': ftyp('msf1'),
      matroska,
      'pdf without the dash': Buffer.from('%PDF\n1 0 obj\n%%EOF\n'),
      'pdf after whitespace': Buffer.concat([Buffer.from('\n'), pdfDocument()]),
    };
    for (const [name, bytes] of Object.entries(refused)) {
      expect([name, await sniffType(bytes)]).toEqual([name, null]);
    }
  });

  it('looks at the first SNIFF_BYTES only', async () => {
    const late = Buffer.concat([Buffer.alloc(SNIFF_BYTES), pdfDocument()]);
    expect(await sniffType(late)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

describe('processImage', () => {
  const photo: ExifPhoto = {
    width: 2400,
    height: 1800,
    orientation: 6,
    gps: { lat: 40.7128, lon: -74.006 },
    make: 'AcmeCam',
    model: 'Snapper-X9',
    serial: 'SERIAL-0451-7788',
  };
  let input: Buffer;
  let result: ProcessedImage;

  beforeAll(async () => {
    input = await jpegWithExif(photo);
    result = await processImage(await saved(input), outDir());
  });

  it('gets an input that really carries GPS, device, serial, XMP and ICC', async () => {
    const meta = await sharp(input).metadata();
    expect(meta.orientation).toBe(6);
    expect(meta.icc).toBeDefined();
    expect(meta.xmp).toBeDefined();
    const exif = readExif(meta.exif!);
    expect(exif).toMatchObject({ make: photo.make, model: photo.model, serial: photo.serial, orientation: 6 });
    expect(exif.lat).toBeCloseTo(photo.gps.lat, 4);
    expect(exif.lon).toBeCloseTo(photo.gps.lon, 4);
    for (const needle of [photo.make, photo.model, photo.serial, 'GPS']) expect(input.includes(needle)).toBe(true);
  });

  it('writes four re-encoded variants with no metadata at all', async () => {
    expect(result.variants.map((v) => [v.name, v.contentType])).toEqual([
      ['display.webp', 'image/webp'],
      ['display.jpg', 'image/jpeg'],
      ['thumb.webp', 'image/webp'],
      ['thumb.jpg', 'image/jpeg'],
    ]);
    for (const variant of result.variants) {
      const bytes = await readFile(variant.path);
      expect(variant.size).toBe(bytes.length);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe(variant.contentType === 'image/webp' ? 'webp' : 'jpeg');
      expect([variant.name, meta.exif, meta.xmp, meta.iptc, meta.icc, meta.orientation, meta.comments]).toEqual([
        variant.name,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      for (const needle of [photo.make, photo.model, photo.serial, 'GPS', 'Exif', 'ns.adobe.com']) {
        expect([variant.name, needle, bytes.includes(needle)]).toEqual([variant.name, needle, false]);
      }
    }
  });

  it('turns the photo upright: orientation 6 swaps width and height and moves the corner', async () => {
    // stored 2400×1800; orientation 6 means "turn 90° clockwise to view": 1800×2400 upright
    expect([result.width, result.height]).toEqual([1800, 2400]);
    const display = result.variants.find((v) => v.name === 'display.jpg')!;
    expect([display.width, display.height]).toEqual([1200, 1600]);
    const { data, info } = await sharp(display.path).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number): number[] => {
      const at = (y * info.width + x) * info.channels;
      return [data[at]!, data[at + 1]!, data[at + 2]!];
    };
    // the stored top-left (red) corner is now the top-right one
    const [r1, g1, b1] = pixel(info.width - 20, 20);
    expect(r1).toBeGreaterThan(200);
    expect(g1).toBeLessThan(60);
    expect(b1).toBeLessThan(60);
    for (const [x, y] of [
      [20, 20],
      [20, info.height - 20],
      [info.width - 20, info.height - 20],
    ] as const) {
      const [r, , b] = pixel(x, y);
      expect(r).toBeLessThan(60);
      expect(b).toBeGreaterThan(200);
    }
  });

  it('fits the long side in 1600 and 320 pixels', () => {
    const sizes = Object.fromEntries(result.variants.map((v) => [v.name, [v.width, v.height]]));
    expect(sizes).toEqual({
      'display.webp': [1200, DISPLAY_MAX_SIDE],
      'display.jpg': [1200, DISPLAY_MAX_SIDE],
      'thumb.webp': [240, THUMB_MAX_SIDE],
      'thumb.jpg': [240, THUMB_MAX_SIDE],
    });
  });

  it('never enlarges a small image', async () => {
    const small = await processImage(await saved(await pngImage(200, 100)), outDir());
    expect([small.width, small.height]).toEqual([200, 100]);
    for (const v of small.variants) expect([v.name, v.width, v.height]).toEqual([v.name, 200, 100]);
    const medium = await processImage(await saved(await webpImage(640, 480)), outDir());
    expect(medium.variants.map((v) => [v.width, v.height])).toEqual([
      [640, 480],
      [640, 480],
      [320, 240],
      [320, 240],
    ]);
  });

  it('keeps transparency in WebP and puts it on white in the JPEG', async () => {
    const image = await processImage(await saved(await pngImage(50, 50, { alpha: true })), outDir());
    const webp = await sharp(image.variants[0]!.path).metadata();
    expect(webp.hasAlpha).toBe(true);
    const jpeg = await sharp(image.variants[1]!.path).raw().toBuffer({ resolveWithObject: true });
    expect(jpeg.info.channels).toBe(3);
    // half-transparent rgb(0,128,0) over white
    expect(jpeg.data[0]).toBeGreaterThan(100);
    expect(jpeg.data[1]).toBeGreaterThan(170);
  });

  it('decodes an AVIF (HEIF with AV1)', async () => {
    const image = await processImage(await saved(await avifImage(64, 48)), outDir());
    expect([image.width, image.height]).toEqual([64, 48]);
  });

  it('answers heic_unsupported for an HEVC HEIC, which this libvips cannot decode', async () => {
    expect(await rejection(processImage(await saved(heicHevc()), outDir()))).toBe('heic_unsupported');
  });

  it('refuses a pixel flood from its header, without decoding it', async () => {
    const flood = pixelFloodPng(20_000, 20_000);
    expect(flood.length).toBeLessThan(200);
    const started = performance.now();
    expect(await rejection(processImage(await saved(flood), outDir()))).toBe('too_many_pixels');
    // just over the limit (40 000 800 pixels) is refused too
    expect(await rejection(processImage(await saved(pixelFloodPng(8000, 5001)), outDir()))).toBe('too_many_pixels');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses what does not decode as an accepted image', async () => {
    const truncated = (await noisyJpeg(400, 300)).subarray(0, 5000);
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } })
      .gif()
      .toBuffer();
    const cases: Array<[string, Buffer, RejectReason]> = [
      ['jpeg/html polyglot', jpegHtmlPolyglot(), 'unreadable'],
      ['truncated jpeg', truncated, 'unreadable'],
      ['random bytes', Buffer.from('definitely not an image, just some text'), 'unreadable'],
      ['svg', svgImage(), 'unsupported_type'],
      ['gif', gif, 'unsupported_type'],
    ];
    for (const [name, bytes, reason] of cases) {
      expect([name, await rejection(processImage(await saved(bytes), outDir()))]).toEqual([name, reason]);
    }
  });

  it('processes a 12 MP phone photo in one decode', async () => {
    const jpeg = await noisyJpeg(4000, 3000);
    const path = await saved(jpeg);
    const started = performance.now();
    const image = await processImage(path, outDir());
    const ms = Math.round(performance.now() - started);
    console.log(`processImage: 4000×3000 JPEG of ${(jpeg.length / 1e6).toFixed(1)} MB in ${ms} ms`);
    expect(image.variants.map((v) => [v.width, v.height])).toEqual([
      [1600, 1200],
      [1600, 1200],
      [320, 240],
      [320, 240],
    ]);
  });
});

describe('withImageSlot', () => {
  it('lets two images through at a time, the rest in arrival order', async () => {
    expect(imageConcurrency.limit).toBe(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (n: number) => async (): Promise<number> => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(n);
      running--;
      return n;
    };
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => withImageSlot(task(n))));
    expect(results).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(order.slice(2)).toEqual([3, 4, 5, 6]);
    expect([imageConcurrency.active, imageConcurrency.waiting]).toEqual([0, 0]);
  });

  it('is a plain semaphore underneath', async () => {
    const one = new Semaphore(1);
    const log: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        one.run(async () => {
          log.push(`${name}+`);
          await new Promise((resolve) => setTimeout(resolve, 1));
          log.push(`${name}-`);
        }),
      ),
    );
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('frees the slot when the work fails', async () => {
    await expect(withImageSlot(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const all = await Promise.all([1, 2, 3].map((n) => withImageSlot(async () => n)));
    expect(all).toEqual([1, 2, 3]);
  });
});

// ---------------------------------------------------------------------------------------------

const MP4_NEEDLES = [
  MP4_SECRETS.location,
  MP4_SECRETS.make,
  MP4_SECRETS.model,
  MP4_SECRETS.software,
  MP4_SECRETS.serial,
  'GPS',
  '+40.7128',
];

/** top-level box types, and those inside moov, as a player would list them */
function boxTypes(file: Buffer, start = 0, end = file.length): string[] {
  const types: string[] = [];
  for (let at = start; at < end;) {
    const size = file.readUInt32BE(at) || end - at;
    types.push(file.toString('latin1', at + 4, at + 8));
    at += size;
  }
  return types;
}

describe('scrubVideo: MP4', () => {
  for (const faststart of [false, true]) {
    it(`removes location and device, keeps size and offsets (${faststart ? 'moov first' : 'moov last'})`, async () => {
      const original = mp4WithLocation({ faststart });
      for (const needle of MP4_NEEDLES) expect(original.includes(needle)).toBe(true);
      const path = await saved(original);

      await scrubVideo(path, 'video/mp4');
      const scrubbed = await readFile(path);

      expect(scrubbed.length).toBe(original.length);
      for (const needle of MP4_NEEDLES) expect([needle, scrubbed.includes(needle)]).toEqual([needle, false]);
      expect(boxTypes(scrubbed)).toEqual(
        faststart ? ['ftyp', 'moov', 'mdat', 'free'] : ['ftyp', 'mdat', 'moov', 'free'],
      );
      const moovAt = scrubbed.indexOf('moov') - 4;
      expect(boxTypes(scrubbed, moovAt + 8, moovAt + scrubbed.readUInt32BE(moovAt))).toEqual([
        'mvhd',
        'trak',
        'free',
        'free',
        'free',
      ]);
      // the track (with its sample table) is intact and its chunk offset still finds the sample
      const offsets = stcoOffsets(scrubbed);
      expect(offsets).toEqual(stcoOffsets(original));
      expect(scrubbed.subarray(offsets[0], offsets[0]! + MP4_SAMPLE.length)).toEqual(MP4_SAMPLE);
      // the track's QuickTime-style meta went too
      const trakAt = scrubbed.indexOf('trak') - 4;
      expect(boxTypes(scrubbed, trakAt + 8, trakAt + scrubbed.readUInt32BE(trakAt))).toEqual(['tkhd', 'mdia', 'free']);
      // only renamed and zero-filled: every byte that changed is now 'free' or zero
      for (let i = 0; i < original.length; i++) {
        if (scrubbed[i] !== original[i] && scrubbed[i] !== 0)
          expect('free').toContain(String.fromCharCode(scrubbed[i]!));
      }
      expect(await sniffType(scrubbed)).toEqual({ kind: 'video', contentType: 'video/mp4' });

      // scrubbing twice changes nothing more
      await scrubVideo(path, 'video/mp4');
      expect(await readFile(path)).toEqual(scrubbed);
    });
  }

  it('keeps 64-bit and to-end sizes as they were written', async () => {
    const original = mp4WithLocation({ faststart: true });
    const mdatAt = original.indexOf('mdat') - 4;
    const udtaPayload = Buffer.from(`\u00a9xyz${MP4_SECRETS.location}`, 'latin1');
    const largeUdta = Buffer.alloc(16);
    largeUdta.writeUInt32BE(1, 0);
    largeUdta.write('udta', 4, 'latin1');
    largeUdta.writeBigUInt64BE(BigInt(16 + udtaPayload.length), 8);
    const toEndMdat = Buffer.from(original.subarray(mdatAt, original.indexOf('uuid', mdatAt) - 4));
    toEndMdat.writeUInt32BE(0, 0);
    const file = Buffer.concat([original.subarray(0, mdatAt), largeUdta, udtaPayload, toEndMdat]);
    const path = await saved(file);

    await scrubVideo(path, 'video/mp4');
    const scrubbed = await readFile(path);
    expect(scrubbed.subarray(mdatAt, mdatAt + 16)).toEqual(
      Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('free'), largeUdta.subarray(8)]),
    );
    expect(scrubbed.includes(MP4_SECRETS.location)).toBe(false);
    expect(scrubbed.subarray(mdatAt + 16 + udtaPayload.length)).toEqual(toEndMdat);
  });

  it('blanks boxes it does not know inside moov, where vendors keep their own GPS', async () => {
    const original = mp4WithLocation({ faststart: true });
    original.write('gps ', original.indexOf('udta'), 'latin1'); // a dashcam-style vendor box
    const path = await saved(original);
    await scrubVideo(path, 'video/mp4');
    const scrubbed = await readFile(path);
    expect(scrubbed.includes(MP4_SECRETS.location)).toBe(false);
    expect(scrubbed.includes('gps ')).toBe(false);
    expect(stcoOffsets(scrubbed)).toEqual(stcoOffsets(original));
  });

  it('refuses what is not a clean box structure, and leaves it unchanged', async () => {
    const good = mp4WithLocation();
    const noMoov = Buffer.concat([good.subarray(0, good.indexOf('moov') - 4)]);
    const twoMoov = Buffer.concat([mp4WithLocation({ faststart: true }), good.subarray(good.indexOf('moov') - 4)]);
    const overrun = Buffer.from(good);
    overrun.writeUInt32BE(good.length * 2, good.indexOf('mdat') - 4);
    const cases: Record<string, Buffer> = {
      'trailing junk (polyglot)': mp4WithTrailingJunk(),
      truncated: good.subarray(0, good.length - 10),
      'no moov': noMoov,
      'two moov': twoMoov,
      'box overruns the file': overrun,
      'not ftyp first': Buffer.concat([
        good.subarray(good.indexOf('mdat') - 4),
        good.subarray(0, good.indexOf('mdat') - 4),
      ]),
      'one stray byte': Buffer.concat([good, Buffer.from([0])]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const path = await saved(bytes);
      expect([name, await rejection(scrubVideo(path, 'video/mp4'))]).toEqual([name, 'unreadable']);
      expect(await readFile(path)).toEqual(bytes);
    }
  });
});

const WEBM_NEEDLES = [WEBM_SECRETS.location, WEBM_SECRETS.make, WEBM_SECRETS.serial, 'LOCATION'];

describe('scrubVideo: WebM', () => {
  for (const live of [false, true]) {
    it(`turns Tags into Void of the same length (${live ? 'unknown sizes, Tags last' : 'known sizes'})`, async () => {
      const original = webmWithTags({ live });
      for (const needle of WEBM_NEEDLES) expect(original.includes(needle)).toBe(true);
      const tagsAt = original.indexOf(Buffer.from([0x12, 0x54, 0xc3, 0x67]));
      const path = await saved(original);

      await scrubVideo(path, 'video/webm');
      const scrubbed = await readFile(path);

      expect(scrubbed.length).toBe(original.length);
      for (const needle of WEBM_NEEDLES) expect([needle, scrubbed.includes(needle)]).toEqual([needle, false]);
      // Tags had a 4-byte ID and an 8-byte size: the Void has a 1-byte ID and an 8-byte size
      const tagsLength = 4 + 8 + Number(original.readBigUInt64BE(tagsAt + 4) & 0x00ff_ffff_ffff_ffffn);
      expect(scrubbed[tagsAt]).toBe(0xec);
      expect(scrubbed[tagsAt + 1]).toBe(0x01);
      expect(Number(scrubbed.readBigUInt64BE(tagsAt + 1) & 0x00ff_ffff_ffff_ffffn)).toBe(tagsLength - 9);
      expect(scrubbed.subarray(tagsAt + 9, tagsAt + tagsLength).every((b) => b === 0)).toBe(true);
      // nothing else moved
      expect(scrubbed.subarray(0, tagsAt)).toEqual(original.subarray(0, tagsAt));
      expect(scrubbed.subarray(tagsAt + tagsLength)).toEqual(original.subarray(tagsAt + tagsLength));
      expect(await sniffType(scrubbed)).toEqual({ kind: 'video', contentType: 'video/webm' });

      await scrubVideo(path, 'video/webm');
      expect(await readFile(path)).toEqual(scrubbed);
    });
  }

  it('refuses what is not a sound WebM, and leaves it unchanged', async () => {
    const good = webmWithTags();
    const matroska = Buffer.from(good);
    matroska.write('matr', matroska.indexOf('webm'), 'latin1');
    const cases: Record<string, Buffer> = {
      'trailing junk (polyglot)': Buffer.concat([good, htmlPage()]),
      truncated: good.subarray(0, good.length - 7),
      'not webm': matroska,
      'no segment': good.subarray(0, good.indexOf(Buffer.from([0x18, 0x53, 0x80, 0x67]))),
      'live, cut inside a block': webmWithTags({ live: true }).subarray(0, 700),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const path = await saved(bytes);
      expect([name, await rejection(scrubVideo(path, 'video/webm'))]).toEqual([name, 'unreadable']);
      expect(await readFile(path)).toEqual(bytes);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('checkPdf', () => {
  it('accepts a PDF, with or without white space after %%EOF', async () => {
    await checkPdf(await saved(pdfDocument()));
    await checkPdf(await saved(Buffer.concat([pdfDocument(), Buffer.from('\r\n  \n\0\n')])));
    const v2 = pdfDocument();
    v2.write('%PDF-2.0', 0, 'latin1');
    await checkPdf(await saved(v2));
  });

  it('refuses what is not a PDF from start to end, or is also a web page', async () => {
    const pdf = pdfDocument();
    const withHead = (head: string): Buffer =>
      Buffer.concat([Buffer.from(head, 'latin1'), pdf.subarray(pdf.indexOf('\n'))]);
    const cases: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'no header': pdf.subarray(9),
      'unknown version': withHead('%PDF-3.0'),
      'truncated (no %%EOF)': pdf.subarray(0, pdf.length - 40),
      'something appended': Buffer.concat([pdf, Buffer.alloc(2000, 'A')]),
      'html polyglot': withHead('%PDF-1.4\n<html><body><script>alert(1)</script></body></html>'),
      'svg polyglot (upper case)': withHead('%PDF-1.4\n<SVG onload="alert(1)">'),
      'script polyglot': withHead('%PDF-1.7\n<ScRiPt>alert(1)</ScRiPt>'),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect([name, await rejection(checkPdf(await saved(bytes)))]).toEqual([name, 'unreadable']);
    }
  });
});
