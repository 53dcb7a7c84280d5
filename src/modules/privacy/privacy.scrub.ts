/**
 * De-identifies free text a person wrote (report titles and descriptions, comments) when their
 * account is erased: the reports stay useful to the neighbourhood, but what names or reaches the
 * person goes. People type their phone number, email or street address into descriptions; exact
 * coordinates get pasted from map apps.
 */
export const ERASED_TEXT = '[erased]';

const EMAIL = /[^\s@<>()[\]",;:]+@[^\s@<>()[\]",;:]+\.[A-Za-z]{2,}/g;
// a run of digits with the usual separators; only runs of 9+ digits count as phone numbers, so
// dates, times and house numbers survive
const PHONE_CANDIDATE = /\+?\d[\d\s().\-/]{6,24}\d/g;
// a decimal degree with 4+ decimals (~11 m): enough to pin a house
const COORDINATE = /-?\d{1,3}\.\d{4,}/g;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function deidentifyText(text: string, person: { email: string | null; displayName: string }): string {
  let out = text;
  for (const literal of [person.email, person.displayName]) {
    // a one- or two-letter name would blank out ordinary words
    if (literal && literal.trim().length >= 3) {
      out = out.replace(new RegExp(escapeRegExp(literal.trim()), 'gi'), ERASED_TEXT);
    }
  }
  out = out.replace(EMAIL, ERASED_TEXT);
  out = out.replace(PHONE_CANDIDATE, (match) => (match.replace(/\D/g, '').length >= 9 ? ERASED_TEXT : match));
  out = out.replace(COORDINATE, ERASED_TEXT);
  return out;
}
