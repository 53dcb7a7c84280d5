import { createHash } from 'node:crypto';

/**
 * A stable prepared-statement name for SQL built at run time (lists with optional filters):
 * the same text always gets the same name, so Postgres plans each variant once per connection.
 */
const names = new Map<string, string>();

export function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `q_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    // the number of variants is bounded by the filter combinations; cap it anyway
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

/** A statement built at run time, prepared under the name of its text. */
export function named(query: { text: string; values: unknown[] }): { name: string; text: string; values: unknown[] } {
  return { name: statementName(query.text), text: query.text, values: query.values };
}
