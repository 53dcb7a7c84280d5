import { describe, expect, it } from 'vitest';
import { deidentifyText, ERASED_TEXT } from './privacy.scrub.js';

const person = { email: 'thandi.n@example.org', displayName: 'Thandi Nkosi' };

describe('deidentifyText', () => {
  it('removes the name, emails, phone numbers and precise coordinates', () => {
    const text =
      'Call Thandi NKOSI on +27 82 555 0199 or 0825550199, mail thandi.n@example.org or t@x.co.za; ' +
      'pin -26.204112, 28.047305';
    const out = deidentifyText(text, person);
    for (const gone of ['Thandi', 'NKOSI', '555', '0825550199', 'example.org', 't@x.co.za', '26.204112', '28.047305']) {
      expect(out).not.toContain(gone);
    }
    expect(out).toContain(ERASED_TEXT);
  });

  it('keeps ordinary text, dates, times and house numbers', () => {
    const text = 'Pothole at 12 Church Street since 2026-11-20, about 1.5 m wide, seen at 07:30';
    expect(deidentifyText(text, person)).toBe(text);
  });

  it('does not blank out short names inside words', () => {
    expect(deidentifyText('Jo the plumber came', { email: null, displayName: 'Jo' })).toBe('Jo the plumber came');
  });
});
