import type { Queryable } from '../../platform/db/database.js';
import type { Lang } from '../../i18n/i18n.js';
import type { Status } from '../incidents/incidents.schemas.js';
import type { TemplateText } from './templates.schemas.js';

export interface TemplateRow {
  id: string;
  name: string;
  category_id: string | null;
  status: Exclude<Status, 'reported'>;
  body: TemplateText;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, category_id, status, body, created_at, updated_at';

/** `categoryId`: the templates that apply to it (its own and the every-category ones). */
export async function listTemplates(
  db: Queryable,
  filter: { categoryId: string | null; status: Status | null },
): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>({
    name: 'templates.list',
    text: `SELECT ${COLUMNS} FROM response_templates
           WHERE ($1::uuid IS NULL OR category_id = $1 OR category_id IS NULL)
             AND ($2::incident_status IS NULL OR status = $2)
           ORDER BY status, category_id NULLS FIRST, name, id`,
    values: [filter.categoryId, filter.status],
  });
  return rows;
}

export async function findTemplate(db: Queryable, id: string): Promise<TemplateRow | null> {
  const { rows } = await db.query<TemplateRow>({
    name: 'templates.find',
    text: `SELECT ${COLUMNS} FROM response_templates WHERE id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}

export interface TemplateWrite {
  name: string;
  categoryId: string | null;
  status: Status;
  body: TemplateText;
}

export async function insertTemplate(tx: Queryable, v: TemplateWrite): Promise<TemplateRow> {
  const { rows } = await tx.query<TemplateRow>({
    text: `INSERT INTO response_templates (name, category_id, status, body) VALUES ($1, $2, $3, $4)
           RETURNING ${COLUMNS}`,
    values: [v.name, v.categoryId, v.status, JSON.stringify(v.body)],
  });
  return rows[0]!;
}

export async function updateTemplate(tx: Queryable, id: string, v: TemplateWrite): Promise<TemplateRow | null> {
  const { rows } = await tx.query<TemplateRow>({
    text: `UPDATE response_templates SET name = $2, category_id = $3, status = $4, body = $5, updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id, v.name, v.categoryId, v.status, JSON.stringify(v.body)],
  });
  return rows[0] ?? null;
}

export async function deleteTemplate(tx: Queryable, id: string): Promise<TemplateRow | null> {
  const { rows } = await tx.query<TemplateRow>({
    text: `DELETE FROM response_templates WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id],
  });
  return rows[0] ?? null;
}

export async function categoryExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({
    name: 'templates.categoryExists',
    text: 'SELECT 1 FROM categories WHERE id = $1',
    values: [id],
  });
  return rows.length > 0;
}

/** The language a person reads (en when unknown: a signed-out report has nobody to ask). */
export async function localeOf(db: Queryable, userId: string | null): Promise<Lang> {
  if (userId === null) return 'en';
  const { rows } = await db.query<{ locale: string }>({
    name: 'templates.localeOf',
    text: 'SELECT locale FROM users WHERE id = $1',
    values: [userId],
  });
  return rows[0]?.locale === 'af' ? 'af' : 'en';
}
