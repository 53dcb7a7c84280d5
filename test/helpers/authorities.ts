import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app.js';
import { authorityRoutes } from '../../src/modules/authorities/authorities.routes.js';
import { bindTestApp, FAST_REALTIME, testBus, testConfig, testStorage, type TestApp } from './app.js';
import { createTestDatabase, dropTestDatabase } from './database.js';

/**
 * useTestApp with the authority routes registered under /api/v1 (until src/app.ts registers them
 * itself; then this can become useTestApp()).
 */
export function useAuthorityTestApp(): { current: TestApp } {
  const holder = {} as { current: TestApp };
  beforeAll(async () => {
    const t = await createTestDatabase();
    const config = testConfig();
    const storage = await testStorage(config);
    const busPrefix = `test:${randomBytes(6).toString('hex')}:`;
    const bus = testBus(config, busPrefix);
    const app = await buildApp({ config, db: t.db, storage, bus, realtimeOptions: FAST_REALTIME });
    if (!app.hasRoute({ method: 'GET', url: '/api/v1/authorities' })) {
      await app.register(authorityRoutes, { prefix: '/api/v1', db: t.db });
    }
    await app.ready();
    holder.current = { app, t, config, storage, bus, busPrefix };
    bindTestApp(holder.current);
  });
  afterAll(async () => {
    if (!holder.current) return;
    await holder.current.app.close();
    await holder.current.bus.close();
    holder.current.storage.close();
    await dropTestDatabase(holder.current.t);
  });
  return holder;
}
