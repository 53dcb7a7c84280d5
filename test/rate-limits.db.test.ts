import { describe, expect, it } from 'vitest';
import { json, useTestApp } from './helpers/app.js';

/** The limits as wired into the real app (their mechanics are tested in src/platform/http). */
const h = useTestApp({ RATE_LIMITS: 'on' });

describe('abuse limits in the app', () => {
  it('stops the 11th sign-in attempt for an account within 15 minutes, with Retry-After', async () => {
    const attempt = () =>
      h.current.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'target@example.org', password: 'guess number n' },
      });
    for (let i = 0; i < 10; i++) expect((await attempt()).statusCode).toBe(401);
    const blocked = await attempt();
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.headers['ratelimit-limit']).toBe('10');
    expect(json(blocked).title).toBe('Too many requests');
  });

  it('limits signed-out reporting per address, and never health checks', async () => {
    for (let i = 0; i < 30; i++) expect((await h.current.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.current.app.inject({ method: 'POST', url: '/api/v1/incidents', payload: { title: 'x' } });
      statuses.push(res.statusCode);
    }
    // counted before validation: five tries an hour for a signed-out address, then 429
    expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
    expect(statuses[5]).toBe(429);
  });

  it('limits exports of whole data sets: the 11th try within the hour is refused', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await h.current.app.inject({ url: '/api/v1/incidents/export?format=csv' })).statusCode);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });
});
