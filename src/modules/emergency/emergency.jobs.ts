import type { Database } from '../../platform/db/database.js';
import { GiveUp, RetryAfter, type JobLogger, type JobRunner } from '../../platform/jobs/jobs.js';
import { OutboundRefused, safeRequest, type OutboundPolicy } from '../../platform/outbound/safe-http.js';
import { signWebhook } from '../../platform/outbound/standard-webhooks.js';
import { recordAudit } from '../audit/audit.repository.js';
import { ANONYMOUS } from '../identity/actor.js';
import { presentIncident } from '../incidents/incidents.presenter.js';
import { findIncidentById } from '../incidents/incidents.repository.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as repo from './emergency.repository.js';
import {
  ESCALATE_JOB,
  escalate,
  startIfNeeded,
  WEBHOOK_JOB,
  type EscalatePayload,
  type EscalationSettings,
} from './emergency.service.js';

export interface EmergencyDeps {
  db: Database;
  escalationMinutes: number;
  /** the external emergency system (the last level); null: none */
  webhook: { url: string; secret: string } | null;
  policy: OutboundPolicy;
  publicUrl: string;
  log: JobLogger;
  timeoutMs?: number;
  /** tests fake the clock */
  now?: () => Date;
}

const clock = (deps: EmergencyDeps) => deps.now?.() ?? new Date();
const settingsOf = (deps: EmergencyDeps): EscalationSettings => ({
  escalationMinutes: deps.escalationMinutes,
  webhook: deps.webhook !== null,
});

/**
 * What incidents.jobs.ts calls after an incident was created or changed (its jobs are enqueued in
 * the write's transaction, so a critical incident cannot slip by): starts the alert when needed.
 */
export function emergencyTrigger(deps: EmergencyDeps): (incidentId: string) => Promise<void> {
  return async (incidentId) => {
    if (await startIfNeeded(deps.db, settingsOf(deps), incidentId, clock(deps))) {
      deps.log.info({ event: 'emergency.started', incidentId }, 'emergency alert started');
    }
  };
}

export function registerEmergencyJobs(jobs: JobRunner, deps: EmergencyDeps): void {
  jobs.register<EscalatePayload>({
    name: ESCALATE_JOB,
    async handle(payload) {
      const outcome = await escalate(deps.db, settingsOf(deps), payload, clock(deps));
      // the database's clock ran ahead of this node's: come back when the level is due here
      if (outcome.kind === 'early') {
        throw new RetryAfter(Math.ceil((outcome.dueAt.getTime() - clock(deps).getTime()) / 1000));
      }
      if (outcome.kind === 'alerted') {
        deps.log.warn({ incidentId: payload.incidentId, level: outcome.level }, 'emergency alert escalated');
      }
    },
  });
  jobs.register<{ incidentId: string }>({
    name: WEBHOOK_JOB,
    maxAttempts: 12,
    // 15 s doubling, at most 10 minutes: an emergency system that is down is retried often
    backoff: (attempt) => Math.min(600, 15 * 2 ** (attempt - 1)),
    handle: (payload) => sendWebhook(deps, payload.incidentId),
  });
}

/**
 * The last level: one signed POST to the external emergency system. Its `webhook-id` is the same
 * on every retry (emergency_<incident>), so a receiver that dedupes on it acts once; here a
 * delivery that was taken is written down and never sent again. What it says is what the public
 * may know of the incident (a sensitive one's location blurred, no reporter, no private title),
 * and a link for staff: the receiver is outside our privacy rules.
 */
export async function sendWebhook(deps: EmergencyDeps, incidentId: string): Promise<void> {
  const { db } = deps;
  if (!deps.webhook) throw new GiveUp('EMERGENCY_WEBHOOK_URL is not set');
  const alert = await repo.findAlert(db, incidentId);
  if (!alert || alert.webhook_sent_at !== null || alert.state === 'acknowledged' || alert.state === 'stopped') return;
  const incident = await findIncidentById(db, incidentId);
  if (!incident) return;
  const now = clock(deps);
  const view = presentIncident(incident, ANONYMOUS, 'en');
  const open = incident.is_public && !incident.hidden;
  const payload = JSON.stringify({
    type: 'incident.emergency_unacknowledged',
    at: now.toISOString(),
    alert: {
      reason: alert.reason,
      startedAt: alert.started_at.toISOString(),
      levels: (await repo.levelsOf(db, incidentId)).map((l) => ({
        level: l.level,
        at: new Date(l.alerted_at).toISOString(),
      })),
    },
    incident: {
      id: view.id,
      reference: view.reference,
      url: `${deps.publicUrl.replace(/\/+$/, '')}/incidents/${view.id}`,
      title: open ? view.title : null,
      category: { slug: view.category.slug, name: view.category.name },
      priority: view.priority,
      status: view.status,
      communityId: view.communityId,
      location: view.location,
      locationBlurred: view.locationBlurred,
      createdAt: new Date(incident.created_at).toISOString(),
    },
  });
  const headers = signWebhook({ id: `emergency_${incidentId}`, timestamp: Math.floor(now.getTime() / 1000), payload }, [
    deps.webhook.secret,
  ]);
  let status: number;
  try {
    ({ status } = await safeRequest(
      deps.webhook.url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
        timeoutMs: deps.timeoutMs ?? 10_000,
        maxResponseBytes: 64 * 1024,
      },
      deps.policy,
    ));
  } catch (err) {
    // a URL the outbound policy forbids never works: dead at once, for an operator to see
    if (err instanceof OutboundRefused) throw new GiveUp(`refused by the outbound policy: ${err.message}`);
    throw err;
  }
  if (status < 200 || status >= 300) throw new Error(`the emergency system answered ${status}`);
  await db.transaction(async (tx) => {
    if (!(await repo.markWebhookSent(tx, incidentId, now))) return;
    const data = { level: 4, status };
    await appendEvents(tx, [{ incidentId, type: 'emergency.webhook_delivered', actorId: null, data, internal: true }]);
    await recordAudit(tx, {
      actorId: null,
      action: 'incident.emergency_webhook',
      entityType: 'incident',
      entityId: incidentId,
      data: { ...data, at: now.toISOString() },
    });
  });
}
