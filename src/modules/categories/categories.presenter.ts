import { pick, type Lang } from '../../i18n/i18n.js';
import type { CategoryRow } from './categories.repository.js';
import type { Category, CategoryAttribute } from './categories.schemas.js';

export function presentCategory(row: CategoryRow, lang: Lang): Category {
  return {
    id: row.id,
    slug: row.slug,
    name: pick(row.name, lang),
    description: pick(row.description, lang),
    icon: row.icon,
    color: row.color,
    active: row.active,
    sensitive: row.sensitive,
    emergency: row.emergency,
    attributes: sortAttributes(row.attributes).map((a) => presentAttribute(a, lang)),
  };
}

/** In their `order`, then by code: the order a form (and an Open311 client) asks them in. */
export function sortAttributes(attributes: readonly CategoryAttribute[]): CategoryAttribute[] {
  return [...attributes].sort((a, b) => a.order - b.order || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

function presentAttribute(a: CategoryAttribute, lang: Lang): Category['attributes'][number] {
  return {
    code: a.code,
    datatype: a.datatype,
    required: a.required,
    description: pick(a.description, lang),
    order: a.order,
    ...(a.values ? { values: a.values.map((v) => ({ key: v.key, name: pick(v.name, lang) })) } : {}),
  };
}

export function presentCategoryForAdmin(row: CategoryRow, lang: Lang) {
  return {
    ...presentCategory(row, lang),
    translations: { name: row.name, description: row.description, attributes: row.attributes },
    sortOrder: row.sort_order,
  };
}
