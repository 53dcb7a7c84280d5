/**
 * Rows folded per statement by the rollup compactions (stats, map). On 1M seeded incidents a fold
 * costs PostgreSQL ~2.5–4.5 µs a delta row, PGlite several times that: 10,000 keeps one statement
 * well under a second even embedded, where the whole app waits while it runs.
 */
export const FOLD_BATCH_ROWS = 10_000;

// a backlog of 10M deltas; past it the next periodic run goes on
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
