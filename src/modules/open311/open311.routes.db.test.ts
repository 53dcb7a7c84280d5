import { testConfig, testStorage } from '../../../test/helpers/app.js';
import AjvModule from 'ajv';
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { registerErrorHandling } from '../../platform/http/error-handler.js';
import { categoryRoutes } from '../categories/categories.routes.js';
import type { Actor } from '../identity/actor.js';
import { registerRequestContext } from '../identity/request-context.plugin.js';
import { blurredPoint } from '../incidents/incidents.presenter.js';
import { incidentRoutes } from '../incidents/incidents.routes.js';
import { open311Routes } from './open311.routes.js';

/**
 * Open311 GeoReport v2, read side, on its own app (the plugin and the categories API): every
 * resource in both formats, every JSON body checked against schemas written from the spec, every
 * XML body parsed, each filter, the defaults, privacy, and errors.
 */
const PUBLIC_URL = 'https://buurtwag.example';
const ADMIN_ID = '00000000-0000-4000-8000-0000000000ad';
const REPORTER_ID = '00000000-0000-4000-8000-0000000000e1';
const REPORTER_NAME = 'Sannie Secretsurname';
const ADMIN: Actor = { userId: ADMIN_ID, roles: [{ role: 'admin', communityId: null }] };
const CENTRE = [28.0473, -26.2041] as const;

let t: TestDatabase;
let app: FastifyInstance;
const ids: Record<string, string> = {};

const inject = (options: InjectOptions | string) => app.inject(options);
const json = <T = any>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T;

