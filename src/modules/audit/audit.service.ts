import type { Database } from '../../platform/db/database.js';
import { invalid, type FieldError } from '../../platform/http/errors.js';
import { refusal, type Actor } from '../identity/actor.js';
import { canReadAudit } from './audit.policy.js';
import { presentAuditRecord } from './audit.presenter.js';
import * as repo from './audit.repository.js';
import type { AuditList, AuditListQuery } from './audit.schemas.js';

/** Opaque cursor: base64url JSON of the last record's id (ids only go up, so "older" is "smaller"). */
export function encodeAuditCursor(id: string): string {
  return Buffer.from(JSON.stringify({ i: id })).toString('base64url');
}

export function decodeAuditCursor(cursor: string): string | null {
  try {
    const payload: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const id = (payload as { i?: unknown } | null)?.i;
    return typeof id === 'string' && /^[1-9][0-9]{0,17}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

export async function listAudit(db: Database, actor: Actor, query: AuditListQuery): Promise<AuditList> {
  if (!canReadAudit(actor)) throw refusal(actor);
  const errors: FieldError[] = [];
  let beforeId: string | undefined;
  if (query.cursor !== undefined) {
    beforeId = decodeAuditCursor(query.cursor) ?? undefined;
    if (beforeId === undefined) errors.push({ path: '/query/cursor', message: 'validation.cursor' });
  }
  if (errors.length > 0) throw invalid(errors);
  const limit = query.limit ?? 50;
  const rows = await repo.listAudit(db, {
    actorId: query.actorId?.toLowerCase(),
    action: query.action,
    entityType: query.entityType,
    entityId: query.entityId,
    since: query.since,
    until: query.until,
    beforeId,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(presentAuditRecord),
    nextCursor: rows.length > limit && last ? encodeAuditCursor(last.id) : null,
  };
}
