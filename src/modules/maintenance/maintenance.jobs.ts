import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { deleteExpired } from '../idempotency/idempotency.repository.js';
import { vacuumMostUrgent } from './maintenance.vacuum.js';

/**
 * How often the embedded database's tables get their vacuum or analyze. Under W1 the stats and
 * map delta tables each gained ~17,000 dead rows a minute: one table a minute fell behind.
 */
export const VACUUM_INTERVAL_MS = 15_000;

/**
 * Housekeeping on every node that runs jobs: expired idempotency keys go after a day. Running it
 * on several workers at once is harmless (a DELETE of the same old rows). Embedded, also the
 * vacuum and analyze that PostgreSQL's autovacuum does elsewhere (maintenance.vacuum.ts).
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

  if (db.kind !== 'embedded') return;
  jobs.register({
    name: 'maintenance.vacuum.v1',
    async handle() {
      for (const done of await vacuumMostUrgent(db)) {
        log.info({ table: done.table, action: done.action, ms: done.ms }, 'embedded database table vacuumed');
      }
    },
  });
  jobs.every('maintenance.vacuum.v1', VACUUM_INTERVAL_MS);
}
