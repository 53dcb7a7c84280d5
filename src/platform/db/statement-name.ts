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

/**
 * The name under which embedded mode prepares a statement nobody named (database.ts), for the
 * first AUTO_NAMED_TEXTS texts. The app's texts are a bounded set (their values are parameters):
 * after the benchmark's five workloads the session held 47 statements in 4.3 MB of plan cache.
 * The cap keeps a text made per call, should one ever be written, from filling the session.
 */
const AUTO_NAMED_TEXTS = 1_000;

/** Names for the first `limit` texts it is asked about, and always again for those. */
export function autoNamer(limit: number): (text: string) => string | undefined {
  const named = new Set<string>();
  return (text) => {
    if (!named.has(text)) {
      if (named.size >= limit) return undefined;
      named.add(text);
    }
    return statementName(text);
  };
}

/** The process's own: every pool of the process shares the cap. */
export const autoStatementName = autoNamer(AUTO_NAMED_TEXTS);
