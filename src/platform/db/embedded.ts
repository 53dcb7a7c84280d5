import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { postgis } from '@electric-sql/pglite-postgis';
import { JOBS_APPLICATION_NAME } from './database.js';
import { PGliteWireServer } from './pglite-wire-server.js';

/**
 * The embedded database: PGlite with PostGIS in DATA_DIR/pgdata, served on the unix socket
 * DATA_DIR/.s.PGSQL.5432 so that every part of the app connects with node-postgres.
 *
 * Only one process may open the data directory. The first one to start (usually `serve`) owns
 * it and serves the socket; a CLI command started while it runs connects to that socket instead.
 */
export interface EmbeddedEngine {
  /** directory to give node-postgres as `host` (it appends /.s.PGSQL.<port>) */
  socketDir: string;
  port: number;
  /** true when this process opened PGlite itself (false: another process serves it) */
  owner: boolean;
  stop(): Promise<void>;
}

const SOCKET_PORT = 5432;
// sun_path holds 108 bytes on Linux
const MAX_SOCKET_PATH = 100;

export async function startEmbeddedEngine(
  dataDir: string,
  onError: (err: unknown) => void,
  options: { /** tests: keep the database in memory, only the socket in dataDir */ inMemory?: boolean } = {},
): Promise<EmbeddedEngine> {
  fs.mkdirSync(dataDir, { recursive: true });
  const socketPath = path.join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`DATA_DIR is too long for the embedded database socket (${socketPath}); choose a shorter path`);
  }
  const lockPath = path.join(dataDir, 'embedded.lock');
  const client = { socketDir: dataDir, port: SOCKET_PORT, owner: false, stop: async () => undefined };

  for (let attempt = 0; attempt < 300; attempt++) {
    if (await canConnect(socketPath)) return client;
    if (takeLock(lockPath)) break;
    // Another live process holds the lock and is still opening the database: wait for its socket.
    await sleep(100);
    if (attempt === 299)
      throw new Error(`The embedded database in ${dataDir} is held by another process that does not answer`);
  }

  try {
    fs.rmSync(socketPath, { force: true }); // stale, from a process that died
    const db = await PGlite.create({
      ...(options.inMemory ? {} : { dataDir: path.join(dataDir, 'pgdata') }),
      extensions: { postgis, pg_trgm, btree_gist },
    });
    const server = new PGliteWireServer({
      db,
      path: socketPath,
      onError,
      backgroundApplications: [JOBS_APPLICATION_NAME],
    });
    await server.start();
    return {
      socketDir: dataDir,
      port: SOCKET_PORT,
      owner: true,
      async stop() {
        await server.stop();
        if (!options.inMemory) {
          await carryTableActivity(db).catch((err: unknown) =>
            onError(new Error(`could not save the table statistics: ${(err as Error)?.message}`)),
          );
        }
        await db.close();
        fs.rmSync(socketPath, { force: true });
        fs.rmSync(lockPath, { force: true });
      },
    };
  } catch (err) {
    fs.rmSync(lockPath, { force: true });
    throw err;
  }
}

/**
 * PGlite writes no statistics file when it closes, so the next start counts every table's dead
 * and changed rows from zero. Before it closes, the counts go into carried_table_activity (added
 * to what an earlier stop saved there), where the vacuum job reads them (migration 0029). Only
 * where the migration has made the table; rows of tables that are gone are dropped.
 */
async function carryTableActivity(db: PGlite): Promise<void> {
  const { rows } = await db.query<{ present: boolean }>(
    `SELECT to_regclass('carried_table_activity') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return;
  // the session's last counts reach pg_stat_user_tables when it next goes idle
  await db.query('SELECT pg_stat_force_next_flush()');
  await db.query('SELECT 1');
  await db.exec(`
    DELETE FROM carried_table_activity
    WHERE to_regclass(format('%I.%I', schema_name, table_name)) IS NULL;
    INSERT INTO carried_table_activity AS k (schema_name, table_name, dead, modified_since_analyze)
    SELECT schemaname, relname, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables
    WHERE n_dead_tup > 0 OR n_mod_since_analyze > 0
    ON CONFLICT (schema_name, table_name) DO UPDATE
      SET dead = k.dead + excluded.dead,
          modified_since_analyze = k.modified_since_analyze + excluded.modified_since_analyze;
  `);
}

function takeLock(lockPath: string): boolean {
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(fs.readFileSync(lockPath, 'utf8'));
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) return false;
  // The holder died without cleaning up: take over.
  fs.rmSync(lockPath, { force: true });
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  if (!fs.existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
