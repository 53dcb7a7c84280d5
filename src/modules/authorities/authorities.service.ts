import type { Database, Tx } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { FORWARD_JOB, FORWARD_MAX_ATTEMPTS } from './authorities.jobs.js';
import { canManageAuthorities, canManageForwarding } from './authorities.policy.js';
import { presentDelivery } from './authorities.presenter.js';
import * as repo from './authorities.repository.js';
import type { AuthorityCreate, AuthorityPatch, DeliveryWrite } from './authorities.schemas.js';

export async function listAuthorities(db: Database, actor: Actor): Promise<repo.AuthorityRow[]> {
  if (!canManageAuthorities(actor)) throw refusal(actor);
  return repo.listAuthorities(db);
}

export async function getAuthority(db: Database, actor: Actor, idOrSlug: string): Promise<repo.AuthorityRow> {
  if (!canManageAuthorities(actor)) throw refusal(actor);
  const row = await repo.findAuthority(db, idOrSlug);
  if (!row) throw notFound('error.not_found.detail');
  return row;
}

async function checkJurisdiction(tx: Tx, jurisdiction: object): Promise<string> {
  const geojson = JSON.stringify(jurisdiction);
  let ok = false;
  try {
    // in a savepoint: an unreadable geometry raises, and must not abort the transaction
    await tx.query({ text: 'SAVEPOINT jurisdiction_check' });
    ok = await repo.checkJurisdiction(tx, geojson);
    await tx.query({ text: 'RELEASE SAVEPOINT jurisdiction_check' });
  } catch {
    await tx.query({ text: 'ROLLBACK TO SAVEPOINT jurisdiction_check' });
  }
  if (!ok) throw invalidField('/body/jurisdiction', 'validation.boundary');
  return geojson;
}

async function checkCategories(tx: Tx, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  if ((await repo.unknownCategories(tx, unique)).length > 0)
    throw invalidField('/body/categoryIds', 'validation.invalid');
  return unique;
}

/** The delivery to store: a new Open311 setting without `apiKey` keeps the stored key (write-only). */
function deliveryToStore(input: DeliveryWrite, current: repo.DeliveryConfig | null): repo.DeliveryConfig {
  switch (input.kind) {
    case 'open311': {
      const apiKey = input.apiKey ?? (current?.kind === 'open311' ? current.apiKey : undefined);
      if (!apiKey) throw invalidField('/body/delivery/apiKey', 'validation.invalid');
      return { kind: 'open311', endpoint: input.endpoint, apiKey, jurisdictionId: input.jurisdictionId ?? null };
    }
    case 'webhook':
      return { kind: 'webhook', url: input.url };
    default:
      return { kind: 'none' };
  }
}

export async function createAuthority(
  db: Database,
  actor: Actor,
  input: AuthorityCreate,
  origin: AuditOrigin = {},
): Promise<repo.AuthorityRow> {
  if (!canManageAuthorities(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const jurisdiction = await checkJurisdiction(tx, input.jurisdiction);
    const categoryIds = await checkCategories(tx, input.categoryIds ?? []);
    const enabled = input.enabled ?? true;
    const row = await repo.insertAuthority(tx, {
      slug: input.slug,
      name: input.name.trim(),
      jurisdiction,
      categoryIds,
      delivery: deliveryToStore(input.delivery ?? { kind: 'none' }, null),
      enabled,
      disabledReason: null,
    });
    if (!row) throw new AppError('conflict', 'error.slug_taken.detail', { slug: input.slug });
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'authority.create',
      entityType: 'authority',
      entityId: row.id,
      // the presented delivery: the trail never holds their key
      data: { slug: row.slug, name: row.name, categoryIds, delivery: presentDelivery(row.delivery), enabled },
    });
    return row;
  });
}

export async function updateAuthority(
  db: Database,
  actor: Actor,
  id: string,
  patch: AuthorityPatch,
  origin: AuditOrigin = {},
): Promise<repo.AuthorityRow> {
  if (!canManageAuthorities(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const current = await repo.findAuthority(tx, id, true);
    if (!current) throw notFound('error.not_found.detail');
    const jurisdiction = patch.jurisdiction ? await checkJurisdiction(tx, patch.jurisdiction) : current.jurisdiction;
    const categoryIds = patch.categoryIds ? await checkCategories(tx, patch.categoryIds) : current.category_ids;
    const slug = patch.slug ?? current.slug;
    if (slug !== current.slug && (await repo.slugTaken(tx, slug, current.id))) {
      throw new AppError('conflict', 'error.slug_taken.detail', { slug });
    }
    const enabled = patch.enabled ?? current.enabled;
    const row = await repo.updateAuthority(tx, current.id, {
      slug,
      name: patch.name?.trim() ?? current.name,
      jurisdiction,
      categoryIds,
      delivery: patch.delivery ? deliveryToStore(patch.delivery, current.delivery) : current.delivery,
      enabled,
      // switching it on again clears why it was off
      disabledReason: enabled ? null : current.disabled_reason,
    });
    if (!row) throw notFound('error.not_found.detail');
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'authority.update',
      entityType: 'authority',
      entityId: row.id,
      data: {
        ...patch,
        jurisdiction: patch.jurisdiction ? 'changed' : undefined,
        delivery: patch.delivery ? presentDelivery(row.delivery) : undefined,
      },
    });
    return row;
  });
}

/** Its incidents keep their history; their authority becomes null (ON DELETE SET NULL). */
export async function deleteAuthority(db: Database, actor: Actor, id: string, origin: AuditOrigin = {}): Promise<void> {
  if (!canManageAuthorities(actor)) throw refusal(actor);
  await db.transaction(async (tx) => {
    const current = await repo.findAuthority(tx, id, true);
    if (!current) throw notFound('error.not_found.detail');
    await repo.deleteAuthority(tx, current.id);
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'authority.delete',
      entityType: 'authority',
      entityId: current.id,
      data: { slug: current.slug, name: current.name },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Dead letters

export async function listDeadForwards(
  db: Database,
  actor: Actor,
  query: { limit?: number; cursor?: string },
): Promise<{ rows: repo.DeadForwardRow[]; nextCursor: string | null }> {
  if (!canManageForwarding(actor)) throw refusal(actor);
  const limit = query.limit ?? 50;
  const rows = await repo.listDeadForwards(db, FORWARD_JOB, query.cursor ?? null, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: rows.length > limit && last ? last.id : null };
}

export async function replayDeadForward(
  db: Database,
  actor: Actor,
  jobId: string,
  origin: AuditOrigin = {},
): Promise<void> {
  if (!canManageForwarding(actor)) throw refusal(actor);
  await db.transaction(async (tx) => {
    const replayed = await repo.replayDeadForward(tx, FORWARD_JOB, jobId, FORWARD_MAX_ATTEMPTS);
    if (!replayed) throw notFound('error.not_found.detail');
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'forwarding.replay',
      entityType: 'job',
      entityId: jobId,
      data: replayed,
    });
  });
}
