/**
 * Rows folded per statement by the rollup compactions (stats, map). After a bulk load most delta
 * rows are a key of their own, each an upsert into a rollup: on 1M seeded incidents PostgreSQL
 * took ~25 µs a row for the stats fold (three rollups) and ~12 µs for the map's, PGlite several
 * times that. 5,000 keeps one statement near a tenth of a second on PostgreSQL.
 */
export const FOLD_BATCH_ROWS = 5_000;

/**
 * Embedded, a statement holds the one PGlite session, and every request waits behind it: under
 * W1 a fold of up to 5,000 rows held it for 60–140 ms every few seconds. In batches of 500 (and
 * the audit seal's of 100, audit.sealer.ts) W1's p99 on 1M incidents had a median of 443 ms
 * against 559 over seven runs each; its throughput did not change (bench/README.md).
 */
export const EMBEDDED_FOLD_BATCH_ROWS = 500;

/** The fold batch for the periodic compactions of a server on this kind of database. */
export function foldBatchRows(kind: 'embedded' | 'postgres'): number {
  return kind === 'embedded' ? EMBEDDED_FOLD_BATCH_ROWS : FOLD_BATCH_ROWS;
}

// rows folded per run; a bigger backlog goes on in the next periodic run
const MAX_ROWS_PER_RUN = 5_000_000;

/**
 * Calls fold(batch) until a call folds less than a full batch, each call its own statement so
 * other queries get the database in between; returns the rows folded in all.
 */
export async function foldInBatches(
  fold: (maxRows: number) => Promise<number>,
  batch = FOLD_BATCH_ROWS,
): Promise<number> {
  let total = 0;
  while (total < MAX_ROWS_PER_RUN) {
    const folded = await fold(batch);
    total += folded;
    if (folded < batch) break;
  }
  return total;
}
