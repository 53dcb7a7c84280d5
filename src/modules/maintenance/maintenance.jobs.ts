import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { deleteExpired } from '../idempotency/idempotency.repository.js';
import { autovacuumSetting, needsOwnVacuum, vacuumRun } from './maintenance.vacuum.js';

/**
 * How often the tables get their vacuum or analyze when Buurtwag does it. Under W1 the stats and
 * map delta tables each gained ~17,000 dead rows a minute: one table a minute fell behind.
 */
export const VACUUM_INTERVAL_MS = 15_000;

/**
 * Housekeeping on every node that runs jobs: expired idempotency keys go after a day. Running it
 * on several workers at once is harmless (a DELETE of the same old rows). Also the vacuum and
 * analyze that PostgreSQL's autovacuum does, where it does not: embedded, and on a server whose
 * autovacuum is off (maintenance.vacuum.ts); with autovacuum on, a run is one look at the setting.
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

  let warned = false;
  jobs.register({
    name: 'maintenance.vacuum.v1',
    async handle() {
      if (db.kind === 'postgres') {
        const autovacuum = await autovacuumSetting(db);
        if (!needsOwnVacuum(db.kind, autovacuum)) return;
        if (!warned) {
          warned = true;
          log.warn(
            { autovacuum },
            'autovacuum is off on this PostgreSQL: Buurtwag vacuums and analyzes its own tables (turn autovacuum on)',
          );
        }
      }
      for (const done of (await vacuumRun(db)) ?? []) {
        log.info({ table: done.table, action: done.action, ms: done.ms }, 'table vacuumed');
      }
    },
  });
  jobs.every('maintenance.vacuum.v1', VACUUM_INTERVAL_MS);
}
