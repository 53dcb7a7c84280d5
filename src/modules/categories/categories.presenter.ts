import { pick, type Lang } from '../../i18n/i18n.js';
import type { CategoryRow } from './categories.repository.js';
import type { Category } from './categories.schemas.js';

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
  };
}

export function presentCategoryForAdmin(row: CategoryRow, lang: Lang) {
  return {
    ...presentCategory(row, lang),
    translations: { name: row.name, description: row.description },
    sortOrder: row.sort_order,
  };
}
