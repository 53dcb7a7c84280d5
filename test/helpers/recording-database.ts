import type { Database, Queryable, Sql, Tx } from '../../src/platform/db/database.js';

/**
 * `db` with every statement it runs (outside and inside its transactions) written down, and its
 * transactions counted (each costs a BEGIN and a COMMIT besides its statements), for tests and
 * benchmarks of what a service sends: how it batches, which parameters it binds. Free of vitest,
 * so a benchmark can use it too.
 */
export interface Recording {
  db: Database;
  statements: Sql[];
  /** transactions opened so far */
  transactions: number;
}

export function recordingDatabase(db: Database): Recording {
  const recording: Recording = { db, statements: [], transactions: 0 };
  const recorder = (target: Queryable): Queryable => ({
    query: (sql) => {
      recording.statements.push(sql);
      return target.query(sql);
    },
  });
  recording.db = Object.create(db, {
    query: { value: recorder(db).query },
    transaction: {
      value: <T>(fn: (tx: Tx) => Promise<T>) => {
        recording.transactions++;
        return db.transaction((tx) => fn({ ...tx, ...recorder(tx) }));
      },
    },
    withClient: {
      value: <T>(fn: (client: Queryable) => Promise<T>) => db.withClient((client) => fn(recorder(client))),
    },
  }) as Database;
  return recording;
}
