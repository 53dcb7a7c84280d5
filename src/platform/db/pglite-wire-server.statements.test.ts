import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGliteWireServer } from './pglite-wire-server.js';
import { cstring, message, startup } from '../../../test/helpers/wire-protocol.js';

/**
 * Named prepared statements through the wire server, against a real PGlite (without PostGIS:
 * the protocol is what is tested). The one session holds one set of statements for every
 * connection, so a second connection's first Parse of a known statement must not fail.
 */
let db: PGlite;
let server: PGliteWireServer;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-wire-statements-'));
  db = await PGlite.create();
  server = new PGliteWireServer({ db, path: path.join(dir, '.s.PGSQL.5432') });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  return c;
}

async function sessionStatements(name: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1',
    [name],
  );
  return rows[0]!.n;
}

// --- raw protocol, for what node-postgres never sends -------------------------------------------

const parse = (name: string, sql: string) =>
  message('P', Buffer.concat([cstring(name), cstring(sql), Buffer.from([0, 0])]));
/** Bind with no parameters and no result formats */
const bind = (statement: string) => message('B', Buffer.concat([cstring(''), cstring(statement), Buffer.alloc(6)]));
const sync = () => message('S', Buffer.alloc(0));

/** Sends a startup and then `batch`; resolves with the type letters of the answers after the startup's. */
function raw(batch: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(dir, '.s.PGSQL.5432'));
    let data = Buffer.alloc(0);
    const types: string[] = [];
    let ready = 0;
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 5 && data.length >= 1 + data.readInt32BE(1)) {
        const type = String.fromCharCode(data[0]!);
        data = data.subarray(1 + data.readInt32BE(1));
        if (ready === 1) types.push(type);
        if (type === 'Z' && ++ready === 1) socket.write(batch);
        else if (type === 'Z') {
          socket.end();
          resolve(types);
        }
      }
    });
    socket.write(startup());
  });
}

describe('PGliteWireServer: named prepared statements', () => {
  it('lets every connection use a named statement the session already holds', async () => {
    const clients = await Promise.all([client(), client(), client()]);
    const query = { name: 'wire.add', text: 'SELECT $1::int + 1 AS n' };
    for (const [i, c] of clients.entries()) {
      for (let run = 0; run < 3; run++) {
        const { rows } = await c.query({ ...query, values: [i * 10 + run] });
        expect(rows[0].n).toBe(i * 10 + run + 1);
      }
    }
    expect(await sessionStatements('wire.add')).toBe(1);
    await Promise.all(clients.map((c) => c.end()));
  });

  it('still refuses one name for two different texts', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    await a.query({ name: 'wire.clash', text: 'SELECT 1 AS n' });
    await expect(b.query({ name: 'wire.clash', text: 'SELECT 2 AS n' })).rejects.toThrow(/already exists/);
    // the first text stays the statement's, for every connection
    const c = await client();
    expect((await c.query({ name: 'wire.clash', text: 'SELECT 1 AS n' })).rows[0].n).toBe(1);
    await Promise.all([a.end(), b.end(), c.end()]);
  });

  it('answers nothing for a Parse that follows an error in its batch, as Postgres would', async () => {
    const a = await client();
    await a.query({ name: 'wire.known', text: 'SELECT 7 AS n' });
    await a.end();
    // Bind to a statement that does not exist fails; the server skips the rest up to Sync
    const answered = await raw(Buffer.concat([bind('wire.missing'), parse('wire.known', 'SELECT 7 AS n'), sync()]));
    expect(answered).toEqual(['E', 'Z']);
    // and without the error the known statement's Parse is answered
    expect(await raw(Buffer.concat([parse('wire.known', 'SELECT 7 AS n'), sync()]))).toEqual(['1', 'Z']);
  });

  it('forgets statements a client closes, so the next Parse prepares them again', async () => {
    const a = await client();
    await a.query({ name: 'wire.closed', text: 'SELECT 3 AS n' });
    const close = message('C', Buffer.concat([Buffer.from('S'), cstring('wire.closed')]));
    expect(await raw(Buffer.concat([close, sync()]))).toEqual(['3', 'Z']);
    expect(await sessionStatements('wire.closed')).toBe(0);
    const b = await client();
    expect((await b.query({ name: 'wire.closed', text: 'SELECT 3 AS n' })).rows[0].n).toBe(3);
    expect(await sessionStatements('wire.closed')).toBe(1);

    await a.query('DEALLOCATE ALL');
    const c = await client();
    expect((await c.query({ name: 'wire.closed', text: 'SELECT 3 AS n' })).rows[0].n).toBe(3);
    await Promise.all([a.end(), b.end(), c.end()]);
  });

  it('keeps what a DEALLOCATE of another statement, or a query naming the word, leaves in the session', async () => {
    const a = await client();
    await a.query({ name: 'wire.kept', text: 'SELECT 5 AS n' });
    await a.query({ name: 'wire.dropped', text: 'SELECT 6 AS n' });
    await a.query('DEALLOCATE "wire.dropped"');
    await a.query("SELECT 'discard nothing' AS words");
    const b = await client();
    // known to the session: answered here; deallocated: prepared again
    expect((await b.query({ name: 'wire.kept', text: 'SELECT 5 AS n' })).rows[0].n).toBe(5);
    expect((await b.query({ name: 'wire.dropped', text: 'SELECT 6 AS n' })).rows[0].n).toBe(6);
    await Promise.all([a.end(), b.end()]);
  });

  it('prepares a statement again when a schema change altered what it returns, for every connection', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    await a.query('CREATE TABLE wire_stale (id int, n int)');
    await a.query('INSERT INTO wire_stale VALUES (1, 42)');
    const read = { name: 'wire.stale', text: 'SELECT n FROM wire_stale WHERE id = $1', values: [1] };
    expect((await a.query(read)).rows[0].n).toBe(42);
    expect((await b.query(read)).rows[0].n).toBe(42);
    await a.query('ALTER TABLE wire_stale ALTER COLUMN n TYPE text');
    // the one that meets it fails as Postgres fails it ...
    await expect(a.query(read)).rejects.toThrow(/cached plan must not change result type/);
    // ... and then both connections, which hold the name as prepared, read the new type
    expect((await b.query(read)).rows[0].n).toBe('42');
    expect((await a.query(read)).rows[0].n).toBe('42');
    expect(await sessionStatements('wire.stale')).toBe(1);
    await a.query('DROP TABLE wire_stale');
    await Promise.all([a.end(), b.end()]);
  });
});
