import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { compactStats } from './stats.service.js';

/** How often the stats deltas are folded into the rollups: readers add what is left, so this is speed, not correctness. */
export const STATS_COMPACT_MS = 5_000;

export function registerStatsJobs(jobs: JobRunner, db: Database, log: JobLogger): void {
  jobs.register({
    name: 'stats.compact.v1',
    async handle() {
      const folded = await compactStats(db);
      if (folded > 10_000) log.info({ folded }, 'stats deltas folded');
    },
  });
  jobs.every('stats.compact.v1', STATS_COMPACT_MS);
}
