import type { Queryable } from '../../platform/db/database.js';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string;
  data?: unknown;
  requestId?: string | null;
}

/** Written in the same transaction as the change it records. */
export async function recordAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx.query({
    name: 'audit.insert',
    text: `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, data, request_id)
           VALUES ($1, $2, $3, $4, $5, $6)`,
    values: [
      entry.actorId,
      entry.action,
      entry.entityType,
      entry.entityId,
      JSON.stringify(entry.data ?? {}),
      entry.requestId ?? null,
    ],
  });
}
