import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { ESCALATED_JOB, escalateOverdue, type EscalatedPayload } from './sla.service.js';

export const ESCALATE_JOB = 'sla.escalate.v1';
/** How often late incidents are looked for: an escalation comes at most this long after its due time. */
export const ESCALATE_INTERVAL_MS = 60_000;

/**
 * The escalation sweep on every node that runs jobs (several at once escalate nothing twice: see
 * claimEscalations), and the hook each escalation enqueues, which writes the business event to
 * the log. The people are told by the notifier: its `sla-escalation` rule answers the internal
 * `sla.escalated` timeline event written in the same transaction (the assignee, else the
 * community's moderators), once per escalation like every other event.
 */
export function registerSlaJobs(jobs: JobRunner, db: Database, log: JobLogger): void {
  jobs.register({
    name: ESCALATE_JOB,
    async handle() {
      const { escalated } = await escalateOverdue(db);
      if (escalated.length > 0) log.info({ escalated: escalated.length }, 'late incidents escalated');
    },
  });
  jobs.every(ESCALATE_JOB, ESCALATE_INTERVAL_MS);

  jobs.register<EscalatedPayload>({
    name: ESCALATED_JOB,
    async handle(payload) {
      log.info({ event: 'incident.escalated', ...payload }, 'incident escalated');
    },
  });
}
