import type { Queryable } from '../../platform/db/database.js';
import type { OverdueValue, SlaKind } from './sla.schemas.js';

export interface SlaTargetRow {
  category_id: string;
  category_slug: string;
  acknowledge_minutes: number | null;
  resolve_minutes: number | null;
  updated_at: Date | null;
}

/** Every category with its targets (nulls where it has none), in the order categories list. */
export async function listTargets(db: Queryable): Promise<SlaTargetRow[]> {
  const { rows } = await db.query<SlaTargetRow>({
    name: 'sla.targets.list',
    text: `SELECT c.id AS category_id, c.slug AS category_slug, s.acknowledge_minutes, s.resolve_minutes, s.updated_at
           FROM categories c LEFT JOIN sla_targets s ON s.category_id = c.id
           ORDER BY c.sort_order, c.slug`,
  });
  return rows;
}

/** The category (by id or slug) with its targets; null when there is no such category. */
export async function findTarget(db: Queryable, idOrSlug: string, forUpdate = false): Promise<SlaTargetRow | null> {
  const { rows } = await db.query<SlaTargetRow>({
    name: forUpdate ? 'sla.targets.find.lock' : 'sla.targets.find',
    // the category row is locked so two admins changing one category's targets take turns
    text: `SELECT c.id AS category_id, c.slug AS category_slug, s.acknowledge_minutes, s.resolve_minutes, s.updated_at
           FROM categories c LEFT JOIN sla_targets s ON s.category_id = c.id
           WHERE c.id::text = $1 OR c.slug = $1${forUpdate ? ' FOR UPDATE OF c' : ''}`,
    values: [idOrSlug],
  });
  return rows[0] ?? null;
}

/** Sets a category's targets; both null removes them. */
export async function saveTarget(
  tx: Queryable,
  categoryId: string,
  acknowledgeMinutes: number | null,
  resolveMinutes: number | null,
): Promise<void> {
  if (acknowledgeMinutes === null && resolveMinutes === null) {
    await tx.query({ text: 'DELETE FROM sla_targets WHERE category_id = $1', values: [categoryId] });
    return;
  }
  await tx.query({
    text: `INSERT INTO sla_targets (category_id, acknowledge_minutes, resolve_minutes)
           VALUES ($1, $2, $3)
           ON CONFLICT (category_id) DO UPDATE
             SET acknowledge_minutes = EXCLUDED.acknowledge_minutes, resolve_minutes = EXCLUDED.resolve_minutes,
                 updated_at = now()`,
    values: [categoryId, acknowledgeMinutes, resolveMinutes],
  });
}

/** The statuses in which an incident can still be late to resolve. */
const OPEN = `('reported', 'acknowledged', 'in_progress')`;

/**
 * New due dates for the category's open incidents (closed ones keep theirs: they are history).
 * Not a change of the incident (no version bump): staff editing one meanwhile get no 412.
 * Returns how many changed.
 */
export async function recomputeDueDates(
  tx: Queryable,
  categoryId: string,
  acknowledgeMinutes: number | null,
  resolveMinutes: number | null,
): Promise<number> {
  const { rowCount } = await tx.query({
    text: `WITH due AS (
             SELECT id, created_at + make_interval(mins => $2::int) AS ack,
                        created_at + make_interval(mins => $3::int) AS res
             FROM incidents WHERE category_id = $1 AND status IN ${OPEN})
           UPDATE incidents i SET ack_due_at = due.ack, resolve_due_at = due.res
           FROM due
           WHERE i.id = due.id
             AND (i.ack_due_at IS DISTINCT FROM due.ack OR i.resolve_due_at IS DISTINCT FROM due.res)`,
    values: [categoryId, acknowledgeMinutes, resolveMinutes],
  });
  return rowCount;
}

/**
 * Late now, as SQL over `incidents i` (`now`: an SQL expression for the time). The terms repeat
 * the partial indexes' predicates (0020_templates_sla.sql) so those indexes serve them.
 */
export const lateToAcknowledge = (now: string) => `(i.status = 'reported' AND i.ack_due_at < ${now})`;
export const lateToResolve = (now: string) => `(i.status IN ${OPEN} AND i.resolve_due_at < ${now})`;

export interface OverdueFilter {
  value: OverdueValue;
  /** the communities the filter may look in (null: all, for admins) */
  communityIds: string[] | null;
}

/** The `overdue=` list filter as SQL over `incidents i`, its values added through `param`. */
export function overdueCondition(f: OverdueFilter, param: (value: unknown) => string): string {
  const ack = lateToAcknowledge('now()');
  const res = lateToResolve('now()');
  const late =
    f.value === 'acknowledge'
      ? ack
      : f.value === 'resolve'
        ? res
        : f.value === 'true'
          ? `(${ack} OR ${res})`
          : // a missing target compares as NULL: not late
            `NOT coalesce(${ack} OR ${res}, false)`;
  return f.communityIds === null ? late : `(${late} AND i.community_id = ANY(${param(f.communityIds)}::uuid[]))`;
}

export interface EscalationRow {
  incident_id: string;
  kind: SlaKind;
  due_at: Date;
}

/**
 * Marks up to `limit` newly late incidents of one kind as escalated at `now` and returns them.
 * Once per incident and kind: a marked incident is no longer a candidate, and a node running at
 * the same moment skips the rows this one has locked (SKIP LOCKED) and re-checks the mark on any it
 * waited for, so it never takes the same row. Not a change of the incident (no version bump).
 */
export async function claimEscalations(
  tx: Queryable,
  kind: SlaKind,
  now: Date,
  limit: number,
): Promise<EscalationRow[]> {
  const [due, mark, late] =
    kind === 'acknowledge'
      ? ['ack_due_at', 'ack_escalated_at', lateToAcknowledge('$1::timestamptz')]
      : ['resolve_due_at', 'resolve_escalated_at', lateToResolve('$1::timestamptz')];
  const { rows } = await tx.query<EscalationRow>({
    name: `sla.escalations.claim.${kind}`,
    // the candidate terms repeat the escalation indexes' predicates (0020_templates_sla.sql)
    text: `UPDATE incidents SET ${mark} = $1::timestamptz
           WHERE id IN (SELECT i.id FROM incidents i
                        WHERE ${late} AND i.${due} IS NOT NULL AND i.${mark} IS NULL
                        ORDER BY i.${due} LIMIT $2
                        FOR UPDATE SKIP LOCKED)
             AND ${mark} IS NULL
           RETURNING id AS incident_id, '${kind}' AS kind, ${due} AS due_at`,
    values: [now, limit],
  });
  return rows;
}
