/**
 * Media benchmark: starts `serve` as its own process (embedded by default; `--postgres URL` with
 * `--s3` for server Postgres + s3rver), then measures
 *  1. upload throughput of 2 MB phone JPEGs (12 MP, EXIF): uploads/s at a concurrency, and the
 *     server's CPU time per image (from /proc/<pid>/stat);
 *  2. the server's RSS while 5 videos of 100 MB upload at once, against its idle RSS.
 *
 *   npx tsx bench/media.ts [--photos 60] [--concurrency 4] [--videos 5] [--video-mb 100]
 *                          [--postgres postgres://…/db --s3]
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { benchServerEnv, rssMb, startServer } from './serve.js';
import S3rver from 's3rver';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '4' },
    videos: { type: 'string', default: '5' },
    'video-mb': { type: 'string', default: '100' },
    postgres: { type: 'string' },
    s3: { type: 'boolean', default: false },
  },
});
const PHOTOS = Number(values.photos);
const CONCURRENCY = Number(values.concurrency);
const VIDEOS = Number(values.videos);
const VIDEO_BYTES = Number(values['video-mb']) * 1024 * 1024 - 4096;
const CLK_TCK = 100;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-media-'));

async function main(): Promise<void> {
  const env = benchServerEnv({
    DATA_DIR: path.join(work, 'data'),
    MEDIA_DAILY_QUOTA_FILES: '100000',
    MEDIA_DAILY_QUOTA_MB: '1000000',
    // glibc's allocator tuning reaches the server when set (see bench/README.md)
    ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
  });
  let s3: S3rver | null = null;
  if (values.postgres) env.DATABASE_URL = values.postgres;
  if (values.s3) {
    s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: path.join(work, 's3'),
      configureBuckets: [{ name: 'bench', configs: [] }],
    });
    const { port } = await s3.run();
    Object.assign(env, {
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKET: 'bench',
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
    });
  }
  const server = await startServer(env);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const token = await register(base);
    const mode = `${values.postgres ? 'server Postgres' : 'embedded'} + ${values.s3 ? 'S3 (s3rver)' : 'filesystem'}`;
    process.stdout.write(`media benchmark — ${mode}, ${os.cpus().length} cores\n`);
    process.stdout.write(`server RSS after start: ${rssMb(server.pid).toFixed(0)} MB\n`);

    const photo = await phoneJpeg();
    process.stdout.write(`photo: 4000×3000 JPEG with EXIF, ${(photo.length / 1024 / 1024).toFixed(2)} MB\n`);
    await photoThroughput(base, token, server.pid, photo);
    process.stdout.write(`server RSS after the photos: ${rssMb(server.pid).toFixed(0)} MB\n`);

    const video = path.join(work, 'video.mp4');
    writeVideo(video);
    await videoMemory(base, token, server.pid, video);
  } finally {
    server.kill();
    await s3?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function photoThroughput(base: string, token: string, pid: number, photo: Buffer): Promise<void> {
  // ten files per incident at most: the warm-up and uploads 1..PHOTOS
  const incidents = await incidentsFor(base, token, Math.floor(PHOTOS / 10) + 1);
  // one warm-up upload (sharp's first run loads codecs)
  await uploadBuffer(base, token, incidents[0]!, photo);
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  let next = 1;
  const latencies: number[] = [];
  const failures: number[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PHOTOS + 1) {
        const i = next++;
        const t0 = performance.now();
        const status = await uploadBuffer(base, token, incidents[Math.floor(i / 10)]!, photo);
        latencies.push(performance.now() - t0);
        if (status !== 201) failures.push(status);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  process.stdout.write(
    `photos: ${PHOTOS} uploads at concurrency ${CONCURRENCY}: ${(PHOTOS / seconds).toFixed(1)} uploads/s, ` +
      `p50 ${pct(0.5).toFixed(0)} ms, p99 ${pct(0.99).toFixed(0)} ms, errors ${failures.length}${failures.length ? ` (${failures.join(',')})` : ''}, ` +
      `server CPU ${((cpu / PHOTOS) * 1000).toFixed(0)} ms per image\n`,
  );
}

async function videoMemory(base: string, token: string, pid: number, file: string): Promise<void> {
  const incidents = await incidentsFor(base, token, 1);
  await new Promise((r) => setTimeout(r, 2000));
  global.gc?.();
  const idle = rssMb(pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: VIDEOS }, () => uploadFile(base, token, incidents[0]!, file, 'clip.mp4')),
  );
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const mb = fs.statSync(file).size / 1024 / 1024;
  process.stdout.write(
    `videos: ${VIDEOS} × ${mb.toFixed(0)} MB at once in ${seconds.toFixed(1)} s (statuses ${statuses.join(',')}): ` +
      `server RSS idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, +${(peak - idle).toFixed(0)} MB\n`,
  );
}

/** A phone-like 12 MP photo of about 2 MB: smooth gradients and some noise, EXIF with GPS. */
async function phoneJpeg(): Promise<Buffer> {
  const width = 4000;
  const height = 3000;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed >> 16) % 24;
      const i = (y * width + x) * 3;
      raw[i] = ((x * 255) / width + noise) & 0xff;
      raw[i + 1] = ((y * 255) / height + noise) & 0xff;
      raw[i + 2] = (128 + Math.sin(x / 50) * 60 + noise) & 0xff;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 72 })
    .withExif({ IFD0: { Make: 'BenchPhone', Model: 'X1' } })
    .toBuffer();
}

