import { describe, expect, it } from 'vitest';
import { autoNamer, statementName } from './statement-name.js';

describe('statement names', () => {
  it('are the same for the same text and differ between texts', () => {
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
    expect(statementName('SELECT 1')).toMatch(/^q_[0-9a-f]{20}$/);
  });

  it('are given automatically to the first 1,000 texts only, and always again to those', () => {
    // a namer of its own: the process's (autoStatementName) is shared with whatever test file
    // ran before in this worker (isolate: false) and has named their texts already
    const autoName = autoNamer(1_000);
    const texts = Array.from({ length: 1_000 }, (_, i) => `SELECT $1::int + ${i}`);
    for (const text of texts) expect(autoName(text)).toBe(statementName(text));
    expect(autoName('SELECT $1::int + 1000')).toBeUndefined();
    expect(autoName(texts[0]!)).toBe(statementName(texts[0]!));
  });
});
