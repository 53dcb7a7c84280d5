import type { Queryable } from '../../platform/db/database.js';

// ---------------------------------------------------------------------------------------------
// On duty

export async function setOnDuty(db: Queryable, userId: string, communityId: string, since: Date): Promise<Date> {
  const { rows } = await db.query<{ since: Date }>({
    text: `INSERT INTO on_duty (user_id, community_id, since) VALUES ($1, $2, $3)
           ON CONFLICT (community_id, user_id) DO UPDATE SET since = on_duty.since
           RETURNING since`,
    values: [userId, communityId, since],
  });
  return rows[0]!.since;
}

export async function clearOnDuty(db: Queryable, userId: string, communityId: string): Promise<boolean> {
  const { rows } = await db.query({
    text: 'DELETE FROM on_duty WHERE user_id = $1 AND community_id = $2 RETURNING 1',
    values: [userId, communityId],
  });
  return rows.length > 0;
}

export interface OnDutyRow {
  community_id: string;
  community_name: string;
  since: Date;
}

export async function listOnDuty(db: Queryable, userId: string): Promise<OnDutyRow[]> {
  const { rows } = await db.query<OnDutyRow>({
    text: `SELECT o.community_id, c.name AS community_name, o.since
           FROM on_duty o JOIN communities c ON c.id = o.community_id
           WHERE o.user_id = $1 ORDER BY c.name, o.community_id`,
    values: [userId],
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Alerts

export interface TriggerFacts {
  community_id: string | null;
  priority: string;
  status: string;
  emergency: boolean;
}

export async function triggerFacts(db: Queryable, incidentId: string): Promise<TriggerFacts | null> {
  const { rows } = await db.query<TriggerFacts>({
    name: 'emergency.trigger',
    text: `SELECT i.community_id, i.priority, i.status, c.emergency
           FROM incidents i JOIN categories c ON c.id = i.category_id WHERE i.id = $1`,
    values: [incidentId],
  });
  return rows[0] ?? null;
}

/** A new alert; null when the incident has one already (it is started once per incident). */
export async function insertAlert(
  tx: Queryable,
  input: { incidentId: string; communityId: string | null; reason: string; now: Date },
): Promise<boolean> {
  const { rows } = await tx.query({
    text: `INSERT INTO emergency_alerts (incident_id, community_id, reason, started_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id) DO NOTHING RETURNING 1`,
    values: [input.incidentId, input.communityId, input.reason, input.now],
  });
  return rows.length > 0;
}

export interface AlertRow {
  incident_id: string;
  community_id: string | null;
  reason: 'critical' | 'emergency_category';
  state: 'active' | 'acknowledged' | 'exhausted' | 'stopped';
  level: number;
  started_at: Date;
  escalates_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  acknowledged_by_name: string | null;
  webhook_sent_at: Date | null;
  incident_status: string;
}

/** The alert, locked for this transaction when asked: one node at a time moves it. */
export async function findAlert(db: Queryable, incidentId: string, forUpdate = false): Promise<AlertRow | null> {
  const { rows } = await db.query<AlertRow>({
    text: `SELECT a.incident_id, a.community_id, a.reason, a.state, a.level, a.started_at, a.escalates_at,
                  a.acknowledged_at, a.acknowledged_by, u.display_name AS acknowledged_by_name,
                  a.webhook_sent_at, i.status AS incident_status
           FROM emergency_alerts a JOIN incidents i ON i.id = a.incident_id
           LEFT JOIN users u ON u.id = a.acknowledged_by
           WHERE a.incident_id = $1${forUpdate ? ' FOR UPDATE OF a' : ''}`,
    values: [incidentId],
  });
  return rows[0] ?? null;
}

export async function levelsOf(db: Queryable, incidentId: string): Promise<Array<{ level: number; alerted_at: Date }>> {
  const { rows } = await db.query<{ level: number; alerted_at: Date }>({
    text: 'SELECT level, alerted_at FROM emergency_alert_levels WHERE incident_id = $1 ORDER BY level',
    values: [incidentId],
  });
  return rows;
}

/** Records that this level is alerted; false when it was before (the idempotency key). */
export async function claimLevel(tx: Queryable, incidentId: string, level: number, now: Date): Promise<boolean> {
  const { rows } = await tx.query({
    text: `INSERT INTO emergency_alert_levels (incident_id, level, alerted_at) VALUES ($1, $2, $3)
           ON CONFLICT (incident_id, level) DO NOTHING RETURNING 1`,
    values: [incidentId, level, now],
  });
  return rows.length > 0;
}

/**
 * Writes down whom a level alerts, chosen in SQL: level 1 the community's staff on duty who still
 * hold their role (every responder when nobody is), 2 its moderators, 3 the admins. Returns how
 * many, and whether level 1 found anyone on duty.
 */
export async function addRecipients(
  tx: Queryable,
  input: { incidentId: string; level: number; communityId: string | null },
): Promise<{ count: number; onDuty: boolean }> {
  const staff = (roles: string) =>
    `SELECT r.user_id FROM user_roles r WHERE r.community_id = $3 AND r.role IN (${roles})`;
  let candidates: string;
  let onDuty = false;
  if (input.level === 1) {
    const { rows } = await tx.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM on_duty o
             WHERE o.community_id = $1 AND EXISTS (
               SELECT 1 FROM user_roles r WHERE r.user_id = o.user_id AND r.community_id = o.community_id)`,
      values: [input.communityId],
    });
    onDuty = (rows[0]?.n ?? 0) > 0;
    candidates = onDuty
      ? `SELECT o.user_id FROM on_duty o WHERE o.community_id = $3
           AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = o.user_id AND r.community_id = o.community_id)`
      : staff(`'responder'`);
  } else if (input.level === 2) {
    candidates = staff(`'moderator'`);
  } else if (input.level === 3) {
    candidates = `SELECT r.user_id FROM user_roles r WHERE r.role = 'admin'`;
  } else {
    return { count: 0, onDuty };
  }
  const { rows } = await tx.query<{ n: number }>({
    text: `WITH added AS (
             INSERT INTO emergency_alert_recipients (incident_id, level, user_id)
             SELECT DISTINCT $1::uuid, $2::int, c.user_id FROM (${candidates}) c
             ON CONFLICT DO NOTHING RETURNING 1)
           SELECT count(*)::int AS n FROM added`,
    // the admins' query names no community ($3)
    values: input.level === 3 ? [input.incidentId, input.level] : [input.incidentId, input.level, input.communityId],
  });
  return { count: rows[0]?.n ?? 0, onDuty };
}

export async function moveAlert(
  tx: Queryable,
  incidentId: string,
  change: { level: number; state: AlertRow['state']; escalatesAt: Date | null },
): Promise<void> {
  await tx.query({
    text: 'UPDATE emergency_alerts SET level = $2, state = $3, escalates_at = $4 WHERE incident_id = $1',
    values: [incidentId, change.level, change.state, change.escalatesAt],
  });
}

export async function stopAlert(tx: Queryable, incidentId: string, state: 'stopped' | 'exhausted'): Promise<void> {
  await tx.query({
    text: 'UPDATE emergency_alerts SET state = $2, escalates_at = NULL WHERE incident_id = $1',
    values: [incidentId, state],
  });
}

export async function acknowledgeAlert(tx: Queryable, incidentId: string, userId: string, now: Date): Promise<void> {
  await tx.query({
    text: `UPDATE emergency_alerts SET state = 'acknowledged', acknowledged_at = $3, acknowledged_by = $2,
                  escalates_at = NULL
           WHERE incident_id = $1`,
    values: [incidentId, userId, now],
  });
}

/** Marks the webhook sent; false when another run did so first. */
export async function markWebhookSent(tx: Queryable, incidentId: string, now: Date): Promise<boolean> {
  const { rows } = await tx.query({
    text: `UPDATE emergency_alerts SET webhook_sent_at = $2 WHERE incident_id = $1 AND webhook_sent_at IS NULL
           RETURNING 1`,
    values: [incidentId, now],
  });
  return rows.length > 0;
}
