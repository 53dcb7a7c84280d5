import { testConfig, testStorage } from '../../../test/helpers/app.js';
import AjvModule from 'ajv';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { registerErrorHandling } from '../../platform/http/error-handler.js';
import { registerRateLimits } from '../../platform/http/rate-limit.js';
import { registerRequestContext } from '../identity/request-context.plugin.js';
import { createKey, revokeKey } from './open311-keys.service.js';
import { open311Routes } from './open311.routes.js';
import { titleOf } from './open311.service.js';

/**
 * Open311 GeoReport v2, write side: POST /requests in both formats, tokens, and mySociety's
 * servicerequestupdates, on their own app; JSON bodies checked against schemas written from the
 * spec (and from mySociety's Open311::Endpoint for the updates), XML parsed.
 */
const EMAIL = 'private.person@example.invalid';
const PHONE = '+27 82 555 0199';
const STAFF_ID = '00000000-0000-4000-8000-00000000057a';

let t: TestDatabase;
let app: FastifyInstance;
let key: string;
let revokedKey: string;
let keyId: string;

const json = <T = any>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true, strict: false });
const dateTime = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
};
const validators = {
  posted: ajv.compile({
    type: 'array',
    minItems: 1,
    maxItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['service_request_id'],
      properties: {
        service_request_id: { type: 'string', minLength: 1 },
        token: { type: 'string' },
        service_notice: { type: ['string', 'null'] },
        account_id: { type: ['string', 'null'] },
      },
    },
  }),
  token: ajv.compile({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['service_request_id', 'token'],
      properties: { service_request_id: { type: 'string' }, token: { type: 'string' } },
    },
  }),
  updates: ajv.compile({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['update_id', 'service_request_id', 'status', 'updated_datetime', 'description', 'media_url'],
      properties: {
        update_id: { type: 'string' },
        service_request_id: { type: 'string' },
        // mySociety's status_extended
        status: {
          enum: [
            'open',
            'closed',
            'fixed',
            'in_progress',
            'action_scheduled',
            'investigating',
            'duplicate',
            'not_councils_responsibility',
            'no_further_action',
            'internal_referral',
            'reopen',
            'for_triage',
          ],
        },
        updated_datetime: dateTime,
        description: { type: ['string', 'null'] },
        media_url: { type: ['string', 'null'] },
      },
    },
  }),
  errors: ajv.compile({
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'description'],
      properties: { code: { type: 'integer' }, description: { type: 'string', minLength: 1 } },
    },
  }),
};

