import type { Queryable } from '../../platform/db/database.js';
import { FROM, SELECT, type IncidentRow } from '../incidents/incidents.repository.js';
import type { Status } from '../incidents/incidents.schemas.js';

// ---------------------------------------------------------------------------------------------
// The moderation history

export type TargetType = 'incident' | 'comment' | 'media' | 'user' | 'ban_list';

export interface ModerationActionInsert {
  actorId: string | null;
  /** incident.hide, comment.redact, user.ban, banlist.add, … (the audit trail's action names) */
  action: string;
  targetType: TargetType;
  targetId: string;
  communityId: string | null;
  incidentId: string | null;
  reason: string | null;
}

/** Inside the transaction of the action it records (its audit entry is written there too). */
export async function recordModerationAction(tx: Queryable, a: ModerationActionInsert): Promise<void> {
  await tx.query({
    name: 'moderation.record',
    text: `INSERT INTO moderation_actions (actor_id, action, target_type, target_id, community_id, incident_id, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    values: [a.actorId, a.action, a.targetType, a.targetId, a.communityId, a.incidentId, a.reason],
  });
}

export interface ModerationActionRow {
  id: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target_type: TargetType;
  target_id: string;
  community_id: string | null;
  incident_id: string | null;
  incident_reference: string | null;
  reason: string | null;
  created_at: Date;
}

export interface HistoryFilter {
  /** null: every community (admins only, bans included) */
  communityIds: string[] | null;
  incidentId: string | null;
  action: string | null;
  /** keyset: rows with a smaller id */
  beforeId: string | null;
  limit: number;
}

/** Newest first. */
export async function listModerationActions(db: Queryable, f: HistoryFilter): Promise<ModerationActionRow[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (f.communityIds !== null) where.push(`m.community_id = ANY(${param(f.communityIds)}::uuid[])`);
  if (f.incidentId !== null) where.push(`m.incident_id = ${param(f.incidentId)}::uuid`);
  if (f.action !== null) where.push(`m.action = ${param(f.action)}`);
  if (f.beforeId !== null) where.push(`m.id < ${param(f.beforeId)}::bigint`);
  const { rows } = await db.query<ModerationActionRow>({
    text: `SELECT m.id::text, m.actor_id, u.display_name AS actor_name, m.action, m.target_type, m.target_id,
                  m.community_id, m.incident_id, i.reference AS incident_reference, m.reason, m.created_at
           FROM moderation_actions m
           LEFT JOIN users u ON u.id = m.actor_id
           LEFT JOIN incidents i ON i.id = m.incident_id
           ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY m.id DESC
           LIMIT ${param(f.limit)}`,
    values,
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Incidents: pre-moderation and redaction

/** A held report decided: no longer pending; hidden or not, and its status (rejected, or as it was). */
export async function settleApproval(tx: Queryable, id: string, v: { hidden: boolean; status: Status }): Promise<void> {
  await tx.query({
    name: 'moderation.settleApproval',
    text: `UPDATE incidents SET pending_approval = false, hidden = $2, status = $3::incident_status,
                  version = version + 1, updated_at = now()
           WHERE id = $1`,
    values: [id, v.hidden, v.status],
  });
}

export async function redactIncidentText(
  tx: Queryable,
  id: string,
  field: 'title' | 'description',
  text: string,
): Promise<void> {
  // the column name comes from a closed union, never from input
  await tx.query({
    text: `UPDATE incidents SET ${field === 'title' ? 'title' : 'description'} = $2,
                  version = version + 1, updated_at = now()
           WHERE id = $1`,
    values: [id, text],
  });
}

export async function redactCommentBody(tx: Queryable, eventId: string, text: string): Promise<void> {
  await tx.query({
    text: `UPDATE incident_events SET data = data || jsonb_build_object('body', $2::text, 'redacted', true)
           WHERE id = $1::bigint`,
    values: [eventId, text],
  });
}

/**
 * Stored answers of Idempotency-Key requests repeat what was first sent back: a retried POST of
 * the incident (or comment) would show the redacted words again for up to a day. They get the new
 * words too. A scan of the (one day of) keys: redaction is rare.
 */
export async function redactStoredIncidentResponses(
  tx: Queryable,
  incidentId: string,
  field: 'title' | 'description',
  text: string,
): Promise<void> {
  await tx.query({
    text: `UPDATE idempotency_keys SET response = jsonb_set(response, $3::text[], to_jsonb($2::text))
           WHERE jsonb_typeof(response) = 'object' AND response->>'id' = $1 AND response ? $4`,
    values: [incidentId, text, [field], field],
  });
}

export async function redactStoredCommentResponses(tx: Queryable, eventId: string, text: string): Promise<void> {
  await tx.query({
    text: `UPDATE idempotency_keys SET response = jsonb_set(response, '{data,body}', to_jsonb($2::text))
           WHERE jsonb_typeof(response) = 'object' AND response->>'id' = $1
             AND response->>'type' IN ('comment', 'internal_note')`,
    values: [eventId, text],
  });
}

/** The held reports of these communities (null: all), oldest first: a queue. */
export async function listPending(
  db: Queryable,
  f: { communityIds: string[] | null; after: [string, string] | null; limit: number },
): Promise<IncidentRow[]> {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const where = ['i.pending_approval'];
  if (f.communityIds !== null) where.push(`i.community_id = ANY(${param(f.communityIds)}::uuid[])`);
  if (f.after !== null) {
    where.push(`(i.created_at, i.id) > (${param(f.after[0])}::timestamptz, ${param(f.after[1])}::uuid)`);
  }
  const { rows } = await db.query<IncidentRow>({
    text: `${SELECT} ${FROM} WHERE ${where.join(' AND ')} ORDER BY i.created_at, i.id LIMIT ${param(f.limit)}`,
    values,
  });
  return rows;
}

/** How the incident's authority takes reports ('none', 'open311', 'webhook'); null when it has none or is disabled. */
export async function authorityDeliveryKind(db: Queryable, authorityId: string): Promise<string | null> {
  const { rows } = await db.query<{ kind: string }>({
    text: `SELECT delivery->>'kind' AS kind FROM authorities WHERE id = $1 AND enabled`,
    values: [authorityId],
  });
  return rows[0]?.kind ?? null;
}

// ---------------------------------------------------------------------------------------------
// Media

export async function setMediaHidden(
  tx: Queryable,
  mediaId: string,
  change: { hidden: true; by: string | null; reason: string } | { hidden: false },
): Promise<void> {
  if (change.hidden) {
    await tx.query({
      text: `UPDATE media SET hidden_at = now(), hidden_by = $2, hidden_reason = $3 WHERE id = $1`,
      values: [mediaId, change.by, change.reason],
    });
  } else {
    await tx.query({
      text: `UPDATE media SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL WHERE id = $1`,
      values: [mediaId],
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Bans

export interface BanListRow {
  id: string;
  kind: 'email' | 'domain';
  value: string;
  reason: string | null;
  created_at: string;
}

const BAN_COLUMNS = `id, kind, value, reason,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

/** Newest first, keyset on (created_at, id). */
export async function listBanList(
  db: Queryable,
  f: { after: [string, string] | null; limit: number },
): Promise<BanListRow[]> {
  const { rows } = await db.query<BanListRow>({
    text: `SELECT ${BAN_COLUMNS} FROM ban_list
           ${f.after ? 'WHERE (created_at, id) < ($2::timestamptz, $3::uuid)' : ''}
           ORDER BY created_at DESC, id DESC LIMIT $1`,
    values: f.after ? [f.limit, f.after[0], f.after[1]] : [f.limit],
  });
  return rows;
}

export async function findBanListEntry(
  db: Queryable,
  by: { id: string } | { kind: string; value: string },
): Promise<BanListRow | null> {
  const { rows } = await db.query<BanListRow>(
    'id' in by
      ? { text: `SELECT ${BAN_COLUMNS} FROM ban_list WHERE id = $1`, values: [by.id] }
      : { text: `SELECT ${BAN_COLUMNS} FROM ban_list WHERE kind = $1 AND value = $2`, values: [by.kind, by.value] },
  );
  return rows[0] ?? null;
}

export async function findUserForBan(
  db: Queryable,
  id: string,
): Promise<{ id: string; banned_at: Date | null } | null> {
  const { rows } = await db.query<{ id: string; banned_at: Date | null }>({
    text: 'SELECT id, banned_at FROM users WHERE id = $1',
    values: [id],
  });
  return rows[0] ?? null;
}
