import { writeFileSync } from 'node:fs';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { Database } from '../platform/db/database.js';
import { MemoryBus } from '../platform/bus/memory.js';
import { openStorage } from '../platform/storage/open.js';

/**
 * Writes the server's OpenAPI document (the one served at /api/v1/openapi.json) without a
 * database and without listening, so the web app's typed client can be generated from it in a
 * build step: `tsx src/cli/openapi-document.ts <file>`.
 */
export async function openApiDocument(): Promise<unknown> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: '/tmp/buurtwag-openapi',
    JWT_SECRET: 'openapi-document-only-never-signs-anything-real',
    // a fixed server URL: the document must not change with the machine that writes it
    PUBLIC_URL: 'http://localhost:3000',
  });
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const app = await buildApp({
    config,
    db: offlineDatabase(),
    storage: await openStorage(config, new Uint8Array(32)),
    bus: new MemoryBus({ log: quiet }),
    // no timer may run against the missing database
    realtimeOptions: { pollMs: 3_600_000, sweepMs: 3_600_000, userCheckMs: 3_600_000, heartbeatMs: 3_600_000 },
  });
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}

/** Answers every query with no rows: building the app reads nothing it needs for the document. */
function offlineDatabase(): Database {
  const empty = async () => ({ rows: [], rowCount: 0 }) as never;
  const db: Database = {
    kind: 'postgres',
    query: empty,
    transaction: async (fn) => fn(db as never),
    withClient: async (fn) => fn(db),
    ping: async () => undefined,
    close: async () => undefined,
    stats: () => ({ total: 0, idle: 0, waiting: 0 }),
    onCommit: () => () => undefined,
    sibling: () => db,
  };
  return db;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2];
  const text = `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
  if (target) writeFileSync(target, text);
  else process.stdout.write(text);
}
