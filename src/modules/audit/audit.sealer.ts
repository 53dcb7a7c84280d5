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

const DEFAULT_BATCH = 1000;
// a bound per call, so one run cannot hold the job loop for ever while writers keep writing
const DEFAULT_MAX_BATCHES = 50;

export async function sealAudit(
  db: Database,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<SealResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
  let sealed = 0;
  let head = { seq: 0, hash: '' };
  for (let batch = 0; batch < maxBatches; batch++) {
    // Short transactions: on PGlite a transaction holds the one session, so every request
    // waits for it; a batch of 1,000 takes a few tens of milliseconds.
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
