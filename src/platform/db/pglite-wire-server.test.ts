import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { PGliteWireServer } from './pglite-wire-server.js';

/**
 * The session guard of the wire server, against a stand-in for PGlite: every batch leaves the
 * session "in a transaction" until a ROLLBACK. A client that goes quiet there is cut after the
 * timeout, its transaction rolled back, and the next client gets the session.
 */
function fakePglite() {
  const log: string[] = [];
  let inTransaction = false;
  const db = {
    async execProtocolRawStream(message: Uint8Array) {
      log.push(`batch ${String.fromCharCode(message[0]!)}`);
      inTransaction = true;
    },
    isInTransaction: () => inTransaction,
    async exec(sql: string) {
      log.push(sql);
      inTransaction = false;
    },
  };
  return { db: db as unknown as PGlite, log };
}

function startup(): Buffer {
  const body = Buffer.from('user\0postgres\0\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([head, body]);
}

function query(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`);
  const head = Buffer.alloc(5);
  head.write('Q', 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
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
});
