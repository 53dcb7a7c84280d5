import type { Database } from '../../platform/db/database.js';

/**
 * Seals the audit trail: committed, unsealed rows get the next numbers of the chain and their
 * hashes (audit_seal in migration 0003). Writers only ever insert unsealed rows, so they never
 * wait on one another for the chain; this is the one place that extends it, one batch per
 * transaction under an advisory lock (a second sealer running meanwhile seals nothing and returns).
 */
export interface SealResult {
  /** rows sealed by this call */
  sealed: number;
  /** the chain's head after it: the last seq and its hash (hex) */
  headSeq: number;
  headHash: string;
}

/**
 * Rows per transaction. Embedded, a transaction holds the one PGlite session, and every request
 * waits behind it: under W1 a seal of up to 1,000 rows (hashed in WASM) held it for 100–200 ms
 * every two seconds. With batches of 100, and the stats and map folds made smaller too
 * (platform/jobs/batches.ts), W1's p99 fell by about a fifth.
 */
export function sealBatchRows(kind: Database['kind']): number {
  return kind === 'embedded' ? 100 : 1000;
}
// a bound per call, so one run cannot hold the job loop for ever while writers keep writing
const MAX_ROWS_PER_CALL = 50_000;

export async function sealAudit(
  db: Database,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<SealResult> {
  const batchSize = options.batchSize ?? sealBatchRows(db.kind);
  const maxBatches = options.maxBatches ?? Math.ceil(MAX_ROWS_PER_CALL / batchSize);
  let sealed = 0;
  let head = { seq: 0, hash: '' };
  for (let batch = 0; batch < maxBatches; batch++) {
    // Short transactions: on PGlite a transaction holds the one session (sealBatchRows).
    const result = await db.transaction(async (tx) => {
      const sealedNow = await tx.query<{ n: number }>({ text: 'SELECT audit_seal($1) AS n', values: [batchSize] });
      // a statement of its own: one that called audit_seal would still see the old head
      const current = await tx.query<{ seq: number; hash: string }>({
        text: `SELECT seq, encode(hash, 'hex') AS hash FROM audit_chain_head`,
      });
      return { n: sealedNow.rows[0]?.n ?? 0, seq: current.rows[0]?.seq ?? 0, hash: current.rows[0]?.hash ?? '' };
    });
    sealed += result.n;
    head = { seq: result.seq, hash: result.hash };
    if (result.n < batchSize) break;
  }
  return { sealed, headSeq: head.seq, headHash: head.hash };
}
