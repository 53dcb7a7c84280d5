/**
 * Requests generated from the OpenAPI document (/api/v1/openapi.json), for the abuse bench and
 * its CI test: every operation, with path parameters that are real ids or junk, query parameters
 * and bodies built from the schemas and then broken (wrong types, out of range, missing required
 * fields, extra fields, not JSON at all), and odd headers. What the server must never do with
 * any of them: answer 5xx, or put a stack trace in the body.
 */

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema | Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  pattern?: string;
}

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body: Schema | null;
  bodyType: string | null;
}

/** A seeded PRNG (mulberry32): the same seed makes the same requests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function operations(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const result: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const op = raw as {
        parameters?: Parameter[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
      };
      const content = op.requestBody?.content ?? {};
      const bodyType = Object.keys(content)[0] ?? null;
      result.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: bodyType ? (content[bodyType]?.schema ?? {}) : null,
        bodyType,
      });
    }
  }
  return result;
}

const JUNK_STRINGS = [
  '',
  ' ',
  'null',
  'undefined',
  '-1',
  '0',
  '1e309',
  'NaN',
  '../../etc/passwd',
  "' OR 1=1 --",
  '%00',
  '\u0000',
  '💥🔥',
  '<script>alert(1)</script>',
  '{"$gt":""}',
  '00000000-0000-0000-0000-000000000000',
  'BW-00000000',
  'x'.repeat(5000),
  '9'.repeat(400),
  '1,2,3,4',
  '-180,-90,180,90',
  'true',
  '[]',
];
const JUNK_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  0.5,
  Number.MAX_SAFE_INTEGER,
  '',
  'x'.repeat(20_000),
  [],
  [null],
  {},
  { nested: { deeper: [1, 2, 3] } },
  '1970-01-01',
  'not-a-uuid',
];

export interface FuzzContext {
  /** ids that exist, so some requests get past the 404 */
  ids: string[];
  /** authorization headers to try (a reporter, an admin); "no header" is always among the choices */
  tokens: string[];
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A plausible value for a schema (valid more often than not). */
function sample(schema: Schema | undefined, random: () => number, ctx: FuzzContext, depth = 0): unknown {
  if (!schema || depth > 6) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return pick(random, schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) return sample(pick(random, alternatives), random, ctx, depth + 1);
  if (schema.allOf && schema.allOf.length > 0) return sample(schema.allOf[0], random, ctx, depth + 1);
  const type = Array.isArray(schema.type) ? pick(random, schema.type) : schema.type;
  switch (type) {
    case 'string':
      if (schema.format === 'uuid') return pick(random, ctx.ids.length > 0 ? ctx.ids : ['not-an-id']);
      if (schema.format === 'date-time')
        return new Date(Date.UTC(2026, 0, 1 + Math.floor(random() * 300))).toISOString();
      if (schema.format === 'email') return `fuzz${Math.floor(random() * 1e6)}@example.invalid`;
      return 'fuzz'.padEnd(Math.max(4, Math.min(schema.minLength ?? 4, 50)), 'z').slice(0, schema.maxLength ?? 50);
    case 'integer':
    case 'number': {
      const lo = schema.minimum ?? 0;
      const hi = schema.maximum ?? lo + 100;
      const v = lo + random() * (hi - lo);
      return type === 'integer' ? Math.floor(v) : v;
    }
    case 'boolean':
      return random() < 0.5;
    case 'array': {
      if (Array.isArray(schema.items)) return schema.items.map((s) => sample(s, random, ctx, depth + 1));
      const n = Math.max(schema.minItems ?? 0, Math.floor(random() * 3));
      return Array.from({ length: n }, () => sample(schema.items as Schema, random, ctx, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        if ((schema.required ?? []).includes(name) || random() < 0.5) out[name] = sample(prop, random, ctx, depth + 1);
      }
      return out;
    }
    case 'null':
      return null;
    default:
      return pick(random, JUNK_VALUES);
  }
}

/** Breaks a value: wrong type, out of range, a field missing or added, at some depth. */
function mutate(value: unknown, schema: Schema | undefined, random: () => number): unknown {
  const r = random();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(obj);
    if (r < 0.25 && keys.length > 0) delete obj[pick(random, keys)];
    else if (r < 0.4)
      obj[pick(random, ['__proto__', 'constructor', 'extra', 'id', 'status', 'isAdmin'])] = pick(random, JUNK_VALUES);
    else if (keys.length > 0) {
      const key = pick(random, keys);
      obj[key] = mutate(obj[key], schema?.properties?.[key], random);
    } else return pick(random, JUNK_VALUES);
    return obj;
  }
  if (typeof value === 'number') {
    return pick(random, [
      (schema?.maximum ?? 1e6) + 1,
      (schema?.minimum ?? -1e6) - 1,
      -value,
      String(value),
      1e308,
      null,
      Number.MIN_VALUE,
    ]);
  }
  if (typeof value === 'string') {
    return pick(random, [...JUNK_STRINGS, 42, null, [value], { value }]);
  }
  if (Array.isArray(value)) {
    return pick(random, [[], [...value, ...value, ...value], value.slice(1), 'not an array', [[[[value]]]]]);
  }
  return pick(random, JUNK_VALUES);
}

