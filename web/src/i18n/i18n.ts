import { af } from './af';
import { en, type MessageKey } from './en';

export type Lang = 'en' | 'af';
export const LANGS: readonly Lang[] = ['en', 'af'];

type PluralBase<K> = K extends `${infer B}_one` ? B : never;
/** A message key; a plural message is named without its _one/_other ending and needs `count`. */
export type TKey = Exclude<MessageKey, `${string}_one` | `${string}_other`> | PluralBase<MessageKey>;
export type Params = Record<string, string | number>;

const catalogues: Record<Lang, Record<MessageKey, string>> = { en, af };
// South African conventions for both: day month year, space as thousands separator in af
const LOCALES: Record<Lang, string> = { en: 'en-ZA', af: 'af-ZA' };

/** The first of the browser's languages that Buurtwag speaks; English otherwise. */
export function detectLang(preferred: readonly string[]): Lang {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'af' || base === 'en') return base;
  }
  return 'en';
}

export function isLang(value: unknown): value is Lang {
  return value === 'en' || value === 'af';
}

export function translate(lang: Lang, key: TKey, params: Params = {}): string {
  const messages = catalogues[lang];
  let text: string | undefined;
  if (typeof params.count === 'number') {
    const rule = new Intl.PluralRules(LOCALES[lang]).select(params.count) === 'one' ? 'one' : 'other';
    text = messages[`${key}_${rule}` as MessageKey];
  }
  text ??= messages[key as MessageKey] ?? en[key as MessageKey] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(lang, value) : value;
  });
}

export function formatNumber(lang: Lang, value: number): string {
  return new Intl.NumberFormat(LOCALES[lang]).format(value);
}

export function formatDateTime(lang: Lang, iso: string | number | Date): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatDate(lang: Lang, iso: string | number | Date): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium' }).format(new Date(iso));
}
