import { describe, expect, it } from 'vitest';
import { combineWrites, isStalePlanError, write } from './database.js';
import { migrate, readMigrations } from './migrate.js';
import { backend, useTestDatabase } from '../../../test/helpers/database.js';

/**
 * The database layer as the app sees it, on both backends: migrations that tolerate nodes
 * starting together, transactions that are isolated and atomic across pooled connections
 * (on PGlite that is our wire server's job), and many concurrent parameterized statements.
 */
const t = useTestDatabase();

describe('migrations', () => {
  it('are recorded once each, and a second run applies nothing', async () => {
    const { rows } = await t.current.db.query<{ version: number }>({
      text: 'SELECT version FROM schema_migrations ORDER BY version',
    });
    expect(rows.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
    expect(await migrate(t.current.db)).toEqual([]);
  });

  it('are safe when several nodes run them at the same moment', async () => {
    const schema = `${t.current.schema}_race`;
    await t.current.db.query({ text: `CREATE SCHEMA ${schema}` });
    const nodes = await Promise.all([1, 2, 3].map(() => t.current.connect()));
    try {
      for (const node of nodes) await node.query({ text: `SET search_path TO ${schema},public` });
      const applied = await Promise.all(nodes.map((node) => migrate(node)));
      // every migration was applied by exactly one node
      const versions = applied
        .flat()
        .map((m) => m.version)
        .sort((a, b) => a - b);
      expect(versions).toEqual(readMigrations().map((m) => m.version));
      const { rows } = await nodes[0]!.query<{ n: number }>({
        text: `SELECT count(*)::int AS n FROM ${schema}.schema_migrations`,
      });
      expect(rows[0]!.n).toBe(readMigrations().length);
    } finally {
      await nodes[0]!.query({ text: `DROP SCHEMA ${schema} CASCADE` });
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  it('roll a failing migration back entirely and say which one failed', async () => {
    const schema = `${t.current.schema}_bad`;
    await t.current.db.query({ text: `CREATE SCHEMA ${schema}` });
    const node = await t.current.connect();
    try {
      await node.query({ text: `SET search_path TO ${schema},public` });
      const bad = [{ version: 1, name: 'half_done', sql: 'CREATE TABLE half (id int); SELECT 1/0;' }];
      await expect(migrate(node, { migrations: bad })).rejects.toThrow(/1_half_done/);
      const { rows } = await node.query({ text: `SELECT to_regclass('${schema}.half') AS t` });
      expect(rows[0]).toEqual({ t: null });
    } finally {
      await node.query({ text: `DROP SCHEMA ${schema} CASCADE` });
      await node.close();
    }
  });
});

describe('transactions across pooled connections', () => {
  it('do not see each other’s uncommitted writes, and commit or roll back whole', async () => {
    const { db } = t.current;
    await db.query({ text: 'CREATE TABLE tx_probe (id int PRIMARY KEY, note text)' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((r) => (inserted = r));
    const writer = db.transaction(async (tx) => {
      await tx.query({ text: `INSERT INTO tx_probe VALUES (1, 'uncommitted')` });
      inserted();
      await held;
    });
    await insertedYet;
    const read = () =>
      db.query<{ n: number }>({ text: 'SELECT count(*)::int AS n FROM tx_probe' }).then((r) => r.rows[0]!.n);
    if (db.kind === 'postgres') {
      // another connection reads at once, and must not see the uncommitted row
      expect(await read()).toBe(0);
      release();
    } else {
      // PGlite has one session: another connection waits for the transaction to end, then sees
      // its committed row (never a half-done state)
      const seen = read();
      release();
      expect(await seen).toBe(1);
    }
    await writer;

    await expect(
      db.transaction(async (tx) => {
        await tx.query({ text: `INSERT INTO tx_probe VALUES (2, 'rolled back')` });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query<{ id: number }>({ text: 'SELECT id FROM tx_probe ORDER BY id' });
    expect(rows.map((r) => r.id)).toEqual([1]);
  });

  it('keep many concurrent parameterized statements apart', async () => {
    const { db } = t.current;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 3 === 0
          ? db.transaction(async (tx) => {
              const a = await tx.query<{ v: number }>({ text: 'SELECT $1::int * 2 AS v', values: [i] });
              const b = await tx.query<{ v: string }>({ text: 'SELECT $1::text AS v', values: [`t${i}`] });
              return `${a.rows[0]!.v}:${b.rows[0]!.v}`;
            })
          : db
              .query<{ v: string }>({ text: 'SELECT $1::text || $2::text AS v', values: [`q${i}`, '!'] })
              .then((r) => r.rows[0]!.v),
      ),
    );
    results.forEach((value, i) => expect(value).toBe(i % 3 === 0 ? `${i * 2}:t${i}` : `q${i}!`));
  });

  it('return large results whole', async () => {
    // ~2.5 MB in one result: on PGlite this spans many chunks of the engine's reused memory
    const { rows } = await t.current.db.query<{ n: number; s: string }>({
      text: `SELECT n, repeat(md5(n::text), 16) AS s FROM generate_series(1, 5000) AS n`,
    });
    expect(rows).toHaveLength(5000);
    expect(rows[4999]!.n).toBe(5000);
    expect(rows.every((r) => r.s.length === 512)).toBe(true);
  });

  it('commit exactly the transactions that succeeded when many run at once', async () => {
    const { db } = t.current;
    await db.query({ text: 'CREATE TABLE tx_many (id int PRIMARY KEY)' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.query({ text: 'INSERT INTO tx_many VALUES ($1)', values: [i] });
          if (i % 4 === 0) throw new Error('rollback');
        }),
      ),
    );
    const committed = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    const { rows } = await db.query<{ id: number }>({ text: 'SELECT id FROM tx_many ORDER BY id' });
    expect(rows.map((r) => r.id)).toEqual(committed);
    expect(committed).toHaveLength(45);
  });
});

describe('prepared statements', () => {
  it('are made for every statement with parameters in embedded mode, only for named ones on Postgres', async () => {
    // a text of this run only, so it cannot have been prepared before
    const marker = `prep_${Date.now()}`;
    const prepared = await t.current.db.transaction(async (tx) => {
      await tx.query({ text: `SELECT $1::text AS ${marker}`, values: ['x'] });
      await tx.query({ name: `${marker}.named`, text: `SELECT $1::int AS ${marker}_named`, values: [1] });
      // the same connection: on Postgres each connection has its own statements
      const { rows } = await tx.query<{ statement: string }>({
        text: `SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%' || $1 || '%' ORDER BY statement`,
        values: [marker],
      });
      return rows.map((r) => r.statement).filter((s) => !s.includes('pg_prepared_statements'));
    });
    expect(prepared).toEqual(
      backend() === 'embedded'
        ? [`SELECT $1::int AS ${marker}_named`, `SELECT $1::text AS ${marker}`]
        : [`SELECT $1::int AS ${marker}_named`],
    );
  });
});

describe('prepared statements after a schema change (a migration while nodes serve)', () => {
  // Each test has its own table and statement names: on PGlite the session outlives the test.
  const stale = async (label: string) => {
    const table = `stale_${label}_${Date.now()}`;
    await t.current.db.query({ text: `CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)` });
    await t.current.db.query({ text: `INSERT INTO ${table} VALUES (1, 7), (2, 8), (3, 9), (4, 10)` });
    const read = (id: number) =>
      t.current.db.query<{ n: unknown }>({
        name: `${table}.read`,
        text: `SELECT n FROM ${table} WHERE id = $1`,
        values: [id],
      });
    // prepared on every connection of the pool (Postgres keeps one copy per connection)
    await Promise.all([1, 2, 3, 4].map(read));
    await t.current.db.query({ text: `ALTER TABLE ${table} ALTER COLUMN n TYPE text` });
    return { table, read };
  };

  it('are planned again, and a read outside a transaction gets its answer on the new schema', async () => {
    const { read } = await stale('read');
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all([1, 2, 3, 4].map(read));
      expect(answers.map((a) => a.rows[0]!.n)).toEqual(['7', '8', '9', '10']);
    }
  });

  it('fail the one transaction that meets them with a retryable error, and the next one succeeds', async () => {
    const { table } = await stale('tx');
    const inTransaction = () =>
      t.current.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: unknown }>({
          name: `${table}.read`,
          text: `SELECT n FROM ${table} WHERE id = $1`,
          values: [1],
        });
        return rows[0]!.n;
      });
    const outcomes: unknown[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      outcomes.push(await inTransaction().catch((err: unknown) => (isStalePlanError(err) ? 'stale' : err)));
    }
    // at most one stale answer per connection that had the statement, and never an error of another kind
    expect(outcomes.filter((o) => o !== 'stale' && o !== '7')).toEqual([]);
    expect(outcomes.slice(-1)).toEqual(['7']);
    expect(outcomes.filter((o) => o === 'stale').length).toBeLessThanOrEqual(4);
  });
});

describe('rows (pg-rows.ts builds them)', () => {
  it('hold every column with pg’s own parsing, NULLs and all', async () => {
    const { rows } = await t.current.db.query<Record<string, unknown>>({
      text: `SELECT 1::int AS a, NULL::text AS b, 9007199254740991::int8 AS big, '{"x":[1]}'::jsonb AS doc,
                    ARRAY[1,2]::int[] AS list, true AS yes, 'tekst'::text AS "Naam met spasies"
             FROM generate_series(1, 3)`,
    });
    expect(rows).toHaveLength(3);
    expect(rows[2]).toEqual({
      a: 1,
      b: null,
      big: 9007199254740991,
      doc: { x: [1] },
      list: [1, 2],
      yes: true,
      'Naam met spasies': 'tekst',
    });
    expect(Object.keys(rows[0]!)).toEqual(['a', 'b', 'big', 'doc', 'list', 'yes', 'Naam met spasies']);
  });

  it('keep the last of two columns with one name, and a column named __proto__ as a plain property', async () => {
    const { rows } = await t.current.db.query<Record<string, unknown>>({
      text: `SELECT 1 AS x, 2 AS x, 'p' AS "__proto__"`,
    });
    const row = rows[0]!;
    expect(row['x']).toBe(2);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('p');
  });

  it('follow each statement’s own columns when statements alternate', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.current.db.query<Record<string, unknown>>({
          text: i % 2 === 0 ? `SELECT $1::int AS n, 'even' AS kind` : `SELECT 'odd' AS kind, $1::int AS n, 0 AS extra`,
          values: [i],
        }),
      ),
    );
    results.forEach(({ rows }, i) =>
      expect(rows[0]).toEqual(i % 2 === 0 ? { n: i, kind: 'even' } : { kind: 'odd', n: i, extra: 0 }),
    );
  });
});

