import type { TemplateRow } from './templates.repository.js';
import type { Template } from './templates.schemas.js';

export function presentTemplate(row: TemplateRow): Template {
  return {
    id: row.id,
    name: row.name,
    categoryId: row.category_id,
    status: row.status,
    text: { en: row.body.en, af: row.body.af },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
