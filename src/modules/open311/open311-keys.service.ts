import { createHash, randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db/database.js';
import { recordAudit } from '../audit/audit.repository.js';
import * as repo from './open311-keys.repository.js';

/**
 * Open311 API keys: made on the command line or by an admin (open311-keys.routes.ts), shown once, stored as a SHA-256 (a key has 256
 * random bits, so a fast hash is enough: there is nothing to guess), revocable. Creating and
 * revoking are on the audit trail.
 */
const KEY_PREFIX = 'bw311_';
const KEY_SHAPE = /^bw311_[A-Za-z0-9_-]{43}$/;

export interface NewKey {
  id: string;
  name: string;
  /** shown once, never stored */
  key: string;
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

/** Who makes or revokes a key, for the audit trail: the CLI (no actor) or an admin over the API. */
export interface KeyOrigin {
  actorId: string | null;
  requestId?: string | null;
  ip?: string | null;
}
const CLI: KeyOrigin = { actorId: null };

/** `authorityId`: a key for that authority's system, which may then post status updates. */
export async function createKey(
  db: Database,
  name: string,
  authorityId: string | null = null,
  origin: KeyOrigin = CLI,
): Promise<NewKey> {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await db.transaction(async (tx) => {
    const inserted = await repo.insertKey(tx, { name, hash: hashOf(key), prefix: key.slice(0, 12), authorityId });
    await recordAudit(tx, {
      actorId: origin.actorId,
      action: 'open311.key.create',
      entityType: 'open311_key',
      entityId: inserted.id,
      data: { name, prefix: inserted.key_prefix, authorityId, via: origin.actorId ? 'api' : 'cli' },
      requestId: origin.requestId ?? null,
      ip: origin.ip ?? null,
    });
    return inserted;
  });
  return { id: row.id, name: row.name, key };
}

/** The key's id when `key` is a live key; null for anything else (no hint which). */
export async function verifyKey(db: Queryable, key: string | undefined | null): Promise<string | null> {
  if (typeof key !== 'string' || !KEY_SHAPE.test(key)) return null;
  return (await repo.useKey(db, hashOf(key)))?.id ?? null;
}

/** The live key's id and the authority it belongs to (null: a client that reports); null when not a key. */
export async function keyHolder(
  db: Queryable,
  key: string | undefined | null,
): Promise<{ keyId: string; authorityId: string | null } | null> {
  if (typeof key !== 'string' || !KEY_SHAPE.test(key)) return null;
  const row = await repo.useKey(db, hashOf(key));
  return row ? { keyId: row.id, authorityId: row.authority_id } : null;
}

export async function listKeys(db: Queryable) {
  return (await repo.listKeys(db)).map((k) => ({
    id: k.id,
    name: k.name,
    authorityId: k.authority_id,
    prefix: k.key_prefix,
    createdAt: k.created_at.toISOString(),
    revokedAt: k.revoked_at?.toISOString() ?? null,
    lastUsedAt: k.last_used_at?.toISOString() ?? null,
  }));
}

export async function revokeKey(db: Database, id: string, origin: KeyOrigin = CLI): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await repo.revokeKey(tx, id);
    if (!row) return false;
    await recordAudit(tx, {
      actorId: origin.actorId,
      action: 'open311.key.revoke',
      entityType: 'open311_key',
      entityId: id,
      data: { name: row.name, via: origin.actorId ? 'api' : 'cli' },
      requestId: origin.requestId ?? null,
      ip: origin.ip ?? null,
    });
    return true;
  });
}
