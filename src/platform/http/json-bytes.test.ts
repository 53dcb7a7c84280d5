import { describe, expect, it } from 'vitest';
import { jsonBytes, RawJson } from './json-bytes.js';

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

  it('escapes as JSON.stringify does: controls, quotes, backslashes, lone surrogates, at any place in the text', () => {
    const controls = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join('');
    same({ controls, del: '\u007f', quote: 'a"b\\c', lone: ['\ud800', 'x\udfff', '\udc00\ud800', 'end\ud83d'] });
    // text that turns from plain to escaped late, after the first guess of its size was made
    same({ long: `${'a'.repeat(10_000)}\n${'"'.repeat(5_000)}${'\u0001'.repeat(3_000)}` });
    same({ pair: '😀'.repeat(3_000), mixed: 'Straat ë – ô 😀 漢 \t end' });
  });

  it('grows the buffer when wide text comes late in a string that began near its end', () => {
    for (const wide of ['€', 'é', '😀', '\u0001', '"']) {
      for (const plain of [0, 1, 1000, 3000, 4080, 5000]) {
        // a small answer first: the next one starts from the smallest buffer
        same({});
        same({ s: `${'a'.repeat(plain)}${wide.repeat(500)}`, t: `${wide}${'b'.repeat(plain)}` });
      }
    }
  });

  it('calls toJSON once with the key, unboxes primitives, drops what toJSON makes unwritable', () => {
    const keys: string[] = [];
    const spy = { toJSON: (key: string) => (keys.push(key), { inner: { toJSON: () => 'deep' } }) };
    same({ a: spy, list: [spy, spy] });
    expect(keys).toEqual(['a', '0', '1', 'a', '0', '1']);
    same({ gone: { toJSON: () => undefined }, fn: { toJSON: () => () => 1 }, kept: 1 });
    same({ n: Object(1.5), s: Object('ê'), b: Object(false), items: [Object(2)] });
    same({ date: new Date(Date.UTC(2026, 10, 28)), bad: new Date(NaN) });
    same({ neg: -0, small: 1e-7, big: 1e21, frac: 0.1 + 0.2, max: Number.MAX_VALUE });
  });

  it('writes keys in the order JSON.stringify does, own enumerable ones only', () => {
    const inherited = Object.create({ hidden: 1 }) as Record<string, unknown>;
    inherited.own = 2;
    Object.defineProperty(inherited, 'quiet', { value: 3, enumerable: false });
    same({ 2: 'two', b: 1, 1: 'one', a: 2, [Symbol('s')]: 3, inherited, '': 'empty key', 'ke"y': 0 });
    same({ sparse: [1, , 3], nested: [[], {}, [[{}]]] });
  });

  it('matches JSON.stringify on random values', () => {
    // a small deterministic generator: the same cases every run
    let state = 12345;
    const next = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 16) % n;
    };
    const alphabet = ['a', 'Z', ' ', '"', '\\', '\n', '\u0000', '\u001f', 'é', '€', '😀', '\ud800', '\udc00', '\u2028'];
    const text = () => Array.from({ length: next(12) }, () => alphabet[next(alphabet.length)]).join('');
    const value = (depth: number): unknown => {
      switch (depth > 3 ? next(5) : next(8)) {
        case 0:
          return text();
        case 1:
          return next(2) === 0 ? next(100000) / (1 + next(7)) : -next(1000);
        case 2:
          return next(2) === 0;
        case 3:
          return null;
        case 4:
          return next(2) === 0 ? undefined : text();
        case 5:
          return Array.from({ length: next(5) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: next(6) }, () => [text(), value(depth + 1)]));
      }
    };
    for (let i = 0; i < 500; i++) same({ v: value(0), w: [value(0), value(0)] });
  });
});

describe('RawJson', () => {
  it('is written as it is, in objects and arrays, and stands for its value elsewhere', () => {
    const body = { items: [new RawJson('{"title":"Gat in die pad – ’n groot een"}'), { a: 1 }], n: new RawJson('2') };
    const written = jsonBytes(body).toString('utf8');
    expect(written).toBe('{"items":[{"title":"Gat in die pad – ’n groot een"},{"a":1}],"n":2}');
    expect(JSON.stringify(body)).toBe(written);
  });
});
