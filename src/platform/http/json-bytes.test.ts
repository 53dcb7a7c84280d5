import { describe, expect, it } from 'vitest';
import { jsonBytes } from './json-bytes.js';

/** jsonBytes must give exactly the bytes of JSON.stringify, whatever the text and the size. */
describe('jsonBytes', () => {
  const same = (body: object) => expect(jsonBytes(body).toString('utf8')).toBe(JSON.stringify(body));

  it('writes a list page as JSON.stringify does, key order and cursor included', () => {
    const items = Array.from({ length: 200 }, (_, i) => ({
      id: `id-${i}`,
      title: `Slaggate ná die reën in straat ${i}`,
      location: { type: 'Point', coordinates: [28.01 + i / 1000, -26.2] },
      metadata: { nested: [1, { deep: 'ê' }] },
      distance: i * 1.5,
    }));
    same({ items, nextCursor: 'abc' });
    same({ items, nextCursor: null });
    same({ items: [] });
    same({});
  });

  it('leaves out what JSON.stringify leaves out and writes null for array elements it cannot represent', () => {
    same({ a: undefined, b: () => 1, c: Symbol('s'), d: 1 });
    same({ items: [undefined, () => 1, 2], rest: undefined });
    same({ when: new Date(0), big: [NaN, Infinity] });
  });

  it('keeps text of every width: accents, three-byte characters, surrogate pairs, escapes', () => {
    same({ items: ['ê', '…', '😀', 'a\u2028b', '"quoted"\n\\', '\u0000'] });
    // wholly three-byte text outgrows the buffer's first guess (about one byte a unit) several times
    same({ items: Array.from({ length: 500 }, (_, i) => '漢字'.repeat(i % 40)) });
    same({ title: '€'.repeat(100_000) });
  });
});
