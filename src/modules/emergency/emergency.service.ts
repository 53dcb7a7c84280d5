import type { Database, Tx } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { findVisible } from '../incidents/incidents.service.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as policy from './emergency.policy.js';
import * as repo from './emergency.repository.js';

/**
 * Emergency escalation, a ladder per incident:
 *
 *   1. the community's staff on duty (every responder of the community when nobody is)
 *   2. the community's moderators
 *   3. the admins
 *   4. the external emergency system (EMERGENCY_WEBHOOK_URL), when one is configured
 *
 * A level goes out at once when the alert starts (level 1) or when the previous level stayed
 * unacknowledged for `escalationMinutes`; a level that finds nobody passes to the next at once.
 * Each level is one row of emergency_alert_levels, inserted in the transaction that writes its
 * recipients, its timeline event, its audit entry and the next level's job, with the alert row
 * locked: a job that runs twice, or on two nodes, alerts each level once. The people are told
 * by the notifier (the `emergency` rule reads the recipients), on every channel they have.
 */
export const ESCALATE_JOB = 'emergency.escalate.v1';
export const WEBHOOK_JOB = 'emergency.webhook.v1';
export const LAST_LEVEL = 4;
const OPEN = new Set(['reported', 'acknowledged', 'in_progress']);
const AUDIENCE = ['', 'on_duty', 'moderators', 'admins', 'webhook'] as const;

export interface EscalationSettings {
  escalationMinutes: number;
  /** is there a level 4 */
  webhook: boolean;
}

export interface EscalatePayload {
  incidentId: string;
  level: number;
}

/** Why this incident needs an alert now; null: it does not. */
function reasonFor(facts: repo.TriggerFacts): 'critical' | 'emergency_category' | null {
  if (!OPEN.has(facts.status)) return null;
  if (facts.priority === 'critical') return 'critical';
  return facts.emergency ? 'emergency_category' : null;
}

/**
 * After an incident write (created, priority or category changed): starts the alert when the
 * incident is critical or in an emergency category and has none yet, alerting level 1 in the
 * same transaction. Returns whether it started one.
 */
export async function startIfNeeded(
  db: Database,
  settings: EscalationSettings,
  incidentId: string,
  now: Date,
): Promise<boolean> {
  // Most incidents need no alert, and every create runs this: one read decides that, without
  // the three round trips of a transaction (in embedded mode, each holds the one session
  // requests wait for). A write that makes the incident an emergency after this read enqueues
  // its own job, which reads it again.
  const seen = await repo.triggerFacts(db, incidentId);
  if (!seen || !reasonFor(seen)) return false;
  return db.transaction(async (tx) => {
    const facts = await repo.triggerFacts(tx, incidentId);
    const reason = facts ? reasonFor(facts) : null;
    if (!facts || !reason) return false;
    if (!(await repo.insertAlert(tx, { incidentId, communityId: facts.community_id, reason, now }))) return false;
    await recordAudit(tx, {
      actorId: null,
      action: 'incident.emergency_start',
      entityType: 'incident',
      entityId: incidentId,
      data: { reason, at: now.toISOString() },
    });
    await alertLevel(tx, settings, incidentId, 1, now);
    return true;
  });
}

export type EscalateOutcome = { kind: 'alerted'; level: number } | { kind: 'early'; dueAt: Date } | { kind: 'nothing' };

/** The job of a level that came due: alerts it unless acknowledged, done already, or early. */
export async function escalate(
  db: Database,
  settings: EscalationSettings,
  payload: EscalatePayload,
  now: Date,
): Promise<EscalateOutcome> {
  return db.transaction(async (tx) => {
    const alert = await repo.findAlert(tx, payload.incidentId, true);
    if (!alert || alert.state !== 'active' || alert.level >= payload.level) return { kind: 'nothing' };
    if (alert.escalates_at && now < alert.escalates_at) return { kind: 'early', dueAt: alert.escalates_at };
    const level = await alertLevel(tx, settings, payload.incidentId, payload.level, now);
    return level === null ? { kind: 'nothing' } : { kind: 'alerted', level };
  });
}

/**
 * Alerts `level` (and the ones after it that find nobody) with the alert row locked; returns the
 * level alerted last, or null when the incident is no longer open (the alert stops).
 */
