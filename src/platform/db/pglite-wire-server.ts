import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Serves one embedded PGlite over the PostgreSQL wire protocol (a unix socket in DATA_DIR), so
 * the app, the job runner, the migrations and the CLI all speak `pg` in both modes.
 *
 * PGlite has a single session, so several client connections must take turns. Why not
 * pglite-socket's server: it interleaves connections message by message, so connection B's
 * Parse can land between connection A's Parse and Bind (both use the unnamed statement) and A
 * runs B's SQL. Here a connection runs a whole batch — everything up to Sync or a simple Query —
 * while holding the session, and keeps holding it for as long as it is inside a transaction.
 *
 * Named prepared statements are shared by every connection, since there is only one session to
 * hold them. Planning is what costs most in PGlite (a lookup by id: ~1.5 ms to plan, 0.2 ms to
 * run), so the pool names its hot statements in both modes. A client's first `Parse` of a name
 * the session already holds with the same text and parameter types is answered here with
 * `ParseComplete` instead of failing with "already exists". The app's names are unique to their
 * text (node-postgres already refuses one name for two texts on a connection); a `Parse` of a
 * known name with other text still goes to PGlite and fails there.
 *
 * A migration can change what a shared statement returns ("cached plan must not change result
 * type", at Bind). PostgreSQL keeps such a statement failing until the connection that holds it
 * closes; here every connection shares it, so the server prepares it again itself, before the
 * next batch that runs outside a transaction, and the clients' names stay valid.
 */

const SSL_REQUEST_CODE = 80877103;
const CANCEL_REQUEST_CODE = 80877102;
const GSSENC_REQUEST_CODE = 80877104;

const PARSE = 'P'.charCodeAt(0);
const BIND = 'B'.charCodeAt(0);
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const STALE_PLAN = 'cached plan must not change result type';
const CLOSE = 'C'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);
const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);
const ERROR_RESPONSE = 'E'.charCodeAt(0);

/** Message types that end a batch: Sync, simple Query, Terminate, Flush, CopyDone, CopyFail. */
const BATCH_END = new Set(['S', 'Q', 'X', 'H', 'c', 'f'].map((c) => c.charCodeAt(0)));

export interface WireServerOptions {
  db: PGlite;
  /** unix socket path */
  path: string;
  onError?: (err: unknown) => void;
  /**
   * A connection that sits idle inside a transaction longer than this is cut and its transaction
   * rolled back (Postgres' idle_in_transaction_session_timeout): with one session for everyone,
   * a client stuck mid-transaction would otherwise stop the whole database. Default 60 s.
   */
  idleInTransactionMs?: number;
  /**
   * Connections that start with one of these application names are background work (the job
   * runner's): while both kinds wait, they and the rest take the session in turn, instead of
   * one background statement waiting behind every waiting request.
   */
  backgroundApplications?: readonly string[];
}

export class PGliteWireServer {
  private server: Server | null = null;
  private readonly connections = new Set<Socket>();
  /** the connection that holds the session between batches (inside a transaction), if any */
  private owner: number | null = null;
  private busy = false;
  private readonly waiting: Array<{ conn: number; go: () => void }> = [];
  /** connections of background work (see backgroundApplications) */
  private readonly background = new Set<number>();
  /** whether the last turn handed out from the queue went to background work */
  private lastTurnBackground = false;
  private nextConn = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly sockets = new Map<number, Socket>();
  /** the session's named prepared statements: name → the rest of their Parse message (text, types) */
  private readonly statements = new Map<string, Buffer>();
  /** shared statements whose result type a schema change altered: prepared again before the next batch */
  private readonly stale = new Set<string>();

