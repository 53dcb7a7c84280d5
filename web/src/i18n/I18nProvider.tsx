import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import {
  detectLang,
  formatDate,
  formatDateTime,
  formatNumber,
  isLang,
  translate,
  type Lang,
  type Params,
  type TKey,
} from './i18n';

const STORAGE_KEY = 'buurtwag.lang';

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: TKey, params?: Params): string;
  dateTime(iso: string | number | Date): string;
  date(iso: string | number | Date): string;
  number(value: number): string;
}

const Context = createContext<I18n | null>(null);

/** The language: chosen before (this browser), else the browser's own; kept per account by the app shell. */
export function initialLang(): Lang {
  const saved = safeStorage()?.getItem(STORAGE_KEY);
  if (isLang(saved)) return saved;
  return detectLang(navigator.languages ?? [navigator.language]);
}

export function I18nProvider({ children }: { children: ReactNode }) {
  // <html lang> is set at once, not in an effect: the API client reads it for Accept-Language,
  // and children's effects (their first fetches) run before a parent's
  const [lang, setLangState] = useState<Lang>(() => applyLang(initialLang()));
  const setLang = useCallback((next: Lang) => {
    safeStorage()?.setItem(STORAGE_KEY, next);
    setLangState(applyLang(next));
  }, []);
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang,
      t: (key, params) => translate(lang, key, params),
      dateTime: (iso) => formatDateTime(lang, iso),
      date: (iso) => formatDate(lang, iso),
      number: (n) => formatNumber(lang, n),
    }),
    [lang, setLang],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(Context);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}

function applyLang(lang: Lang): Lang {
  document.documentElement.lang = lang;
  return lang;
}

/** The language the page shows now (for code outside React: the API client, the socket). */
export function currentLang(): Lang {
  const value = typeof document === 'undefined' ? 'en' : document.documentElement.lang;
  return isLang(value) ? value : 'en';
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
