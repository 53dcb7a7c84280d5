import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

/** The metrics and durability settings in the one config object, with their validation. */
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.problems : [String(err)];
  }
};

describe('metrics and durability settings', () => {
  it('default to no token, no port, and a crash-safe Postgres required', () => {
    const config = loadConfig({});
    expect(config.metrics).toEqual({ token: null, port: null });
    expect(config.allowUnsafeDurability).toBe(false);
  });

  it('take a token and a port', () => {
    const config = loadConfig({
      METRICS_TOKEN: 'a-long-enough-metrics-token',
      METRICS_PORT: '9464',
      ALLOW_UNSAFE_DURABILITY: 'on',
    });
    expect(config.metrics).toEqual({ token: 'a-long-enough-metrics-token', port: 9464 });
    expect(config.allowUnsafeDurability).toBe(true);
  });

  it('refuse a short token, a bad port, or the HTTP port again', () => {
    expect(problems({ METRICS_TOKEN: 'short' })).toEqual([
      'METRICS_TOKEN must be at least 16 characters without spaces',
    ]);
    expect(problems({ METRICS_PORT: '70000' })[0]).toMatch(/^METRICS_PORT must be a whole number/);
    expect(problems({ PORT: '3000', METRICS_PORT: '3000' })).toEqual(['METRICS_PORT must differ from PORT']);
    expect(problems({ ALLOW_UNSAFE_DURABILITY: 'maybe' })[0]).toMatch(/^ALLOW_UNSAFE_DURABILITY must be on or off/);
  });
});
