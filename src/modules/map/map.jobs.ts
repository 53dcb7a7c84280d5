import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { compactClusters } from './map.service.js';

/** How often the map rollup's deltas are folded: readers add what is left, so this is speed, not correctness. */
export const MAP_COMPACT_MS = 5_000;

export function registerMapJobs(jobs: JobRunner, db: Database, log: JobLogger): void {
  jobs.register({
    name: 'map.compact.v1',
    async handle() {
      const folded = await compactClusters(db);
      if (folded > 10_000) log.info({ folded }, 'map cluster deltas folded');
    },
  });
  jobs.every('map.compact.v1', MAP_COMPACT_MS);
}
