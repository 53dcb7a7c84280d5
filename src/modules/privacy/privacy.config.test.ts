import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

describe('privacy configuration', () => {
  it('has defaults: 3 years of inactivity, 90 days of hidden spam', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).privacy).toEqual({
      termsVersion: '2026-11',
      inactiveAccountYears: 3,
      hiddenSpamDays: 90,
    });
  });

  it('reports every bad value at once', () => {
    let error: unknown;
    try {
      loadConfig({
        NODE_ENV: 'test',
        RETENTION_INACTIVE_ACCOUNT_YEARS: '0',
        RETENTION_HIDDEN_SPAM_DAYS: 'soon',
        TERMS_VERSION: 'v 2 with spaces',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/RETENTION_INACTIVE_ACCOUNT_YEARS/);
    expect(problems).toMatch(/RETENTION_HIDDEN_SPAM_DAYS/);
    expect(problems).toMatch(/TERMS_VERSION/);
  });
});
