import pg from 'pg';

/**
 * Faster row objects for node-postgres (pg 8.23, pinned).
 *
 * pg builds each row by spreading a template made with `Object.create(null)`: with the 30-odd
 * columns of an incident that template is a dictionary-mode object, and so is every row copied
 * from it. Profiled on a 200-incident list page, copying and filling those rows was 11 % of the
 * server's CPU and the result-field setup (`addFields`, run for every query) another 8 % of an
 * incident fetch; and every later read of a row's property is a hash lookup.
 *
 * Here, each distinct list of column names compiles once into a function that returns an object
 * literal with those columns in order: V8 gives all rows of that shape one hidden class. The
 * values are what pg would have given: the same type parsers, null for NULL, and the last of two
 * columns with one name wins. Binary-format results (never asked for here) keep pg's own code.
 */
type Parser = (value: string) => unknown;
type MakeRow = (parsers: readonly Parser[], values: ReadonlyArray<string | null>) => Record<string, unknown>;

interface ResultInternals {
  fields: Array<{ name: string; dataTypeID: number; format?: string }>;
  _parsers: Parser[] | undefined;
  _types: { getTypeParser(oid: number, format: string): Parser } | undefined;
  _makeRow?: MakeRow;
  parseRow(values: ReadonlyArray<string | null>): Record<string, unknown>;
  addFields(fields: ResultInternals['fields']): void;
}

// A bound on the cache: queries are fixed text, so their column lists are few; a program that
// made unbounded new column names would only lose the cache, not grow memory.
const MAX_SHAPES = 2_000;
const makers = new Map<string, MakeRow>();

function makerFor(names: readonly string[]): MakeRow {
  const key = names.join('\u0000');
  let make = makers.get(key);
  if (make === undefined) {
    // Plain quoted keys: V8 then makes one boilerplate with every column in the object itself.
    // With computed keys it added them one by one, growing a properties store per row: measured
    // 2× slower a row, and 30× once the maker went megamorphic. Only a column named __proto__
    // needs a computed key (a plain one would set the prototype instead of defining a property).
    const body = names.map((name, i) => {
      const key = name === '__proto__' ? `["__proto__"]` : JSON.stringify(name);
      return `${key}: v[${i}] === null ? null : p[${i}](v[${i}])`;
    });
    make = new Function('p', 'v', `return {${body.join(',')}};`) as MakeRow;
    if (makers.size < MAX_SHAPES) makers.set(key, make);
  }
  return make;
}

let installed = false;

/** Replaces pg's row building, once per process. */
export function installFastRows(): void {
  if (installed) return;
  installed = true;
  const proto = (pg as unknown as { Result: { prototype: ResultInternals } }).Result.prototype;
  const originalAddFields = proto.addFields;
  const originalParseRow = proto.parseRow;
  proto.addFields = function addFields(this: ResultInternals, fields) {
    if (fields.some((f) => f.format === 'binary')) {
      this._makeRow = undefined;
      originalAddFields.call(this, fields);
      return;
    }
    this.fields = fields;
    const types = this._types ?? pg.types;
    this._parsers = fields.map((f) => types.getTypeParser(f.dataTypeID, 'text') as Parser);
    this._makeRow = makerFor(fields.map((f) => f.name));
  };
  proto.parseRow = function parseRow(this: ResultInternals, values) {
    return this._makeRow ? this._makeRow(this._parsers!, values) : originalParseRow.call(this, values);
  };
}
