import type { Queryable } from '../../platform/db/database.js';
import type { Status } from '../incidents/incidents.schemas.js';

/** How many incidents an export will hold (the CLI's progress bar); the same filters as the CLI takes. */
export async function countForExport(
  db: Queryable,
  f: { communityId: string | null; statuses: Status[] | null; categorySlugs: string[] | null },
): Promise<number> {
  const values: unknown[] = [];
  const where: string[] = [];
  if (f.communityId) {
    values.push(f.communityId);
    where.push(`i.community_id IN (
      WITH RECURSIVE tree AS (
        SELECT id FROM communities WHERE id = $${values.length}
        UNION ALL SELECT m.id FROM communities m JOIN tree ON m.parent_id = tree.id)
      SELECT id FROM tree)`);
  }
  if (f.statuses) {
    values.push(f.statuses);
    where.push(`i.status = ANY($${values.length}::incident_status[])`);
  }
  if (f.categorySlugs) {
    values.push(f.categorySlugs);
    where.push(`i.category_id IN (SELECT id FROM categories WHERE slug = ANY($${values.length}::text[]))`);
  }
  const { rows } = await db.query<{ n: number }>({
    text: `SELECT count(*) AS n FROM incidents i ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`,
    values,
  });
  return Number(rows[0]?.n ?? 0);
}

export async function categoriesBySlug(db: Queryable): Promise<Map<string, { id: string; active: boolean }>> {
  const { rows } = await db.query<{ id: string; slug: string; active: boolean }>({
    name: 'exports.categories',
    text: 'SELECT id, slug, active FROM categories',
  });
  return new Map(rows.map((r) => [r.slug, { id: r.id, active: r.active }]));
}

export interface HistoryFix {
  id: string;
  status: Status;
  createdAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
}

/**
 * Gives an incident that was just inserted (as a new report) its history: when it was made, its
 * status and when it was acknowledged and resolved. The stats triggers see the change like any
 * other (migration 0021).
 */
export async function applyHistory(tx: Queryable, v: HistoryFix): Promise<void> {
  await tx.query({
    name: 'exports.applyHistory',
    text: `UPDATE incidents SET status = $2::incident_status, created_at = $3::timestamptz,
                  updated_at = greatest($3::timestamptz, coalesce($5::timestamptz, $4::timestamptz, $3::timestamptz)),
                  acknowledged_at = $4::timestamptz, resolved_at = $5::timestamptz
           WHERE id = $1`,
    values: [v.id, v.status, v.createdAt, v.acknowledgedAt, v.resolvedAt],
  });
}
