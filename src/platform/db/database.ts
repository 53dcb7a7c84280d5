import pg from 'pg';
import { installFastRows } from './pg-rows.js';
import { autoStatementName, statementName } from './statement-name.js';

/**
 * The one database interface of the app, the same in both modes: a node-postgres pool, either
 * to server PostgreSQL (DATABASE_URL) or to the embedded PGlite served on a unix socket
 * (embedded.ts). Transactions are explicit: a service opens one with `db.transaction` and hands
 * the `Tx` to every repository call that must be part of it.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: Sql): Promise<QueryResult<R>>;
}

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * A statement. `name` makes it a named prepared statement: planned once per connection on server
 * Postgres (measured 1.7–2× faster on the hot reads), once for everyone in embedded mode.
 */
export interface Sql {
  text: string;
  values?: unknown[];
  name?: string;
}

/** A handle inside a transaction. Same shape as the database, so repositories take either. */
export type Tx = Queryable & {
  readonly inTransaction: true;
  /**
   * Says that this transaction wrote something `topic` listeners care about (new timeline
   * events: realtime). The listeners hear it once, after COMMIT, and never after a rollback.
   * A function is called once after COMMIT (metrics that must not count a rolled-back write).
   */
  afterCommit(topic: CommitTopic | (() => void)): void;
  /**
   * An INSERT, UPDATE or DELETE whose answer nobody reads (a timeline event, an audit row, a
   * job): held, and sent together with the other held writes as one statement just before the
   * next query of this transaction or its COMMIT. A create then pays one round trip to the
   * database for its timeline, audit and job rows instead of three. Held writes run in one
   * snapshot, so they must not depend on each other (rows of different tables, or independent
   * rows); an error in one rolls the transaction back like any other. Use `write()` below.
   */
  hold(sql: Sql): void;
};

/** Runs a write whose answer nobody reads: held in a transaction (Tx.hold), at once elsewhere. */
export async function write(db: Queryable, sql: Sql): Promise<void> {
  const tx = db as Partial<Tx>;
  if (tx.inTransaction === true && tx.hold) tx.hold(sql);
  else await db.query(sql);
}

/**
 * Held writes as one statement: each a data-modifying CTE (Postgres runs every one of them to
 * completion, whether or not the query reads it), parameters renumbered after the ones before.
 */
