import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, useTestDatabase } from './helpers/database.js';
import { killStrays, runCli, startServe, stop } from './helpers/cli.js';

/**
 * The command line as people run it: real processes, real configuration from the environment.
 * Embedded: a fresh DATA_DIR, with commands run both while `serve` holds the database (they go
 * through its socket) and while it does not. Postgres: a schema of its own in the test database.
 */
const t = useTestDatabase();
let env: Record<string, string>;
let dataDir: string;

beforeAll(async () => {
  dataDir = `/tmp/bwc-${randomBytes(4).toString('hex')}`;
  env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: dataDir, RATE_LIMITS: 'off' };
  if (backend() === 'postgres' && t.current.config.db.kind === 'postgres') {
    const schema = `${t.current.schema}_cli`;
    await t.current.db.query({ text: `CREATE SCHEMA ${schema}` });
    const url = new URL(t.current.config.db.url);
    url.searchParams.set('options', `-c search_path=${schema},public`);
    env.DATABASE_URL = url.toString();
  }
});

afterAll(() => {
  killStrays();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('command line', () => {
  it('migrates a new database, then finds nothing left to do', async () => {
    const first = await runCli(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied 1_core/);
    expect(first.stdout).toMatch(/migration\(s\) applied/);
    const second = await runCli(['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('database is up to date');
  });

  it(
    'serves, lets commands reach the same database while it runs, and stops cleanly on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const server = await startServe(env);
      try {
        const base = `http://127.0.0.1:${server.port}`;
        const ready = await fetch(`${base}/readyz`);
        expect(ready.status).toBe(200);
        const categories = (await (await fetch(`${base}/api/v1/categories?lang=af`)).json()) as {
          items: Array<{ id: string; name: string }>;
        };
        expect(categories.items.map((c) => c.name)).toContain('Waterlekkasie');

        // a command while serve runs: in embedded mode it must go through serve's socket
        const migrate = await runCli(['migrate'], env);
        expect(migrate.code, migrate.stderr).toBe(0);
        expect(migrate.stdout).toContain('database is up to date');

        const created = await fetch(`${base}/api/v1/incidents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-dev-user': '00000000-0000-4000-8000-0000000000c1' },
          body: JSON.stringify({
            title: 'Made through the CLI test',
            description: '',
            categoryId: categories.items[0]!.id,
            location: { type: 'Point', coordinates: [28, -26] },
          }),
        });
        expect(created.status).toBe(201);
      } finally {
        expect(await stop(server.child)).toBe(0);
      }
      if (backend() === 'embedded') {
        expect(fs.existsSync(`${dataDir}/.s.PGSQL.5432`)).toBe(false);
        expect(fs.existsSync(`${dataDir}/embedded.lock`)).toBe(false);
      }
      // and again without serve: the command opens the database itself, and the data is there
      const again = await runCli(['migrate'], env);
      expect(again.code, again.stderr).toBe(0);
    },
  );

  it('explains bad configuration, all of it, and exits non-zero', async () => {
    const res = await runCli(['migrate'], { ...env, PORT: 'x', LOG_LEVEL: 'chatty', DATABASE_URL: 'mysql://nope' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Invalid configuration');
    expect(res.stderr).toContain('PORT');
    expect(res.stderr).toContain('LOG_LEVEL');
    expect(res.stderr).toContain('DATABASE_URL');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses unknown commands and bad arguments clearly', async () => {
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    const badSeed = await runCli(['seed', '--incidents', 'many'], env);
    expect(badSeed.code).toBe(1);
    expect(badSeed.stderr).toContain('--incidents');
  });
});
