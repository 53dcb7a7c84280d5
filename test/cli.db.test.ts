import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, childDatabaseUrl, useTestDatabase } from './helpers/database.js';
import { killStrays, runCli, startServe, stop } from './helpers/cli.js';
import { TestSocket } from './helpers/ws.js';

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
  const url = await childDatabaseUrl(t.current, 'cli');
  if (url) env.DATABASE_URL = url;
});

afterAll(() => {
  killStrays();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('command line', () => {
  it('migrates a new database, then finds nothing left to do', { timeout: 120_000 }, async () => {
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

        // an account made on the command line while serve runs, then used over HTTP
        const made = await runCli(
          [
            'users',
            'create',
            '--email',
            'Thandi@Example.org',
            '--password',
            'a long and rare passphrase',
            '--name',
            'Thandi',
            '--role',
            'admin',
          ],
          env,
        );
        expect(made.code, made.stderr).toBe(0);
        const { id } = JSON.parse(made.stdout) as { id: string };
        const login = await fetch(`${base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'thandi@example.org', password: 'a long and rare passphrase' }),
        });
        expect(login.status).toBe(200);
        const session = (await login.json()) as {
          accessToken: string;
          user: { id: string; roles: Array<{ role: string }> };
        };
        expect(session.user.id).toBe(id);
        expect(session.user.roles.map((r) => r.role)).toEqual(['resident', 'admin']);
        const created = await fetch(`${base}/api/v1/incidents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
          body: JSON.stringify({
            title: 'Made through the CLI test',
            description: '',
            categoryId: categories.items[0]!.id,
            location: { type: 'Point', coordinates: [28, -26] },
          }),
        });
        expect(created.status).toBe(201);

        // SIGTERM with a live socket: readiness turns 503, the socket hears 1001, the process exits 0
        const socket = await TestSocket.open(`ws://127.0.0.1:${server.port}/api/v1/ws`);
        await socket.request({ type: 'subscribe', channel: 'me' }, (m) => m.type === 'error');
        const stopping = Date.now();
        const exit = stop(server.child);
        expect(await socket.closed).toBe(1001);
        expect(await exit).toBe(0);
        expect(Date.now() - stopping).toBeLessThan(25_000);
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

  it('explains bad configuration, all of it, and exits non-zero', { timeout: 60_000 }, async () => {
    const res = await runCli(['migrate'], { ...env, PORT: 'x', LOG_LEVEL: 'chatty', DATABASE_URL: 'mysql://nope' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Invalid configuration');
    expect(res.stderr).toContain('PORT');
    expect(res.stderr).toContain('LOG_LEVEL');
    expect(res.stderr).toContain('DATABASE_URL');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('manages users: create, grant, revoke, with clear refusals', { timeout: 180_000 }, async () => {
    // with serve running, embedded commands reach its database through the socket (fast)
    const server = await startServe(env);
    const cli = (...args: string[]) => runCli(['users', ...args], env);
    const made = await cli(
      'create',
      '--email',
      'sipho@example.org',
      '--password',
      'another rare passphrase',
      '--name',
      'Sipho',
    );
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).id).toMatch(/^[0-9a-f-]{36}$/);
    const again = await cli(
      'create',
      '--email',
      'SIPHO@example.org',
      '--password',
      'another rare passphrase',
      '--name',
      'S',
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');
    const weak = await cli('create', '--email', 'weak@example.org', '--password', 'password123', '--name', 'Weak');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('common');
    const grant = await cli('grant', '--email', 'sipho@example.org', '--role', 'admin');
    expect(grant.code, grant.stderr).toBe(0);
    expect(JSON.parse(grant.stdout).changed).toBe(true);
    const revoke = await cli('revoke', '--email', 'sipho@example.org', '--role', 'admin');
    expect(JSON.parse(revoke.stdout).changed).toBe(true);
    const noCommunity = await cli('grant', '--email', 'sipho@example.org', '--role', 'moderator');
    expect(noCommunity.code).toBe(1);
    expect(noCommunity.stderr).toContain('--community');
    const unknown = await cli('grant', '--email', 'nobody@example.org', '--role', 'admin');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user');
    const ban = await cli('ban', '--email', 'sipho@example.org', '--reason', 'abuse');
    expect(ban.code, ban.stderr).toBe(0);
    expect(JSON.parse(ban.stdout)).toMatchObject({ hiddenReports: 0 });
    const list = await runCli(['bans', 'add', '--domain', 'spam.example', '--reason', 'spam'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).changed).toBe(true);
    const both = await runCli(['bans', 'add', '--domain', 'a.example', '--email', 'b@c.example'], env);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('either --email or --domain');
    // every one of those changes is on the audit trail, whose chain checks out
    const verify = await runCli(['audit', 'verify'], env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('the chain is intact');
    expect(await stop(server.child)).toBe(0);
  });

  it('refuses unknown commands and bad arguments clearly', { timeout: 60_000 }, async () => {
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    const badSeed = await runCli(['seed', '--incidents', 'many'], env);
    expect(badSeed.code).toBe(1);
    expect(badSeed.stderr).toContain('--incidents');
  });

  it('media gc removes stored files no row points at, after the grace period', { timeout: 120_000 }, async () => {
    // an upload that died after storing its files: media/<id>/… on disk, no media row
    const orphan = path.join(dataDir, 'media', randomUUID());
    fs.mkdirSync(orphan, { recursive: true });
    fs.writeFileSync(path.join(orphan, 'display.webp'), 'orphan');
    fs.writeFileSync(path.join(orphan, 'thumb.webp'), 'orphan');

    const young = await runCli(['media', 'gc'], env);
    expect(young.code, young.stderr).toBe(0);
    expect(JSON.parse(young.stdout)).toMatchObject({ removedObjects: 0 });
    expect(fs.existsSync(orphan)).toBe(true);

    const now = await runCli(['media', 'gc', '--grace-minutes', '0'], env);
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toMatchObject({ removedObjects: 2, removedMedia: 1 });
    expect(fs.existsSync(orphan)).toBe(false);

    const bad = await runCli(['media', 'gc', '--grace-minutes', 'soon'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--grace-minutes');
  });

  it(
    'open311 keys: a new key is printed once, listed without its secret, and revoked',
    { timeout: 120_000 },
    async () => {
      const made = await runCli(['open311', 'keys', 'create', '--name', 'Ward 58 app'], env);
      expect(made.code, made.stderr).toBe(0);
      const key = JSON.parse(made.stdout) as { id: string; name: string; key: string };
      expect(key).toMatchObject({ name: 'Ward 58 app', key: expect.stringMatching(/^bw311_/) });
      const list = await runCli(['open311', 'keys', 'list'], env);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(key.id);
      expect(list.stdout).not.toContain(key.key);
      const revoked = await runCli(['open311', 'keys', 'revoke', '--id', key.id], env);
      expect(revoked.code, revoked.stderr).toBe(0);
      const missing = await runCli(['open311', 'keys', 'create'], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('--name');
    },
  );
});
