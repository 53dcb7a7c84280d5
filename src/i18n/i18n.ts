import { af } from './af.js';
import { en, type MessageKey } from './en.js';

export type Lang = 'en' | 'af';
export const LANGS: readonly Lang[] = ['en', 'af'];
const catalogues: Record<Lang, Record<MessageKey, string>> = { en, af };

export type { MessageKey };

export function t(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = catalogues[lang][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

/** `?lang=` wins over Accept-Language; English is the fallback. */
export function negotiateLang(queryLang: unknown, acceptLanguage: string | undefined): Lang {
  if (typeof queryLang === 'string') {
    const wanted = queryLang.toLowerCase().split(/[-_]/)[0];
    if (wanted === 'en' || wanted === 'af') return wanted;
  }
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { lang: tag.toLowerCase().split('-')[0] ?? '', q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((entry) => Number.isFinite(entry.q) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const entry of ranked) if (entry.lang === 'en' || entry.lang === 'af') return entry.lang;
  return 'en';
}

/** A translated text stored in the database: {en, af}; falls back to English. */
export function pick(texts: Partial<Record<Lang, string>> | null | undefined, lang: Lang): string {
  return texts?.[lang] ?? texts?.en ?? '';
}
