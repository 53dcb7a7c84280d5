import type { Database, Queryable } from '../../platform/db/database.js';
import { AppError, invalid, invalidField, notFound, type FieldError } from '../../platform/http/errors.js';
import { t, type Lang, type MessageKey } from '../../i18n/i18n.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { refusal, type Actor } from '../identity/actor.js';
import type { Status } from '../incidents/incidents.schemas.js';
import type { TimelineEventInsert } from '../timeline/timeline.repository.js';
import * as policy from './templates.policy.js';
import * as repo from './templates.repository.js';
import {
  PLACEHOLDERS,
  type TemplateCreate,
  type TemplateListQuery,
  type TemplatePatch,
  type TemplateText,
} from './templates.schemas.js';

// ---------------------------------------------------------------------------------------------
// Admin CRUD

export async function listTemplates(db: Database, actor: Actor, query: TemplateListQuery): Promise<repo.TemplateRow[]> {
  if (!policy.canReadTemplates(actor)) throw refusal(actor);
  return repo.listTemplates(db, { categoryId: query.categoryId?.toLowerCase() ?? null, status: query.status ?? null });
}

export async function getTemplate(db: Database, actor: Actor, id: string): Promise<repo.TemplateRow> {
  if (!policy.canReadTemplates(actor)) throw refusal(actor);
  const row = await repo.findTemplate(db, id);
  if (!row) throw notFound('error.template_not_found.detail', { id });
  return row;
}

export async function createTemplate(
  db: Database,
  actor: Actor,
  input: TemplateCreate,
  origin: AuditOrigin = {},
): Promise<repo.TemplateRow> {
  if (!policy.canManageTemplates(actor)) throw refusal(actor);
  const write: repo.TemplateWrite = {
    name: input.name.trim(),
    categoryId: input.categoryId?.toLowerCase() ?? null,
    status: input.status,
    body: { en: input.text.en.trim(), af: input.text.af.trim() },
  };
  return db.transaction(async (tx) => {
    await check(tx, write);
    const row = await repo.insertTemplate(tx, write);
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'template.create',
      entityType: 'response_template',
      entityId: row.id,
      after: write,
    });
    return row;
  });
}

export async function updateTemplate(
  db: Database,
  actor: Actor,
  id: string,
  patch: TemplatePatch,
  origin: AuditOrigin = {},
): Promise<repo.TemplateRow> {
  if (!policy.canManageTemplates(actor)) throw refusal(actor);
  return db.transaction(async (tx) => {
    const current = await repo.findTemplate(tx, id);
    if (!current) throw notFound('error.template_not_found.detail', { id });
    const write: repo.TemplateWrite = {
      name: patch.name?.trim() ?? current.name,
      categoryId: patch.categoryId === undefined ? current.category_id : (patch.categoryId?.toLowerCase() ?? null),
      status: patch.status ?? current.status,
      body: patch.text ? { en: patch.text.en.trim(), af: patch.text.af.trim() } : current.body,
    };
    await check(tx, write);
    const row = await repo.updateTemplate(tx, current.id, write);
    if (!row) throw notFound('error.template_not_found.detail', { id });
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'template.update',
      entityType: 'response_template',
      entityId: row.id,
      before: writeOf(current),
      after: write,
    });
    return row;
  });
}

export async function deleteTemplate(db: Database, actor: Actor, id: string, origin: AuditOrigin = {}): Promise<void> {
  if (!policy.canManageTemplates(actor)) throw refusal(actor);
  await db.transaction(async (tx) => {
    const row = await repo.deleteTemplate(tx, id);
    if (!row) throw notFound('error.template_not_found.detail', { id });
    await recordAudit(tx, {
      ...origin,
      actorId: actor.userId,
      action: 'template.delete',
      entityType: 'response_template',
      entityId: row.id,
      before: writeOf(row),
    });
  });
}

