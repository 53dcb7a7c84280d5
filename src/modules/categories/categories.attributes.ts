import type { FieldError } from '../../platform/http/errors.js';
import type { CategoryAttribute } from './categories.schemas.js';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A report's answers (its `metadata`) against its category's attributes: required ones present,
 * each of its datatype, list answers among the listed keys. Keys that are no attribute are left
 * alone: metadata also carries what clients add for themselves.
 */
export function checkAttributeValues(
  attributes: readonly CategoryAttribute[],
  metadata: Record<string, unknown>,
  basePath = '/body/metadata',
): FieldError[] {
  const errors: FieldError[] = [];
  for (const a of attributes) {
    const path = `${basePath}/${a.code}`;
    const value = metadata[a.code];
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) {
      if (a.required) errors.push({ path, message: 'validation.required' });
      continue;
    }
    const keys = (a.values ?? []).map((v) => v.key);
    switch (a.datatype) {
      case 'string':
      case 'text':
        if (typeof value !== 'string') errors.push({ path, message: 'validation.type', params: { type: 'string' } });
        break;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          errors.push({ path, message: 'validation.type', params: { type: 'number' } });
        }
        break;
      case 'datetime':
        if (typeof value !== 'string' || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
          errors.push({ path, message: 'validation.date' });
        }
        break;
      case 'singlevaluelist':
        if (typeof value !== 'string' || !keys.includes(value)) {
          errors.push({ path, message: 'validation.attribute_not_a_value', params: { values: keys.join(', ') } });
        }
        break;
      case 'multivaluelist':
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && keys.includes(v))) {
          errors.push({ path, message: 'validation.attribute_not_a_value', params: { values: keys.join(', ') } });
        }
        break;
    }
  }
  return errors;
}