// ---------------------------------------------------------------------------------------------
// JSON Schemas from the spec (wiki.open311.org/GeoReport_v2)

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true, strict: false });
const nullableString = { type: ['string', 'null'] };
const dateTime = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
};
const validators = {
  discovery: ajv.compile({
    type: 'object',
    required: ['changeset', 'contact', 'key_service', 'endpoints'],
    properties: {
      changeset: dateTime,
      contact: { type: 'string' },
      key_service: { type: 'string' },
      endpoints: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['specification', 'url', 'changeset', 'type', 'formats'],
          additionalProperties: false,
          properties: {
            specification: { type: 'string' },
            url: { type: 'string' },
            changeset: dateTime,
            type: { enum: ['production', 'test'] },
            formats: { type: 'array', items: { enum: ['text/xml', 'application/json'] } },
          },
        },
      },
    },
  }),
  services: ajv.compile({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group'],
      properties: {
        service_code: { type: 'string' },
        service_name: { type: 'string' },
        description: nullableString,
        metadata: { type: 'boolean' },
        type: { enum: ['realtime', 'batch', 'blackbox'] },
        keywords: nullableString,
        group: nullableString,
      },
    },
  }),
  definition: ajv.compile({
    type: 'object',
    additionalProperties: false,
    required: ['service_code', 'attributes'],
    properties: {
      service_code: { type: 'string' },
      attributes: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['variable', 'code', 'datatype', 'required', 'datatype_description', 'order', 'description'],
          properties: {
            variable: { type: 'boolean' },
            code: { type: 'string' },
            datatype: { enum: ['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'] },
            required: { type: 'boolean' },
            datatype_description: nullableString,
            order: { type: 'integer', minimum: 1 },
            description: { type: 'string' },
            values: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['key', 'name'],
                properties: { key: { type: 'string' }, name: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  }),
  requests: ajv.compile({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: [
        'service_request_id',
        'status',
        'status_notes',
        'service_name',
        'service_code',
        'description',
        'agency_responsible',
        'service_notice',
        'requested_datetime',
        'updated_datetime',
        'expected_datetime',
        'address',
        'address_id',
        'zipcode',
        'lat',
        'long',
        'media_url',
      ],
      properties: {
        service_request_id: { type: 'string' },
        status: { type: 'string' },
        status_notes: nullableString,
        service_name: { type: 'string' },
        service_code: { type: 'string' },
        description: { type: 'string', maxLength: 4000 },
        agency_responsible: nullableString,
        service_notice: nullableString,
        requested_datetime: dateTime,
        updated_datetime: dateTime,
        expected_datetime: { anyOf: [dateTime, { type: 'null' }] },
        address: nullableString,
        address_id: nullableString,
        zipcode: nullableString,
        lat: { type: 'number', minimum: -90, maximum: 90 },
        long: { type: 'number', minimum: -180, maximum: 180 },
        media_url: nullableString,
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

// ---------------------------------------------------------------------------------------------
// A small XML reader: elements and text only (what the API writes), refusing anything malformed.

interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

function parseXml(xml: string): XmlElement {
  expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>\n')).toBe(true);
  const body = xml.slice(xml.indexOf('?>') + 2).trim();
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const token = /<(\/?)([A-Za-z_][\w.-]*)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let at = 0;
  while (at < body.length && (match = token.exec(body)) !== null) {
    at = token.lastIndex;
    const top = stack[stack.length - 1]!;
    if (match[3] !== undefined) {
      if (/[<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(match[3])) throw new Error(`bad text: ${match[3]}`);
      top.text += match[3]
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
        .replace(/&amp;/g, '&');
    } else if (match[1] === '/') {
      if (top.name !== match[2]) throw new Error(`</${match[2]}> closes <${top.name}>`);
      stack.pop();
    } else {
      const element: XmlElement = { name: match[2]!, children: [], text: '' };
      top.children.push(element);
      stack.push(element);
    }
  }
  if (at !== body.length || stack.length !== 1 || root.children.length !== 1) throw new Error('malformed XML');
  return root.children[0]!;
}

const child = (e: XmlElement, name: string): XmlElement => {
  const found = e.children.find((c) => c.name === name);
  if (!found) throw new Error(`no <${name}> in <${e.name}>`);
  return found;
};
const names = (e: XmlElement) => e.children.map((c) => c.name);

function xmlOf(res: LightMyRequestResponse, root: string): XmlElement {
  expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
  const doc = parseXml(res.body);
  expect(doc.name).toBe(root);
  return doc;
}

function jsonOf(res: LightMyRequestResponse, status = 200) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  return json(res);
}

// ---------------------------------------------------------------------------------------------
// Data

interface Seed {
  ref: string;
  slug: string;
  dx?: number;
  dy?: number;
  title?: string;
  description?: string;
  address?: string | null;
  isPublic?: boolean;
  hidden?: boolean;
  anonymous?: boolean;
  status?: string;
  createdDaysAgo?: number;
  updatedDaysAgo?: number;
}

const M_PER_DEG_LAT = 110_850;
const M_PER_DEG_LON = 99_800;

async function seed(name: string, s: Seed): Promise<void> {
  const { rows } = await t.db.query<{ id: string }>({
    text: `INSERT INTO incidents (reference, title, description, location, address, reporter_id, anonymous,
                                  category_id, status, is_public, hidden, created_at, updated_at)
           SELECT $1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, c.id, $10::incident_status,
                  $11, $12, now() - $13::float8 * interval '1 day', now() - $14::float8 * interval '1 day'
           FROM categories c WHERE c.slug = $9
           RETURNING id`,
    values: [
      s.ref,
      s.title ?? `Incident ${name}`,
      s.description ?? `About ${name}`,
      CENTRE[0] + (s.dx ?? 0) / M_PER_DEG_LON,
      CENTRE[1] + (s.dy ?? 0) / M_PER_DEG_LAT,
      s.address === undefined ? `${name} Street 1` : s.address,
      REPORTER_ID,
      s.anonymous ?? false,
      s.slug,
      s.status ?? 'reported',
      s.isPublic ?? true,
      s.hidden ?? false,
      s.createdDaysAgo ?? 1,
      s.updatedDaysAgo ?? s.createdDaysAgo ?? 1,
    ],
  });
  ids[name] = rows[0]!.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  app = Fastify();
  registerRequestContext(app);
  registerErrorHandling(app);
  // the categories API, with an admin for requests that say so (the real app signs people in)
  app.addHook('onRequest', async (request) => {
    if (request.headers['x-test-admin'] === 'yes') request.actor = ADMIN;
  });
  await app.register(categoryRoutes, { prefix: '/api/v1', db: t.db });
  await app.register(incidentRoutes, { prefix: '/api/v1', db: t.db });
  await app.register(open311Routes, {
    prefix: '/open311/v2',
    db: t.db,
    publicUrl: `${PUBLIC_URL}/`,
    storage: await testStorage(testConfig()),
    mediaUrlTtlSeconds: 3600,
  });
  await app.ready();

  await t.db.query({
    text: `INSERT INTO users (id, email, display_name) VALUES ($1, 'admin@test.invalid', 'Admin'),
           ($2, 'sannie@test.invalid', $3)`,
    values: [ADMIN_ID, REPORTER_ID, REPORTER_NAME],
  });
  await seed('open', { ref: 'BW-0000000A', slug: 'pothole', dx: 100, createdDaysAgo: 1 });
  await seed('closed', {
    ref: 'BW-0000000B',
    slug: 'water-leak',
    dx: 300,
    status: 'resolved',
    createdDaysAgo: 10,
    updatedDaysAgo: 2,
  });
  await seed('private', { ref: 'BW-0000000C', slug: 'pothole', dx: 50, isPublic: false });
  await seed('hidden', { ref: 'BW-0000000D', slug: 'pothole', dx: 60, hidden: true });
  await seed('sensitive', {
    ref: 'BW-0000000E',
    slug: 'crime-suspicious-activity',
    dx: 200,
    anonymous: true,
    address: '5 Secret Lane',
    createdDaysAgo: 3,
  });
  await seed('old', { ref: 'BW-0000000F', slug: 'pothole', dx: 400, createdDaysAgo: 120 });
  await seed('far', { ref: 'BW-0000000G', slug: 'pothole', dx: 40_000, status: 'in_progress', createdDaysAgo: 5 });
  await seed('special', {
    ref: 'BW-0000000H',
    slug: 'noise',
    dx: 500,
    title: 'Loud <party> & "music"',
    description: `x${'y'.repeat(5000)}\u0001`,
    address: null,
    createdDaysAgo: 4,
  });
  // 1,005 graffiti reports 30–31 days ago: more than one default page
  await t.db.query({
    text: `INSERT INTO incidents (reference, title, location, category_id, created_at, updated_at)
           SELECT 'BW-Z' || lpad(g::text, 7, '0'), 'Graffiti ' || g, ST_SetSRID(ST_MakePoint(18.42, -33.92), 4326),
                  (SELECT id FROM categories WHERE slug = 'graffiti'),
                  now() - interval '30 days' - g * interval '1 minute', now() - interval '30 days'
           FROM generate_series(1, 1005) g`,
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (t) await dropTestDatabase(t);
});

const refs = (body: Array<{ service_request_id: string }>) => body.map((r) => r.service_request_id);
const NOT_GRAFFITI = 'service_code=pothole,water-leak,crime-suspicious-activity,noise';

// ---------------------------------------------------------------------------------------------

describe('discovery', () => {
  it('names the endpoint, the spec and the formats (JSON)', async () => {
    const body = jsonOf(await inject('/open311/v2/discovery.json'));
    valid('discovery', body);
    expect(body.endpoints).toEqual([
      {
        specification: 'http://wiki.open311.org/GeoReport_v2',
        url: `${PUBLIC_URL}/open311/v2`,
        changeset: body.changeset,
        type: 'production',
        formats: ['text/xml', 'application/json'],
      },
    ]);
  });

  it('has the same in XML', async () => {
    const res = await inject('/open311/v2/discovery.xml');
    expect(res.statusCode).toBe(200);
    const doc = xmlOf(res, 'discovery');
    expect(names(doc)).toEqual(['changeset', 'contact', 'key_service', 'endpoints']);
    const endpoint = child(child(doc, 'endpoints'), 'endpoint');
    expect(child(endpoint, 'url').text).toBe(`${PUBLIC_URL}/open311/v2`);
    expect(child(endpoint, 'type').text).toBe('production');
    expect(child(endpoint, 'formats').children.map((f) => [f.name, f.text])).toEqual([
      ['format', 'text/xml'],
      ['format', 'application/json'],
    ]);
  });
});

describe('category attributes (admin API) and services', () => {
  const attributes = [
    {
      code: 'depth_cm',
      datatype: 'number',
      required: true,
      description: { en: 'How deep is it (cm)?', af: 'Hoe diep is dit (cm)?' },
      order: 2,
    },
    {
      code: 'lane',
      datatype: 'singlevaluelist',
      required: false,
      description: { en: 'Which lane?', af: 'Watter baan?' },
      order: 1,
      values: [
        { key: 'left', name: { en: 'Left', af: 'Links' } },
        { key: 'right', name: { en: 'Right', af: 'Regs' } },
      ],
    },
  ];

  const create = (payload: Record<string, unknown>) =>
    inject({ method: 'POST', url: '/api/v1/categories', headers: { 'x-test-admin': 'yes' }, payload });

  it('creates a category with attributes and lists them, localized', async () => {
    const res = await create({ slug: 'road-damage', name: { en: 'Road damage', af: 'Padskade' }, attributes });
    expect(res.statusCode, res.body).toBe(201);
    expect(json(res).translations.attributes).toEqual(attributes);
    const list = json(await inject('/api/v1/categories?lang=af'));
    const item = list.items.find((c: { slug: string }) => c.slug === 'road-damage');
    expect(item.attributes).toEqual([
      {
        code: 'lane',
        datatype: 'singlevaluelist',
        required: false,
        description: 'Watter baan?',
        order: 1,
        values: [
          { key: 'left', name: 'Links' },
          { key: 'right', name: 'Regs' },
        ],
      },
      { code: 'depth_cm', datatype: 'number', required: true, description: 'Hoe diep is dit (cm)?', order: 2 },
    ]);
    const pothole = list.items.find((c: { slug: string }) => c.slug === 'pothole');
    expect(pothole.attributes).toEqual([]);
  });

  it('refuses invalid attributes', async () => {
    const base = { name: { en: 'X' } };
    const one = (a: Record<string, unknown>) => ({
      code: 'a',
      datatype: 'string',
      required: false,
      description: { en: 'A' },
      order: 0,
      ...a,
    });
    const cases: Array<[Record<string, unknown>, string]> = [
      [one({ code: 'Bad-Code' }), '/body/attributes/0/code'],
      [one({ datatype: 'boolean' }), '/body/attributes/0/datatype'],
      [one({ datatype: 'multivaluelist' }), '/body/attributes/0/values'],
      [one({ values: [{ key: 'x', name: { en: 'X' } }] }), '/body/attributes/0/values'],
      [one({ description: { af: 'net Afrikaans' } }), '/body/attributes/0/description/en'],
    ];
    for (const [attribute, path] of cases) {
      const res = await create({ ...base, slug: 'bad-attrs', attributes: [attribute] });
      expect(res.statusCode, JSON.stringify(attribute)).toBe(400);
      expect(json(res).errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const duplicate = await create({ ...base, slug: 'bad-attrs', attributes: [one({}), one({ order: 1 })] });
    expect(duplicate.statusCode).toBe(400);
    expect(json(duplicate).errors).toEqual([{ path: '/body/attributes/1/code', message: 'repeats a' }]);
  });

  it('edits the attributes of a category', async () => {
    const res = await inject({
      method: 'PATCH',
      url: '/api/v1/categories/road-damage',
      headers: { 'x-test-admin': 'yes' },
      payload: { attributes: [attributes[1]] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).attributes.map((a: { code: string }) => a.code)).toEqual(['lane']);
    const back = await inject({
      method: 'PATCH',
      url: '/api/v1/categories/road-damage',
      headers: { 'x-test-admin': 'yes' },
      payload: { attributes },
    });
    expect(back.statusCode).toBe(200);
    const denied = await inject({ method: 'PATCH', url: '/api/v1/categories/road-damage', payload: { attributes } });
    expect(denied.statusCode).toBe(401);
  });

  it('checks the answers of a new report against its category’s attributes, in the reader’s language', async () => {
    const categoryId = json(await inject('/api/v1/categories/road-damage')).id;
    const report = (metadata: Record<string, unknown>, lang = 'en') =>
      inject({
        method: 'POST',
        url: `/api/v1/incidents?lang=${lang}`,
        headers: { 'x-test-admin': 'yes' },
        payload: {
          title: 'Broken road',
          description: 'Deep',
          categoryId,
          location: { type: 'Point', coordinates: [18.5, -33.9] },
          metadata,
        },
      });
    const wrong = await report({ lane: 'middle' }, 'af');
    expect(wrong.statusCode).toBe(400);
    expect(json(wrong).errors).toEqual([
      { path: '/body/metadata/depth_cm', message: 'is verpligtend' },
      { path: '/body/metadata/lane', message: 'moet een wees van: left, right' },
    ]);
    const typed = await report({ depth_cm: 'deep' });
    expect(json(typed).errors).toEqual([{ path: '/body/metadata/depth_cm', message: 'must be of type number' }]);
    const ok = await report({ depth_cm: 12, lane: 'left', client_ref: 'abc' });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(json(ok).metadata).toEqual({ depth_cm: 12, lane: 'left', client_ref: 'abc' });
    await t.db.query({ text: 'DELETE FROM incidents WHERE id = $1', values: [json(ok).id] });
  });

  it('lists one service per active category (JSON)', async () => {
    await create({ slug: 'retired', name: { en: 'Retired' }, active: false });
    const body = jsonOf(await inject('/open311/v2/services.json'));
    valid('services', body);
    const codes = body.map((s: { service_code: string }) => s.service_code);
    expect(codes).toContain('pothole');
    expect(codes).toContain('road-damage');
    expect(codes).not.toContain('retired');
    expect(body.find((s: { service_code: string }) => s.service_code === 'pothole')).toEqual({
      service_code: 'pothole',
      service_name: 'Pothole',
      description: 'Potholes, sinkholes and damaged road surfaces.',
      metadata: false,
      type: 'realtime',
      keywords: null,
      group: null,
    });
    expect(body.find((s: { service_code: string }) => s.service_code === 'road-damage').metadata).toBe(true);
  });

  it('speaks Afrikaans with ?lang=af or Accept-Language', async () => {
    for (const options of [
      { url: '/open311/v2/services.json?lang=af' },
      { url: '/open311/v2/services.json', headers: { 'accept-language': 'af-ZA,af;q=0.9,en;q=0.5' } },
    ]) {
      const body = jsonOf(await inject(options));
      expect(body.find((s: { service_code: string }) => s.service_code === 'pothole').service_name).toBe('Slaggat');
    }
  });

  it('lists the services in XML', async () => {
    const res = await inject('/open311/v2/services.xml');
    expect(res.statusCode).toBe(200);
    const doc = xmlOf(res, 'services');
    expect(new Set(names(doc))).toEqual(new Set(['service']));
    const pothole = doc.children.find((s) => child(s, 'service_code').text === 'pothole')!;
    expect(names(pothole)).toEqual([
      'service_code',
      'service_name',
      'description',
      'metadata',
      'type',
      'keywords',
      'group',
    ]);
    expect(child(pothole, 'metadata').text).toBe('false');
    expect(child(pothole, 'keywords')).toEqual({ name: 'keywords', children: [], text: '' });
  });

  it('defines a service with its attributes (JSON and XML)', async () => {
    const body = jsonOf(await inject('/open311/v2/services/road-damage.json'));
    valid('definition', body);
    expect(body).toEqual({
      service_code: 'road-damage',
      attributes: [
        {
          variable: true,
          code: 'lane',
          datatype: 'singlevaluelist',
          required: false,
          datatype_description: null,
          order: 1,
          description: 'Which lane?',
          values: [
            { key: 'left', name: 'Left' },
            { key: 'right', name: 'Right' },
          ],
        },
        {
          variable: true,
          code: 'depth_cm',
          datatype: 'number',
          required: true,
          datatype_description: null,
          order: 2,
          description: 'How deep is it (cm)?',
        },
      ],
    });
    const res = await inject('/open311/v2/services/road-damage.xml?lang=af');
    expect(res.statusCode).toBe(200);
    const doc = xmlOf(res, 'service_definition');
    expect(child(doc, 'service_code').text).toBe('road-damage');
    const [lane, depth] = child(doc, 'attributes').children;
    expect(lane!.name).toBe('attribute');
    expect(child(lane!, 'description').text).toBe('Watter baan?');
    expect(child(lane!, 'required').text).toBe('false');
    expect(child(lane!, 'values').children.map((v) => [v.name, child(v, 'key').text, child(v, 'name').text])).toEqual([
      ['value', 'left', 'Links'],
      ['value', 'right', 'Regs'],
    ]);
    expect(child(depth!, 'order').text).toBe('2');
    expect(child(depth!, 'datatype_description').text).toBe('');
  });

  it('defines a service without attributes, and 404s an unknown or inactive one', async () => {
    expect(jsonOf(await inject('/open311/v2/services/pothole.json'))).toEqual({
      service_code: 'pothole',
      attributes: [],
    });
    for (const code of ['nope', 'retired', 'Bad%20Code']) {
      const res = await inject(`/open311/v2/services/${code}.json`);
      valid('errors', jsonOf(res, 404));
      expect(json(res)[0].code).toBe(404);
    }
    const xml = await inject('/open311/v2/services/nope.xml');
    expect(xml.statusCode).toBe(404);
    const error = child(xmlOf(xml, 'errors'), 'error');
    expect(child(error, 'code').text).toBe('404');
    expect(child(error, 'description').text).toContain('nope');
  });
});

describe('requests', () => {
  it('lists public requests of the last 90 days, newest first (JSON)', async () => {
    const body = jsonOf(await inject(`/open311/v2/requests.json?${NOT_GRAFFITI}`));
    valid('requests', body);
    expect(refs(body)).toEqual(['BW-0000000A', 'BW-0000000E', 'BW-0000000H', 'BW-0000000G', 'BW-0000000B']);
  });

  it('shows the fields of a request', async () => {
    const [open] = jsonOf(await inject('/open311/v2/requests/BW-0000000A.json'));
    const { rows } = await t.db.query<{ created: string; updated: string; lon: number; lat: number }>({
      text: `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created,
                    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated,
                    ST_X(location) AS lon, ST_Y(location) AS lat FROM incidents WHERE id = $1`,
      values: [ids.open],
    });
    expect(open).toEqual({
      service_request_id: 'BW-0000000A',
      status: 'open',
      status_notes: null,
      service_name: 'Pothole',
      service_code: 'pothole',
      description: 'Incident open\n\nAbout open',
      agency_responsible: null,
      service_notice: null,
      requested_datetime: rows[0]!.created,
      updated_datetime: rows[0]!.updated,
      expected_datetime: null,
      address: 'open Street 1',
      address_id: null,
      zipcode: null,
      lat: rows[0]!.lat,
      long: rows[0]!.lon,
      media_url: null,
    });
  });

  it('lists requests in XML, absent values as empty elements', async () => {
    const res = await inject(`/open311/v2/requests.xml?${NOT_GRAFFITI}`);
    expect(res.statusCode).toBe(200);
    const doc = xmlOf(res, 'service_requests');
    expect(doc.children.map((r) => [r.name, child(r, 'service_request_id').text])).toEqual([
      ['request', 'BW-0000000A'],
      ['request', 'BW-0000000E'],
      ['request', 'BW-0000000H'],
      ['request', 'BW-0000000G'],
      ['request', 'BW-0000000B'],
    ]);
    const first = doc.children[0]!;
    expect(names(first)).toEqual([
      'service_request_id',
      'status',
      'status_notes',
      'service_name',
      'service_code',
      'description',
      'agency_responsible',
      'service_notice',
      'requested_datetime',
      'updated_datetime',
      'expected_datetime',
      'address',
      'address_id',
      'zipcode',
      'lat',
      'long',
      'media_url',
    ]);
    expect(child(first, 'status_notes').text).toBe('');
    expect(Number(child(first, 'lat').text)).toBeCloseTo(CENTRE[1], 4);
  });

  it('escapes text and drops characters XML cannot hold; cuts descriptions at 4,000 characters', async () => {
    const res = await inject('/open311/v2/requests/BW-0000000H.xml');
    const request = child(xmlOf(res, 'service_requests'), 'request');
    const description = child(request, 'description').text;
    expect(description.startsWith('Loud <party> & "music"\n\nxyyy')).toBe(true);
    expect(description).toHaveLength(4000);
    expect(child(request, 'address').text).toBe('');
    const [body] = jsonOf(await inject('/open311/v2/requests/BW-0000000H.json'));
    expect(body.description).toHaveLength(4000);
    expect(body.address).toBeNull();
  });

  it('finds one request by reference (any case) or by uuid, as a list of one', async () => {
    for (const id of ['BW-0000000A', 'bw-0000000a', ids.open!]) {
      const body = jsonOf(await inject(`/open311/v2/requests/${id}.json`));
      valid('requests', body);
      expect(refs(body)).toEqual(['BW-0000000A']);
    }
    const doc = xmlOf(await inject(`/open311/v2/requests/${ids.closed}.xml`), 'service_requests');
    expect(doc.children).toHaveLength(1);
    expect(child(doc.children[0]!, 'status').text).toBe('closed');
  });

  it('shows requests older than the window by id', async () => {
    expect(refs(jsonOf(await inject('/open311/v2/requests/BW-0000000F.json')))).toEqual(['BW-0000000F']);
  });
});

describe('request filters', () => {
  const list = async (query: string) => {
    const body = jsonOf(await inject(`/open311/v2/requests.json?${query}`));
    valid('requests', body);
    return refs(body);
  };

  it('service_request_id: a comma list, every other filter ignored', async () => {
    expect(await list(`service_request_id=BW-0000000B,${ids.open},BW-0000000F&status=open&service_code=noise`)).toEqual(
      ['BW-0000000A', 'BW-0000000B', 'BW-0000000F'],
    );
    expect(await list('service_request_id=BW-0000000C,BW-0000000D,BW-00000009')).toEqual([]);
  });

  it('service_code: a comma list', async () => {
    expect(await list('service_code=water-leak')).toEqual(['BW-0000000B']);
    expect(await list('service_code=water-leak,noise')).toEqual(['BW-0000000H', 'BW-0000000B']);
    expect(await list('service_code=nothing-here')).toEqual([]);
  });

  it('status: open, closed, both, and our own', async () => {
    expect(await list(`${NOT_GRAFFITI}&status=closed`)).toEqual(['BW-0000000B']);
    expect(await list(`${NOT_GRAFFITI}&status=open`)).toEqual([
      'BW-0000000A',
      'BW-0000000E',
      'BW-0000000H',
      'BW-0000000G',
    ]);
    expect(await list(`${NOT_GRAFFITI}&status=open,closed`)).toHaveLength(5);
    expect(await list(`${NOT_GRAFFITI}&status=in_progress`)).toEqual(['BW-0000000G']);
  });

  it('extended_statuses=true shows our statuses', async () => {
    const body = jsonOf(await inject(`/open311/v2/requests.json?${NOT_GRAFFITI}&extended_statuses=true`));
    expect(body.map((r: { status: string }) => r.status)).toEqual([
      'reported',
      'reported',
      'reported',
      'in_progress',
      'resolved',
    ]);
    const [one] = jsonOf(await inject('/open311/v2/requests/BW-0000000G.json?extended_statuses=true'));
    expect(one.status).toBe('in_progress');
  });

  it('start_date and end_date: requested_datetime in the range, at most 90 days', async () => {
    const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
    expect(await list(`${NOT_GRAFFITI}&start_date=${day(3.5)}`)).toEqual(['BW-0000000A', 'BW-0000000E']);
    expect(await list(`${NOT_GRAFFITI}&start_date=${day(11)}&end_date=${day(4.5)}`)).toEqual([
      'BW-0000000G',
      'BW-0000000B',
    ]);
    // before the default window: only with dates
    expect(await list(`${NOT_GRAFFITI}&start_date=${day(130)}&end_date=${day(100)}`)).toEqual(['BW-0000000F']);
    // end_date alone: the 90 days before it
    expect(await list(`${NOT_GRAFFITI}&end_date=${day(4.5)}`)).toEqual(['BW-0000000G', 'BW-0000000B']);
    // +02:00 offsets are understood
    const plus2 = new Date(Date.now() - 3.5 * 86_400_000 + 2 * 3_600_000).toISOString().slice(0, 19) + '+02:00';
    expect(await list(`${NOT_GRAFFITI}&start_date=${encodeURIComponent(plus2)}`)).toEqual([
      'BW-0000000A',
      'BW-0000000E',
    ]);
  });

  it('updated_after and updated_before', async () => {
    const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
    expect(await list(`${NOT_GRAFFITI}&updated_after=${day(2.5)}`)).toEqual(['BW-0000000A', 'BW-0000000B']);
    expect(await list(`${NOT_GRAFFITI}&updated_before=${day(3.5)}`)).toEqual(['BW-0000000H', 'BW-0000000G']);
  });

  it('bbox', async () => {
    const box = (minDx: number, maxDx: number) =>
      [CENTRE[0] + minDx / M_PER_DEG_LON, CENTRE[1] - 0.01, CENTRE[0] + maxDx / M_PER_DEG_LON, CENTRE[1] + 0.01].join(
        ',',
      );
    expect(await list(`bbox=${box(250, 600)}`)).toEqual(['BW-0000000H', 'BW-0000000B']);
    expect(await list(`bbox=${box(39_000, 41_000)}`)).toEqual(['BW-0000000G']);
  });

  it('lat, long and radius: nearest first', async () => {
    expect(await list(`lat=${CENTRE[1]}&long=${CENTRE[0]}&radius=1000`)).toEqual([
      'BW-0000000A',
      'BW-0000000E',
      'BW-0000000B',
      'BW-0000000H',
    ]);
    expect(await list(`lat=${CENTRE[1]}&long=${CENTRE[0]}&radius=250`)).toEqual(['BW-0000000A', 'BW-0000000E']);
    expect(await list(`lat=${CENTRE[1]}&long=${CENTRE[0]}`)).toHaveLength(4);
    expect(await list(`lat=${CENTRE[1]}&long=${CENTRE[0]}&radius=50000&service_code=pothole`)).toEqual([
      'BW-0000000A',
      'BW-0000000G',
    ]);
  });

  it('page and page_size', async () => {
    expect(await list(`${NOT_GRAFFITI}&page_size=2`)).toEqual(['BW-0000000A', 'BW-0000000E']);
    expect(await list(`${NOT_GRAFFITI}&page_size=2&page=2`)).toEqual(['BW-0000000H', 'BW-0000000G']);
    expect(await list(`${NOT_GRAFFITI}&page_size=2&page=3`)).toEqual(['BW-0000000B']);
    expect(await list(`${NOT_GRAFFITI}&page_size=2&page=4`)).toEqual([]);
  });

  it('at most 1,000 requests by default; the rest on the next page', async () => {
    const first = await list('service_code=graffiti');
    expect(first).toHaveLength(1000);
    expect(first[0]).toBe('BW-Z0000001');
    expect(first[999]).toBe('BW-Z0001000');
    const all = await list('');
    expect(all).toHaveLength(1000);
    expect(all.slice(0, 5)).toEqual(['BW-0000000A', 'BW-0000000E', 'BW-0000000H', 'BW-0000000G', 'BW-0000000B']);
    expect(await list('service_code=graffiti&page=2')).toEqual([
      'BW-Z0001001',
      'BW-Z0001002',
      'BW-Z0001003',
      'BW-Z0001004',
      'BW-Z0001005',
    ]);
  });
});

describe('privacy', () => {
  it('never shows private or hidden requests, in lists or by id', async () => {
    const all = jsonOf(await inject('/open311/v2/requests.json?page_size=1000&service_code=pothole'));
    expect(refs(all)).not.toContain('BW-0000000C');
    expect(refs(all)).not.toContain('BW-0000000D');
    for (const id of ['BW-0000000C', 'BW-0000000D', ids.private!, ids.hidden!]) {
      valid('errors', jsonOf(await inject(`/open311/v2/requests/${id}.json`), 404));
      const xml = await inject(`/open311/v2/requests/${id}.xml`);
      expect(xml.statusCode).toBe(404);
      expect(child(child(xmlOf(xml, 'errors'), 'error'), 'code').text).toBe('404');
    }
    // the same answer as for a request that does not exist
    const missing = json(await inject('/open311/v2/requests/BW-00000009.json'));
    const hidden = json(await inject('/open311/v2/requests/BW-0000000D.json'));
    expect(hidden[0].description.replace('BW-0000000D', 'X')).toBe(missing[0].description.replace('BW-00000009', 'X'));
  });

  it('blurs the location of a sensitive request and leaves out its address, as for the public', async () => {
    const { rows } = await t.db.query<{ lon: number; lat: number }>({
      text: 'SELECT ST_X(location) AS lon, ST_Y(location) AS lat FROM incidents WHERE id = $1',
      values: [ids.sensitive],
    });
    const [lon, lat] = blurredPoint(rows[0]!.lon, rows[0]!.lat);
    const [one] = jsonOf(await inject('/open311/v2/requests/BW-0000000E.json'));
    expect([one.long, one.lat]).toEqual([lon, lat]);
    expect([one.long, one.lat]).not.toEqual([rows[0]!.lon, rows[0]!.lat]);
    expect(one.address).toBeNull();
    const listed = jsonOf(await inject('/open311/v2/requests.json?service_code=crime-suspicious-activity'));
    expect(listed).toEqual([one]);
    const xml = child(xmlOf(await inject('/open311/v2/requests/BW-0000000E.xml'), 'service_requests'), 'request');
    expect(Number(child(xml, 'lat').text)).toBe(lat);
    expect(child(xml, 'address').text).toBe('');
  });

  it('finds a sensitive request by bbox and radius only where the public sees it', async () => {
    const { rows } = await t.db.query<{ lon: number; lat: number }>({
      text: 'SELECT ST_X(location) AS lon, ST_Y(location) AS lat FROM incidents WHERE id = $1',
      values: [ids.sensitive],
    });
    const exact = [rows[0]!.lon, rows[0]!.lat] as const;
    const blurred = blurredPoint(exact[0], exact[1]);
    const tinyBox = ([lon, lat]: readonly [number, number]) =>
      [lon - 0.00005, lat - 0.00005, lon + 0.00005, lat + 0.00005].join(',');
    const query = 'service_code=crime-suspicious-activity';
    expect(refs(jsonOf(await inject(`/open311/v2/requests.json?${query}&bbox=${tinyBox(exact)}`)))).toEqual([]);
    expect(refs(jsonOf(await inject(`/open311/v2/requests.json?${query}&bbox=${tinyBox(blurred)}`)))).toEqual([
      'BW-0000000E',
    ]);
    const near = ([lon, lat]: readonly [number, number]) => `lat=${lat}&long=${lon}&radius=5`;
    expect(refs(jsonOf(await inject(`/open311/v2/requests.json?${query}&${near(exact)}`)))).toEqual([]);
    expect(refs(jsonOf(await inject(`/open311/v2/requests.json?${query}&${near(blurred)}`)))).toEqual(['BW-0000000E']);
  });

  it('never shows anything about the reporter', async () => {
    for (const url of [
      '/open311/v2/requests.json',
      '/open311/v2/requests.xml',
      `/open311/v2/requests.json?service_request_id=BW-0000000A,BW-0000000E`,
    ]) {
      const res = await inject(url);
      expect(res.body).not.toContain(REPORTER_ID);
      expect(res.body).not.toContain('Secretsurname');
      expect(res.body).not.toContain('sannie@');
    }
  });
});

describe('errors', () => {
  const bad: Array<[string, string]> = [
    ['status=pending', 'status'],
    ['start_date=yesterday', 'start_date'],
    ['end_date=2026-13-45T00:00:00Z', 'end_date'],
    ['start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z', '90 days'],
    ['start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z', 'after end_date'],
    ['updated_after=soon', 'updated_after'],
    ['service_code=Not%20A%20Code', 'service_code'],
    ['service_request_id=not-an-id', 'service_request_id'],
    ['page_size=1001', 'page_size'],
    ['page_size=0', 'page_size'],
    ['page=0', 'page'],
    ['page=abc', 'page'],
    ['bbox=1,2,3', 'bbox'],
    ['bbox=3,2,1,4', 'bbox'],
    ['bbox=a,b,c,d', 'bbox'],
    ['lat=-26.2', 'lat and long'],
    ['lat=-26.2&long=28&radius=50001', 'radius'],
    ['lat=-26.2&long=28&radius=0', 'radius'],
    ['lat=95&long=28', 'lat'],
    ['lat=-26.2&long=abc', 'long'],
    ['extended_statuses=yes', 'extended_statuses'],
    ['status=open&status=closed', 'status'],
  ];

  it('answers bad parameters with 400 in JSON, saying which', async () => {
    for (const [query, words] of bad) {
      const res = await inject(`/open311/v2/requests.json?${query}`);
      const body = jsonOf(res, 400);
      valid('errors', body);
      expect(body[0].code, query).toBe(400);
      expect(body[0].description, query).toContain(words);
    }
  });

  it('answers bad parameters with 400 in XML', async () => {
    for (const [query, words] of bad.slice(0, 5)) {
      const res = await inject(`/open311/v2/requests.xml?${query}`);
      expect(res.statusCode, query).toBe(400);
      const error = child(xmlOf(res, 'errors'), 'error');
      expect(names(error)).toEqual(['code', 'description']);
      expect(child(error, 'code').text).toBe('400');
      expect(child(error, 'description').text).toContain(words);
    }
  });

  it('answers unknown resources and formats with 404', async () => {
    for (const url of [
      '/open311/v2/nothing.json',
      '/open311/v2/services.csv',
      '/open311/v2/requests/BW-0000000A.csv',
      '/open311/v2/requests/BW-0000000A',
    ]) {
      const res = await inject(url);
      valid('errors', jsonOf(res, 404));
    }
    const res = await inject('/open311/v2/nothing.xml');
    expect(res.statusCode).toBe(404);
    expect(child(child(xmlOf(res, 'errors'), 'error'), 'code').text).toBe('404');
  });

  it('ignores the parameters Open311 clients send anyway', async () => {
    const body = jsonOf(await inject(`/open311/v2/requests.json?${NOT_GRAFFITI}&jurisdiction_id=x&api_key=y`));
    expect(body).toHaveLength(5);
  });
});
