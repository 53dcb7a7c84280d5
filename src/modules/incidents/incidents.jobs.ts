import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';

/** Work that follows every incident write (emergency alerts); it must be idempotent: a job may run twice. */
export type AfterIncidentWrite = (incidentId: string) => Promise<void>;

/**
 * What follows an incident write, outside the request. Enqueued in the write's transaction, so
 * it happens exactly when the write committed. It writes the business event to the log and runs
 * the hooks (the emergency alert of a critical incident); a failing hook retries the job.
 */
export function registerIncidentJobs(jobs: JobRunner, log: JobLogger, hooks: readonly AfterIncidentWrite[] = []): void {
  const after = async (incidentId: string) => {
    for (const hook of hooks) await hook(incidentId);
  };
  jobs.register<{ incidentId: string }>({
    name: 'incident.created.v1',
    async handle(payload) {
      log.info({ event: 'incident.created', incidentId: payload.incidentId }, 'incident created');
      await after(payload.incidentId);
    },
  });
  jobs.register<{ incidentId: string; changes: string[] }>({
    name: 'incident.updated.v1',
    async handle(payload) {
      log.info(
        { event: 'incident.updated', incidentId: payload.incidentId, changes: payload.changes },
        'incident updated',
      );
      // priority and category moves are what can make an incident an emergency
      if (payload.changes.some((c) => c === 'priority_changed' || c === 'category_changed')) {
        await after(payload.incidentId);
      }
    },
  });
}
