import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Writes dist/sw.js from src/sw/sw.js with the build's file list (what to keep for offline use)
 * and a version that changes with them, so a new build replaces the old service worker.
 */
function serviceWorker(): Plugin {
  return {
    name: 'buurtwag-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map'))
        .map((f) => `/${f}`)
        .sort();
      const version = files.join('|');
      let hash = 0;
      for (let i = 0; i < version.length; i++) hash = (Math.imul(hash, 31) + version.charCodeAt(i)) | 0;
      const source = readFileSync(path.join(here, 'src/sw/sw.js'), 'utf8')
        .replace('self.__PRECACHE__', JSON.stringify(['/', '/manifest.webmanifest', ...files]))
        .replace('self.__VERSION__', JSON.stringify((hash >>> 0).toString(36)));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

/**
 * Brotli and gzip copies of every text asset, served as they are (@fastify/static preCompressed):
 * a cheap phone on a slow line downloads a quarter of the bytes, and nothing compresses per request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'buurtwag-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    writeBundle(_options, bundle) {
      const rows: string[] = [];
      for (const file of Object.keys(bundle)) {
        if (!/\.(js|css|svg|webmanifest|json)$/.test(file)) continue;
        const full = path.join(outDir, file);
        const raw = readFileSync(full);
        const gz = gzipSync(raw, { level: 9 });
        writeFileSync(`${full}.gz`, gz);
        writeFileSync(
          `${full}.br`,
          brotliCompressSync(raw, {
            params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length },
          }),
        );
        rows.push(`${file}\t${raw.length}\t${gz.length}`);
      }
      writeFileSync(path.join(outDir, 'sizes.tsv'), `file\tbytes\tgzip\n${rows.sort().join('\n')}\n`);
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react(), serviceWorker(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // the app is served precompressed: the build prints gzip sizes itself (scripts/sizes.mjs)
    reportCompressedSize: false,
    chunkSizeWarningLimit: 260,
  },
  server: {
    port: 5173,
    proxy: {
      '/api/v1/ws': { target: 'ws://127.0.0.1:3000', ws: true },
      '/api': 'http://127.0.0.1:3000',
      '/files': 'http://127.0.0.1:3000',
    },
  },
});
