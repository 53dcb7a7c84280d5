import pg from 'pg';
import type { TestProject } from 'vitest/node';

/**
 * A fresh PostgreSQL database for each run of the postgres project, dropped at the end.
 * TEST_POSTGRES_URL points at the server (default: the local one, trust auth). A server that is
 * not there fails the run: a skipped backend would hide exactly the bugs this suite is for.
 */
const serverUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = `bw_test_${Date.now().toString(36)}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`The postgres test backend needs PostgreSQL at ${serverUrl}: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const testUrl = url.toString();
  const client = new pg.Client({ connectionString: testUrl });
  await client.connect();
  try {
    // extensions live in public, shared by the per-file schemas
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await client.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
  } catch (err) {
    throw new Error(
      `PostGIS is missing on the test server (apt-get install -y postgresql-15-postgis-3): ${(err as Error).message}`,
    );
  } finally {
    await client.end();
  }
  project.provide('postgresUrl', testUrl);

  return async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
