/**
 * What compressing an answer costs and saves, for the settings src/platform/http/compression.ts
 * could use: real answers from a running server (a W4 page of 200 incidents, a W2 page of 50,
 * the OpenAPI document), each coding and level timed over many rounds on one core.
 *
 *   npx tsx bench/compression.ts --url http://127.0.0.1:3000 [--rounds 200]
 */
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { BROTLI_QUALITY, GZIP_LEVEL } from '../src/platform/http/compression.js';

const { values: args } = parseArgs({
  options: { url: { type: 'string', default: 'http://127.0.0.1:3000' }, rounds: { type: 'string', default: '200' } },
});
const base = args.url.replace(/\/+$/, '');
const rounds = Number(args.rounds);

const answers: Array<[string, string]> = [
  ['W4 page (bbox, 200)', '/api/v1/incidents?bbox=28.0,-26.2,28.02,-26.18&limit=200'],
  ['W2 page (near, 50)', '/api/v1/incidents?near=28.01,-26.19&radius=1000&status=reported,acknowledged&limit=50'],
  ['OpenAPI document', '/api/v1/openapi.json'],
];

const settings: Array<[string, (b: Buffer) => Buffer]> = [
  ...[1, 4, 6, 9].map((level): [string, (b: Buffer) => Buffer] => [
    `gzip ${level}`,
    (b) => zlib.gzipSync(b, { level }),
  ]),
  ...[0, 1, 2, 4, 5, 11].map((quality): [string, (b: Buffer) => Buffer] => [
    `br ${quality}`,
    (b) =>
      zlib.brotliCompressSync(b, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length,
        },
      }),
  ]),
];

process.stdout.write(`# in use: br ${BROTLI_QUALITY}, gzip ${GZIP_LEVEL}; ${rounds} rounds each\n`);
for (const [label, path] of answers) {
  const response = await fetch(base + path, { headers: { 'accept-encoding': 'identity' } });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  process.stdout.write(`\n${label}: ${(bytes.length / 1024).toFixed(1)} KB\n`);
  process.stdout.write(`${'coding'.padEnd(8)} ${'KB'.padStart(7)} ${'of it'.padStart(6)} ${'ms'.padStart(7)}\n`);
  for (const [name, compress] of settings) {
    // the slowest settings get fewer rounds: the figure is a mean either way
    const n = name === 'br 11' || name === 'gzip 9' ? Math.max(5, rounds / 20) : rounds;
    for (let i = 0; i < 5; i++) compress(bytes);
    const start = process.hrtime.bigint();
    let out: Buffer = Buffer.alloc(0);
    for (let i = 0; i < n; i++) out = compress(bytes);
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / n;
    process.stdout.write(
      `${name.padEnd(8)} ${(out.length / 1024).toFixed(1).padStart(7)} ${`${((100 * out.length) / bytes.length).toFixed(0)} %`.padStart(6)} ${ms.toFixed(3).padStart(7)}\n`,
    );
  }
}
