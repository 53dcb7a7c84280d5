/**
 * Rows folded per statement by the rollup compactions (stats, map). After a bulk load most delta
 * rows are a key of their own, each an upsert into a rollup: on 1M seeded incidents PostgreSQL
 * took ~25 µs a row for the stats fold (three rollups) and ~12 µs for the map's, PGlite several
 * times that. 5,000 keeps one statement near a tenth of a second on PostgreSQL and well under a
 * second embedded, where the whole app waits while it runs.
 */
export const FOLD_BATCH_ROWS = 5_000;

// 5M delta rows a run; a bigger backlog goes on in the next periodic run
const MAX_BATCHES_PER_RUN = 1_000;

/**
 * Calls fold(batch) until a call folds less than a full batch, each call its own statement so
 * other queries get the database in between; returns the rows folded in all.
 */
export async function foldInBatches(
  fold: (maxRows: number) => Promise<number>,
  batch = FOLD_BATCH_ROWS,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
    const folded = await fold(batch);
    total += folded;
    if (folded < batch) break;
  }
  return total;
}
