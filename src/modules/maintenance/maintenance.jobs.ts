import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { deleteExpired } from '../idempotency/idempotency.repository.js';

/**
 * Housekeeping on every node that runs jobs: expired idempotency keys go after a day. Running it
 * on several workers at once is harmless (a DELETE of the same old rows).
 */
export function registerMaintenanceJobs(jobs: JobRunner, db: Database, log: JobLogger): void {
  jobs.register({
    name: 'maintenance.idempotency-keys.v1',
    async handle() {
      const removed = await deleteExpired(db);
      if (removed > 0) log.info({ removed }, 'expired idempotency keys removed');
    },
  });
  jobs.every('maintenance.idempotency-keys.v1', 60 * 60 * 1000);
}
