import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { loadJwtSecret } from '../../src/platform/secrets.js';
import { openStorage } from '../../src/platform/storage/open.js';
import type { BlobStorage } from '../../src/platform/storage/storage.js';
import { randomBytes } from 'node:crypto';
import { MemoryBus } from '../../src/platform/bus/memory.js';
import { RedisBus } from '../../src/platform/bus/redis.js';
import type { Bus } from '../../src/platform/bus/bus.js';
import type { RealtimeOptions } from '../../src/modules/realtime/realtime.js';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: FastifyInstance;
  t: TestDatabase;
  config: Config;
  storage: BlobStorage;
  bus: Bus;
  /** a second node joins the first one's bus with this */
  busPrefix: string;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Realtime timers short enough for tests to wait on (bans stop events within 300 ms, …). */
export const FAST_REALTIME: Partial<RealtimeOptions> = {
  userCheckMs: 300,
  pollMs: 200,
  sweepMs: 200,
  heartbeatMs: 1_000,
  maxMissed: 20,
};

/**
 * A bus for a test node: in-process, or Redis when the config has REDIS_URL, on channels of this
 * test's own (`prefix`), so test files running at once never hear each other's events. Nodes
 * of one test share a prefix.
 */
export function testBus(config: Config, prefix = `test:${randomBytes(6).toString('hex')}:`): Bus {
  return config.redis ? new RedisBus(config.redis.url, { log: quiet, prefix }) : new MemoryBus({ log: quiet });
}

export function testConfig(env: Record<string, string> = {}): Config {
  // rate limits off: tests make many requests from one address (the limits have their own tests)
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: '/tmp/bwt-app', RATE_LIMITS: 'off', ...env });
}

/** The media store the config asks for (DATA_DIR/media, or S3), signing as the app does. */
export function testStorage(config: Config): Promise<BlobStorage> {
  return openStorage(config, loadJwtSecret(config));
}

/**
 * The real app on this file's test database; drive it with app.inject. `env` may be a function
 * when it depends on something started in an earlier beforeAll (an S3 server's port).
 */
export function useTestApp(
  env: Record<string, string> | (() => Record<string, string>) = {},
  options: { logStream?: NodeJS.WritableStream; renderPublicCopies?: boolean } = {},
): { current: TestApp } {
  const holder = {} as { current: TestApp };
  beforeAll(async () => {
    const t = await createTestDatabase();
    const config = testConfig(typeof env === 'function' ? env() : env);
    const storage = await testStorage(config);
    const busPrefix = `test:${randomBytes(6).toString('hex')}:`;
    const bus = testBus(config, busPrefix);
    const app = await buildApp({
      config,
      db: t.db,
      storage,
      bus,
      realtimeOptions: FAST_REALTIME,
      ...(options.logStream ? { logStream: options.logStream } : {}),
      ...(options.renderPublicCopies === false ? { renderPublicCopies: false } : {}),
    });
    await app.ready();
    holder.current = { app, t, config, storage, bus, busPrefix };
    current = holder.current;
  });
  afterAll(async () => {
    if (!holder.current) return;
    // Under CI load an embedded teardown has stalled now and then (2 of 9 clean runs on
    // 2026-11-26, cause not found yet): say so loudly, but do not let it fail the file.
    await settle(holder.current.app.close(), 'app.close()');
    await settle(holder.current.bus.close(), 'bus.close()');
    holder.current.storage.close();
    await settle(dropTestDatabase(holder.current.t), 'dropping the test schema');
  });
  return holder;
}

const TEARDOWN_WAIT_MS = 20_000;

async function settle(step: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.warn(`test teardown: ${what} did not finish within ${TEARDOWN_WAIT_MS / 1000} s`);
      resolve();
    }, TEARDOWN_WAIT_MS);
  });
  await Promise.race([step, late]);
  clearTimeout(timer);
}

export const json = <T = any>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

let current: Pick<TestApp, 'app' | 't'> | null = null;

/** For files that build their own app: lets as() sign in against it. */
export function bindTestApp(testApp: Pick<TestApp, 'app' | 't'>): void {
  current = testApp;
}

/**
 * Headers that sign in as `userId` with exactly `roles` ('admin', 'moderator:<communityId>',
 * 'responder:<communityId>', comma-separated): the user and roles are written to the database
 * and a real access token is made with the app's signing key, so every request goes through
 * the same authentication as production.
 */
export async function as(userId: string, roles?: string): Promise<Record<string, string>> {
  if (!current) throw new Error('as() needs useTestApp() in this file');
  const { app, t } = current;
  const db = t.db;
  await db.query({
    text: `INSERT INTO users (id, email, display_name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
    values: [userId, `${userId}@test.invalid`, `Test user ${userId.slice(-4)}`],
  });
  // one transaction: whoever reads the roles meanwhile (a socket's re-check) sees the old set or
  // the new one, never none
  await db.transaction(async (tx) => {
    await tx.query({ text: 'DELETE FROM user_roles WHERE user_id = $1', values: [userId] });
    for (const grant of (roles ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean)) {
      const [role, communityId] = grant.split(':');
      if (communityId) {
        // a community that exists only for this grant, far from any test data
        await tx.query({
          text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
                 VALUES ($1::uuid, 'test-' || $1::text, 'Test community', ST_Multi(ST_MakeEnvelope(170, 80, 170.001, 80.001, 4326)), 1)
                 ON CONFLICT (id) DO NOTHING`,
          values: [communityId],
        });
      }
      await tx.query({
        text: 'INSERT INTO user_roles (user_id, role, community_id) VALUES ($1, $2, $3)',
        values: [userId, role, communityId ?? null],
      });
    }
  });
  const { rows } = await db.query<{ token_epoch: number }>({
    text: 'SELECT token_epoch FROM users WHERE id = $1',
    values: [userId],
  });
  app.identity.userState.forget(userId);
  const { token } = await app.identity.tokens.issue(userId, rows[0]!.token_epoch);
  return { authorization: `Bearer ${token}` };
}

export const ADMIN = '00000000-0000-4000-8000-0000000000ad';
export const RESIDENT = '00000000-0000-4000-8000-000000000001';
export const RESIDENT_2 = '00000000-0000-4000-8000-000000000002';
