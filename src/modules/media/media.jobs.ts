import type { Database, Queryable } from '../../platform/db/database.js';
import { enqueue, type JobLogger, type JobRunner } from '../../platform/jobs/jobs.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import { collectOrphans } from './media.gc.js';
import { pruneUploadLedger } from './media.repository.js';

export const DELETE_OBJECTS_JOB = 'media.delete-objects.v1';
const GC_JOB = 'media.gc.v1';

/**
 * Stored objects outlive their rows only briefly: deleting media or an incident enqueues this in
 * the same transaction, and it retries with backoff while the store is down.
 */
export async function enqueueObjectDeletion(tx: Queryable, keys: readonly string[]): Promise<void> {
  if (keys.length > 0) await enqueue(tx, DELETE_OBJECTS_JOB, { keys });
}

export function registerMediaJobs(jobs: JobRunner, db: Database, storage: BlobStorage, log: JobLogger): void {
  jobs.register<{ keys: string[] }>({
    name: DELETE_OBJECTS_JOB,
    async handle(payload) {
      await storage.delete(payload.keys);
    },
  });
  jobs.register({
    name: GC_JOB,
    async handle() {
      const result = await collectOrphans(db, storage);
      if (result.removedObjects > 0) log.info({ ...result }, 'orphaned media removed');
      const pruned = await pruneUploadLedger(db);
      if (pruned > 0) log.info({ pruned }, 'old upload quota entries removed');
    },
  });
  jobs.every(GC_JOB, 6 * 60 * 60 * 1000);
}
