import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { sealAudit } from './audit.sealer.js';

/** How often the chain is extended: rows wait at most about this long to be sealed. */
export const SEAL_INTERVAL_MS = 2_000;
/** Partitions are made this many months ahead; the check is cheap when they exist. */
export const PARTITION_MONTHS_AHEAD = 3;
const PARTITION_INTERVAL_MS = 6 * 60 * 60 * 1000;

/**
 * The audit trail's housekeeping on every node that runs jobs: sealing (several runners at once
 * are harmless, the second finds the advisory lock taken and does nothing) and monthly partitions
 * made ahead of time (idempotent).
 */
export function registerAuditJobs(jobs: JobRunner, db: Database, log: JobLogger): void {
  // setInterval does not wait for the previous run: a slow seal must not start a second one
  let sealing = false;
  jobs.register({
    name: 'audit.seal.v1',
    async handle() {
      if (sealing) return;
      sealing = true;
      try {
        const result = await sealAudit(db);
        // The head in the log is an anchor outside the database: a chain rewritten from some
        // row onwards no longer ends in a hash the log has seen.
        if (result.sealed > 0) log.info(result, 'audit rows sealed');
      } finally {
        sealing = false;
      }
    },
  });
  jobs.every('audit.seal.v1', SEAL_INTERVAL_MS);

  jobs.register({
    name: 'audit.partitions.v1',
    async handle() {
      const { rows } = await db.query<{ made: number }>({
        text: 'SELECT audit_ensure_partitions($1) AS made',
        values: [PARTITION_MONTHS_AHEAD],
      });
      const made = rows[0]?.made ?? 0;
      if (made > 0) log.info({ made }, 'audit partitions made');
    },
  });
  jobs.every('audit.partitions.v1', PARTITION_INTERVAL_MS);
}
