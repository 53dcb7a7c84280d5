import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { verifyWebhook } from '../../platform/outbound/standard-webhooks.js';
import { dispatchAll, type DispatchOptions } from './webhooks.dispatch.js';

/**
 * General webhooks to a receiver on loopback (127.0.0.2, allow-listed): public events only, in
 * order, signed, the same id on a retry; three days of failure switch a webhook off, and switching
 * it on resumes where it stopped.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let answers: number[] = [];
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
let server: http.Server;
let options: DispatchOptions;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const port = (server.address() as AddressInfo).port;
  options = {
    policy: { allowAddresses: ['127.0.0.2'], allowedPorts: [port] },
    signingKey: loadJwtSecret(h.current.config),
    timeoutMs: 1_000,
  };
  url = `http://127.0.0.2:${port}/buurtwag-events`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
let url: string;

async function report(extra: Record<string, unknown> = {}) {
  const categoryId = json(await inject({ url: '/api/v1/categories' })).items[0].id;
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Dumping behind the shops',
      description: 'Again',
      categoryId,
      location: { type: 'Point', coordinates: [28.05, -26.2] },
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

/** Until the realtime sequencer has given every committed event its seq (it runs after commit). */
async function sequenced(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await h.current.t.db.query<{ n: number }>({
      text: 'SELECT count(*)::int AS n FROM incident_events WHERE seq IS NULL',
    });
    if (rows[0]!.n === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('events were not sequenced');
}

const webhook = async (id: string) =>
  json(await inject({ url: '/api/v1/admin/webhooks', headers: await as(ADMIN, 'admin') })).items.find(
    (w: { id: string }) => w.id === id,
  );

describe('general webhooks', () => {
  it('are for admins; the secret is shown on creation and on request', async () => {
    const body = { name: 'Ward councillor dashboard', url: 'https://dash.example/hook' };
    expect((await inject({ method: 'POST', url: '/api/v1/admin/webhooks', payload: body })).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/admin/webhooks', headers: await as(RESIDENT), payload: body }))
        .statusCode,
    ).toBe(403);
    const made = await inject({
      method: 'POST',
      url: '/api/v1/admin/webhooks',
      headers: await as(ADMIN, 'admin'),
      payload: body,
    });
    expect(made.statusCode, made.body).toBe(201);
    const { webhook: created, secret } = json(made);
    expect(secret).toMatch(/^whsec_/);
    const read = await inject({
      url: `/api/v1/admin/webhooks/${created.id}/secret`,
      headers: await as(ADMIN, 'admin'),
    });
    expect(json(read).secret).toBe(secret);
    const rotated = await inject({
      method: 'POST',
      url: `/api/v1/admin/webhooks/${created.id}/secret/rotate`,
      headers: await as(ADMIN, 'admin'),
    });
    expect(json(rotated).secret).not.toBe(secret);
    expect(
      (
        await inject({
          method: 'DELETE',
          url: `/api/v1/admin/webhooks/${created.id}`,
          headers: await as(ADMIN, 'admin'),
        })
      ).statusCode,
    ).toBe(204);
  });

  it('sends public events in order, signed, once each, retrying a failure with the same id', async () => {
    const made = json(
      await inject({
        method: 'POST',
        url: '/api/v1/admin/webhooks',
        headers: await as(ADMIN, 'admin'),
        payload: { name: 'Dashboard', url },
      }),
    );
    const incident = await report();
    await report({ isPublic: false, title: 'Private matter' });
    const note = await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident.id}/comments`,
      headers: await as(ADMIN, 'admin'),
      payload: { body: 'Staff only: crew booked', internal: true },
    });
    expect(note.statusCode, note.body).toBe(201);
    await inject({
      method: 'POST',
      url: `/api/v1/incidents/${incident.id}/comments`,
      headers: await as(RESIDENT),
      payload: { body: 'Still there today' },
    });
    await sequenced();

    answers = [500];
    received.length = 0;
    expect(await dispatchAll(h.current.t.db, options, silent)).toBe(0);
    expect(await webhook(made.webhook.id)).toMatchObject({ failures: 1, lastError: expect.stringContaining('500') });
    // not due yet: nothing is sent
    expect(await dispatchAll(h.current.t.db, options, silent)).toBe(0);
    expect(received).toHaveLength(1);

    await h.current.t.db.query({
      text: 'UPDATE webhooks SET retry_at = NULL WHERE id = $1',
      values: [made.webhook.id],
    });
    expect(await dispatchAll(h.current.t.db, options, silent)).toBe(2);
    const bodies = received.map((r) => JSON.parse(r.body));
    expect(bodies.slice(1).map((b) => b.type)).toEqual(['incident.created', 'incident.commented']);
    expect(bodies.every((b) => b.incident.id === incident.id)).toBe(true); // never the private one
    expect(received.some((r) => r.body.includes('crew booked'))).toBe(false); // never an internal note
    expect(received[0]!.headers['webhook-id']).toBe(received[1]!.headers['webhook-id']);
    for (const r of received) expect(verifyWebhook(r.headers, r.body, [made.secret])).toBe(true);
    const seqs = bodies.map((b) => b.seq as number);
    expect(seqs[1]!).toBeLessThan(seqs[2]!);
    // nothing new: nothing sent twice
    expect(await dispatchAll(h.current.t.db, options, silent)).toBe(0);
    expect(received).toHaveLength(3);
  });

  it('switches off after three days of failure, and resumes where it stopped when switched on', async () => {
    const made = json(
      await inject({
        method: 'POST',
        url: '/api/v1/admin/webhooks',
        headers: await as(ADMIN, 'admin'),
        payload: { name: 'Flaky', url, events: ['incident.created'] },
      }),
    );
    // only this receiver answers from here on
    await h.current.t.db.query({ text: 'DELETE FROM webhooks WHERE id <> $1', values: [made.webhook.id] });
    const incident = await report();
    await sequenced();
    await h.current.t.db.query({
      text: `UPDATE webhooks SET failures = 20, failing_since = now() - interval '3 days 1 minute', retry_at = NULL WHERE id = $1`,
      values: [made.webhook.id],
    });
    answers = [503];
    await dispatchAll(h.current.t.db, options, silent);
    expect(await webhook(made.webhook.id)).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining('three days'),
    });

    const on = await inject({
      method: 'PATCH',
      url: `/api/v1/admin/webhooks/${made.webhook.id}`,
      headers: await as(ADMIN, 'admin'),
      payload: { enabled: true },
    });
    expect(json(on)).toMatchObject({ enabled: true, disabledReason: null, failures: 0 });
    received.length = 0;
    answers = [];
    expect(await dispatchAll(h.current.t.db, options, silent)).toBeGreaterThanOrEqual(1);
    expect(received.map((r) => JSON.parse(r.body).incident.id)).toContain(incident.id);
  });
});
