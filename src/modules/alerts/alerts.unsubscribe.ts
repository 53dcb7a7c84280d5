import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../../platform/db/database.js';
import { AREA_ALERT_MATCH_SQL } from './alerts.matching.js';

/**
 * The link in an alert mail that removes that alert: the alert's id and an HMAC, keyed by the
 * notifier's unsubscribe key (so every node checks it without a lookup). Like the notifier's
 * RFC 8058 tokens, nothing is stored; once the alert is gone the link does nothing more.
 */
const LABEL = 'buurtwag area alert unsubscribe v1';

function mac(key: Uint8Array, body: Buffer): Buffer {
  return createHmac('sha256', key).update(LABEL).update(body).digest().subarray(0, 16);
}

/** 16 bytes of alert id and 16 of HMAC: 43 characters, fit for a path. */
export function signAlertUnsubscribe(key: Uint8Array, alertId: string): string {
  const body = Buffer.from(alertId.replace(/-/g, ''), 'hex');
  return Buffer.concat([body, mac(key, body)]).toString('base64url');
}

/** The alert's id, or null for anything altered or made up. */
export function verifyAlertUnsubscribe(key: Uint8Array, token: string): string | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const raw = Buffer.from(token, 'base64url');
  const body = raw.subarray(0, 16);
  if (raw.length !== 32 || !timingSafeEqual(raw.subarray(16), mac(key, body))) return null;
  const hex = body.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function alertUnsubscribeLink(key: Uint8Array, publicUrl: string, alertId: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  return `${base}/api/v1/area-alerts/unsubscribe/${signAlertUnsubscribe(key, alertId)}`;
}

/** The link for this person's (oldest) immediate alert that matches the incident; null: none left. */
export async function alertUnsubscribeUrl(
  db: Queryable,
  key: Uint8Array,
  publicUrl: string,
  userId: string,
  incidentId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>({
    text: `SELECT m.id FROM incidents i CROSS JOIN LATERAL (${AREA_ALERT_MATCH_SQL}) m
           JOIN area_alerts a ON a.id = m.id
           WHERE i.id = $1 AND m.user_id = $2 AND m.frequency = 'immediate'
           ORDER BY a.created_at, a.id LIMIT 1`,
    values: [incidentId, userId],
  });
  return rows[0] ? alertUnsubscribeLink(key, publicUrl, rows[0].id) : null;
}
