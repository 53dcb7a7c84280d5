import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { multipart } from '../../../test/helpers/media.js';
import { FlakyProxy } from '../../../test/helpers/proxy.js';
import { TestS3 } from '../../../test/helpers/s3.js';
import * as fixtures from '../../../test/fixtures/media.js';

/**
 * S3 taken away mid-test, on both database backends: the app reaches s3rver through a loopback
 * proxy that can refuse connections (S3 down) or accept them and never answer (S3 hung).
 * Reports without files must keep working, and an upload must answer 503 within 5 s.
 */
const s3 = new TestS3(path.join(os.tmpdir(), `bw-s3o-${randomBytes(4).toString('hex')}`));
let proxy: FlakyProxy;

beforeAll(async () => {
  await s3.start();
  proxy = new FlakyProxy({ port: 0 }, { host: '127.0.0.1', port: s3.port });
  await proxy.up();
});
afterAll(async () => {
  await proxy.down();
  await s3.remove();
});

const h = useTestApp(() => ({ ...s3.env(), S3_ENDPOINT: `http://127.0.0.1:${proxy.listenPort}` }));
const inject = (options: InjectOptions) => h.current.app.inject(options);

let categoryId: string;
beforeAll(async () => {
  categoryId = json(await inject({ url: '/api/v1/categories' })).items[0].id;
});

async function report(): Promise<{ status: number; id: string }> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Streetlight out',
      description: 'Dark corner',
      categoryId,
      location: { type: 'Point', coordinates: [28.05, -26.2] },
    },
  });
  return { status: res.statusCode, id: json(res).id };
}

async function timedUpload(incidentId: string) {
  const body = multipart(await fixtures.pngImage(64, 64));
  const started = performance.now();
  const res = await inject({
    method: 'POST',
    url: `/api/v1/incidents/${incidentId}/media`,
    headers: { ...(await as(RESIDENT)), ...body.headers },
    payload: body.payload,
  });
  return { res, ms: performance.now() - started };
}

async function rowsFor(incidentId: string): Promise<number> {
  const { rows } = await h.current.t.db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM media WHERE incident_id = $1',
    values: [incidentId],
  });
  return rows[0]!.n;
}

describe('S3 outages', () => {
  it('S3 down: reports still go in, uploads answer 503 quickly, and work again once S3 is back', async () => {
    const before = await report();
    expect((await timedUpload(before.id)).res.statusCode).toBe(201);

    await proxy.down();
    const during = await report();
    expect(during.status).toBe(201);
    const { res, ms } = await timedUpload(during.id);
    expect(res.statusCode, res.body).toBe(503);
    expect(ms).toBeLessThan(5000);
    expect(res.headers['retry-after']).toBeDefined();
    expect(json(res).detail).toMatch(/Your report is safe/);
    expect(await rowsFor(during.id)).toBe(0);
    // listing needs no S3: URLs are signed locally
    expect((await inject({ url: `/api/v1/incidents/${before.id}/media` })).statusCode).toBe(200);
    const ready = json(await inject({ url: '/readyz' }));
    expect(ready.checks.storage).toBe('unavailable');

    await proxy.up();
    expect((await timedUpload(during.id)).res.statusCode).toBe(201);
    expect(await rowsFor(during.id)).toBe(1);
  });

  it('S3 hung (accepts, never answers): the upload answers 503 within 5 s and leaves no row', async () => {
    const incident = await report();
    proxy.stall();
    try {
      const { res, ms } = await timedUpload(incident.id);
      expect(res.statusCode, res.body).toBe(503);
      expect(ms).toBeLessThan(5000);
      expect(await rowsFor(incident.id)).toBe(0);
    } finally {
      await proxy.up();
    }
    expect((await timedUpload(incident.id)).res.statusCode).toBe(201);
  });
});
