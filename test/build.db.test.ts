import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetFiles, buildServer, filesUnder, ROOT } from '../scripts/build-server.mjs';
import { killStrays, startServe, stop } from './helpers/cli.js';
import { childDatabaseUrl, useTestDatabase } from './helpers/database.js';

/**
 * The production build (`npm run build`): what `npm start` and the image run, as plain
 * JavaScript without tsx. Built into a directory of its own beside dist/ (the same depth, so the
 * paths the code computes from its own location hold), then started as a real process on this
 * backend: the migrations and the password list must have come along with the code.
 */
const t = useTestDatabase();
const outDir = path.join(ROOT, `dist-test-${process.pid}`);
const dataDir = `/tmp/bwb-${randomBytes(4).toString('hex')}`;
const env: Record<string, string> = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: dataDir, RATE_LIMITS: 'off' };

beforeAll(async () => {
  await buildServer(outDir);
  const url = await childDatabaseUrl(t.current, 'build');
  if (url) env.DATABASE_URL = url;
});

afterAll(() => {
  killStrays();
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the production build', () => {
  it('holds one module for every source file, every asset, and no tests', () => {
    const built = new Set(filesUnder(outDir));
    const sources = filesUnder(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts'));
    const modules = sources.filter((f) => !f.endsWith('.test.ts')).map((f) => f.replace(/\.ts$/, '.js'));
    expect(modules.length).toBeGreaterThan(100);
    for (const module of modules) expect(built.has(module), module).toBe(true);
    expect([...built].filter((f) => /\.test\.js$/.test(f))).toEqual([]);
    const assets = assetFiles();
    expect(assets).toContain(path.join('platform', 'db', 'migrations', '0001_core.sql'));
    for (const asset of assets) {
      expect(fs.readFileSync(path.join(outDir, asset))).toEqual(fs.readFileSync(path.join(ROOT, 'src', asset)));
    }
  });

  it(
    'serves without tsx: migrates, seeds the default data, checks passwords, stops on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const server = await startServe(env, 120_000, path.join(outDir, 'main.js'));
      try {
        const base = `http://127.0.0.1:${server.port}`;
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        const categories = (await (await fetch(`${base}/api/v1/categories?lang=af`)).json()) as {
          items: Array<{ name: string }>;
        };
        expect(categories.items).toHaveLength(12);
        expect(categories.items.map((c) => c.name)).toContain('Waterlekkasie');
        // the common-password list is read from beside the module that checks it
        const weak = await fetch(`${base}/api/v1/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'build@example.org', password: 'qwertyuiop', displayName: 'Build' }),
        });
        expect(weak.status).toBe(400);
        expect(JSON.stringify(await weak.json())).toContain('one of the most common passwords');
      } finally {
        expect(await stop(server.child)).toBe(0);
      }
    },
  );
});