  constructor(private readonly options: WireServerOptions) {}

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.onError?.(err));
  }

  async stop(): Promise<void> {
    this.clearIdleTimer();
    for (const socket of this.connections) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** batches waiting for the session */
  get waitingCount(): number {
    return this.waiting.length;
  }

  private accept(socket: Socket): void {
    const conn = this.nextConn++;
    this.connections.add(socket);
    this.sockets.set(conn, socket);
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let started = false;
    let batch: Buffer[] = [];
    // Batches of one connection run strictly in order.
    let chain: Promise<void> = Promise.resolve();
    let closed = false;

    const fail = (err: unknown): void => {
      this.options.onError?.(err);
      socket.destroy();
    };

    socket.on('data', (data) => {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
            socket.write('N'); // no encryption on a local socket
            continue;
          }
          if (code === CANCEL_REQUEST_CODE) {
            socket.end(); // not supported; the client gives up on cancel
            return;
          }
          started = true;
          const startup = Buffer.from(message);
          const application = startupParameters(startup).get('application_name');
          if (application !== undefined && this.options.backgroundApplications?.includes(application)) {
            this.background.add(conn);
          }
          chain = chain.then(() => this.run(conn, [startup], socket)).catch(fail);
          continue;
        }
        if (buffer.length < 5) return;
        const length = 1 + buffer.readInt32BE(1);
        if (buffer.length < length) return;
        const type = buffer[0]!;
        batch.push(Buffer.from(buffer.subarray(0, length)));
        buffer = buffer.subarray(length);
        if (BATCH_END.has(type)) {
          const messages = batch;
          batch = [];
          if (type === 'X'.charCodeAt(0)) {
            socket.end();
            return;
          }
          chain = chain.then(() => this.run(conn, messages, socket)).catch(fail);
        }
      }
    });

    const close = (): void => {
      if (closed) return;
      closed = true;
      this.connections.delete(socket);
      this.sockets.delete(conn);
      this.background.delete(conn);
      // A client that vanished inside a transaction must not keep the session: roll it back.
      chain = chain
        .then(async () => {
          if (this.owner !== conn) return;
          await this.acquire(conn);
          try {
            await this.options.db.exec('ROLLBACK');
          } finally {
            this.release(conn);
          }
        })
        .catch((err) => this.options.onError?.(err));
    };
    socket.on('close', close);
    socket.on('error', close);
  }

  private acquire(conn: number): Promise<void> {
    if (this.owner === conn) this.clearIdleTimer();
    if (!this.busy && (this.owner === null || this.owner === conn)) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ conn, go }));
  }

  private release(conn: number): void {
    if (this.owner === conn && !this.options.db.isInTransaction()) this.owner = null;
    this.busy = false;
    // The owner (inside its transaction) goes first; otherwise first come, first served, but
    // background work and requests alternate while both wait.
    const index = this.owner === null ? this.nextInLine() : this.waiting.findIndex((w) => w.conn === this.owner);
    if (index < 0 || this.waiting.length === 0) return;
    const [next] = this.waiting.splice(index, 1);
    if (this.owner === null) this.lastTurnBackground = this.background.has(next!.conn);
    this.busy = true;
    next!.go();
  }

  /** The waiter whose turn it is: the first one, unless the other kind of work is owed a turn. */
  private nextInLine(): number {
    if (this.background.size === 0) return 0;
    const owed = this.waiting.findIndex((w) => this.background.has(w.conn) !== this.lastTurnBackground);
    return owed < 0 ? 0 : owed;
  }

  private async run(conn: number, messages: Buffer[], socket: Socket): Promise<void> {
    await this.acquire(conn);
    try {
      if (this.stale.size > 0 && !this.options.db.isInTransaction()) await this.prepareStaleAgain();
      // After an error the server skips everything up to Sync: a Parse must not be answered then.
      let failed = false;
      for (const message of messages) {
        const parse = message[0] === PARSE ? parseMessage(message) : null;
        if (parse && parse.name !== '' && !failed && this.statements.get(parse.name)?.equals(parse.rest)) {
          if (!socket.destroyed) socket.write(PARSE_COMPLETE);
          continue;
        }
        let first: number | undefined;
        let error: Buffer | undefined;
        await this.options.db.execProtocolRawStream(new Uint8Array(message), {
          onRawData: (chunk: Uint8Array) => {
            first ??= chunk[0];
            if (first === ERROR_RESPONSE && message[0] === BIND) error ??= Buffer.from(chunk);
            // The chunk is a view into PGlite's memory, reused as soon as this returns: copy it,
            // or a large result is overwritten before the socket sends it.
            if (!socket.destroyed) socket.write(Buffer.from(chunk));
          },
        });
        if (first === ERROR_RESPONSE) failed = true;
        if (error?.includes(STALE_PLAN)) {
          const name = boundStatement(message);
          if (this.statements.has(name)) this.stale.add(name);
        }
        if (parse && parse.name !== '' && first !== ERROR_RESPONSE) this.statements.set(parse.name, parse.rest);
        await this.forgetClosed(message);
      }
    } finally {
      if (this.options.db.isInTransaction()) {
        this.owner = conn;
        this.startIdleTimer(conn);
      }
      this.release(conn);
    }
  }

  /**
   * Keeps the statement list true when a client closes a statement: with Close, or with DEALLOCATE
   * or DISCARD in a simple query (then the list keeps what the session still holds; a query that
   * merely mentions the words costs one look at pg_prepared_statements).
   */
  private async forgetClosed(message: Buffer): Promise<void> {
    if (message[0] === CLOSE && message[5] === 'S'.charCodeAt(0)) {
      this.statements.delete(cString(message, 6).value);
    } else if (message[0] === QUERY && /\b(deallocate|discard)\b/i.test(cString(message, 5).value)) {
      // in a failed transaction this cannot be read, and nothing was deallocated either
      const held = await this.options.db.query<{ name: string }>('SELECT name FROM pg_prepared_statements').then(
        (result) => new Set(result.rows.map((row) => row.name)),
        () => null,
      );
      if (held) for (const name of this.statements.keys()) if (!held.has(name)) this.statements.delete(name);
    }
  }

  /**
   * Drops each stale statement and prepares it again from its own Parse message, on the schema
   * as it is now. One whose text no longer prepares (its table is gone) stays dropped: a client's
   * next use of it fails as it would on PostgreSQL after a DEALLOCATE.
   */
  private async prepareStaleAgain(): Promise<void> {
    const db = this.options.db;
    for (const name of this.stale) {
      this.stale.delete(name);
      const rest = this.statements.get(name);
      if (!rest) continue;
      this.statements.delete(name);
      // (gone already if a client deallocated it meanwhile: then there is nothing to drop)
      await db.exec(`DEALLOCATE "${name.replaceAll('"', '""')}"`).catch(() => undefined);
      const nameBytes = Buffer.from(`${name}\0`);
      const parse = Buffer.alloc(5 + nameBytes.length + rest.length);
      parse[0] = PARSE;
      parse.writeInt32BE(parse.length - 1, 1);
      nameBytes.copy(parse, 5);
      rest.copy(parse, 5 + nameBytes.length);
      let first: number | undefined;
      await db.execProtocolRawStream(new Uint8Array(parse), {
        onRawData: (chunk: Uint8Array) => void (first ??= chunk[0]),
      });
      await db.execProtocolRawStream(new Uint8Array(SYNC), { onRawData: () => undefined });
      if (first !== ERROR_RESPONSE) this.statements.set(name, rest);
    }
  }

  private startIdleTimer(conn: number): void {
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.owner !== conn) return;
      this.options.onError?.(
        new Error(`embedded database: connection ${conn} idle in a transaction too long; rolled back`),
      );
      // closing runs the rollback and hands the session on (see accept)
      this.sockets.get(conn)?.destroy();
    }, this.options.idleInTransactionMs ?? 60_000);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** The parameters of a StartupMessage (after its length and protocol version): name → value. */
export function startupParameters(message: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  let at = 8;
  while (at < message.length && message[at] !== 0) {
    const name = cString(message, at);
    const value = cString(message, name.end);
    parameters.set(name.value, value.value);
    at = value.end;
  }
  return parameters;
}

/** A Parse message: the statement's name and the rest (query text and parameter types). */
function parseMessage(message: Buffer): { name: string; rest: Buffer } {
  const name = cString(message, 5);
  return { name: name.value, rest: message.subarray(name.end) };
}

/** The statement a Bind message binds (after the portal's name). */
function boundStatement(message: Buffer): string {
  return cString(message, cString(message, 5).end).value;
}

/** The zero-terminated string at `start`, and where the next field begins. */
function cString(message: Buffer, start: number): { value: string; end: number } {
  const zero = message.indexOf(0, start);
  const end = zero < 0 ? message.length : zero;
  return { value: message.toString('utf8', start, end), end: end + 1 };
}
