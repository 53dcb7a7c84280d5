import { describe, expect, it } from 'vitest';
import { af } from './af.js';
import { en } from './en.js';
import { negotiateLang, pick, t } from './i18n.js';

describe('i18n', () => {
  it('has an Afrikaans text for every English one, with the same placeholders', () => {
    expect(Object.keys(af).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(af[key].trim().length, key).toBeGreaterThan(0);
      const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(holes(af[key]), key).toEqual(holes(en[key]));
    }
  });

  it('negotiates ?lang over Accept-Language, by quality, falling back to English', () => {
    expect(negotiateLang('af', 'en')).toBe('af');
    expect(negotiateLang('AF-za', undefined)).toBe('af');
    expect(negotiateLang('xx', 'af')).toBe('af');
    expect(negotiateLang(undefined, 'zu, af;q=0.5, en;q=0.9')).toBe('en');
    expect(negotiateLang(undefined, 'af-ZA')).toBe('af');
    expect(negotiateLang(undefined, 'en;q=0, af;q=0.1')).toBe('af');
    expect(negotiateLang(undefined, 'de, fr')).toBe('en');
    expect(negotiateLang(undefined, undefined)).toBe('en');
  });

  it('fills placeholders and picks stored translations', () => {
    expect(t('af', 'error.bad_transition.detail', { from: 'closed', to: 'reported' })).toBe(
      "'n Voorval kan nie van closed na reported skuif nie.",
    );
    expect(pick({ en: 'Pothole', af: 'Slaggat' }, 'af')).toBe('Slaggat');
    expect(pick({ en: 'Pothole' }, 'af')).toBe('Pothole');
  });
});
