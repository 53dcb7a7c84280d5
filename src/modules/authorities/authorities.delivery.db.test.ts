import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';
import { JobRunner } from '../../platform/jobs/jobs.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { newWebhookSecret, signWebhook, verifyWebhook } from '../../platform/outbound/standard-webhooks.js';
import { createHttpDelivery, retryAfterSeconds } from './authorities.delivery.js';
import { webhookSecret } from './authorities.secrets.js';
import { registerAuthorityJobs } from './authorities.jobs.js';
import { pollAuthority } from './authorities.polling.js';
import { findAuthority } from './authorities.repository.js';
import { createKey } from '../open311/open311-keys.service.js';

/**
 * Forwarding over real HTTP to a fake authority on loopback (127.0.0.2, allow-listed as an
 * authority on a private network would be): it fails five ways, then accepts; the incident gets
 * exactly one effect. Webhooks arrive signed (Standard Webhooks) with one id across retries. An
 * endpoint on an address the policy refuses disables the authority.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

type Behaviour = '500' | 'timeout' | 'reset' | '429' | '503' | 'ok' | '410';
let script: Behaviour[] = [];
/** what the fake authority's servicerequestupdates answers */
let theirUpdates: Array<Record<string, unknown>> = [];
const received: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/open311/v2/servicerequestupdates.json')) {
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(theirUpdates));
      }
      const next = script.shift() ?? 'ok';
      switch (next) {
        case '500':
          return res.writeHead(500).end('boom');
        case 'timeout':
          return; // never answers
        case 'reset':
          return req.socket.destroy();
        case '429':
          return res.writeHead(429, { 'retry-after': '7' }).end();
        case '503':
          return res.writeHead(503, { 'retry-after': '11' }).end();
        case '410':
          return res.writeHead(410).end();
        case 'ok':
          return res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify([{ service_request_id: 'JHB-2026-0042' }]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function runner() {
  const deliver = createHttpDelivery({
    policy: { allowAddresses: ['127.0.0.2'], allowedPorts: [port] },
    signingKey: loadJwtSecret(h.current.config),
    publicUrl: h.current.config.http.publicUrl,
    timeoutMs: 500,
  });
  const jobs = new JobRunner(h.current.t.db, silent);
  registerAuthorityJobs(jobs, h.current.t.db, deliver, silent);
  return jobs;
}

let categoryId: string;
let box = 0;
/** An authority over its own small square, and an incident inside it. */
async function authorityWithIncident(delivery: Record<string, unknown>) {
  box += 1;
  const [x, y] = [20 + box * 0.1, -30];
  const res = await inject({
    method: 'POST',
    url: '/api/v1/authorities',
    headers: await as(ADMIN, 'admin'),
    payload: {
      slug: `authority-${box}`,
      name: `Authority ${box}`,
      jurisdiction: {
        type: 'Polygon',
        coordinates: [
          [
            [x, y],
            [x + 0.05, y],
            [x + 0.05, y + 0.05],
            [x, y + 0.05],
            [x, y],
          ],
        ],
      },
      delivery,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const authority = json(res);
  const incident = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(RESIDENT),
    payload: {
      title: 'Sewage overflow at the school',
      description: 'Since this morning',
      categoryId,
      location: { type: 'Point', coordinates: [x + 0.01, y + 0.01] },
    },
  });
  expect(incident.statusCode, incident.body).toBe(201);
  expect(json(incident).authority).toMatchObject({ id: authority.id });
  return { authority, incident: json(incident) };
}

async function forwardJob(incidentId: string) {
  const { rows } = await h.current.t.db.query<{ id: string; attempts: number; run_at: Date; dead_at: Date | null }>({
    text: `SELECT id::text, attempts, run_at, dead_at FROM jobs WHERE name = 'authority.forward.v1' AND payload->>'incidentId' = $1`,
    values: [incidentId],
  });
  return rows[0] ?? null;
}

/** Runs the job, then makes it due at once (the real schedule waits seconds to hours). */
async function attempt(jobs: JobRunner, incidentId: string): Promise<void> {
  await jobs.runDue();
  await h.current.t.db.query({
    text: `UPDATE jobs SET run_at = now() WHERE name = 'authority.forward.v1' AND payload->>'incidentId' = $1`,
    values: [incidentId],
  });
}

beforeAll(async () => {
  categoryId = json(await inject({ url: '/api/v1/categories' })).items[0].id;
});

describe('forwarding to an authority over HTTP', () => {
  it('rides out 500, a timeout, a reset, 429 and 503 (honouring Retry-After), then delivers exactly once', async () => {
    const { incident } = await authorityWithIncident({
      kind: 'open311',
      endpoint: `http://127.0.0.2:${port}/open311/v2`,
      apiKey: 'their-key-for-us',
    });
    script = ['500', 'timeout', 'reset', '429', '503', 'ok'];
    received.length = 0;
    const jobs = runner();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await jobs.runDue();
      const job = await forwardJob(incident.id);
      if (!job) break;
      delays.push(Math.round((job.run_at.getTime() - Date.now()) / 1000));
      await h.current.t.db.query({ text: 'UPDATE jobs SET run_at = now() WHERE id = $1', values: [job.id] });
    }
    expect(await forwardJob(incident.id)).toBeNull(); // done, and gone from the queue
    expect(received).toHaveLength(6);
    // Retry-After was honoured after the 429 (7 s) and the 503 (11 s)
    expect(delays[3]).toBeGreaterThanOrEqual(5);
    expect(delays[3]).toBeLessThanOrEqual(8);
    expect(delays[4]).toBeGreaterThanOrEqual(9);
    expect(delays[4]).toBeLessThanOrEqual(12);

    // what they got: a GeoReport v2 service request, without the reporter
    const form = new URLSearchParams(received[5]!.body);
    expect(received[5]!.url).toBe('/open311/v2/requests.json');
    expect(form.get('api_key')).toBe('their-key-for-us');
    expect(form.get('description')).toContain('Sewage overflow at the school');
    expect(received[5]!.body).not.toContain(RESIDENT);

    // exactly one effect: their id kept once, one `forwarded` on the timeline
    const { rows } = await h.current.t.db.query<{ external_id: string }>({
      text: 'SELECT external_id FROM incidents WHERE id = $1',
      values: [incident.id],
    });
    expect(rows[0]!.external_id).toBe('JHB-2026-0042');
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` })).items.map(
      (e: { type: string }) => e.type,
    );
    expect(timeline.filter((t: string) => t === 'forwarded')).toHaveLength(1);
    // running again changes nothing
    await attempt(jobs, incident.id);
    expect(received).toHaveLength(6);
  });

  it('signs webhooks (Standard Webhooks), with one id across retries', async () => {
    const { authority, incident } = await authorityWithIncident({
      kind: 'webhook',
      url: `http://127.0.0.2:${port}/hooks/buurtwag`,
    });
    script = ['500', 'ok'];
    received.length = 0;
    const jobs = runner();
    await attempt(jobs, incident.id);
    await attempt(jobs, incident.id);
    expect(received).toHaveLength(2);
    const secret = webhookSecret(loadJwtSecret(h.current.config), authority.id);
    for (const r of received) expect(verifyWebhook(r.headers, r.body, [secret])).toBe(true);
    expect(received[0]!.headers['webhook-id']).toBe(received[1]!.headers['webhook-id']);
    expect(JSON.parse(received[1]!.body)).toMatchObject({
      type: 'incident.forwarded',
      data: { incident: { id: incident.id, reference: incident.reference } },
    });
    expect(received[1]!.body).not.toContain(RESIDENT);
    expect(verifyWebhook(received[1]!.headers, received[1]!.body.replace('Sewage', 'Water'), [secret])).toBe(false);
  });

  it('disables the authority on 410 Gone, and on an address the outbound policy refuses', async () => {
    const gone = await authorityWithIncident({ kind: 'webhook', url: `http://127.0.0.2:${port}/hooks/old` });
    script = ['410'];
    await attempt(runner(), gone.incident.id);
    const after = json(
      await inject({ url: `/api/v1/authorities/${gone.authority.id}`, headers: await as(ADMIN, 'admin') }),
    );
    expect(after).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });

    // loopback itself is not allow-listed: refused at connect time, nothing reaches the server
    const sneaky = await authorityWithIncident({ kind: 'webhook', url: `http://127.0.0.1:${port}/internal` });
    received.length = 0;
    await attempt(runner(), sneaky.incident.id);
    expect(received).toHaveLength(0);
    const refused = json(
      await inject({ url: `/api/v1/authorities/${sneaky.authority.id}`, headers: await as(ADMIN, 'admin') }),
    );
    expect(refused).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('refused') });
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterSeconds('120')).toBe(120);
    expect(retryAfterSeconds(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(retryAfterSeconds('soon')).toBeNull();
    expect(retryAfterSeconds(undefined)).toBeNull();
  });
});

