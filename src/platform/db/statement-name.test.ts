import { describe, expect, it } from 'vitest';
import { autoStatementName, statementName } from './statement-name.js';

describe('statement names', () => {
  it('are the same for the same text and differ between texts', () => {
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
    expect(statementName('SELECT 1')).toMatch(/^q_[0-9a-f]{20}$/);
  });

  it('are given automatically to the first 1,000 texts only, and always again to those', () => {
    const texts = Array.from({ length: 1_000 }, (_, i) => `SELECT $1::int + ${i}`);
    for (const text of texts) expect(autoStatementName(text)).toBe(statementName(text));
    expect(autoStatementName('SELECT $1::int + 1000')).toBeUndefined();
    expect(autoStatementName(texts[0]!)).toBe(statementName(texts[0]!));
  });
});