async function alertLevel(
  tx: Tx,
  settings: EscalationSettings,
  incidentId: string,
  first: number,
  now: Date,
): Promise<number | null> {
  const alert = await repo.findAlert(tx, incidentId, true);
  if (!alert) return null;
  if (!OPEN.has(alert.incident_status)) {
    await repo.stopAlert(tx, incidentId, 'stopped');
    return null;
  }
  const last = settings.webhook ? LAST_LEVEL : LAST_LEVEL - 1;
  for (let level = first; level <= last; level++) {
    if (!(await repo.claimLevel(tx, incidentId, level, now))) return null; // done before
    const { count, onDuty } =
      level === LAST_LEVEL
        ? { count: 0, onDuty: false }
        : await repo.addRecipients(tx, { incidentId, level, communityId: alert.community_id });
    const audience = level === 1 && !onDuty ? 'responders' : AUDIENCE[level];
    const data = { level, audience, recipients: count, reason: alert.reason };
    await appendEvents(tx, [{ incidentId, type: 'emergency.alerted', actorId: null, data, internal: true }]);
    await recordAudit(tx, {
      actorId: null,
      action: 'incident.emergency_alert',
      entityType: 'incident',
      entityId: incidentId,
      data: { ...data, at: now.toISOString() },
    });
    if (level === LAST_LEVEL) await enqueue(tx, WEBHOOK_JOB, { incidentId }, { maxAttempts: 12, urgent: true });
    const reached = level === LAST_LEVEL || count > 0;
    if (reached && level < last) {
      const escalatesAt = new Date(now.getTime() + settings.escalationMinutes * 60_000);
      await repo.moveAlert(tx, incidentId, { level, state: 'active', escalatesAt });
      await enqueue(tx, ESCALATE_JOB, { incidentId, level: level + 1 } satisfies EscalatePayload, {
        runAt: escalatesAt,
        urgent: true,
      });
      return level;
    }
    if (level === last) {
      // nobody further to call: the alert stays open for acknowledgement, but climbs no more
      await repo.moveAlert(tx, incidentId, { level, state: 'exhausted', escalatesAt: null });
      return level;
    }
    // nobody at this level: the next one at once
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Acknowledging

export interface AlertView {
  alert: repo.AlertRow;
  levels: Array<{ level: number; alerted_at: Date }>;
}

async function alertOf(db: Database, actor: Actor, idOrReference: string) {
  const incident = await findVisible(db, actor, idOrReference);
  if (!policy.canAcknowledgeAlert(actor, { communityId: incident.community_id })) throw refusal(actor);
  return incident;
}

/** The incident's alert, for its staff (404 when hidden from the caller, 403 for others who see it). */
export async function getAlert(db: Database, actor: Actor, idOrReference: string): Promise<AlertView> {
  const incident = await alertOf(db, actor, idOrReference);
  const alert = await repo.findAlert(db, incident.id);
  if (!alert) throw notFound('error.emergency_no_alert.detail', { id: incident.reference });
  return { alert, levels: await repo.levelsOf(db, incident.id) };
}

/**
 * Staff say they have it: the ladder stops (the pending level's job finds the alert acknowledged
 * and does nothing). Acknowledging again changes nothing and answers the first acknowledgement.
 */
export async function acknowledge(
  db: Database,
  actor: Actor,
  idOrReference: string,
  origin: AuditOrigin = {},
  now = new Date(),
): Promise<AlertView> {
  const incident = await alertOf(db, actor, idOrReference);
  const userId = actor.userId!;
  await db.transaction(async (tx) => {
    const alert = await repo.findAlert(tx, incident.id, true);
    if (!alert) throw new AppError('conflict', 'error.emergency_no_alert.detail', { id: incident.reference });
    if (alert.state === 'acknowledged') return;
    if (alert.state === 'stopped') {
      throw new AppError('conflict', 'error.emergency_alert_stopped.detail', { id: incident.reference });
    }
    await repo.acknowledgeAlert(tx, incident.id, userId, now);
    const data = { level: alert.level, after: Math.round((now.getTime() - alert.started_at.getTime()) / 1000) };
    await appendEvents(tx, [
      { incidentId: incident.id, type: 'emergency.acknowledged', actorId: userId, data, internal: true },
    ]);
    await recordAudit(tx, {
      ...origin,
      actorId: userId,
      action: 'incident.emergency_acknowledge',
      entityType: 'incident',
      entityId: incident.id,
      data,
    });
  });
  const alert = await repo.findAlert(db, incident.id);
  return { alert: alert!, levels: await repo.levelsOf(db, incident.id) };
}

// ---------------------------------------------------------------------------------------------
// On duty

export async function goOnDuty(
  db: Database,
  actor: Actor,
  communityId: string,
  now = new Date(),
): Promise<{ communityId: string; since: Date }> {
  if (!policy.canGoOnDuty(actor, communityId)) throw refusal(actor);
  const since = await repo.setOnDuty(db, actor.userId, communityId, now);
  return { communityId, since };
}

export async function goOffDuty(db: Database, actor: Actor, communityId: string): Promise<void> {
  if (actor.userId === null) throw refusal(actor);
  // going off duty where one was not on is no error: the outcome is the same
  await repo.clearOnDuty(db, actor.userId, communityId);
}

export async function listOnDuty(db: Database, actor: Actor): Promise<repo.OnDutyRow[]> {
  if (actor.userId === null) throw refusal(actor);
  return repo.listOnDuty(db, actor.userId);
}
