import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { PGliteWireServer, startupParameters } from './pglite-wire-server.js';
import { query, startup } from '../../../test/helpers/wire-protocol.js';

/**
 * The session guard of the wire server, against a stand-in for PGlite: a BEGIN leaves the
 * session "in a transaction" until a COMMIT or ROLLBACK. A client that goes quiet there is cut after the
 * timeout, its transaction rolled back, and the next client gets the session.
 */
function fakePglite() {
  const log: string[] = [];
  let inTransaction = false;
  const db = {
    async execProtocolRawStream(message: Uint8Array) {
      log.push(`batch ${String.fromCharCode(message[0]!)}`);
      const text = Buffer.from(message).toString('utf8', 5, message.length - 1);
      if (message[0] === 'Q'.charCodeAt(0)) log.push(`query ${text}`);
      if (text === 'BEGIN') inTransaction = true;
      if (text === 'COMMIT') inTransaction = false;
    },
    isInTransaction: () => inTransaction,
    async exec(sql: string) {
      log.push(sql);
      inTransaction = false;
    },
  };
  return { db: db as unknown as PGlite, log };
}

let server: PGliteWireServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

describe('PGliteWireServer', () => {
  it('cuts a client idle inside a transaction, rolls it back, and lets the others go on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-wire-'));
    const socketPath = path.join(dir, '.s.PGSQL.5432');
    const { db, log } = fakePglite();
    const errors: unknown[] = [];
    server = new PGliteWireServer({ db, path: socketPath, idleInTransactionMs: 200, onError: (e) => errors.push(e) });
    await server.start();

    const stuck = net.connect(socketPath);
    const stuckClosed = new Promise((resolve) => stuck.on('close', resolve));
    stuck.write(Buffer.concat([startup(), query('BEGIN')]));
    await new Promise((r) => setTimeout(r, 50));

    // a second client waits for the session, then gets it once the stuck one is cut
    const other = net.connect(socketPath);
    other.write(Buffer.concat([startup(), query('SELECT 1')]));
    const started = Date.now();
    await stuckClosed;
    await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(log).toContain('ROLLBACK');
    expect(log.filter((l) => l === 'batch Q')).toHaveLength(2); // the other client's query ran
    expect(String(errors[0])).toMatch(/idle in a transaction/);
    other.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives background connections every other turn while requests wait too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-wire-'));
    const socketPath = path.join(dir, '.s.PGSQL.5432');
    const { db, log } = fakePglite();
    server = new PGliteWireServer({ db, path: socketPath, backgroundApplications: ['jobs'] });
    await server.start();
    const open = (application: string) => {
      const socket = net.connect(socketPath);
      socket.write(startup({ application_name: application }));
      return socket;
    };
    const holder = open('api');
    const requests = [open('api'), open('api'), open('api')];
    const jobs = open('jobs');
    await until(() => log.filter((l) => l === 'batch \0').length === 5, 'the five startups'); // startups are batches too

    // a request's transaction holds the session while three requests and then the runner queue up
    holder.write(query('BEGIN'));
    await until(() => log.includes('query BEGIN'), 'BEGIN');
    requests.forEach((socket, i) => socket.write(query(`SELECT 'request ${i}'`)));
    await until(() => server!.waitingCount === 3, 'the requests queued');
    jobs.write(query(`SELECT 'job'`));
    await until(() => server!.waitingCount === 4, 'the job queued');
    holder.write(query('COMMIT'));
    await until(() => log.filter((l) => l.startsWith('query SELECT')).length === 4, 'all four ran');

    // the job was last in line; a request had the last turn, so the job goes next
    expect(log.filter((l) => l.startsWith('query SELECT'))).toEqual([
      "query SELECT 'job'",
      "query SELECT 'request 0'",
      "query SELECT 'request 1'",
      "query SELECT 'request 2'",
    ]);
    for (const socket of [holder, ...requests, jobs]) socket.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the parameters of a startup message', () => {
    const parameters = startupParameters(startup({ application_name: 'buurtwag-jobs', database: 'postgres' }));
    expect(Object.fromEntries(parameters)).toEqual({
      user: 'postgres',
      application_name: 'buurtwag-jobs',
      database: 'postgres',
    });
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
