import { describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from './helpers/app.js';

/**
 * A migration changes a column's type while the app serves (a rolling upgrade: a new node
 * migrates while the old ones answer; or `migrate` from the CLI beside a running server). Every
 * prepared statement that reads the column would fail with "cached plan must not change result
 * type" on every connection that holds it, until a restart. Reads outside a transaction are
 * answered anyway; a write meets it at most once per pooled connection, as a 503 that asks the
 * client to retry, and the retry succeeds.
 */
const ctx = useTestApp();

describe('a schema change while the app serves', () => {
  it('keeps reads answering and lets writes through after a retryable 503', async () => {
    const { app, t } = ctx.current;
    const categories = json(await app.inject({ url: '/api/v1/categories' }));
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await as(RESIDENT),
      payload: {
        title: 'Streetlight out on Jan Smuts Avenue',
        description: 'Dark since Tuesday.',
        categoryId: categories.items[0].id,
        location: { type: 'Point', coordinates: [28.03, -26.15] },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = json(created);
    const staff = await as(ADMIN, 'admin');
    const read = () => app.inject({ url: `/api/v1/incidents/${id}` });
    const list = () => app.inject({ url: '/api/v1/incidents?bbox=28.0,-26.2,28.1,-26.1&limit=10' });
    // the statements are prepared on every pooled connection
    for (const res of await Promise.all([read(), read(), read(), list(), list(), list()])) {
      expect(res.statusCode).toBe(200);
    }
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${id}`,
      headers: staff,
      payload: { priority: 'high' },
    });

    // the migration: a counter widened (int → bigint) changes what the incident statements return
    await t.db.query({ text: 'ALTER TABLE incidents ALTER COLUMN confirmations TYPE bigint' });

    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all([read(), read(), read(), list(), list(), list()]);
      expect(answers.map((res) => res.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(json(answers[0]!).confirmations).toBe(0);
      expect(json(answers[3]!).items.map((item: { id: string }) => item.id)).toContain(id);
    }

    const statuses: number[] = [];
    for (const status of ['acknowledged', 'in_progress', 'resolved']) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const res = await app.inject({
          method: 'PATCH',
          url: `/api/v1/incidents/${id}`,
          headers: staff,
          payload: { status },
        });
        statuses.push(res.statusCode);
        if (res.statusCode !== 503) break;
        expect(res.headers['retry-after']).toBe('5');
        expect(res.headers['content-type']).toContain('application/problem+json');
      }
    }
    // every move landed; a stale connection cost at most one retry each, and nothing else failed
    expect(statuses.filter((s) => s !== 503)).toEqual([200, 200, 200]);
    expect(statuses.filter((s) => s === 503).length).toBeLessThanOrEqual(5);
    expect(json(await read()).status).toBe('resolved');
  });
});