export function combineWrites(statements: readonly Sql[]): Sql {
  if (statements.length === 1) return statements[0]!;
  const values: unknown[] = [];
  const parts = statements.map((statement, i) => {
    if (!/^\s*(INSERT|UPDATE|DELETE)\b/i.test(statement.text)) {
      throw new Error(`only INSERT, UPDATE or DELETE can be held: ${statement.text.slice(0, 40)}`);
    }
    const offset = values.length;
    values.push(...(statement.values ?? []));
    return `w${i} AS (${statement.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  const text = `WITH ${parts.join(',\n')}\nSELECT 1`;
  // the same writes in the same order (a create's) make the same text: prepared once per connection
  return { text, values, ...(statements.every((s) => s.name) ? { name: statementName(text) } : {}) };
}

export type CommitTopic = 'timeline';

/**
 * The application name of the in-process job runner's connections: the embedded engine gives
 * them every other turn at its one session while requests wait too (see PGliteWireServer).
 */
export const JOBS_APPLICATION_NAME = 'buurtwag-jobs';

export interface Database extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** a dedicated connection, for session-level work such as advisory locks */
  withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
  stats(): { total: number; idle: number; waiting: number };
  /** Called after each commit of a transaction that flagged `topic`; returns an unsubscribe. */
  onCommit(topic: CommitTopic, listener: () => void): () => void;
  /**
   * Another pool of `max` connections to the same database (the embedded engine included),
   * for work that must not queue behind this pool's callers: the in-process job runner. It
   * shares the commit listeners; its close() ends its own connections only.
   */
  sibling(options: { max: number; applicationName?: string }): Database;
}

export interface PoolDatabaseOptions {
  kind: 'embedded' | 'postgres';
  pool: pg.PoolConfig;
  onPoolError: (err: Error) => void;
  /**
   * Prefixed to every statement name. Tests keep one schema per file in one embedded session,
   * where a statement prepared for one schema's types must not be run for another's.
   */
  statementScope?: string;
  /** closes whatever the pool talks to (the embedded engine), after the pool */
  onClose?: () => Promise<void>;
}

// Timestamps come back as ISO strings already in UTC, int8 as numbers (counts stay far below
// 2^53), numerics as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));
installFastRows();

export function createPoolDatabase(
  options: PoolDatabaseOptions,
  /** a sibling's: the listeners of the pool it was made from */
  commitListeners = new Map<CommitTopic, Set<() => void>>(),
): Database {
  const pool = new pg.Pool(options.pool);
  // An idle client losing its server (Postgres restarted) emits here; without a listener the
  // process would crash. The pool drops that client and makes a new one on the next query.
  pool.on('error', options.onPoolError);
  pool.on('connect', (client) => {
    client.on('error', options.onPoolError);
  });

  const scope = options.statementScope ? `${options.statementScope}.` : '';
  // Embedded: every statement with parameters is prepared, under a name made from its text. The
  // one PGlite session plans several times slower than Postgres (the notifier's fan-out: 1.9 ms
  // to plan, 0.3 to run) and holds one copy for every connection. Server Postgres keeps a copy
  // per connection, so there only the hot statements are named, in their repositories.
  const nameOf = (sql: Sql): string | undefined =>
    sql.name ?? (options.kind === 'embedded' && sql.values?.length ? autoStatementName(sql.text) : undefined);
  const prepare = (sql: Sql): pg.QueryConfig => {
    const name = nameOf(sql);
    return name ? { name: scope + name, text: sql.text, values: sql.values } : { text: sql.text, values: sql.values };
  };

  const run = async <R extends object>(target: pg.Pool | pg.PoolClient, sql: Sql): Promise<QueryResult<R>> => {
    const result = await target.query<R & pg.QueryResultRow>(prepare(sql));
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  };

  // pool.query, plus one thing: a statement whose prepared plan a migration made stale runs
  // again without its name. Postgres keeps such a statement failing on the connection that
  // prepared it; like pool.query, a connection whose query failed is closed rather than handed
  // back. (Embedded, the retry is named again by nameOf: the wire server has prepared it anew.)
  const runOnPool = async <R extends object>(sql: Sql): Promise<QueryResult<R>> => {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      return await run<R>(client, sql);
    } catch (err) {
      failure = err as Error;
      if (!isStalePlanError(err)) throw err;
    } finally {
      client.release(failure);
    }
    return run<R>(pool, { text: sql.text, values: sql.values });
  };

  const clientQueryable = (client: pg.PoolClient): Queryable => ({
    query: <R extends object>(sql: Sql) => run<R>(client, sql),
  });

  const committed = (topics: Set<CommitTopic>) => {
    for (const topic of topics) {
      for (const listener of commitListeners.get(topic) ?? []) {
        try {
          listener();
        } catch {
          // a listener's failure is its own; the transaction has committed
        }
      }
    }
  };

  return {
    kind: options.kind,
    query: <R extends object>(sql: Sql) => runOnPool<R>(sql),
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const topics = new Set<CommitTopic>();
      const callbacks: Array<() => void> = [];
      const held: Sql[] = [];
      const sendHeld = async () => {
        if (held.length > 0) await run(client, combineWrites(held.splice(0)));
      };
      try {
        await client.query('BEGIN');
        const tx: Tx = {
          query: async <R extends object>(sql: Sql) => {
            await sendHeld();
            return run<R>(client, sql);
          },
          inTransaction: true,
          afterCommit: (t) => void (typeof t === 'function' ? callbacks.push(t) : topics.add(t)),
          hold: (sql) => void held.push(sql),
        };
        const result = await fn(tx);
        await sendHeld();
        await client.query('COMMIT');
        if (topics.size > 0) committed(topics);
        for (const callback of callbacks) {
          try {
            callback();
          } catch {
            // the transaction has committed; a callback's failure is its own
          }
        }
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // the connection is gone: do not hand it back to the pool
          broken = rollbackError as Error;
        }
        // its prepared statements are stale (see runOnPool): the next transaction gets a fresh connection
        if (isStalePlanError(err)) broken ??= err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await fn(clientQueryable(client));
      } catch (err) {
        // a lost connection, or one whose prepared statements are stale (see runOnPool)
        broken = isTemporaryDatabaseError(err) ? (err as Error) : undefined;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async ping(): Promise<void> {
      await pool.query('SELECT 1');
    },
    async close(): Promise<void> {
      await pool.end();
      await options.onClose?.();
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    onCommit(topic, listener) {
      let set = commitListeners.get(topic);
      if (!set) commitListeners.set(topic, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    sibling({ max, applicationName }) {
      const pool = { ...options.pool, max, application_name: applicationName ?? options.pool.application_name };
      // the engine stays with the pool that opened it
      return createPoolDatabase({ ...options, pool, onClose: undefined }, commitListeners);
    },
  };
}

/** SQLSTATE classes and socket errors that mean "the database is not there right now". */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08')) return true; // connection exception
    if (['57P01', '57P02', '57P03', '53300'].includes(code)) return true; // shutdown, too many clients
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'ETIMEDOUT'].includes(code)) return true;
    // a missing unix socket (the embedded database not running), not any missing file
    if (code === 'ENOENT' && (err as { syscall?: unknown }).syscall === 'connect') return true;
  }
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(
      message,
    )
  );
}

/**
 * A prepared statement whose result columns changed under it: a migration altered a table that a
 * statement prepared before it reads (nodes still serving during a rolling upgrade, or a CLI
 * `migrate` beside a running server). Planning it again fixes it; the database will not.
 */
export function isStalePlanError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && /cached plan must not change result type/.test(message);
}

/** A database error after which the same request, sent again, succeeds: answered 503 with Retry-After. */
export function isTemporaryDatabaseError(err: unknown): boolean {
  return isConnectionError(err) || isStalePlanError(err);
}
