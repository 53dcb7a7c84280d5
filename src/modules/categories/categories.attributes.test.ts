import { describe, expect, it } from 'vitest';
import { checkAttributeValues } from './categories.attributes.js';
import type { CategoryAttribute } from './categories.schemas.js';

const attr = (a: Partial<CategoryAttribute> & Pick<CategoryAttribute, 'code' | 'datatype'>): CategoryAttribute => ({
  required: false,
  description: { en: a.code },
  order: 0,
  ...a,
});

const ATTRIBUTES: CategoryAttribute[] = [
  attr({ code: 'name', datatype: 'string', required: true }),
  attr({ code: 'notes', datatype: 'text' }),
  attr({ code: 'depth', datatype: 'number' }),
  attr({ code: 'seen_at', datatype: 'datetime' }),
  attr({ code: 'lane', datatype: 'singlevaluelist', values: [{ key: 'left', name: { en: 'Left' } }] }),
  attr({
    code: 'tags',
    datatype: 'multivaluelist',
    values: [
      { key: 'a', name: { en: 'A' } },
      { key: 'b', name: { en: 'B' } },
    ],
  }),
];

describe('checkAttributeValues', () => {
  it('accepts answers of the right types, and keys that are no attribute', () => {
    expect(
      checkAttributeValues(ATTRIBUTES, {
        name: 'x',
        notes: 'y',
        depth: 12.5,
        seen_at: '2026-11-26T10:00:00+02:00',
        lane: 'left',
        tags: ['a', 'b'],
        other: { anything: true },
      }),
    ).toEqual([]);
  });

  it('wants the required ones and leaves out the optional ones', () => {
    expect(checkAttributeValues(ATTRIBUTES, {})).toEqual([
      { path: '/body/metadata/name', message: 'validation.required' },
    ]);
    expect(checkAttributeValues(ATTRIBUTES, { name: '' })).toHaveLength(1);
  });

  it('names each wrong answer', () => {
    const errors = checkAttributeValues(ATTRIBUTES, {
      name: 3,
      depth: '12',
      seen_at: 'yesterday',
      lane: 'right',
      tags: ['a', 'c'],
    });
    expect(errors).toEqual([
      { path: '/body/metadata/name', message: 'validation.type', params: { type: 'string' } },
      { path: '/body/metadata/depth', message: 'validation.type', params: { type: 'number' } },
      { path: '/body/metadata/seen_at', message: 'validation.date' },
      { path: '/body/metadata/lane', message: 'validation.attribute_not_a_value', params: { values: 'left' } },
      { path: '/body/metadata/tags', message: 'validation.attribute_not_a_value', params: { values: 'a, b' } },
    ]);
  });
});
