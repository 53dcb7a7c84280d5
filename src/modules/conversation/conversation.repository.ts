import type { Queryable } from '../../platform/db/database.js';
import { statementName } from '../../platform/db/statement-name.js';
import type { Visibility } from '../incidents/incidents.policy.js';
import { FROM, SELECT, visibilityCondition, type IncidentRow } from '../incidents/incidents.repository.js';

// ---------------------------------------------------------------------------------------------
// Comment moderation (the comments themselves are timeline events: timeline.repository.ts)

export async function hideComment(tx: Queryable, eventId: string, hiddenBy: string | null, reason: string) {
  await tx.query({
    name: 'comments.hide',
    text: `UPDATE incident_events SET hidden_at = now(), hidden_by = $2, hidden_reason = $3 WHERE id = $1::bigint`,
    values: [eventId, hiddenBy, reason],
  });
}

export async function unhideComment(tx: Queryable, eventId: string) {
  await tx.query({
    name: 'comments.unhide',
    text: `UPDATE incident_events SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL WHERE id = $1::bigint`,
    values: [eventId],
  });
}

// ---------------------------------------------------------------------------------------------
// "Me too"

export async function confirmationCount(db: Queryable, incidentId: string): Promise<number> {
  const { rows } = await db.query<{ confirmations: number }>({
    name: 'confirmations.count',
    text: 'SELECT confirmations FROM incidents WHERE id = $1',
    values: [incidentId],
  });
  return rows[0]?.confirmations ?? 0;
}

/**
 * Records the person's confirmation and bumps the incident's counter in one statement; the
 * counter's row lock puts concurrent confirmations one after another, so each sees its own
 * number. `added` is false when the person had confirmed already (the count is then re-read).
 */
export async function addConfirmation(
  tx: Queryable,
  incidentId: string,
  userId: string,
): Promise<{ added: boolean; confirmations: number }> {
  const { rows } = await tx.query<{ confirmations: number }>({
    name: 'confirmations.add',
    text: `WITH ins AS (
             INSERT INTO incident_confirmations (incident_id, user_id) VALUES ($1, $2)
             ON CONFLICT (incident_id, user_id) DO NOTHING
             RETURNING incident_id)
           UPDATE incidents SET confirmations = confirmations + 1
           WHERE id = (SELECT incident_id FROM ins)
           RETURNING confirmations`,
    values: [incidentId, userId],
  });
  // a separate statement: its snapshot includes a concurrent confirmation we waited for
  if (rows[0]) return { added: true, confirmations: rows[0].confirmations };
  return { added: false, confirmations: await confirmationCount(tx, incidentId) };
}

export async function removeConfirmation(
  tx: Queryable,
  incidentId: string,
  userId: string,
): Promise<{ removed: boolean; confirmations: number }> {
  const { rows } = await tx.query<{ confirmations: number }>({
    name: 'confirmations.remove',
    text: `WITH del AS (
             DELETE FROM incident_confirmations WHERE incident_id = $1 AND user_id = $2
             RETURNING incident_id)
           UPDATE incidents SET confirmations = confirmations - 1
           WHERE id = (SELECT incident_id FROM del)
           RETURNING confirmations`,
    values: [incidentId, userId],
  });
  if (rows[0]) return { removed: true, confirmations: rows[0].confirmations };
  return { removed: false, confirmations: await confirmationCount(tx, incidentId) };
}

// ---------------------------------------------------------------------------------------------
// Following

/** Idempotent: following twice keeps the first date (the order of GET /me/following). */
export async function follow(db: Queryable, incidentId: string, userId: string): Promise<void> {
  await db.query({
    name: 'follows.add',
    text: `INSERT INTO incident_follows (incident_id, user_id) VALUES ($1, $2)
           ON CONFLICT (incident_id, user_id) DO NOTHING`,
    values: [incidentId, userId],
  });
}

export async function unfollow(db: Queryable, incidentId: string, userId: string): Promise<void> {
  await db.query({
    name: 'follows.remove',
    text: 'DELETE FROM incident_follows WHERE incident_id = $1 AND user_id = $2',
    values: [incidentId, userId],
  });
}

export async function isFollowing(db: Queryable, incidentId: string, userId: string): Promise<boolean> {
  const { rows } = await db.query({
    name: 'follows.exists',
    text: 'SELECT 1 FROM incident_follows WHERE incident_id = $1 AND user_id = $2',
    values: [incidentId, userId],
  });
  return rows.length > 0;
}

/**
 * The followers of each incident (every id asked for is a key, [] when nobody follows it).
 * The realtime layer routes `me`-channel events with it; whether each follower may still see the
 * incident is the caller's question.
 */
export async function followersOf(db: Queryable, incidentIds: readonly string[]): Promise<Map<string, string[]>> {
  const followers = new Map<string, string[]>(incidentIds.map((id) => [id, []]));
  if (incidentIds.length === 0) return followers;
  const { rows } = await db.query<{ incident_id: string; user_id: string }>({
    name: 'follows.ofIncidents',
    text: `SELECT incident_id, user_id FROM incident_follows
           WHERE incident_id = ANY($1::uuid[])
           ORDER BY incident_id, created_at, user_id`,
    values: [[...new Set(incidentIds)]],
  });
  for (const row of rows) followers.get(row.incident_id)?.push(row.user_id);
  return followers;
}

export interface FollowedRow extends IncidentRow {
  /** when the person started following, RFC 3339 with microseconds (exact for the cursor) */
  followed_at: string;
}

/**
 * The incidents a person follows that `visibility` lets them see, newest follow first; keyset
 * paging strictly after (followed_at, incident id) of the last row returned.
 */
export async function listFollowed(
  db: Queryable,
  f: { userId: string; visibility: Visibility; after: [string, string] | null; limit: number },
): Promise<FollowedRow[]> {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = [`fo.user_id = ${param(f.userId)}`];
  const visible = visibilityCondition(f.visibility, param);
  if (visible) where.push(visible);
  if (f.after) {
    where.push(`(fo.created_at, fo.incident_id) < (${param(f.after[0])}::timestamptz, ${param(f.after[1])}::uuid)`);
  }
  const text = `${SELECT},
         to_char(fo.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS followed_at
    ${FROM}
    JOIN incident_follows fo ON fo.incident_id = i.id
    WHERE ${where.join(' AND ')}
    ORDER BY fo.created_at DESC, fo.incident_id DESC
    LIMIT ${param(f.limit)}`;
  const { rows } = await db.query<FollowedRow>({ name: statementName(text), text, values });
  return rows;
}
