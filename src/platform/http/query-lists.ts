import type { FieldError } from './errors.js';

/**
 * A comma-separated query parameter (`status=reported,acknowledged`) as distinct values, at most
 * 50, each one of `allowed` when given; a bad list adds its error to `errors` and gives null.
 */
export function parseCommaList<T extends string>(
  raw: string | undefined,
  allowed: readonly T[] | null,
  path: string,
  errors: FieldError[],
): T[] | null {
  if (raw === undefined) return null;
  const items = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (items.length === 0 || items.length > 50) {
    errors.push({ path, message: 'validation.invalid' });
    return null;
  }
  if (allowed && items.some((s) => !allowed.includes(s as T))) {
    errors.push({ path, message: 'validation.enum', params: { values: allowed.join(', ') } });
    return null;
  }
  return items as T[];
}
