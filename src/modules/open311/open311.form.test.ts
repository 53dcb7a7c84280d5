import { describe, expect, it } from 'vitest';
import { FormError, parseForm } from './open311.form.js';

describe('parseForm', () => {
  it('keeps single fields as strings and repeated or [] fields as arrays, in order', () => {
    expect(
      parseForm('a=1&b=x+y&c=%C3%A9&a=2&d[]=only&attribute%5Bhazards%5D%5B%5D=w&attribute%5Bhazards%5D%5B%5D=g'),
    ).toEqual({
      a: ['1', '2'],
      b: 'x y',
      c: 'é',
      'd[]': ['only'],
      'attribute[hazards][]': ['w', 'g'],
    });
  });

  it('keeps __proto__ a plain field', () => {
    const form = parseForm('__proto__=x&constructor=y');
    expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
    expect(Object.keys(form)).toEqual(['__proto__', 'constructor']);
  });

  it('refuses forms with too many fields', () => {
    expect(() => parseForm(Array.from({ length: 501 }, (_, i) => `f${i}=1`).join('&'))).toThrow(FormError);
  });
});
