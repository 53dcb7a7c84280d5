import type { Config } from '../../config.js';
import { createPoolDatabase, type Database } from './database.js';
import { startEmbeddedEngine } from './embedded.js';

/**
 * Session settings for the API's many small concurrent queries: JIT compiles for tens of ms
 * before a query that runs in one, and parallel workers compete with concurrent requests for the
 * same cores (measured: a parallel plan flip cut the box query's throughput 4×).
 */
const SESSION_SETTINGS = ['-c jit=off', '-c max_parallel_workers_per_gather=0'];

export interface DbLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Opens the configured database: server Postgres, or the embedded engine (started if needed). */
export async function openDatabase(
  config: Pick<Config, 'db' | 'dataDir'>,
  log: DbLogger,
  options: { applicationName?: string; /** tests: one schema per test file */ searchPath?: string } = {},
): Promise<Database> {
  const onPoolError = (err: Error) => log.warn({ err: { message: err.message } }, 'database connection lost');
  const common = {
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'buurtwag',
  };
  if (config.db.kind === 'postgres') {
    return createPoolDatabase({
      kind: 'postgres',
      pool: {
        ...common,
        connectionString: config.db.url,
        max: config.db.poolSize,
        options: [...SESSION_SETTINGS, ...(options.searchPath ? [`-c search_path=${options.searchPath}`] : [])].join(
          ' ',
        ),
      },
      onPoolError,
    });
  }
  const engine = await startEmbeddedEngine(config.dataDir, (err) =>
    log.error({ err: { message: (err as Error)?.message } }, 'embedded database error'),
  );
  const db = createPoolDatabase({
    kind: 'embedded',
    pool: {
      ...common,
      host: engine.socketDir,
      port: engine.port,
      user: 'postgres',
      database: 'postgres',
      max: config.db.poolSize,
    },
    onPoolError,
    // the one session's prepared statements are shared; a pool on its own schema keeps its own
    ...(options.searchPath ? { statementScope: options.searchPath.split(',')[0] } : {}),
    onClose: () => engine.stop(),
  });
  // PGlite ignores startup options; its one session is shared by every connection, so a SET
  // once applies to all of them.
  if (options.searchPath) await db.query({ text: `SET search_path TO ${options.searchPath}` });
  return db;
}
