import type { CategoryAttribute } from '../api/client';

export type Answers = Record<string, string | string[]>;

/**
 * A category's extra questions answered in the form (strings from inputs) as the report's
 * metadata, typed as the server checks them: numbers as numbers, dates as RFC 3339, lists as
 * arrays; unanswered questions left out. Also which required ones are missing.
 */
export function answersToMetadata(
  attributes: readonly CategoryAttribute[],
  answers: Answers,
): { metadata: Record<string, unknown>; missing: string[] } {
  const metadata: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const a of [...attributes].sort((x, y) => x.order - y.order)) {
    const raw = answers[a.code];
    const empty = raw === undefined || raw === '' || (Array.isArray(raw) && raw.length === 0);
    if (empty) {
      if (a.required) missing.push(a.code);
      continue;
    }
    switch (a.datatype) {
      case 'number': {
        const n = Number(raw);
        if (Number.isFinite(n)) metadata[a.code] = n;
        else missing.push(a.code);
        break;
      }
      case 'datetime': {
        const time = Date.parse(String(raw));
        if (Number.isNaN(time)) missing.push(a.code);
        else metadata[a.code] = new Date(time).toISOString();
        break;
      }
      case 'multivaluelist':
        metadata[a.code] = Array.isArray(raw) ? raw : [raw];
        break;
      default:
        metadata[a.code] = Array.isArray(raw) ? raw.join(', ') : raw;
    }
  }
  return { metadata, missing };
}
