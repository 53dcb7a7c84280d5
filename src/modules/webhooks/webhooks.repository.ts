import type { Queryable } from '../../platform/db/database.js';

export interface WebhookRow {
  id: string;
  name: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  delivered_seq: number;
  failures: number;
  failing_since: Date | null;
  retry_at: Date | null;
  last_error: string | null;
  secret_version: number;
  previous_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, name, url, events, enabled, disabled_reason, delivered_seq, failures, failing_since, retry_at,
                 last_error, secret_version, previous_until, created_at, updated_at`;

export async function listWebhooks(db: Queryable): Promise<WebhookRow[]> {
  const { rows } = await db.query<WebhookRow>({ text: `SELECT ${COLUMNS} FROM webhooks ORDER BY created_at, id` });
  return rows;
}

export async function findWebhook(db: Queryable, id: string): Promise<WebhookRow | null> {
  const { rows } = await db.query<WebhookRow>({ text: `SELECT ${COLUMNS} FROM webhooks WHERE id = $1`, values: [id] });
  return rows[0] ?? null;
}

/** A new webhook starts after the newest event: it hears what happens from now on. */
export async function insertWebhook(
  tx: Queryable,
  v: { name: string; url: string; events: string[] },
): Promise<WebhookRow> {
  const { rows } = await tx.query<WebhookRow>({
    text: `INSERT INTO webhooks (name, url, events, delivered_seq)
           VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) FROM incident_events))
           RETURNING ${COLUMNS}`,
    values: [v.name, v.url, v.events],
  });
  return rows[0]!;
}

export async function updateWebhook(
  tx: Queryable,
  id: string,
  v: { name: string; url: string; events: string[]; enabled: boolean; rotate: boolean },
): Promise<WebhookRow | null> {
  const { rows } = await tx.query<WebhookRow>({
    text: `UPDATE webhooks SET name = $2, url = $3, events = $4, enabled = $5,
                  disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
                  failures = CASE WHEN $5 AND NOT enabled THEN 0 ELSE failures END,
                  failing_since = CASE WHEN $5 AND NOT enabled THEN NULL ELSE failing_since END,
                  retry_at = CASE WHEN $5 AND NOT enabled THEN NULL ELSE retry_at END,
                  secret_version = secret_version + CASE WHEN $6 THEN 1 ELSE 0 END,
                  previous_until = CASE WHEN $6 THEN now() + interval '24 hours' ELSE previous_until END,
                  updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id, v.name, v.url, v.events, v.enabled, v.rotate],
  });
  return rows[0] ?? null;
}

export async function deleteWebhook(tx: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await tx.query({ text: 'DELETE FROM webhooks WHERE id = $1', values: [id] });
  return rowCount > 0;
}

/** Moves the webhook's place in the log; with `healthy`, it also forgets earlier failures. */
export async function advance(db: Queryable, id: string, seq: number, healthy: boolean): Promise<void> {
  await db.query({
    text: healthy
      ? `UPDATE webhooks SET delivered_seq = greatest(delivered_seq, $2), failures = 0, failing_since = NULL,
                retry_at = NULL, last_error = NULL WHERE id = $1`
      : `UPDATE webhooks SET delivered_seq = greatest(delivered_seq, $2) WHERE id = $1`,
    values: [id, seq],
  });
}

export async function failed(db: Queryable, id: string, error: string, retryInSeconds: number): Promise<void> {
  await db.query({
    text: `UPDATE webhooks SET failures = failures + 1, failing_since = coalesce(failing_since, now()),
                  retry_at = now() + make_interval(secs => $3), last_error = $2 WHERE id = $1`,
    values: [id, error.slice(0, 2000), retryInSeconds],
  });
}

export async function disable(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query({
    text: `UPDATE webhooks SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
    values: [id, reason.slice(0, 2000)],
  });
}
