import { describe, expect, it } from 'vitest';
import { af } from './af';
import { en } from './en';
import { detectLang, formatDate, formatNumber, translate } from './i18n';

describe('i18n', () => {
  it('picks the first browser language Buurtwag speaks, else English', () => {
    expect(detectLang(['af-ZA', 'en-GB'])).toBe('af');
    expect(detectLang(['zu-ZA', 'en-ZA'])).toBe('en');
    expect(detectLang(['nl-NL', 'de'])).toBe('en');
    expect(detectLang([])).toBe('en');
  });

  it('has every English placeholder in the Afrikaans text, and no empty text', () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(af[key].trim(), key).not.toBe('');
      expect(placeholders(af[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('is translated, not copied: Afrikaans differs from English except names', () => {
    const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => af[k] === en[k]);
    // the brand, the language names (each in its own language), and words both languages share
    expect(same.sort()).toEqual(
      [
        'app.name',
        'lang.af',
        'lang.en',
        'map.filters',
        'map.pin',
        'map.status',
        'incident.status',
        'admin.role.moderator',
        'staff.role.moderator',
      ].sort(),
    );
  });

  it('chooses plural forms by count, per language', () => {
    expect(translate('en', 'map.count', { count: 1 })).toBe('1 report');
    expect(translate('en', 'map.count', { count: 3 })).toBe('3 reports');
    expect(translate('af', 'map.count', { count: 1 })).toBe('1 verslag');
    expect(translate('af', 'map.count', { count: 3 })).toBe('3 verslae');
  });

  it('formats numbers in parameters as South Africans write them', () => {
    // both en-ZA and af-ZA group thousands with a (narrow no-break) space
    expect(translate('en', 'map.count', { count: 1200 }).replace(/\s/g, ' ')).toBe('1 200 reports');
    expect(formatNumber('af', 1200.5).replace(/\s/g, ' ')).toBe('1 200,5');
  });

  it("writes dates with each language's month names", () => {
    const march = Date.parse('2026-03-05T10:00:00Z');
    expect(formatDate('en', march)).toMatch(/Mar/);
    expect(formatDate('af', march)).toMatch(/Mrt/);
  });
});
