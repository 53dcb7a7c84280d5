import type { Database, Tx } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { canListCommunityStaff, canManageCommunities } from './communities.policy.js';
import * as repo from './communities.repository.js';
import type { CommunityCreate, CommunityPatch } from './communities.schemas.js';

export async function listCommunities(db: Database): Promise<repo.CommunityRow[]> {
  return repo.listCommunities(db);
}

export async function getCommunity(db: Database, idOrSlug: string): Promise<repo.CommunityRow> {
  const row = await repo.findCommunity(db, idOrSlug);
  if (!row) throw notFound('error.community_not_found.detail', { id: idOrSlug });
  return row;
}

/** The community's moderators and responders, for its own staff and admins. */
export async function listCommunityStaff(
  db: Database,
  actor: Actor,
  idOrSlug: string,
): Promise<repo.CommunityStaffRow[]> {
  const community = await getCommunity(db, idOrSlug);
  if (!canListCommunityStaff(actor, community.id)) throw refusal(actor);
  return repo.listCommunityStaff(db, community.id);
}

async function checkBoundary(tx: Tx, boundary: object): Promise<string> {
  const geojson = JSON.stringify(boundary);
  let ok = false;
  try {
    // in a savepoint: an unreadable geometry raises, and must not abort the transaction
    await tx.query({ text: 'SAVEPOINT boundary_check' });
    ok = await repo.checkBoundary(tx, geojson);
    await tx.query({ text: 'RELEASE SAVEPOINT boundary_check' });
  } catch {
    await tx.query({ text: 'ROLLBACK TO SAVEPOINT boundary_check' });
  }
  if (!ok) throw invalidField('/body/boundary', 'validation.boundary');
  return geojson;
}

async function checkParent(tx: Tx, parentId: string | null | undefined, selfId: string | null): Promise<string | null> {
  if (parentId === undefined || parentId === null) return null;
  const parent = await repo.findCommunity(tx, parentId);
  if (!parent) throw invalidField('/body/parentId', 'validation.invalid');
  if (selfId && (await repo.isSelfOrDescendant(tx, selfId, parent.id))) {
    throw invalidField('/body/parentId', 'validation.parent_cycle');
  }
  return parent.id;
}

export async function createCommunity(
  db: Database,
  actor: Actor,
  input: CommunityCreate,
  origin: AuditOrigin = {},
): Promise<repo.CommunityRow> {
  if (!canManageCommunities(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const boundary = await checkBoundary(tx, input.boundary);
    const parentId = await checkParent(tx, input.parentId, null);
    const row = await repo.insertCommunity(tx, {
      slug: input.slug,
      name: input.name.trim(),
      parentId,
      boundary,
      anonymousReporting: input.anonymousReporting ?? false,
      premoderation: input.premoderation ?? false,
    });
    if (!row) throw new AppError('conflict', 'error.slug_taken.detail', { slug: input.slug });
    const moved = await repo.reassignIncidents(tx, [boundary]);
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'community.create',
      entityType: 'community',
      entityId: row.id,
      data: { slug: row.slug, name: row.name, parentId, incidentsReassigned: moved },
    });
    return row;
  });
}

export async function updateCommunity(
  db: Database,
  actor: Actor,
  id: string,
  patch: CommunityPatch,
  origin: AuditOrigin = {},
): Promise<repo.CommunityRow> {
  if (!canManageCommunities(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const current = await repo.findCommunity(tx, id, true);
    if (!current) throw notFound('error.community_not_found.detail', { id });
    const boundary = patch.boundary ? await checkBoundary(tx, patch.boundary) : current.boundary;
    const parentId =
      patch.parentId === undefined ? current.parent_id : await checkParent(tx, patch.parentId, current.id);
    const slug = patch.slug ?? current.slug;
    if (slug !== current.slug && (await repo.slugTaken(tx, slug, current.id))) {
      throw new AppError('conflict', 'error.slug_taken.detail', { slug });
    }
    const row = await repo.updateCommunity(tx, current.id, {
      slug,
      name: patch.name?.trim() ?? current.name,
      parentId,
      boundary,
      anonymousReporting: patch.anonymousReporting ?? current.anonymous_reporting,
      premoderation: patch.premoderation ?? current.premoderation,
    });
    if (!row) throw notFound('error.community_not_found.detail', { id });
    const moved = patch.boundary ? await repo.reassignIncidents(tx, [current.boundary, boundary]) : 0;
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'community.update',
      entityType: 'community',
      entityId: row.id,
      data: { ...patch, boundary: patch.boundary ? 'changed' : undefined, incidentsReassigned: moved },
    });
    return row;
  });
}

export async function deleteCommunity(db: Database, actor: Actor, id: string, origin: AuditOrigin = {}): Promise<void> {
  if (!canManageCommunities(actor)) throw refusal(actor);
  await db.transaction(async (tx) => {
    const current = await repo.findCommunity(tx, id, true);
    if (!current) throw notFound('error.community_not_found.detail', { id });
    if (await repo.hasChildren(tx, current.id)) throw new AppError('conflict', 'error.community_in_use.detail');
    await repo.deleteCommunity(tx, current.id);
    const moved = await repo.reassignIncidents(tx, [current.boundary]);
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'community.delete',
      entityType: 'community',
      entityId: current.id,
      data: { slug: current.slug, incidentsReassigned: moved },
    });
  });
}