describe('status updates from the authority', () => {
  it('moves the incident as the signed update says, once per update_id, along the allowed moves', async () => {
    const { authority, incident } = await authorityWithIncident({ kind: 'none' });
    const secret = webhookSecret(loadJwtSecret(h.current.config), authority.id);
    let n = 0;
    const send = async (body: Record<string, unknown>, secrets = [secret], tamper = false) => {
      const payload = JSON.stringify(body);
      const headers = signWebhook({ id: `msg_${++n}`, timestamp: Math.floor(Date.now() / 1000), payload }, secrets);
      return inject({
        method: 'POST',
        url: `/api/v1/hooks/authorities/${authority.id}`,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: tamper ? payload.replace('fixed', 'closed') : payload,
      });
    };
    const update = {
      update_id: 'u-1',
      service_request_id: incident.reference,
      status: 'fixed',
      description: 'Pipe replaced',
    };

    expect((await send(update, [newWebhookSecret()])).statusCode).toBe(401);
    expect((await send(update, [secret], true)).statusCode).toBe(401);
    expect((await send({ ...update, status: 'teleported' })).statusCode).toBe(400);
    expect((await send({ ...update, service_request_id: 'BW-NOTOURS1' })).statusCode).toBe(404);

    // reported → resolved: authorities skip the steps in between
    const first = await send(update);
    expect(first.statusCode, first.body).toBe(200);
    expect(json(first)).toEqual({ duplicate: false, status: 'resolved' });
    const again = await send(update);
    expect(json(again)).toEqual({ duplicate: true, status: 'resolved' });
    const timeline = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` })).items;
    const changes = timeline.filter((e: { type: string }) => e.type === 'status_changed');
    expect(changes).toHaveLength(1);
    expect(changes[0].data).toMatchObject({
      from: 'reported',
      to: 'resolved',
      note: 'Pipe replaced',
      authority: { id: authority.id },
    });

    expect(json(await send({ ...update, update_id: 'u-2', status: 'closed' }))).toMatchObject({ status: 'closed' });
    // closed is final: nothing moves it again
    expect((await send({ ...update, update_id: 'u-3', status: 'in_progress' })).statusCode).toBe(409);
  });

  it('tells admins the webhook secret, and nobody else; reading it is audited', async () => {
    const { authority } = await authorityWithIncident({ kind: 'none' });
    const url = `/api/v1/authorities/${authority.id}/webhook-secret`;
    expect((await inject({ url })).statusCode).toBe(401);
    expect((await inject({ url, headers: await as(RESIDENT) })).statusCode).toBe(403);
    const res = await inject({ url, headers: await as(ADMIN, 'admin') });
    expect(json(res)).toEqual({ secret: webhookSecret(loadJwtSecret(h.current.config), authority.id), previous: null });
    const { rows } = await h.current.t.db.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM audit_log WHERE action = 'authority.webhook_secret.read' AND entity_id = $1`,
      values: [authority.id],
    });
    expect(rows[0]!.n).toBe(1);
  });

  it('rotates the secret with a day of overlap: both sign and verify, then only the new one', async () => {
    const { authority, incident } = await authorityWithIncident({
      kind: 'webhook',
      url: `http://127.0.0.2:${port}/hooks/rot`,
    });
    const old = webhookSecret(loadJwtSecret(h.current.config), authority.id);
    const rotated = await inject({
      method: 'POST',
      url: `/api/v1/authorities/${authority.id}/webhook-secret/rotate`,
      headers: await as(ADMIN, 'admin'),
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const { secret, previous } = json(rotated);
    expect(secret).not.toBe(old);
    expect(previous.secret).toBe(old);
    expect(new Date(previous.validUntil).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);

    // a forward carries both signatures: a receiver with either secret accepts it
    script = ['ok'];
    received.length = 0;
    await attempt(runner(), incident.id);
    expect(received).toHaveLength(1);
    expect(verifyWebhook(received[0]!.headers, received[0]!.body, [old])).toBe(true);
    expect(verifyWebhook(received[0]!.headers, received[0]!.body, [secret])).toBe(true);

    // updates signed with the old secret count during the overlap, and not after it
    const push = (withSecret: string, updateId: string) => {
      const payload = JSON.stringify({ update_id: updateId, service_request_id: incident.id, status: 'acknowledged' });
      const headers = signWebhook({ id: updateId, timestamp: Math.floor(Date.now() / 1000), payload }, [withSecret]);
      return inject({
        method: 'POST',
        url: `/api/v1/hooks/authorities/${authority.id}`,
        headers: { ...headers, 'content-type': 'application/json' },
        payload,
      });
    };
    expect((await push(old, 'r-1')).statusCode).toBe(200);
    await h.current.t.db.query({
      text: `UPDATE authorities SET webhook_previous_until = now() - interval '1 second' WHERE id = $1`,
      values: [authority.id],
    });
    expect((await push(old, 'r-2')).statusCode).toBe(401);
    expect((await push(secret, 'r-3')).statusCode).toBe(200);
  });

  it("takes updates POSTed to Open311 servicerequestupdates with the authority's own key", async () => {
    const { authority, incident } = await authorityWithIncident({ kind: 'none' });
    const theirs = await createKey(h.current.t.db, 'Their back office', authority.id);
    const reporting = await createKey(h.current.t.db, 'A reporting app');
    const post = (form: Record<string, string>) =>
      inject({
        method: 'POST',
        url: '/open311/v2/servicerequestupdates.json',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    const update = { service_request_id: incident.reference, update_id: 'their-9', status: 'INVESTIGATING' };
    expect((await post({ ...update, api_key: reporting.key })).statusCode).toBe(403);
    expect((await post({ ...update, api_key: theirs.key, service_request_id: 'BW-NOTOURS1' })).statusCode).toBe(404);
    const res = await post({ ...update, api_key: theirs.key, description: 'Inspector on the way' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual([{ update_id: 'their-9' }]);
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).status).toBe('acknowledged');
    expect((await post({ ...update, api_key: theirs.key })).statusCode).toBe(200); // the same again: no change
    const changes = json(await inject({ url: `/api/v1/incidents/${incident.id}/timeline` })).items.filter(
      (e: { type: string }) => e.type === 'status_changed',
    );
    expect(changes).toHaveLength(1);
  });

  it('polls an Open311 authority for its updates, from where it left off', async () => {
    const { authority, incident } = await authorityWithIncident({
      kind: 'open311',
      endpoint: `http://127.0.0.2:${port}/open311/v2`,
      apiKey: 'their-key-for-us',
    });
    // as if forwarded: their id for it
    await h.current.t.db.query({
      text: `UPDATE incidents SET external_id = 'JHB-77' WHERE id = $1`,
      values: [incident.id],
    });
    theirUpdates = [
      {
        update_id: 'u-100',
        service_request_id: 'JHB-77',
        status: 'ACTION_SCHEDULED',
        updated_datetime: new Date().toISOString(),
        description: '',
      },
      { update_id: 'u-101', service_request_id: 'SOMEONE-ELSES', status: 'FIXED' },
    ];
    const row = (await findAuthority(h.current.t.db, authority.id))!;
    const policy = { allowAddresses: ['127.0.0.2'], allowedPorts: [port] };
    received.length = 0;
    expect(await pollAuthority(h.current.t.db, row, policy, silent)).toBe(1);
    const asked = new URL(`http://x${received.at(-1)!.url}`);
    expect(asked.searchParams.get('api_key')).toBe('their-key-for-us');
    expect(asked.searchParams.get('start_date')).not.toBeNull();
    expect(json(await inject({ url: `/api/v1/incidents/${incident.id}` })).status).toBe('in_progress');
    // polled again, the same update changes nothing; and the window moved on
    expect(await pollAuthority(h.current.t.db, row, policy, silent)).toBe(0);
    const second = new URL(`http://x${received.at(-1)!.url}`);
    expect(new Date(second.searchParams.get('start_date')!).getTime()).toBeGreaterThan(
      new Date(asked.searchParams.get('start_date')!).getTime(),
    );
  });
});
