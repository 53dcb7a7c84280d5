import type { Database } from '../../platform/db/database.js';
import { notFound } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { appendEvents } from '../timeline/timeline.repository.js';
import * as policy from './sla.policy.js';
import * as repo from './sla.repository.js';
import type { CategorySla, OverdueValue, SlaKind, SlaTargetPut } from './sla.schemas.js';

export async function listTargets(db: Database, actor: Actor): Promise<repo.SlaTargetRow[]> {
  if (!policy.canReadSlaTargets(actor)) throw refusal(actor);
  return repo.listTargets(db);
}

export async function getTarget(db: Database, actor: Actor, categoryIdOrSlug: string): Promise<repo.SlaTargetRow> {
  if (!policy.canReadSlaTargets(actor)) throw refusal(actor);
  const row = await repo.findTarget(db, categoryIdOrSlug);
  if (!row) throw notFound('error.category_not_found.detail', { id: categoryIdOrSlug });
  return row;
}

/** A category's targets for a staff viewer (null for anyone else, so the field is left out). */
export async function categorySlaFor(db: Database, actor: Actor, categoryId: string): Promise<CategorySla | null> {
  if (!policy.canReadSlaTargets(actor)) return null;
  const row = await repo.findTarget(db, categoryId);
  return row ? { acknowledgeMinutes: row.acknowledge_minutes, resolveMinutes: row.resolve_minutes } : null;
}

/**
 * Changes a category's targets (an omitted field stays, null removes it) and, in the same
 * transaction, the due dates of the category's open incidents, so the overdue filter and the
 * escalation job agree with the new targets at once. Audited with before and after.
 */
export async function updateTarget(
  db: Database,
  actor: Actor,
  categoryIdOrSlug: string,
  patch: SlaTargetPut,
  origin: AuditOrigin = {},
): Promise<{ target: repo.SlaTargetRow; recomputed: number }> {
  if (!policy.canManageSla(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const current = await repo.findTarget(tx, categoryIdOrSlug, true);
    if (!current) throw notFound('error.category_not_found.detail', { id: categoryIdOrSlug });
    const acknowledge = patch.acknowledgeMinutes === undefined ? current.acknowledge_minutes : patch.acknowledgeMinutes;
    const resolve = patch.resolveMinutes === undefined ? current.resolve_minutes : patch.resolveMinutes;
    await repo.saveTarget(tx, current.category_id, acknowledge, resolve);
    const recomputed = await repo.recomputeDueDates(tx, current.category_id, acknowledge, resolve);
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'sla.update',
      entityType: 'category',
      entityId: current.category_id,
      before: { acknowledgeMinutes: current.acknowledge_minutes, resolveMinutes: current.resolve_minutes },
      after: { acknowledgeMinutes: acknowledge, resolveMinutes: resolve },
      data: { recomputed },
    });
    const target = await repo.findTarget(tx, current.category_id);
    if (!target) throw new Error('category vanished inside its own transaction');
    return { target, recomputed };
  });
}

/** `overdue=` of a list query, limited to where this actor may look (401/403 for non-staff). */
export function overdueFilter(actor: Actor, value: OverdueValue): repo.OverdueFilter {
  const scope = policy.overdueScope(actor);
  return { value, communityIds: scope.kind === 'all' ? null : scope.ids };
}

/** The job that notifications attach to: one per escalation, enqueued with it. */
export const ESCALATED_JOB = 'incident.escalated.v1';
export interface EscalatedPayload {
  incidentId: string;
  kind: SlaKind;
  dueAt: string;
}

export interface EscalationResult {
  escalated: EscalatedPayload[];
}

/**
 * Escalates every incident that is late and was not escalated for that kind before: an internal
 * timeline event `sla.escalated` (the public is not told about targets), an audit entry by the
 * system (no actor), and the `incident.escalated.v1` job for notifications, all in the
 * transaction that records the escalation, so each happens exactly once. `now` is the clock (tests
 * pass a fake one); batches keep each transaction short.
 */
export async function escalateOverdue(
  db: Database,
  options: { now?: Date; batchSize?: number } = {},
): Promise<EscalationResult> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 200;
  const escalated: EscalatedPayload[] = [];
  // each batch takes what it escalates out of the next one's candidates, so this ends; the cap
  // only bounds one run on a badly backed-up system (the next run goes on)
  for (let batch = 0; batch < 50; batch++) {
    const rows = await db.transaction(async (tx) => {
      const claimed = [
        ...(await repo.claimEscalations(tx, 'acknowledge', now, batchSize)),
        ...(await repo.claimEscalations(tx, 'resolve', now, batchSize)),
      ];
      if (claimed.length === 0) return claimed;
      await appendEvents(
        tx,
        claimed.map((r) => ({
          incidentId: r.incident_id,
          type: 'sla.escalated',
          actorId: null,
          data: { kind: r.kind, dueAt: r.due_at.toISOString() },
          internal: true,
        })),
      );
      for (const r of claimed) {
        const payload: EscalatedPayload = { incidentId: r.incident_id, kind: r.kind, dueAt: r.due_at.toISOString() };
        await recordAudit(tx, {
          actorId: null,
          action: 'incident.sla_escalate',
          entityType: 'incident',
          entityId: r.incident_id,
          data: { kind: r.kind, dueAt: payload.dueAt, at: now.toISOString() },
        });
        await enqueue(tx, ESCALATED_JOB, payload);
      }
      return claimed;
    });
    for (const r of rows) escalated.push({ incidentId: r.incident_id, kind: r.kind, dueAt: r.due_at.toISOString() });
    if (rows.length === 0) break;
  }
  return { escalated };
}
