import { useEffect, useState } from 'react';
import { api, type Category } from './api/client';
import { useI18n } from './i18n/I18nProvider';

/**
 * The categories in the page's language. The last answer is kept in this browser so the report
 * form works offline too.
 */
export function useCategories(): Category[] {
  const { lang } = useI18n();
  const key = `buurtwag.categories.${lang}`;
  const [categories, setCategories] = useState<Category[]>(() => cached(key));
  useEffect(() => {
    let live = true;
    setCategories(cached(key));
    api
      .GET('/api/v1/categories', { params: { query: { lang } } })
      .then(({ data }) => {
        if (!live || !data) return;
        const active = data.items.filter((c) => c.active);
        setCategories(active);
        try {
          localStorage.setItem(key, JSON.stringify(active));
        } catch {
          // no storage: offline reporting then needs the page to have loaded them once
        }
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [key, lang]);
  return categories;
}

function cached(key: string): Category[] {
  try {
    return JSON.parse(localStorage.getItem(key) ?? '[]') as Category[];
  } catch {
    return [];
  }
}
