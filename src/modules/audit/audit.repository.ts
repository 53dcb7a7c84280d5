import { write, type Queryable } from '../../platform/db/database.js';

/** Where a change came from: the HTTP request, when there was one. */
export interface AuditOrigin {
  requestId?: string | null;
  ip?: string | null;
}

export interface AuditEntry {
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string;
  data?: unknown;
  /** the object as it was before the change, and after (redacted like `data`) */
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  /** the client's address */
  ip?: string | null;
}

/**
 * Keys whose values never enter the audit trail, at any depth: compared lower-cased with `_` and
 * `-` removed, so `refresh_token`, `Refresh-Token` and `refreshToken` all match.
 */
const SECRET_KEYS = new Set([
  'password',
  'newpassword',
  'oldpassword',
  'currentpassword',
  'passwordhash',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'secret',
  'clientsecret',
  'apikey',
  'authorization',
  'cookie',
]);

/** Stands where a secret was, so the trail still shows that the field was there. */
export const REDACTED = '[redacted]';

const isSecretKey = (key: string): boolean => SECRET_KEYS.has(key.toLowerCase().replace(/[_-]/g, ''));

/**
 * A copy of `value` with every secret-named key's value replaced, in objects and arrays at any
 * depth. The trail is append-only and hash-chained, so a secret written once could never be
 * removed again: this runs on every entry before it is stored.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    // toJSON first (Dates and the like), as JSON.stringify would
    const plain =
      typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
    if (plain !== value) return redact(plain);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretKey(key) ? REDACTED : redact(v);
    }
    return out;
  }
  return value;
}

const jsonOrNull = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(redact(value)));

/**
 * Written in the same transaction as the change it records, unsealed: the sealer
 * (audit.sealer.ts) chains it later, so writers never wait for one another here.
 */
export async function recordAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await write(tx, {
    name: 'audit.insert',
    text: `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, data, before, after, request_id, ip)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    values: [
      entry.actorId,
      entry.action,
      entry.entityType,
      entry.entityId,
      JSON.stringify(redact(entry.data ?? {})),
      jsonOrNull(entry.before),
      jsonOrNull(entry.after),
      entry.requestId ?? null,
      entry.ip ?? null,
    ],
  });
}

export interface AuditRow {
  id: string;
  seq: string | null;
  actor_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  data: unknown;
  before: unknown;
  after: unknown;
  request_id: string | null;
  ip: string | null;
  created_at: string;
  hash: string | null;
}

export interface AuditFilter {
  actorId?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
  /** RFC 3339; since inclusive, until exclusive */
  since?: string;
  until?: string;
  /** keyset: rows with a smaller id than this */
  beforeId?: string;
  limit: number;
}

/** Newest first (id descending). ids are bigints, passed and returned as text. */
export async function listAudit(db: Queryable, filter: AuditFilter): Promise<AuditRow[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.actorId !== undefined) where.push(`actor_id = ${param(filter.actorId)}::uuid`);
  if (filter.action !== undefined) where.push(`action = ${param(filter.action)}`);
  if (filter.entityType !== undefined) where.push(`entity_type = ${param(filter.entityType)}`);
  if (filter.entityId !== undefined) where.push(`entity_id = ${param(filter.entityId)}`);
  // created_at is the partition key: these bounds let the planner skip whole months
  if (filter.since !== undefined) where.push(`created_at >= ${param(filter.since)}::timestamptz`);
  if (filter.until !== undefined) where.push(`created_at < ${param(filter.until)}::timestamptz`);
  if (filter.beforeId !== undefined) where.push(`id < ${param(filter.beforeId)}::bigint`);
  const { rows } = await db.query<AuditRow>({
    text: `SELECT id::text, seq::text, actor_id, action, entity_type, entity_id, data, before, after,
                  request_id, ip,
                  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
                  encode(hash, 'hex') AS hash
           FROM audit_log
           ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY audit_log.id DESC
           LIMIT ${param(filter.limit)}`,
    values,
  });
  return rows;
}
