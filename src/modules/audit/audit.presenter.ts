import type { AuditRow } from './audit.repository.js';
import type { AuditRecord } from './audit.schemas.js';

/** A whitelist: a column added to audit_log does not appear here until it is copied. */
export function presentAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    seq: row.seq === null ? null : Number(row.seq),
    sealed: row.hash !== null,
    hash: row.hash,
    actorId: row.actor_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    data: row.data,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
    ip: row.ip,
    createdAt: row.created_at,
  };
}
