import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('config', () => {
  it('defaults to the embedded mode with nothing set', () => {
    const config = loadConfig({});
    expect(config.db).toEqual({ kind: 'embedded', poolSize: 4 });
    expect(config.redis).toBeNull();
    expect(config.s3).toBeNull();
    expect(config.http.port).toBe(3000);
    expect(config.jobsInProcess).toBe(true);
    expect(config.rateLimits).toBe(true);
    expect(Object.isFrozen(config) && Object.isFrozen(config.http)).toBe(true);
  });

  it('switches to production backends with their variables', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(40),
      DATABASE_URL: 'postgres://app@db:5432/buurtwag',
      REDIS_URL: 'redis://redis:6379',
      S3_ENDPOINT: 'http://minio:9000',
      S3_BUCKET: 'media',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'b',
      RATE_LIMITS: 'off',
      ...VAPID,
    });
    expect(config.db).toEqual({ kind: 'postgres', url: 'postgres://app@db:5432/buurtwag', poolSize: 4 });
    expect(config.redis).toEqual({ url: 'redis://redis:6379' });
    expect(config.s3).toMatchObject({ bucket: 'media', region: 'us-east-1' });
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.rateLimits).toBe(false);
    expect(config.jobsInProcess).toBe(false);
    expect(config.http.compression).toBe(true);
    expect(loadConfig({ HTTP_COMPRESSION: 'off' }).http.compression).toBe(false);
  });

  it('reports every bad variable at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        S3_BUCKET: 'only-this',
        RATE_LIMITS: 'maybe',
        NODE_ENV: 'staging',
        OUTBOUND_ALLOW_ADDRESSES: '10.0.0.0/8, council.example, 127.0.0.2/40',
        S3_SSE: 'rot13',
        MEDIA_URL_TTL_SECONDS: '5',
        HTTP_COMPRESSION: 'sometimes',
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(11);
    expect(error!.message).toContain('HTTP_COMPRESSION must be on or off');
    expect(error!.message).toContain('"council.example" is not an IP address or CIDR');
    expect(error!.message).toContain('"127.0.0.2/40"');
    expect(error!.message).toContain('S3_SSE');
    expect(error!.message).toContain('MEDIA_URL_TTL_SECONDS');
    expect(error!.message).toContain('PORT');
    expect(error!.message).toContain('DATABASE_URL');
    expect(error!.message).toContain('S3_ACCESS_KEY');
  });

  it('reads proxies and CORS origins as lists, and refuses to trust every client', () => {
    const config = loadConfig({
      TRUST_PROXY: '10.0.0.0/8, loopback',
      CORS_ORIGINS: 'https://buurtwag.example, http://localhost:5173',
    });
    expect(config.http.trustProxy).toEqual(['10.0.0.0/8', 'loopback']);
    expect(config.http.corsOrigins).toEqual(['https://buurtwag.example', 'http://localhost:5173']);
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ CORS_ORIGINS: 'buurtwag.example/path' })).toThrow(/CORS_ORIGINS/);
  });

  it('requires a long enough JWT secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ...VAPID }).jwtSecret).toBe('x'.repeat(40));
  });

  it('requires VAPID keys in production (every node must push with the same ones)', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) };
    expect(() => loadConfig(production)).toThrow(/VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are required/);
    expect(loadConfig({ ...production, ...VAPID }).notifications.vapid?.publicKey).toBe(VAPID.VAPID_PUBLIC_KEY);
    // elsewhere they are made once and kept in DATA_DIR
    expect(loadConfig({}).notifications.vapid).toBeNull();
  });

  it('reads the emergency escalation settings; a webhook needs its secret', () => {
    expect(loadConfig({}).emergency).toEqual({ escalationMinutes: 5, webhook: null });
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const config = loadConfig({
      EMERGENCY_ESCALATION_MINUTES: '2',
      EMERGENCY_WEBHOOK_URL: 'https://ems.example.org/hook',
      EMERGENCY_WEBHOOK_SECRET: secret,
    });
    expect(config.emergency).toEqual({
      escalationMinutes: 2,
      webhook: { url: 'https://ems.example.org/hook', secret },
    });
    expect(() => loadConfig({ EMERGENCY_WEBHOOK_URL: 'https://ems.example.org/hook' })).toThrow(
      /EMERGENCY_WEBHOOK_SECRET/,
    );
    expect(() => loadConfig({ EMERGENCY_ESCALATION_MINUTES: '0' })).toThrow(/EMERGENCY_ESCALATION_MINUTES/);
  });
});

const VAPID = { VAPID_PUBLIC_KEY: 'BPublicKey_base64url-1', VAPID_PRIVATE_KEY: 'privateKey_base64url-1' };
