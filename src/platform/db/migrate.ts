import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, Queryable } from './database.js';

/**
 * Numbered SQL migrations (migrations/NNNN_name.sql), each applied once in its own transaction
 * and recorded in schema_migrations. A session advisory lock makes nodes that start together
 * take turns: the first applies, the others find nothing left to do.
 */
export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

// an arbitrary constant shared by every node: "buurtwag migrations"
const LOCK_KEY = 4_207_311_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: fs.readFileSync(path.join(dir, file), 'utf8'),
    }));
}

export async function migrate(
  db: Database,
  options: { migrations?: Migration[]; onApply?: (m: Migration) => void } = {},
): Promise<Migration[]> {
  const migrations = options.migrations ?? readMigrations();
  return db.withClient(async (client) => {
    await client.query({ text: 'SELECT pg_advisory_lock($1)', values: [LOCK_KEY] });
    try {
      await client.query({
        text: `CREATE TABLE IF NOT EXISTS schema_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())`,
      });
      const done = await appliedVersions(client);
      const applied: Migration[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await client.query({ text: 'BEGIN' });
        try {
          // Checked again inside the transaction: on PGlite every connection shares one session,
          // where the advisory lock is re-entrant, but a transaction there runs alone.
          const again = await client.query({
            text: 'SELECT 1 FROM schema_migrations WHERE version = $1',
            values: [migration.version],
          });
          if (again.rows.length > 0) {
            await client.query({ text: 'ROLLBACK' });
            continue;
          }
          await client.query({ text: migration.sql });
          await client.query({
            text: 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)',
            values: [migration.version, migration.name],
          });
          await client.query({ text: 'COMMIT' });
        } catch (err) {
          await client.query({ text: 'ROLLBACK' });
          throw new Error(`migration ${migration.version}_${migration.name} failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        applied.push(migration);
        options.onApply?.(migration);
      }
      return applied;
    } finally {
      await client.query({ text: 'SELECT pg_advisory_unlock($1)', values: [LOCK_KEY] });
    }
  });
}

async function appliedVersions(client: Queryable): Promise<Set<number>> {
  const { rows } = await client.query<{ version: number }>({ text: 'SELECT version FROM schema_migrations' });
  return new Set(rows.map((r) => r.version));
}
