/**
 * `application/x-www-form-urlencoded`, as GeoReport v2 clients POST it. A key given once is a
 * string; a key given again, or named with `[]` (`attribute[code][]`, the PHP and Rails way of
 * sending a list), is an array of strings in the order sent.
 */
export type FormValue = string | string[];
export type Form = Readonly<Record<string, FormValue>>;

/** A service request is a few short fields and a description of at most 4,000 characters. */
export const FORM_BODY_LIMIT = 64 * 1024;
const MAX_FIELDS = 500;

export class FormError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormError';
  }
}

export function parseForm(text: string): Form {
  const fields = new Map<string, FormValue>();
  let count = 0;
  for (const [key, value] of new URLSearchParams(text)) {
    if (++count > MAX_FIELDS) throw new FormError(`A form may have at most ${MAX_FIELDS} fields.`);
    const before = fields.get(key);
    if (before === undefined) fields.set(key, key.endsWith('[]') ? [value] : value);
    else if (Array.isArray(before)) before.push(value);
    else fields.set(key, [before, value]);
  }
  // fromEntries defines own properties: a field named __proto__ stays a field
  return Object.fromEntries(fields);
}
