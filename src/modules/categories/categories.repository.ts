import type { Queryable } from '../../platform/db/database.js';
import type { CategoryAttribute, Translations } from './categories.schemas.js';

export interface CategoryRow {
  id: string;
  slug: string;
  name: Translations;
  description: Translations;
  icon: string;
  color: string;
  active: boolean;
  sensitive: boolean;
  emergency: boolean;
  sort_order: number;
  attributes: CategoryAttribute[];
}

const COLUMNS = 'id, slug, name, description, icon, color, active, sensitive, emergency, sort_order, attributes';

export async function listCategories(db: Queryable, includeInactive: boolean): Promise<CategoryRow[]> {
  const { rows } = await db.query<CategoryRow>({
    name: `categories.list.${includeInactive}`,
    text: `SELECT ${COLUMNS} FROM categories ${includeInactive ? '' : 'WHERE active'} ORDER BY sort_order, slug`,
  });
  return rows;
}

export async function findCategory(db: Queryable, id: string): Promise<CategoryRow | null> {
  const { rows } = await db.query<CategoryRow>({
    name: 'categories.find',
    text: `SELECT ${COLUMNS} FROM categories WHERE id::text = $1 OR slug = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}

export interface CategoryWrite {
  slug: string;
  name: Translations;
  description: Translations;
  icon: string;
  color: string;
  active: boolean;
  sensitive: boolean;
  emergency: boolean;
  sortOrder: number;
  attributes: CategoryAttribute[];
}

/** The written columns, in the order both statements number them. */
const writeValues = (c: CategoryWrite): unknown[] => [
  c.slug,
  JSON.stringify(c.name),
  JSON.stringify(c.description),
  c.icon,
  c.color,
  c.active,
  c.sensitive,
  c.sortOrder,
  JSON.stringify(c.attributes),
  c.emergency,
];

export async function insertCategory(db: Queryable, c: CategoryWrite): Promise<CategoryRow | null> {
  const { rows } = await db.query<CategoryRow>({
    text: `INSERT INTO categories (slug, name, description, icon, color, active, sensitive, sort_order, attributes, emergency)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (slug) DO NOTHING
           RETURNING ${COLUMNS}`,
    values: writeValues(c),
  });
  return rows[0] ?? null;
}

export async function updateCategory(db: Queryable, id: string, c: CategoryWrite): Promise<CategoryRow | null> {
  const { rows } = await db.query<CategoryRow>({
    text: `UPDATE categories SET slug = $2, name = $3, description = $4, icon = $5, color = $6,
                  active = $7, sensitive = $8, sort_order = $9, attributes = $10,
                  emergency = $11, updated_at = now()
           WHERE id = $1
           RETURNING ${COLUMNS}`,
    values: [id, ...writeValues(c)],
  });
  return rows[0] ?? null;
}

export async function slugTaken(db: Queryable, slug: string, exceptId: string | null): Promise<boolean> {
  const { rows } = await db.query({
    text: 'SELECT 1 FROM categories WHERE slug = $1 AND id IS DISTINCT FROM $2',
    values: [slug, exceptId],
  });
  return rows.length > 0;
}

/** The attributes of a category a report is being made in (null: no such category). */
export async function findAttributes(db: Queryable, id: string): Promise<CategoryAttribute[] | null> {
  const { rows } = await db.query<{ attributes: CategoryAttribute[] }>({
    name: 'categories.attributes',
    text: 'SELECT attributes FROM categories WHERE id = $1',
    values: [id],
  });
  return rows[0]?.attributes ?? null;
}
