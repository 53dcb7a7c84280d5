/** Raw PostgreSQL wire-protocol messages, for tests of what node-postgres never sends. */

/** The startup message of protocol 3.0 for user postgres (and these other parameters). */
export function startup(parameters: Record<string, string> = {}): Buffer {
  const pairs = Object.entries({ user: 'postgres', ...parameters }).map(([name, value]) => `${name}\0${value}\0`);
  const body = Buffer.from(`${pairs.join('')}\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([head, body]);
}

/** A message: its type letter, its length, its body. */
export function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** A zero-terminated string. */
export const cstring = (s: string): Buffer => Buffer.from(`${s}\0`);

/** A simple Query. */
export const query = (sql: string): Buffer => message('Q', cstring(sql));
