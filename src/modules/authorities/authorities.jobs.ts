import type { Database, Queryable } from '../../platform/db/database.js';
import { enqueue, GiveUp, RetryAfter, type JobLogger, type JobRunner } from '../../platform/jobs/jobs.js';
import { recordAudit } from '../audit/audit.repository.js';
import { findIncidentById, type IncidentRow } from '../incidents/incidents.repository.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as repo from './authorities.repository.js';
import type { AuthorityRow } from './authorities.repository.js';

export const FORWARD_JOB = 'authority.forward.v1';

export interface ForwardPayload {
  incidentId: string;
  authorityId: string;
}

/**
 * Sends one incident to one authority. The real one (Open311 POST, webhook) speaks HTTP through
 * the outbound client; tests pass a fake. `retry`: try again later (after `afterSeconds` when the
 * authority said so, e.g. Retry-After, else on the backoff schedule); `gone`: the authority's
 * endpoint no longer exists (HTTP 410): the authority is disabled and the job gives up.
 * Thrown errors count as `retry` on the backoff schedule.
 */
export type ForwardDelivery = (
  a: AuthorityRow,
  i: IncidentRow,
) => Promise<
  | { kind: 'delivered'; externalId?: string }
  | { kind: 'retry'; afterSeconds?: number; reason: string }
  | { kind: 'gone'; reason: string }
>;

/**
 * Retry schedule: 30 s doubling (30, 60, 120, … 15,360 s after attempts 1–10: 30 × (2^10 − 1) =
 * 30,690 s ≈ 8.5 h), then capped at 6 h (21,600 s) for the delays after attempts 11–21: 11 × 6 h =
 * 66 h. 22 attempts span 30,690 + 237,600 = 268,290 s ≈ 74.5 h ≈ 3.1 days (±20 % jitter on each
 * delay), long enough to ride out a weekend outage at a council; then the job is dead and shows
 * in GET /admin/forwarding/dead.
 */
export const FORWARD_MAX_ATTEMPTS = 22;
export const FORWARD_MAX_DELAY_SECONDS = 6 * 3600;
export function forwardBackoff(attempt: number): number {
  return Math.min(FORWARD_MAX_DELAY_SECONDS, 30 * 2 ** Math.max(0, attempt - 1));
}

/** In the transaction of the write that routed the incident: the job exists iff the write committed. */
export async function enqueueForward(tx: Queryable, payload: ForwardPayload): Promise<void> {
  await enqueue(tx, FORWARD_JOB, payload, { maxAttempts: FORWARD_MAX_ATTEMPTS });
}

export function registerAuthorityJobs(jobs: JobRunner, db: Database, deliver: ForwardDelivery, log: JobLogger): void {
  jobs.register<ForwardPayload>({
    name: FORWARD_JOB,
    maxAttempts: FORWARD_MAX_ATTEMPTS,
    backoff: forwardBackoff,
    maxRetryAfterSeconds: FORWARD_MAX_DELAY_SECONDS,
    handle: (payload, { attempt }) => forward(db, deliver, log, payload, attempt),
  });
}

async function forward(
  db: Database,
  deliver: ForwardDelivery,
  log: JobLogger,
  payload: ForwardPayload,
  attempt: number,
): Promise<void> {
  const incident = await findIncidentById(db, payload.incidentId);
  if (!incident) throw new GiveUp('the incident no longer exists');
  const authority = await repo.findAuthority(db, payload.authorityId);
  if (!authority) throw new GiveUp('the authority no longer exists');
  if (!authority.enabled) {
    throw new GiveUp(`the authority is disabled${authority.disabled_reason ? `: ${authority.disabled_reason}` : ''}`);
  }
  if (authority.delivery.kind === 'none') throw new GiveUp('the authority has no delivery configured');
  // a run after the effect committed but before the job was removed (a crash, an expired lease)
  if (await repo.wasForwarded(db, incident.id, authority.id)) return;

  const result = await deliver(authority, incident);
  const context = { job: FORWARD_JOB, incidentId: incident.id, authorityId: authority.id, attempt };
  switch (result.kind) {
    case 'delivered': {
      const recorded = await db.transaction(async (tx) => {
        // two runners that both delivered (one's lease ran out mid-call) record it once
        if (!(await repo.lockIncident(tx, incident.id))) return false;
        if (await repo.wasForwarded(tx, incident.id, authority.id)) return false;
        await repo.setExternalId(tx, incident.id, result.externalId ?? null);
        await appendEvents(tx, [
          {
            incidentId: incident.id,
            type: 'forwarded',
            actorId: null,
            data: { authorityId: authority.id, name: authority.name, externalId: result.externalId ?? null },
          },
        ]);
        return true;
      });
      log.info({ ...context, externalId: result.externalId ?? null, recorded }, 'incident forwarded');
      return;
    }
    case 'gone':
      await db.transaction(async (tx) => {
        await repo.disableAuthority(tx, authority.id, result.reason);
        await recordAudit(tx, {
          actorId: null,
          action: 'authority.disable',
          entityType: 'authority',
          entityId: authority.id,
          data: { reason: result.reason, by: 'forwarding', incidentId: incident.id },
        });
      });
      log.warn({ ...context, reason: result.reason }, 'authority endpoint gone: authority disabled');
      throw new GiveUp(`gone: ${result.reason}`);
    case 'retry':
      if (result.afterSeconds !== undefined) throw new RetryAfter(result.afterSeconds, result.reason);
      throw new Error(result.reason);
  }
}
