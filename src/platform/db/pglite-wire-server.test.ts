import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { PGliteWireServer } from './pglite-wire-server.js';
import { query, startup } from '../../../test/helpers/wire-protocol.js';

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
