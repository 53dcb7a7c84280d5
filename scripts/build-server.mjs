// `npm run build` (and `npm start`, the image build, the benchmarks): the server's TypeScript as
// plain JavaScript in dist/, one file per source file, so production runs `node dist/main.js`
// without a transpiler in the process. Through tsx every node carried a loader thread and the
// transpiled code (~95 MB more RSS at start) and took twice as long to load (1.6 s against 0.8 s).
// Types are checked by `npm run lint` (tsc), not here: esbuild only strips them (0.3 s).
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');

/** Every file under dir, relative to it. */
export function filesUnder(dir, prefix = '') {
  return readdirSync(dir).flatMap((name) => {
    const relative = path.join(prefix, name);
    return statSync(path.join(dir, name)).isDirectory() ? filesUnder(path.join(dir, name), relative) : [relative];
  });
}

const isTest = (file) => /\.test\.ts$/.test(file);
const isSource = (file) => file.endsWith('.ts') && !file.endsWith('.d.ts');

/** What the server reads next to its code at run time (migrations, word lists): copied as they are. */
export function assetFiles() {
  return filesUnder(SRC).filter((file) => !isSource(file) && !file.endsWith('.d.ts'));
}

/**
 * Builds into outDir (default dist/, a directory directly under the repository, like src/, so
 * paths the code computes from its own location — ../../../web/dist — hold in both). The new tree
 * is made beside the old one and swapped in, so a server started from dist never sees half a build.
 */
export async function buildServer(outDir = path.join(ROOT, 'dist')) {
  const { build } = await import('esbuild');
  const staging = `${outDir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const sources = filesUnder(SRC).filter((file) => isSource(file) && !isTest(file));
  const assets = assetFiles();
  await build({
    entryPoints: sources.map((file) => path.join(SRC, file)),
    outdir: staging,
    outbase: SRC,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  for (const file of assets) cpSync(path.join(SRC, file), path.join(staging, file));
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);
  return { outDir, modules: sources.length, assets: assets.length };
}

/** An install without devDependencies (the image) has no esbuild: it runs the dist/ it was built with. */
async function esbuildInstalled() {
  try {
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(ROOT, 'dist');
  if (!(await esbuildInstalled())) {
    if (!existsSync(path.join(outDir, 'main.js'))) {
      console.error(
        'server: not built, and esbuild is not installed: run `npm install` with dev dependencies, then `npm run build`',
      );
      process.exit(1);
    }
    console.warn('server: esbuild is not installed (npm install without --omit=dev); running the existing build');
  } else {
    const started = performance.now();
    const { modules, assets } = await buildServer(outDir);
    console.error(
      `server: ${modules} modules and ${assets} assets in ${path.relative(ROOT, outDir)}/ (${Math.round(performance.now() - started)} ms)`,
    );
  }
}
