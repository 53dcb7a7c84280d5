import type { Database } from '../../platform/db/database.js';
import { AppError, invalid, notFound, type FieldError } from '../../platform/http/errors.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import { canManageCategories } from './categories.policy.js';
import * as repo from './categories.repository.js';
import {
  LIST_DATATYPES,
  type CategoryAttribute,
  type CategoryCreate,
  type CategoryPatch,
} from './categories.schemas.js';

export async function listCategories(
  db: Database,
  actor: Actor,
  includeInactive: boolean,
): Promise<repo.CategoryRow[]> {
  return repo.listCategories(db, includeInactive && canManageCategories(actor));
}

export async function getCategory(db: Database, idOrSlug: string): Promise<repo.CategoryRow> {
  const row = await repo.findCategory(db, idOrSlug);
  if (!row) throw notFound('error.category_not_found.detail', { id: idOrSlug });
  return row;
}

export async function createCategory(
  db: Database,
  actor: Actor,
  input: CategoryCreate,
  origin: AuditOrigin = {},
): Promise<repo.CategoryRow> {
  if (!canManageCategories(actor)) throw refusal(actor);
  checkAttributes(input.attributes ?? []);
  return db.transaction(async (tx) => {
    const row = await repo.insertCategory(tx, {
      slug: input.slug,
      name: input.name,
      description: input.description ?? { en: '' },
      icon: input.icon ?? 'alert',
      color: input.color ?? '#6b7280',
      active: input.active ?? true,
      sensitive: input.sensitive ?? false,
      emergency: input.emergency ?? false,
      sortOrder: input.sortOrder ?? 100,
      attributes: input.attributes ?? [],
    });
    if (!row) throw new AppError('conflict', 'error.slug_taken.detail', { slug: input.slug });
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'category.create',
      entityType: 'category',
      entityId: row.id,
      data: input,
    });
    return row;
  });
}

export async function updateCategory(
  db: Database,
  actor: Actor,
  id: string,
  patch: CategoryPatch,
  origin: AuditOrigin = {},
): Promise<repo.CategoryRow> {
  if (!canManageCategories(actor)) throw refusal(actor);
  if (patch.attributes) checkAttributes(patch.attributes);
  return db.transaction(async (tx) => {
    const current = await repo.findCategory(tx, id);
    if (!current) throw notFound('error.category_not_found.detail', { id });
    if (patch.slug && patch.slug !== current.slug && (await repo.slugTaken(tx, patch.slug, current.id))) {
      throw new AppError('conflict', 'error.slug_taken.detail', { slug: patch.slug });
    }
    const row = await repo.updateCategory(tx, current.id, {
      slug: patch.slug ?? current.slug,
      name: patch.name ?? current.name,
      description: patch.description ?? current.description,
      icon: patch.icon ?? current.icon,
      color: patch.color ?? current.color,
      active: patch.active ?? current.active,
      sensitive: patch.sensitive ?? current.sensitive,
      emergency: patch.emergency ?? current.emergency,
      sortOrder: patch.sortOrder ?? current.sort_order,
      attributes: patch.attributes ?? current.attributes,
    });
    if (!row) throw notFound('error.category_not_found.detail', { id });
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'category.update',
      entityType: 'category',
      entityId: row.id,
      data: patch,
    });
    return row;
  });
}

/**
 * What the schema cannot say: list attributes need values and only they have them; codes, and
 * the keys of one attribute's values, are unique.
 */
function checkAttributes(attributes: readonly CategoryAttribute[]): void {
  const fields: FieldError[] = [];
  const codes = new Set<string>();
  attributes.forEach((a, i) => {
    const path = `/body/attributes/${i}`;
    if (codes.has(a.code))
      fields.push({ path: `${path}/code`, message: 'validation.duplicate', params: { value: a.code } });
    codes.add(a.code);
    const isList = LIST_DATATYPES.includes(a.datatype);
    if (isList && !a.values?.length) {
      fields.push({
        path: `${path}/values`,
        message: 'validation.attribute_values_required',
        params: { datatype: a.datatype },
      });
    }
    if (!isList && a.values) fields.push({ path: `${path}/values`, message: 'validation.attribute_values_forbidden' });
    const keys = new Set<string>();
    a.values?.forEach((v, j) => {
      if (keys.has(v.key)) {
        fields.push({ path: `${path}/values/${j}/key`, message: 'validation.duplicate', params: { value: v.key } });
      }
      keys.add(v.key);
    });
  });
  if (fields.length > 0) throw invalid(fields);
}