const ODD_HEADERS: Array<Record<string, string>> = [
  { 'accept-language': 'xx-YY;q=abc, *;q=-1, ' + 'af'.repeat(500) },
  { accept: 'application/xml;q=2, */*;q=0' },
  { 'content-type': 'application/json; charset=utf-16' },
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/x-www-form-urlencoded' },
  { 'content-type': 'multipart/form-data' },
  { 'content-type': 'multipart/form-data; boundary=' },
  { 'x-forwarded-for': '999.999.999.999, ::ffff:zz' },
  { 'idempotency-key': 'k'.repeat(300) },
  { 'if-none-match': '"' + 'x'.repeat(2000) + '"' },
  { authorization: 'Bearer ' + 'a'.repeat(3000) },
  { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.' },
  { authorization: 'Basic YWRtaW46YWRtaW4=' },
  { range: 'bytes=-1-99999999999999999999' },
  { 'x-request-id': '\t' + 'r'.repeat(500) },
  { cookie: 'refresh=' + 'c'.repeat(4000) },
];

/** One request for an operation. */
export function fuzzRequest(op: Operation, random: () => number, ctx: FuzzContext): FuzzRequest {
  let path = op.path.replace(/\{(\w+)\}/g, () =>
    encodeURIComponent(random() < 0.4 && ctx.ids.length > 0 ? pick(random, ctx.ids) : pick(random, JUNK_STRINGS)),
  );
  const query: string[] = [];
  const headers: Record<string, string> = {};
  for (const p of op.parameters) {
    if (p.in === 'path') continue;
    const roll = random();
    if (roll < 0.3 && !p.required) continue;
    let value: unknown = sample(p.schema, random, ctx);
    if (roll > 0.6) value = mutate(value, p.schema, random);
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    if (p.in === 'query') query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(text)}`);
    else if (p.in === 'header') headers[p.name] = text.replace(/[^\x20-\x7e]/g, '?').slice(0, 4000);
  }
  if (random() < 0.15)
    query.push(
      `${pick(random, ['extra', 'limit', 'cursor', 'bbox', 'near', '__proto__'])}=${encodeURIComponent(pick(random, JUNK_STRINGS))}`,
    );
  if (random() < 0.05) path += '/' + pick(random, ['..', '%2e%2e', 'x', '']);
  const url = query.length > 0 ? `${path}?${query.join('&')}` : path;

  const auth = random();
  if (auth < 0.6 && ctx.tokens.length > 0) headers.authorization = pick(random, ctx.tokens);
  if (random() < 0.3) Object.assign(headers, pick(random, ODD_HEADERS));

  let body: string | undefined;
  if (op.body !== null || random() < 0.1) {
    const shape = random();
    if (shape < 0.1)
      body = pick(random, ['{', '[]', 'null', '"x"', '{"a":', '\u0000\u0001', '{}'.repeat(1000), 'true']);
    else {
      let value = sample(op.body ?? undefined, random, ctx);
      if (shape < 0.85) value = mutate(value, op.body ?? undefined, random);
      body = JSON.stringify(value) ?? 'null';
    }
    if (!headers['content-type'])
      headers['content-type'] =
        op.bodyType === 'multipart/form-data' && random() < 0.5
          ? 'multipart/form-data; boundary=x'
          : 'application/json';
  }
  return { method: op.method, url, headers, ...(body !== undefined ? { body } : {}) };
}

/** A body that shows internals: a stack frame, a source path, a "stack" field. */
export function leaksInternals(body: string): boolean {
  return /\n\s+at [^\n]+:\d+:\d+|node_modules\/|\/src\/[\w/.-]+\.ts|"stack"\s*:/.test(body);
}

/** `depth` nested arrays: what a naive recursive parser or walker would choke on. */
export function deeplyNested(depth: number): string {
  return `{"title":"deep","description":"","categoryId":"00000000-0000-4000-8000-000000000000","location":{"type":"Point","coordinates":[28,-26]},"metadata":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

/** Boxes the whole world wide and stranger. */
export const WORLD_BOXES = [
  '-180,-90,180,90',
  '-180,-85.05,180,85.05',
  '180,90,-180,-90',
  '-1e308,-1e308,1e308,1e308',
  '-180,-90,180,90,0',
  '0,0,0,0',
  '-179.9999,-89.9999,179.9999,89.9999',
  'NaN,NaN,NaN,NaN',
  '-360,-180,360,180',
];
