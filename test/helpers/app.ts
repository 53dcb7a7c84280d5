import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: FastifyInstance;
  t: TestDatabase;
  config: Config;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: '/tmp/bwt-app', ...env });
}

/** The real app on this file's test database; drive it with app.inject. */
export function useTestApp(env: Record<string, string> = {}): { current: TestApp } {
  const holder = {} as { current: TestApp };
  beforeAll(async () => {
    const t = await createTestDatabase();
    const config = testConfig(env);
    const app = await buildApp({ config, db: t.db });
    await app.ready();
    holder.current = { app, t, config };
  });
  afterAll(async () => {
    if (!holder.current) return;
    await holder.current.app.close();
    await dropTestDatabase(holder.current.t);
  });
  return holder;
}

export const json = <T = any>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

/** Development acting-user headers (until accounts exist). */
export function as(userId: string, roles?: string): Record<string, string> {
  return roles ? { 'x-dev-user': userId, 'x-dev-roles': roles } : { 'x-dev-user': userId };
}

export const ADMIN = '00000000-0000-4000-8000-0000000000ad';
export const RESIDENT = '00000000-0000-4000-8000-000000000001';
export const RESIDENT_2 = '00000000-0000-4000-8000-000000000002';