function valid(name: keyof typeof validators, body: unknown): void {
  const validate = validators[name];
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

/** The elements of a flat XML document the API writes: `<root><item><a>…</a></item></root>` → items. */
function xmlItems(xml: string, root: string, item: string): Array<Record<string, string>> {
  expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>\n')).toBe(true);
  const body = xml.slice(xml.indexOf('?>') + 2).trim();
  expect(body.startsWith(`<${root}>`) && body.endsWith(`</${root}>`)).toBe(true);
  const inner = body.slice(root.length + 2, body.length - root.length - 3);
  const items = [...inner.matchAll(new RegExp(`<${item}>(.*?)</${item}>`, 'gs'))].map((m) => m[1]!);
  expect(items.map((i) => `<${item}>${i}</${item}>`).join('')).toBe(inner);
  return items.map((i) =>
    Object.fromEntries(
      [...i.matchAll(/<([\w.-]+)>(.*?)<\/\1>/gs)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')] as const),
    ),
  );
}

function errorOf(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = json(res);
  valid('errors', body);
  expect(body[0].code).toBe(status);
  return body[0].description as string;
}

const form = (fields: Record<string, string | string[]>): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  return params.toString();
};

const post = (fields: Record<string, string | string[]>, format: 'json' | 'xml' = 'json') =>
  app.inject({
    method: 'POST',
    url: `/open311/v2/requests.${format}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form(fields),
  });

const base = () => ({ api_key: key, service_code: 'road-damage', lat: '-26.2041', long: '28.0473' });
const answers = { 'attribute[depth_cm]': '12', 'attribute[lane]': 'left' };

async function incident(reference: string) {
  const { rows } = await t.db.query<Record<string, any>>({
    text: `SELECT i.*, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, c.slug AS category_slug
           FROM incidents i JOIN categories c ON c.id = i.category_id WHERE i.reference = $1`,
    values: [reference],
  });
  return rows[0]!;
}

beforeAll(async () => {
  t = await createTestDatabase();
  app = Fastify();
  registerRequestContext(app);
  registerErrorHandling(app);
  await app.register(open311Routes, {
    prefix: '/open311/v2',
    db: t.db,
    publicUrl: 'https://buurtwag.example',
    storage: await testStorage(testConfig()),
    mediaUrlTtlSeconds: 3600,
  });
  await app.ready();

  const attributes = [
    { code: 'depth_cm', datatype: 'number', required: true, description: { en: 'Depth (cm)' }, order: 1 },
    {
      code: 'lane',
      datatype: 'singlevaluelist',
      required: false,
      description: { en: 'Lane' },
      order: 2,
      values: [
        { key: 'left', name: { en: 'Left' } },
        { key: 'right', name: { en: 'Right' } },
      ],
    },
    {
      code: 'hazards',
      datatype: 'multivaluelist',
      required: false,
      description: { en: 'Hazards' },
      order: 3,
      values: [
        { key: 'water', name: { en: 'Water' } },
        { key: 'glass', name: { en: 'Glass' } },
        { key: 'oil', name: { en: 'Oil' } },
      ],
    },
  ];
  await t.db.query({
    text: `INSERT INTO categories (slug, name, description, icon, color, attributes)
           VALUES ('road-damage', '{"en": "Road damage", "af": "Padskade"}', '{"en": "Holes, cracks"}', 'road',
                   '#884400', $1::jsonb)`,
    values: [JSON.stringify(attributes)],
  });
  await t.db.query({
    text: `INSERT INTO users (id, email, display_name) VALUES ($1, 'staff@test.invalid', 'Staff')`,
    values: [STAFF_ID],
  });
  const made = await createKey(t.db, 'council');
  key = made.key;
  keyId = made.id;
  const old = await createKey(t.db, 'old system');
  await revokeKey(t.db, old.id);
  revokedKey = old.key;
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (t) await dropTestDatabase(t);
});

// ---------------------------------------------------------------------------------------------

describe('POST /requests', () => {
  it('makes a public, anonymous incident and answers with its id and token (JSON)', async () => {
    const description = 'Deep hole in the left lane\nCars swerve around it.';
    const res = await post({
      ...base(),
      ...answers,
      'attribute[hazards][]': ['water', 'glass'],
      'attribute[not_ours]': 'kept out',
      description,
      address_string: ' 12 Main Road, Braamfontein ',
      email: EMAIL,
      first_name: 'Private',
      last_name: 'Person',
      phone: PHONE,
      device_id: 'device-123',
      account_id: 'account-456',
      media_url: 'http://169.254.169.254/latest/meta-data/',
      jurisdiction_id: 'anything',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = json(res);
    valid('posted', body);
    const [answer] = body;
    expect(answer.service_request_id).toMatch(/^BW-[0-9A-Z]{8}$/);
    expect(answer).toMatchObject({ service_notice: null, account_id: null });

    const row = await incident(answer.service_request_id);
    expect(row.id).toBe(answer.token);
    expect(row.category_slug).toBe('road-damage');
    expect(row.lon).toBeCloseTo(28.0473, 6);
    expect(row.lat).toBeCloseTo(-26.2041, 6);
    expect(row.address).toBe('12 Main Road, Braamfontein');
    expect(row.title).toBe('Deep hole in the left lane');
    expect(row.description).toBe(description);
    expect(row.metadata).toEqual({ depth_cm: 12, lane: 'left', hazards: ['water', 'glass'] });
    expect(row).toMatchObject({ reporter_id: null, anonymous: true, is_public: true, hidden: false });
    expect(row.status).toBe('reported');

    // the audit trail knows which client; the incident's own data does not
    const { rows: audit } = await t.db.query<{ data: Record<string, unknown>; actor_id: string | null }>({
      text: `SELECT data, actor_id FROM audit_log WHERE action = 'incident.create' AND entity_id = $1`,
      values: [row.id],
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.data).toEqual({ via: 'open311', keyId });
    expect(audit[0]!.actor_id).toBeNull();
    expect(JSON.stringify(row)).not.toContain(keyId);
  });

  it('answers in XML the same', async () => {
    const res = await post({ ...base(), ...answers, description: 'Crack' }, 'xml');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
    const [item] = xmlItems(res.body, 'service_requests', 'request');
    expect(Object.keys(item!)).toEqual(['service_request_id', 'token', 'service_notice', 'account_id']);
    expect(item!.service_notice).toBe('');
    const row = await incident(item!.service_request_id!);
    expect(row.id).toBe(item!.token);
    expect(row.title).toBe('Crack');
  });

  it('takes the title from the first line, cut at a word, or the service name', async () => {
    expect(titleOf('', 'Road damage')).toBe('Road damage');
    expect(titleOf('  one line  \nsecond', 'x')).toBe('one line');
    const long = `${'word '.repeat(40)}end`;
    const title = titleOf(long, 'x');
    expect(Array.from(title).length).toBeLessThanOrEqual(120);
    expect(title.endsWith('word…')).toBe(true);
    expect(Array.from(titleOf('x'.repeat(300), 'y')).length).toBe(120);

    const res = await post({ ...base(), ...answers });
    const row = await incident(json(res)[0].service_request_id);
    expect(row.title).toBe('Road damage');
    expect(row.description).toBe('');
    const af = await app.inject({
      method: 'POST',
      url: '/open311/v2/requests.json?lang=af',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...base(), ...answers }),
    });
    expect((await incident(json(af)[0].service_request_id)).title).toBe('Padskade');
  });

  it('multivaluelist answers: repeated keys, the [] form, or a single value', async () => {
    const cases: Array<[Record<string, string | string[]>, string[]]> = [
      [{ 'attribute[hazards]': ['water', 'oil'] }, ['water', 'oil']],
      [{ 'attribute[hazards][]': 'glass' }, ['glass']],
      [{ 'attribute[hazards]': 'oil' }, ['oil']],
    ];
    for (const [field, expected] of cases) {
      const res = await post({ ...base(), ...answers, ...field });
      expect(res.statusCode, res.body).toBe(200);
      expect((await incident(json(res)[0].service_request_id)).metadata.hazards).toEqual(expected);
    }
  });

  it('refuses a missing, unknown or revoked key with 403, in both formats', async () => {
    const { api_key: _, ...keyless } = base();
    expect(errorOf(await post({ ...keyless, ...answers }), 403)).toContain('api_key');
    expect(errorOf(await post({ ...base(), ...answers, api_key: 'bw311_nope' }), 403)).toContain('api_key');
    expect(errorOf(await post({ ...base(), ...answers, api_key: revokedKey }), 403)).toContain('api_key');
    const xml = await post({ ...keyless, ...answers }, 'xml');
    expect(xml.statusCode).toBe(403);
    expect(xmlItems(xml.body, 'errors', 'error')[0]).toMatchObject({ code: '403' });
  });

  it('answers bad requests with 400, saying what is wrong, and an unknown service with 404', async () => {
    const { service_code: _, ...codeless } = base();
    expect(errorOf(await post({ ...codeless, ...answers }), 400)).toContain('service_code is required');
    expect(errorOf(await post({ ...base(), ...answers, service_code: 'no-such-thing' }), 404)).toContain(
      'no-such-thing',
    );
    const { lat: _lat, long: _long, ...placeless } = base();
    const noPlace = errorOf(await post({ ...placeless, ...answers, address_string: '12 Main Road' }), 400);
    expect(noPlace).toContain('lat and long are required');
    expect(noPlace).toContain('address_string');
    expect(errorOf(await post({ ...base(), ...answers, lat: '95' }), 400)).toContain('lat');
    expect(errorOf(await post({ ...base(), ...answers, long: 'east' }), 400)).toContain('long');
    expect(errorOf(await post({ ...base(), ...answers, description: 'x'.repeat(4001) }), 400)).toContain('4000');
    const longest = await post({ ...base(), ...answers, description: 'é'.repeat(4000) });
    expect(longest.statusCode, longest.body).toBe(200);
    expect(errorOf(await post({ ...base(), ...answers, service_code: ['road-damage', 'pothole'] }), 400)).toContain(
      'service_code',
    );

    // the attributes, checked as the native API checks metadata
    const { 'attribute[depth_cm]': _d, ...noDepth } = answers;
    expect(errorOf(await post({ ...base(), ...noDepth }), 400)).toBe('attribute[depth_cm] is required.');
    expect(errorOf(await post({ ...base(), ...answers, 'attribute[depth_cm]': 'deep' }), 400)).toBe(
      'attribute[depth_cm] must be of type number.',
    );
    const lane = errorOf(await post({ ...base(), ...answers, 'attribute[lane]': 'middle' }), 400);
    expect(lane).toBe('attribute[lane] must be one of: left, right.');
    expect(errorOf(await post({ ...base(), ...answers, 'attribute[hazards][]': ['water', 'fire'] }), 400)).toContain(
      'attribute[hazards]',
    );
    expect(errorOf(await post({ ...base(), ...answers, 'attribute[lane]': ['left', 'right'] }), 400)).toContain(
      'given once',
    );

    const xml = await post({ ...base(), ...noDepth }, 'xml');
    expect(xml.statusCode).toBe(400);
    expect(xmlItems(xml.body, 'errors', 'error')[0]).toEqual({
      code: '400',
      description: 'attribute[depth_cm] is required.',
    });

    // none of these made anything
    const { rows } = await t.db.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM incidents WHERE description LIKE 'xxxx%'`,
    });
    expect(rows[0]!.n).toBe(0);
  });

  it('takes forms only, within a size limit', async () => {
    const asJson = await app.inject({ method: 'POST', url: '/open311/v2/requests.json', payload: base() });
    expect(errorOf(asJson, 415)).toContain('application/x-www-form-urlencoded');
    const huge = await app.inject({
      method: 'POST',
      url: '/open311/v2/requests.json',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...base(), description: 'x'.repeat(100_000) }),
    });
    expect(huge.statusCode).toBe(413);
    valid('errors', json(huge));
  });

  it('stores no contact field anywhere', async () => {
    const res = await post({
      ...base(),
      ...answers,
      description: 'Contact test',
      email: EMAIL,
      first_name: 'Zanele',
      last_name: 'Uniquesurname',
      phone: PHONE,
      device_id: 'device-9f8e7d',
      account_id: 'account-1a2b3c',
    });
    expect(res.statusCode).toBe(200);
    const id = json(res)[0].token;
    const { rows } = await t.db.query<{ dump: string }>({
      text: `SELECT concat_ws(' ',
               (SELECT row_to_json(i)::text FROM incidents i WHERE i.id = $1),
               (SELECT string_agg(row_to_json(e)::text, ' ') FROM incident_events e WHERE e.incident_id = $1),
               (SELECT string_agg(row_to_json(a)::text, ' ') FROM audit_log a),
               (SELECT string_agg(row_to_json(j)::text, ' ') FROM jobs j)) AS dump`,
      values: [id],
    });
    const dump = rows[0]!.dump;
    expect(dump).toContain('Contact test');
    for (const secret of [EMAIL, 'Zanele', 'Uniquesurname', PHONE, 'device-9f8e7d', 'account-1a2b3c', key]) {
      expect(dump).not.toContain(secret);
    }
  });

  it('counts posts per key under the open311 rate limit', async () => {
    const limited = Fastify();
    registerRequestContext(limited);
    registerErrorHandling(limited);
    registerRateLimits(limited, {
      enabled: true,
      redisUrl: null,
      log: { info: () => undefined, warn: () => undefined },
      limits: { open311: [{ by: 'apiKey', max: 2, windowSeconds: 60 }] },
    });
    await limited.register(open311Routes, {
      prefix: '/open311/v2',
      db: t.db,
      publicUrl: 'https://x.example',
      storage: await testStorage(testConfig()),
      mediaUrlTtlSeconds: 3600,
    });
    await limited.ready();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await limited.inject({
          method: 'POST',
          url: '/open311/v2/requests.json',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ ...base(), ...answers, description: `limit ${i}` }),
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('GET /tokens/{token}', () => {
  it('gives the request id for the token of a public request, in both formats', async () => {
    const posted = json(await post({ ...base(), ...answers, description: 'Token test' }))[0];
    const res = await app.inject(`/open311/v2/tokens/${posted.token}.json`);
    expect(res.statusCode, res.body).toBe(200);
    const body = json(res);
    valid('token', body);
    expect(body).toEqual([{ service_request_id: posted.service_request_id, token: posted.token }]);
    const xml = await app.inject(`/open311/v2/tokens/${posted.token.toUpperCase()}.xml`);
    expect(xmlItems(xml.body, 'service_requests', 'request')).toEqual([
      { service_request_id: posted.service_request_id, token: posted.token },
    ]);
  });

  it('404s unknown tokens, references, and requests the public cannot see', async () => {
    const posted = json(await post({ ...base(), ...answers, description: 'Soon private' }))[0];
    await t.db.query({ text: 'UPDATE incidents SET is_public = false WHERE id = $1', values: [posted.token] });
    for (const token of [posted.token, '00000000-0000-4000-8000-000000000000', posted.service_request_id]) {
      errorOf(await app.inject(`/open311/v2/tokens/${token}.json`), 404);
    }
    errorOf(await app.inject(`/open311/v2/tokens/${posted.token}.csv`), 404);
  });
});

describe('GET /servicerequestupdates', () => {
  const ids: Record<string, string> = {};
  const refs: Record<string, string> = {};

  async function event(name: string, type: string, data: Record<string, unknown>, minutesAgo: number, extra = '') {
    const { rows } = await t.db.query<{ id: string }>({
      text: `INSERT INTO incident_events (incident_id, type, actor_id, data, internal, hidden_at, created_at)
             VALUES ($1, $2, $3, $4::jsonb, ${extra.includes('internal') ? 'true' : 'false'},
                     ${extra.includes('hidden') ? 'now()' : 'NULL'}, now() - $5::float8 * interval '1 minute')
             RETURNING id::text`,
      values: [ids[name], type, STAFF_ID, JSON.stringify(data), minutesAgo],
    });
    return rows[0]!.id;
  }

  beforeAll(async () => {
    for (const name of ['main', 'private', 'hidden', 'old']) {
      const posted = json(await post({ ...base(), ...answers, description: `Updates ${name}` }))[0];
      ids[name] = posted.token;
      refs[name] = posted.service_request_id;
    }
    await t.db.query({ text: 'UPDATE incidents SET is_public = false WHERE id = $1', values: [ids.private] });
    await t.db.query({ text: 'UPDATE incidents SET hidden = true WHERE id = $1', values: [ids.hidden] });
    await t.db.query({ text: `UPDATE incidents SET status = 'resolved' WHERE id = $1`, values: [ids.main] });
  });

  it('lists status changes and public comments of public requests, oldest first', async () => {
    const before = await event('main', 'comment', { body: 'Thanks, we will look' }, 50);
    const ack = await event('main', 'status_changed', { from: 'reported', to: 'acknowledged' }, 40);
    await event('main', 'comment', { body: 'Secret internal note' }, 35, 'internal');
    await event('main', 'comment', { body: 'Rude words hidden' }, 34, 'hidden');
    const during = await event('main', 'comment', { body: 'Crew booked' }, 30);
    await event('main', 'priority_changed', { from: 'medium', to: 'high' }, 25);
    const fixed = await event('main', 'status_changed', { from: 'acknowledged', to: 'resolved' }, 20);
    await event('private', 'comment', { body: 'Private request comment' }, 20);
    await event('private', 'status_changed', { from: 'reported', to: 'acknowledged' }, 20);
    await event('hidden', 'comment', { body: 'Hidden request comment' }, 20);
    await event('old', 'comment', { body: 'Two days ago' }, 2 * 24 * 60);

    const res = await app.inject(`/open311/v2/servicerequestupdates.json?api_key=${key}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = json(res);
    valid('updates', body);
    const ours = body.filter((u: { service_request_id: string }) => Object.values(refs).includes(u.service_request_id));
    expect(
      ours.map((u: Record<string, string>) => [u.update_id, u.service_request_id, u.status, u.description]),
    ).toEqual([
      [before, refs.main, 'open', 'Thanks, we will look'],
      [ack, refs.main, 'investigating', null],
      [during, refs.main, 'investigating', 'Crew booked'],
      [fixed, refs.main, 'fixed', null],
    ]);
    expect(ours[0].media_url).toBeNull();
    expect(res.body).not.toContain('Secret internal note');
    expect(res.body).not.toContain('Rude words');
    expect(res.body).not.toContain('Private request');
    expect(res.body).not.toContain('Hidden request');
    expect(res.body).not.toContain('Staff');

    // the window: older updates with start_date
    const since = new Date(Date.now() - 3 * 24 * 3_600_000).toISOString();
    const wide = json(await app.inject(`/open311/v2/servicerequestupdates.json?api_key=${key}&start_date=${since}`));
    expect(wide.map((u: { description: string }) => u.description)).toContain('Two days ago');
    const until = new Date(Date.now() - 45 * 60_000).toISOString();
    const early = json(
      await app.inject(`/open311/v2/servicerequestupdates.json?api_key=${key}&start_date=${since}&end_date=${until}`),
    );
    expect(early.map((u: { description: string }) => u.description)).toEqual(['Two days ago', 'Thanks, we will look']);
  });

  it('answers in XML as FixMyStreet reads it', async () => {
    const res = await app.inject(`/open311/v2/servicerequestupdates.xml?api_key=${key}`);
    expect(res.statusCode).toBe(200);
    const items = xmlItems(res.body, 'service_requests_updates', 'request_update');
    const mine = items.filter((i) => i.service_request_id === refs.main);
    expect(mine.length).toBeGreaterThan(0);
    expect(Object.keys(mine[0]!)).toEqual([
      'update_id',
      'service_request_id',
      'status',
      'updated_datetime',
      'description',
      'media_url',
    ]);
  });

  it('needs a key, and good dates', async () => {
    errorOf(await app.inject('/open311/v2/servicerequestupdates.json'), 403);
    errorOf(await app.inject(`/open311/v2/servicerequestupdates.json?api_key=${revokedKey}`), 403);
    expect(
      errorOf(await app.inject(`/open311/v2/servicerequestupdates.json?api_key=${key}&start_date=soon`), 400),
    ).toContain('start_date');
    const span = errorOf(
      await app.inject(
        `/open311/v2/servicerequestupdates.json?api_key=${key}&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z`,
      ),
      400,
    );
    expect(span).toContain('90 days');
  });
});