describe('held writes (Tx.hold)', () => {
  const table = () => `${t.current.schema}.held_writes`;
  const count = async () =>
    (await t.current.db.query<{ n: number }>({ text: `SELECT count(*)::int AS n FROM ${table()}` })).rows[0]!.n;

  it('land with the transaction, renumbered after one another, and are seen by its next query', async () => {
    await t.current.db.query({ text: `CREATE TABLE ${table()} (a int NOT NULL, b text, c jsonb)` });
    const seen = await t.current.db.transaction(async (tx) => {
      await write(tx, { text: `INSERT INTO ${table()} (a, b) VALUES ($1, $2)`, values: [1, 'one'] });
      await write(tx, { text: `INSERT INTO ${table()} (a, c) VALUES ($1, $2)`, values: [2, '{"x":2}'] });
      await write(tx, { name: 'held.three', text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [3] });
      const { rows } = await tx.query<{ a: number; b: string | null; c: unknown }>({
        text: `SELECT a, b, c FROM ${table()} ORDER BY a`,
      });
      return rows;
    });
    expect(seen).toEqual([
      { a: 1, b: 'one', c: null },
      { a: 2, b: null, c: { x: 2 } },
      { a: 3, b: null, c: null },
    ]);
    await t.current.db.transaction(async (tx) => {
      await write(tx, { text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [4] });
    });
    expect(await count()).toBe(4);
  });

  it('roll back with the transaction, and a failing one fails it', async () => {
    const before = await count();
    await expect(
      t.current.db.transaction(async (tx) => {
        await write(tx, { text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [5] });
        await write(tx, { text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [null] });
      }),
    ).rejects.toMatchObject({ code: '23502' });
    await expect(
      t.current.db.transaction(async (tx) => {
        await write(tx, { text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [6] });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await count()).toBe(before);
  });

  it('run at once outside a transaction', async () => {
    const before = await count();
    await write(t.current.db, { text: `INSERT INTO ${table()} (a) VALUES ($1)`, values: [7] });
    expect(await count()).toBe(before + 1);
  });
});

describe('combineWrites', () => {
  it('makes one statement of data-modifying CTEs, named only when every part is', () => {
    const one = { name: 'x', text: 'INSERT INTO t (a, b) VALUES ($1, $2)', values: [1, 2] };
    const two = { name: 'y', text: 'UPDATE u SET c = $1 WHERE id = $2', values: [3, 4] };
    const combined = combineWrites([one, two]);
    expect(combined.text).toBe(
      'WITH w0 AS (INSERT INTO t (a, b) VALUES ($1, $2)),\nw1 AS (UPDATE u SET c = $3 WHERE id = $4)\nSELECT 1',
    );
    expect(combined.values).toEqual([1, 2, 3, 4]);
    expect(combined.name).toMatch(/^q_/);
    expect(combineWrites([one, { ...two, name: undefined }]).name).toBeUndefined();
    expect(combineWrites([one])).toBe(one);
    expect(() => combineWrites([one, { text: 'SELECT 1' }])).toThrow(/only INSERT/);
  });
});

describe('a sibling pool (the in-process job runner has one)', () => {
  it('answers while every connection of its parent is taken, hears the same commits, and closes alone', async () => {
    const parent = await t.current.connect();
    const size = t.current.config.db.poolSize;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const holders = Array.from({ length: size }, () => parent.withClient(() => gate));
    const sibling = parent.sibling({ max: 1, applicationName: 'buurtwag-test-sibling' });
    try {
      for (let i = 0; parent.stats().idle > 0 || parent.stats().total < size; i++) {
        if (i > 500) throw new Error('the holders did not take every connection');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const waiting = parent.query<{ n: number }>({ text: 'SELECT 7 AS n' });
      expect(parent.stats().waiting).toBe(1);

      const { rows } = await sibling.query<{ n: number }>({ text: 'SELECT 1 AS n' });
      expect(rows).toEqual([{ n: 1 }]);
      let heard = 0;
      const stop = parent.onCommit('timeline', () => heard++);
      await sibling.transaction(async (tx) => {
        await tx.query({ text: 'SELECT 1' });
        tx.afterCommit('timeline');
      });
      stop();
      expect(heard).toBe(1);

      open();
      expect((await waiting).rows).toEqual([{ n: 7 }]);
    } finally {
      open();
      await Promise.all(holders);
      await sibling.close();
    }
    // the parent (and in embedded mode the engine behind it) goes on after the sibling closed
    expect((await parent.query<{ n: number }>({ text: 'SELECT 2 AS n' })).rows).toEqual([{ n: 2 }]);
    await parent.close();
  });
});
