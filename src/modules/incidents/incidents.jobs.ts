import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';

/**
 * What follows an incident write, outside the request. Enqueued in the write's transaction, so
 * it happens exactly when the write committed. Today it writes the business event to the log;
 * notifications, forwarding to authorities and webhooks attach here as they arrive.
 */
export function registerIncidentJobs(jobs: JobRunner, log: JobLogger): void {
  jobs.register<{ incidentId: string }>({
    name: 'incident.created.v1',
    async handle(payload) {
      log.info({ event: 'incident.created', incidentId: payload.incidentId }, 'incident created');
    },
  });
  jobs.register<{ incidentId: string; changes: string[] }>({
    name: 'incident.updated.v1',
    async handle(payload) {
      log.info(
        { event: 'incident.updated', incidentId: payload.incidentId, changes: payload.changes },
        'incident updated',
      );
    },
  });
}
