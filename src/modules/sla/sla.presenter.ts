import type { SlaTargetRow } from './sla.repository.js';
import type { IncidentSla, SlaTarget } from './sla.schemas.js';

export function presentTarget(row: SlaTargetRow): SlaTarget {
  return {
    categoryId: row.category_id,
    categorySlug: row.category_slug,
    acknowledgeMinutes: row.acknowledge_minutes,
    resolveMinutes: row.resolve_minutes,
    updatedAt: row.updated_at ? row.updated_at.toISOString() : null,
  };
}

const OPEN: readonly string[] = ['reported', 'acknowledged', 'in_progress'];

/**
 * An incident's due dates and whether it is late at `now`, by the rule the overdue filter uses
 * (sla.repository.ts): late to acknowledge while still `reported` after its acknowledge due
 * date; late to resolve while still open after its resolve due date.
 */
export function presentIncidentSla(
  row: { status: string; ack_due_at?: string | null; resolve_due_at?: string | null },
  now: Date = new Date(),
): IncidentSla {
  const ack = row.ack_due_at ?? null;
  const resolve = row.resolve_due_at ?? null;
  const past = (due: string | null) => due !== null && Date.parse(due) < now.getTime();
  return {
    acknowledgeDueAt: ack,
    resolveDueAt: resolve,
    overdue: {
      acknowledge: row.status === 'reported' && past(ack),
      resolve: OPEN.includes(row.status) && past(resolve),
    },
  };
}