const writeOf = (row: repo.TemplateRow): repo.TemplateWrite => ({
  name: row.name,
  categoryId: row.category_id,
  status: row.status,
  body: row.body,
});

/** What the schema cannot say: texts not blank, only known placeholders, an existing category. */
async function check(db: Queryable, write: repo.TemplateWrite): Promise<void> {
  const fields: FieldError[] = [];
  if (write.name === '') fields.push({ path: '/body/name', message: 'validation.blank' });
  for (const lang of ['en', 'af'] as const) {
    const text = write.body[lang];
    const path = `/body/text/${lang}`;
    if (text === '') {
      fields.push({ path, message: 'validation.blank' });
      continue;
    }
    const unknown = [...text.matchAll(/\{([^{}\s]*)\}/g)]
      .map((m) => m[1]!)
      .find((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
    if (unknown !== undefined) {
      fields.push({
        path,
        message: 'validation.template_placeholder',
        params: { placeholder: `{${unknown}}`, allowed: PLACEHOLDERS.map((p) => `{${p}}`).join(', ') },
      });
    }
  }
  if (write.categoryId !== null && !(await repo.categoryExists(db, write.categoryId))) {
    fields.push({ path: '/body/categoryId', message: 'validation.category_missing' });
  }
  if (fields.length > 0) throw invalid(fields);
}

// ---------------------------------------------------------------------------------------------
// Applying a template to a status move

export interface TemplateUse {
  templateId: string;
  incident: { id: string; reference: string; title: string; reporterId: string | null };
  /** the incident's category after the change */
  categoryId: string;
  /** the status move of the same change; null when the change moves nothing */
  move: { from: Status; to: Status } | null;
  actorId: string | null;
  /** the language of the request, for the error messages */
  lang: Lang;
}

/**
 * The public comment a template makes on a status move, in the reporter's language (their
 * account's locale; English for a signed-out report), with {reference}, {title} and {status}
 * filled in. A template is applied only when the change names it: a move without `templateId`
 * posts nothing, even where a template exists for the category and status, because a comment
 * is a message to residents and staff decide when to send one (clients preselect the matching
 * template from GET /admin/templates?categoryId=&status=).
 *
 * 400 when the change moves no status, when the template does not exist, is for another status,
 * or for another category.
 */
export async function templateComment(tx: Queryable, use: TemplateUse): Promise<TimelineEventInsert> {
  const path = '/body/templateId';
  if (use.move === null) throw invalidField(path, 'validation.template_needs_status');
  const template = await repo.findTemplate(tx, use.templateId);
  if (!template) throw invalidField(path, 'validation.template_missing');
  const label = (status: Status) => t(use.lang, `status.${status}` as MessageKey);
  if (template.status !== use.move.to) {
    const params = { name: template.name, templateStatus: label(template.status), status: label(use.move.to) };
    throw new AppError('bad_request', 'error.template_status_mismatch.detail', params, [
      { path, message: 'validation.template_status', params },
    ]);
  }
  if (template.category_id !== null && template.category_id !== use.categoryId) {
    const params = { name: template.name };
    throw new AppError('bad_request', 'error.template_category_mismatch.detail', params, [
      { path, message: 'validation.template_category' },
    ]);
  }
  const lang = await repo.localeOf(tx, use.incident.reporterId);
  return {
    incidentId: use.incident.id,
    type: 'comment',
    actorId: use.actorId,
    data: { body: fill(template.body, lang, use), templateId: template.id, lang },
  };
}

function fill(body: TemplateText, lang: Lang, use: TemplateUse): string {
  const values: Record<string, string> = {
    reference: use.incident.reference,
    title: use.incident.title,
    status: t(lang, `status.${use.move!.to}` as MessageKey),
  };
  // one pass: a title that itself contains "{status}" stays as written
  return body[lang].replace(/\{(reference|title|status)\}/g, (_, name: string) => values[name]!);
}