/** An MP4-shaped file (ftyp, moov with udta, a big mdat) written in chunks, never whole. */
function writeVideo(file: string): void {
  const box = (type: string, payload: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + payload.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, payload]);
  };
  const ftyp = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1'));
  const mvhd = box('mvhd', Buffer.alloc(100));
  const udta = box('udta', box('\u00a9xyz', Buffer.from('\0\x12\0\0+40.7128-074.0060/', 'latin1')));
  const moov = box('moov', Buffer.concat([mvhd, udta]));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Buffer.concat([ftyp, moov]));
  const mdatHead = Buffer.alloc(8);
  mdatHead.writeUInt32BE(8 + VIDEO_BYTES, 0);
  mdatHead.write('mdat', 4, 'latin1');
  fs.writeSync(fd, mdatHead);
  const chunk = randomBytes(1024 * 1024);
  for (let written = 0; written < VIDEO_BYTES; written += chunk.length) {
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, VIDEO_BYTES - written));
  }
  fs.closeSync(fd);
}

// ---------------------------------------------------------------------------------------------

async function register(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: 'media-bench@example.invalid',
      password: randomBytes(12).toString('hex'),
      displayName: 'Bench',
    }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function incidentsFor(base: string, token: string, count: number): Promise<string[]> {
  const categories = (await (await fetch(`${base}/api/v1/categories`)).json()) as { items: Array<{ id: string }> };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${base}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        title: `Media bench ${i}`,
        description: 'Photos and video',
        categoryId: categories.items[0]!.id,
        location: { type: 'Point', coordinates: [28.05, -26.2] },
      }),
    });
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

function multipartHead(boundary: string, filename: string): Buffer {
  return Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`,
  );
}

async function uploadBuffer(base: string, token: string, incident: string, file: Buffer): Promise<number> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([multipartHead(boundary, 'photo.jpg'), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const res = await fetch(`${base}/api/v1/incidents/${incident}/media`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Streams a file from disk as the multipart body: the client holds a chunk at a time. */
function uploadFile(base: string, token: string, incident: string, file: string, filename: string): Promise<number> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = multipartHead(boundary, filename);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + fs.statSync(file).size + tail.length;
  const url = new URL(`${base}/api/v1/incidents/${incident}/media`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(head);
    const stream = fs.createReadStream(file);
    stream.pipe(req, { end: false });
    stream.on('end', () => req.end(tail));
  });
}

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; after "pid (comm) " they are at 11 and 12
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
