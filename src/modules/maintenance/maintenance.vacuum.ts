import type { Database, Queryable } from '../../platform/db/database.js';

/**
 * Vacuum and analyze where nothing else does them: the embedded database always, and a server
 * PostgreSQL whose autovacuum is off (this project's CI machine runs one so: after a 1M seed and
 * one benchmark run its stats delta table held 535,176 dead rows, and no table had ever been
 * vacuumed or analyzed).
 *
 * The embedded database: PGlite runs PostgreSQL as a single session with no background
 * workers, so nothing vacuums or analyzes it by itself: the job queue, the stats
 * and map deltas and the audit seal delete or update rows all day, and their dead rows would
 * stay for good (after the benchmarks of 2026-11-27 the embedded `jobs` table had 5,467 dead
 * rows within a minute of a start), while the planner kept the statistics of the day the tables
 * were made. Server PostgreSQL has autovacuum for this; here a periodic job applies autovacuum's
 * own rule (a threshold plus a fraction of the table's rows) to the app's tables.
 *
 * A VACUUM holds the one session, and every request waits behind it, so a run looks after the
 * tables most urgent first, each in a statement of its own, and stops once it has spent
 * RUN_BUDGET_MS. Measured on the 1M-incident benchmark database: a vacuum of the busy delta
 * tables takes a few milliseconds, of `jobs` (54,000 rows) 314 ms, a first vacuum of a month of
 * audit rows 764 ms; an analyze of 1.1M timeline events 306 ms.
 */
export interface TableActivity {
  schema: string;
  table: string;
  /** rows the table holds (the planner's estimate) */
  rows: number;
  dead: number;
  modifiedSinceAnalyze: number;
}

export interface TableCare {
  schema: string;
  table: string;
  action: 'vacuum' | 'analyze';
  /** how far past its threshold the table is (1 = just over it) */
  urgency: number;
  /** how long it took, once done */
  ms?: number;
}

// PostgreSQL's defaults: autovacuum_vacuum_threshold, _scale_factor, analyze threshold and scale factor
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;

/** The tables autovacuum would vacuum or analyze now, most urgent first. */
export function tablesNeedingCare(tables: readonly TableActivity[]): TableCare[] {
  const care: TableCare[] = [];
  for (const t of tables) {
    const rows = Math.max(t.rows, 0);
    const vacuum = t.dead / (VACUUM_THRESHOLD + VACUUM_SCALE * rows);
    const analyze = t.modifiedSinceAnalyze / (ANALYZE_THRESHOLD + ANALYZE_SCALE * rows);
    // VACUUM (ANALYZE) does both: a table that needs a vacuum gets one, analyzed on the way
    if (vacuum > 1)
      care.push({ schema: t.schema, table: t.table, action: 'vacuum', urgency: Math.max(vacuum, analyze) });
    else if (analyze > 1) care.push({ schema: t.schema, table: t.table, action: 'analyze', urgency: analyze });
  }
  return care.sort((a, b) => b.urgency - a.urgency);
}

/**
 * The activity of the tables of the schemas on the search path (the app's, not the catalogs):
 * the statistics since this start, plus what an embedded engine counted before its last stop
 * (carried_table_activity, migration 0029).
 */
export async function tableActivity(db: Queryable): Promise<TableActivity[]> {
  const { rows } = await db.query<TableActivity>({
    text: `SELECT s.schemaname AS schema, s.relname AS "table", greatest(c.reltuples, 0)::float8 AS rows,
                  (s.n_dead_tup + coalesce(k.dead, 0))::float8 AS dead,
                  (s.n_mod_since_analyze + coalesce(k.modified_since_analyze, 0))::float8 AS "modifiedSinceAnalyze"
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
           LEFT JOIN carried_table_activity k ON k.schema_name = s.schemaname AND k.table_name = s.relname
           WHERE s.schemaname = ANY (current_schemas(false)) AND c.relkind = 'r'`,
  });
  return rows;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * VACUUM (ANALYZE) or ANALYZE one table, outside any transaction, as VACUUM must be; then what
 * was carried over from before the last start is spent (an ANALYZE spends the changed rows only).
 */
export async function careFor(db: Queryable, care: TableCare): Promise<void> {
  const target = `${quote(care.schema)}.${quote(care.table)}`;
  await db.query({ text: care.action === 'vacuum' ? `VACUUM (ANALYZE) ${target}` : `ANALYZE ${target}` });
  await db.query({
    text:
      care.action === 'vacuum'
        ? `DELETE FROM carried_table_activity WHERE schema_name = $1 AND table_name = $2`
        : `UPDATE carried_table_activity SET modified_since_analyze = 0 WHERE schema_name = $1 AND table_name = $2`,
    values: [care.schema, care.table],
  });
}

/** Time a run may spend before it leaves the other tables to the next run. */
export const RUN_BUDGET_MS = 300;

/** One run of the job: the tables that need it, most urgent first, within the budget; returns what was done. */
export async function vacuumMostUrgent(db: Queryable, budgetMs = RUN_BUDGET_MS): Promise<TableCare[]> {
  const started = performance.now();
  const done: TableCare[] = [];
  for (const care of tablesNeedingCare(await tableActivity(db))) {
    if (done.length > 0 && performance.now() - started >= budgetMs) break;
    const start = performance.now();
    await careFor(db, care);
    done.push({ ...care, ms: Math.round(performance.now() - start) });
  }
  return done;
}

/**
 * Whether Buurtwag must vacuum this database itself: an embedded one always; a server PostgreSQL
 * when its autovacuum is off (a table's own autovacuum_enabled = false is its operator's choice
 * and is left alone: the rule looks at the server's setting only).
 */
export function needsOwnVacuum(kind: Database['kind'], autovacuum: string): boolean {
  return kind === 'embedded' || autovacuum !== 'on';
}

export async function autovacuumSetting(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ setting: string }>({ text: `SELECT current_setting('autovacuum') AS setting` });
  return rows[0]!.setting;
}

const VACUUM_LOCK = 'maintenance:vacuum';

/**
 * One run on one node at a time: several workers share a server PostgreSQL, and two VACUUMs of
 * one table wait for each other. The run holds a session advisory lock on a connection of its
 * own and sends its VACUUMs there; null when another node's run holds the lock.
 */
export async function vacuumRun(db: Database, budgetMs = RUN_BUDGET_MS): Promise<TableCare[] | null> {
  return db.withClient(async (client) => {
    const { rows } = await client.query<{ got: boolean }>({
      text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got',
      values: [VACUUM_LOCK],
    });
    if (!rows[0]?.got) return null;
    try {
      return await vacuumMostUrgent(client, budgetMs);
    } finally {
      await client.query({ text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [VACUUM_LOCK] });
    }
  });
}
