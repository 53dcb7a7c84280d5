import type { FastifyReply } from 'fastify';

/**
 * Sends a large JSON answer (a 200-incident list page is ~170 KB) as bytes written straight from
 * the presented objects: no route-schema serializer, no intermediate strings, and no second pass
 * to measure Content-Length nor a transcoding when written. The body must already be exactly the
 * documented shape (a presenter made it), since the response schema no longer filters it.
 */
export function sendJsonBytes(reply: FastifyReply, body: object): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(jsonBytes(body));
}

/**
 * The UTF-8 bytes of `JSON.stringify(body)`, written into one growing buffer as the value is
 * walked. JSON.stringify built each list item as a string in growing parts, joined them and
 * flattened the result to encode it: ~2.5 times the answer's size in short-lived strings, the
 * largest share of what a list request allocated (bench/README.md, session 12), and so of the
 * collector's work under load. Text that is printable ASCII (nearly all of it) is copied byte by
 * byte; everything else is encoded here as JSON.stringify would.
 */
export function jsonBytes(body: object): Buffer {
  const writer = new ByteWriter(initialSize);
  writer.value(jsonValue(body, ''));
  // start the next answer at about this one's size: pages of one kind are alike
  initialSize = Math.min(Math.max(MIN_INITIAL, writer.length + (writer.length >> 3)), MAX_INITIAL);
  return writer.bytes();
}

/**
 * JSON text made earlier (an incident's public copy), written as it is: the concatenation of its
 * parts, which are kept apart so that no page-sized string is built only to be written out. The
 * text must be JSON text of a value (JSON.stringify's, perhaps with characters escaped): it is
 * not checked.
 */
export class RawJson {
  readonly parts: readonly string[];

  constructor(...parts: string[]) {
    this.parts = parts;
  }

  /** Elsewhere (JSON.stringify, inject's json()), the value it stands for. */
  toJSON(): unknown {
    return JSON.parse(this.parts.join(''));
  }
}

const MIN_INITIAL = 4096;
const MAX_INITIAL = 1 << 20;
let initialSize = 65536;

const HEX = '0123456789abcdef';
// the two-character escapes JSON.stringify writes; every other control character is \u00XX
const SHORT_ESCAPES: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class ByteWriter {
  private buffer: Buffer;
  length = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Room for n more bytes. */
  private reserve(n: number): Buffer {
    const needed = this.length + n;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }

  private byte(b: number): void {
    this.reserve(1)[this.length++] = b;
  }

  /** Text known to be ASCII without anything to escape (numbers, literals). */
  private ascii(text: string): void {
    const n = text.length;
    const buffer = this.reserve(n);
    let at = this.length;
    for (let i = 0; i < n; i++) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** A JSON string: quoted, escaped and UTF-8 encoded exactly as JSON.stringify does. */
  string(text: string): void {
    const n = text.length;
    // room for plain ASCII; anything wider reserves the rest of the text at its widest (below)
    let buffer = this.reserve(n + 2);
    let at = this.length;
    buffer[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH) {
        buffer[at++] = c;
        continue;
      }
      // The rare path. A UTF-16 unit takes at most 6 bytes (\u00XX, a lone surrogate's \uXXXX;
      // a pair 4 for 2 units): once the rest of the text fits at that width, it all fits.
      if (buffer.length - at < (n - i) * 6 + 2) {
        this.length = at;
        buffer = this.reserve((n - i) * 6 + 2);
      }
      if (c < 0x20) {
        const short = SHORT_ESCAPES[c];
        buffer[at++] = BACKSLASH;
        if (short !== undefined) {
          buffer[at++] = short;
        } else {
          at = this.unicodeEscape(buffer, at, c);
        }
      } else if (c === QUOTE || c === BACKSLASH) {
        buffer[at++] = BACKSLASH;
        buffer[at++] = c;
      } else if (c < 0x800) {
        buffer[at++] = 0xc0 | (c >> 6);
        buffer[at++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const point = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          buffer[at++] = 0xf0 | (point >> 18);
          buffer[at++] = 0x80 | ((point >> 12) & 0x3f);
          buffer[at++] = 0x80 | ((point >> 6) & 0x3f);
          buffer[at++] = 0x80 | (point & 0x3f);
          i++;
        } else {
          // a lone surrogate is not text UTF-8 can carry: JSON.stringify escapes it (ES2019)
          buffer[at++] = BACKSLASH;
          at = this.unicodeEscape(buffer, at, c);
        }
      } else {
        buffer[at++] = 0xe0 | (c >> 12);
        buffer[at++] = 0x80 | ((c >> 6) & 0x3f);
        buffer[at++] = 0x80 | (c & 0x3f);
      }
    }
    // the closing quote is in every reservation above
    buffer[at++] = QUOTE;
    this.length = at;
  }

  /** `uXXXX` (after the backslash), lower-case hex as JSON.stringify writes it. */
  private unicodeEscape(buffer: Buffer, at: number, c: number): number {
    buffer[at++] = 0x75;
    buffer[at++] = HEX.charCodeAt(c >> 12);
    buffer[at++] = HEX.charCodeAt((c >> 8) & 0xf);
    buffer[at++] = HEX.charCodeAt((c >> 4) & 0xf);
    buffer[at++] = HEX.charCodeAt(c & 0xf);
    return at;
  }

  /** A value as JSON.stringify writes it, after jsonValue. */
  value(value: unknown): void {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'number':
        this.ascii(Number.isFinite(value) ? String(value) : 'null');
        return;
      case 'boolean':
        this.ascii(value ? 'true' : 'false');
        return;
      case 'bigint':
        // what JSON.stringify does with one
        throw new TypeError('Do not know how to serialize a BigInt');
      case 'object':
        if (value === null) this.ascii('null');
        else if (value instanceof RawJson) for (const part of value.parts) this.raw(part);
        else if (Array.isArray(value)) this.array(value);
        else this.object(value);
        return;
      default:
        // undefined, functions and symbols where a value must stand: an array's element, the top
        this.ascii('null');
    }
  }

  private raw(json: string): void {
    // UTF-8 takes at most three bytes for each UTF-16 unit
    const buffer = this.reserve(json.length * 3);
    this.length += buffer.write(json, this.length, 'utf8');
  }

  private array(items: readonly unknown[]): void {
    this.byte(0x5b);
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.value(jsonValue(items[i], i));
    }
    this.byte(0x5d);
  }

  private object(value: object): void {
    this.byte(0x7b);
    let first = true;
    // own enumerable string keys, in JSON.stringify's order
    const names = Object.keys(value);
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      const member = jsonValue((value as Record<string, unknown>)[name], name);
      // what JSON.stringify leaves out of an object
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      if (!first) this.byte(0x2c);
      first = false;
      this.string(name);
      this.byte(0x3a);
      this.value(member);
    }
    this.byte(0x7d);
  }
}

/**
 * What JSON.stringify writes in a value's place: what its toJSON answers (called once, with the
 * key or index as a string), a boxed primitive's value.
 */
function jsonValue(value: unknown, key: string | number): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'bigint')) {
    return value;
  }
  if (value instanceof RawJson) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const own: unknown = typeof toJSON === 'function' ? toJSON.call(value, String(key)) : value;
  if (own instanceof Number || own instanceof String || own instanceof Boolean) return own.valueOf();
  return own;
}
