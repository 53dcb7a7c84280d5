import type { Database } from '../../platform/db/database.js';
import { pick, t, type Lang } from '../../i18n/i18n.js';
import { checkAttributeValues } from '../categories/categories.attributes.js';
import type { CategoryAttribute } from '../categories/categories.schemas.js';
import { ANONYMOUS } from '../identity/actor.js';
import { visibility } from '../incidents/incidents.policy.js';
import { normalizeReference } from '../incidents/incidents.references.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { MAX_RADIUS_M, STATUSES, type Status } from '../incidents/incidents.schemas.js';
import { createIncident, findVisible } from '../incidents/incidents.service.js';
import { keyHolder, verifyKey } from './open311-keys.service.js';
import { applyUpdate } from '../authorities/authorities.inbound.js';
import { findAuthority } from '../authorities/authorities.repository.js';
import type { Form, FormValue } from './open311.form.js';
import { AppError } from '../../platform/http/errors.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import { DESCRIPTION_MAX, open311Status } from './open311.presenter.js';
import * as repo from './open311.repository.js';
import type { RequestsQuery, UpdatesQuery } from './open311.schemas.js';

/**
 * The read side of GeoReport v2. Open311 is public: every call acts as the anonymous viewer and
 * goes through the incidents policy, so it shows exactly what a signed-out person sees.
 */

/** An answer in the spec's error format (`<errors><error><code>…`), with its HTTP status. */
export class Open311Error extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 415,
    readonly description: string,
  ) {
    super(description);
    this.name = 'Open311Error';
  }
}

const bad = (description: string) => new Open311Error(400, description);

export const DEFAULT_WINDOW_DAYS = 90;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_RADIUS_M = 1000;
const DAY_MS = 86_400_000;
const MAX_IDS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVICE_CODE = /^[a-z0-9][a-z0-9-]{0,62}$/;
// ISO 8601 / W3C date-time with a time zone, or a bare date (midnight UTC)
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

export async function listServices(db: Database) {
  return repo.listServices(db);
}

export async function getService(db: Database, code: string) {
  const row = SERVICE_CODE.test(code) ? await repo.findService(db, code) : null;
  if (!row) throw new Open311Error(404, `No service with service_code ${code}.`);
  return row;
}

export async function getRequest(db: Database, id: string): Promise<IncidentRow> {
  // the same 404 for a missing and a private request: a private report's existence is not revealed
  return findVisible(db, ANONYMOUS, id);
}

export async function listRequests(db: Database, filter: repo.RequestFilter): Promise<IncidentRow[]> {
  return repo.listRequests(db, filter);
}

/** The query of GET /requests, checked and decided; `now` is a parameter for tests. */
export function parseRequestsQuery(q: RequestsQuery, now = new Date()): repo.RequestFilter {
  const pageSize = integer('page_size', q.page_size, 1, MAX_PAGE_SIZE) ?? MAX_PAGE_SIZE;
  const page = integer('page', q.page, 1, 1_000_000) ?? 1;
  const base = { visibility: visibility(ANONYMOUS), limit: pageSize, offset: (page - 1) * pageSize };
  const none = {
    ids: null,
    serviceCodes: null,
    statuses: null,
    from: null,
    to: null,
    updatedAfter: null,
    updatedBefore: null,
    bbox: null,
    near: null,
  };

  // With ids every other filter is ignored (the spec), the time window too.
  const ids = list(q.service_request_id);
  if (ids) {
    if (ids.length > MAX_IDS) throw bad(`service_request_id may list at most ${MAX_IDS} ids.`);
    const uuids: string[] = [];
    const references: string[] = [];
    for (const id of ids) {
      if (UUID.test(id)) {
        uuids.push(id.toLowerCase());
        continue;
      }
      const reference = normalizeReference(id);
      if (!reference) throw bad(`service_request_id: ${id} is not a request id (like BW-7K3Q9D2M).`);
      references.push(reference);
    }
    return { ...base, ...none, ids: { uuids, references } };
  }

  const serviceCodes = list(q.service_code);
  for (const code of serviceCodes ?? []) {
    if (!SERVICE_CODE.test(code)) throw bad(`service_code: ${code} is not a service code.`);
  }

  let statuses: Status[] | null = null;
  const wanted = list(q.status);
  if (wanted) {
    const set = new Set<Status>();
    for (const s of wanted) {
      if (s === 'open' || s === 'closed') {
        for (const st of STATUSES) if (open311Status(st) === s) set.add(st);
      } else if ((STATUSES as readonly string[]).includes(s)) {
        // our own statuses, as extended_statuses=true shows them
        set.add(s as Status);
      } else {
        throw bad(`status: ${s} is not open or closed.`);
      }
    }
    statuses = [...set];
  }

  // start_date and end_date: the last 90 days unless given; never more than 90 days
  const start = date('start_date', q.start_date);
  // end_date is the last moment included; a bare date includes its whole day
  const endDate = date('end_date', q.end_date);
  const end = endDate && q.end_date?.length === 10 ? new Date(endDate.getTime() + DAY_MS - 1) : endDate;
  const window = DEFAULT_WINDOW_DAYS * DAY_MS;
  const to = end ?? (start ? new Date(start.getTime() + window) : now);
  const from = start ?? new Date(to.getTime() - window);
  if (from.getTime() > to.getTime()) throw bad('start_date must not be after end_date.');
  if (to.getTime() - from.getTime() > window) {
    throw bad(`start_date and end_date may span at most ${DEFAULT_WINDOW_DAYS} days.`);
  }
  const updatedAfter = date('updated_after', q.updated_after);
  const updatedBefore = date('updated_before', q.updated_before);

  let bbox: [number, number, number, number] | null = null;
  if (q.bbox !== undefined) {
    const parts = q.bbox.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
    const [minLon, minLat, maxLon, maxLat] = parts;
    if (
      parts.length !== 4 ||
      !parts.every(Number.isFinite) ||
      !(minLon! >= -180 && maxLon! <= 180 && minLat! >= -90 && maxLat! <= 90) ||
      !(minLon! < maxLon! && minLat! < maxLat!)
    ) {
      throw bad('bbox must be minlon,minlat,maxlon,maxlat in degrees, with min < max.');
    }
    bbox = [minLon!, minLat!, maxLon!, maxLat!];
  }

  let near: repo.RequestFilter['near'] = null;
  if (q.lat !== undefined || q.long !== undefined || q.radius !== undefined) {
    if (q.lat === undefined || q.long === undefined) throw bad('lat and long go together (and radius needs them).');
    const lat = number('lat', q.lat, -85, 85);
    const lon = number('long', q.long, -180, 180);
    const radius = q.radius === undefined ? DEFAULT_RADIUS_M : number('radius', q.radius, 1, MAX_RADIUS_M);
    near = { lon, lat, radius };
  }

  return {
    ...base,
    ids: null,
    serviceCodes,
    statuses,
    from: from.toISOString(),
    to: to.toISOString(),
    updatedAfter: updatedAfter?.toISOString() ?? null,
    updatedBefore: updatedBefore?.toISOString() ?? null,
    bbox,
    near,
  };
}

function list(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return null;
  return [...new Set(items)];
}

function date(name: string, value: string | undefined): Date | null {
  if (value === undefined || value === '') return null;
  const parsed = DATE_TIME.test(value) ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value) : null;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw bad(`${name} must be an ISO 8601 date-time with a time zone, like 2026-01-31T14:00:00Z.`);
  }
  return parsed;
}

function number(name: string, value: string, min: number, max: number): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw bad(`${name} must be a number from ${min} to ${max}.`);
  return n;
}

function integer(name: string, value: string | undefined, min: number, max: number): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw bad(`${name} must be a whole number from ${min} to ${max}.`);
  }
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Write side: POST /requests, GET /tokens/{token}, GET /servicerequestupdates

/** The key's id; 403 (the spec's answer) when the key is missing, unknown or revoked, alike. */
export async function requireKey(db: Database, key: FormValue | undefined): Promise<string> {
  const keyId = typeof key === 'string' ? await verifyKey(db, key) : null;
  if (!keyId) throw new Open311Error(403, 'api_key is missing or not valid.');
  return keyId;
}

export const TITLE_MAX = 120;
export const ADDRESS_MAX = 500;
const ATTRIBUTE = /^attribute\[([^\][]+)\](\[\])?$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export interface PostContext {
  lang: Lang;
  requestId: string;
  clientAddress: string;
}

export interface PostedRequest {
  /** the incident's reference: the service_request_id */
  reference: string;
  /** the incident's uuid: the token */
  token: string;
}

/**
 * POST /requests: a new public, anonymous incident from a trusted client (its API key).
 *
 * Privacy: the contact fields of the spec (email, first_name, last_name, phone, device_id,
 * account_id) are read by no one and stored nowhere: the report is anonymous, and the person
 * reporting is the council's to contact. `media_url` is not fetched either (a URL the client
 * chooses would make this server request anything on its network). Neither are address_id and
 * zipcode used, nor is address_string geocoded: lat and long place the report.
 */
export async function postRequest(db: Database, ctx: PostContext, form: Form): Promise<PostedRequest> {
  const keyId = await requireKey(db, form.api_key);

  const code = single(form, 'service_code')?.trim();
  if (!code) throw bad('service_code is required.');
  const category = await getService(db, code);

  const latText = single(form, 'lat');
  const longText = single(form, 'long');
  if (latText === undefined || latText.trim() === '' || longText === undefined || longText.trim() === '') {
    throw bad(
      'lat and long are required: this server places a request by lat and long only ' +
        '(address_string and address_id are not looked up).',
    );
  }
  const lat = number('lat', latText, -90, 90);
  const long = number('long', longText, -180, 180);

  const description = (single(form, 'description') ?? '').trim();
  if (Array.from(description).length > DESCRIPTION_MAX) {
    throw bad(`description may be at most ${DESCRIPTION_MAX} characters long.`);
  }
  const address = single(form, 'address_string')?.trim() ?? '';
  if (Array.from(address).length > ADDRESS_MAX) {
    throw bad(`address_string may be at most ${ADDRESS_MAX} characters long.`);
  }

  const metadata = attributeAnswers(form, category.attributes, ctx.lang);

  const created = await createIncident(
    db,
    { actor: ANONYMOUS, lang: ctx.lang, requestId: ctx.requestId, clientAddress: ctx.clientAddress },
    {
      title: titleOf(description, pick(category.name, ctx.lang)),
      description,
      categoryId: category.id,
      location: { type: 'Point', coordinates: [long, lat] },
      address: address === '' ? null : address,
      isPublic: true,
      anonymous: true,
      metadata,
    },
    null,
    { via: 'open311', keyId },
  );
  return { reference: created.body.reference, token: created.body.id };
}

/**
 * The `attribute[code]` fields as the incident's metadata, typed as the category's attributes
 * say (a form only carries strings), and checked as the native API checks metadata. Only the
 * category's own attributes are kept: metadata is public, and a client's other fields are not
 * answers to our questions.
 */
export function attributeAnswers(
  form: Form,
  attributes: readonly CategoryAttribute[],
  lang: Lang,
): Record<string, unknown> {
  const given = new Map<string, string[]>();
  for (const [key, value] of Object.entries(form)) {
    const match = ATTRIBUTE.exec(key);
    if (!match) continue;
    const code = match[1]!;
    given.set(code, [...(given.get(code) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  const answers: Record<string, unknown> = {};
  for (const a of attributes) {
    const values = given.get(a.code);
    if (values === undefined) continue;
    const nonEmpty = values.filter((v) => v.trim() !== '');
    if (a.datatype === 'multivaluelist') {
      answers[a.code] = nonEmpty;
    } else if (values.length > 1) {
      throw bad(`attribute[${a.code}] may be given once.`);
    } else if (a.datatype === 'number') {
      const text = (values[0] ?? '').trim();
      // a non-number stays text, for the check below to name it
      answers[a.code] = NUMBER.test(text) ? Number(text) : text;
    } else {
      answers[a.code] = values[0] ?? '';
    }
  }
  const errors = checkAttributeValues(attributes, answers, '');
  if (errors.length > 0) {
    throw bad(
      errors.map((e) => `attribute[${e.path.replace(/^\//, '')}] ${t(lang, e.message, e.params)}`).join('; ') + '.',
    );
  }
  return answers;
}

/** The first line of the description, cut at a word to at most 120 characters; else the service's name. */
export function titleOf(description: string, serviceName: string): string {
  const line = (description.split(/\r\n|\r|\n/, 1)[0] ?? '').trim();
  if (line === '') return serviceName;
  const chars = Array.from(line);
  if (chars.length <= TITLE_MAX) return line;
  const head = chars.slice(0, TITLE_MAX).join('');
  const space = head.lastIndexOf(' ');
  // one word longer than the whole title is cut where it must be
  const cut = space > 0 ? head.slice(0, space) : chars.slice(0, TITLE_MAX - 1).join('');
  return `${cut.trimEnd()}…`;
}

/** GET /tokens/{token}: the token is the incident's uuid; 404 for anything the public cannot see. */
export async function findToken(db: Database, token: string): Promise<PostedRequest> {
  if (!UUID.test(token)) throw new Open311Error(404, `No request with token ${token}.`);
  const row = await findVisible(db, ANONYMOUS, token);
  return { reference: row.reference, token: row.id };
}

export const UPDATES_WINDOW_HOURS = 24;
export const MAX_UPDATES = 1000;

/**
 * GET /servicerequestupdates (mySociety's extension): the public timeline of public requests in
 * a time window, oldest first. Without dates, the last 24 hours; at most 90 days at once.
 */
export async function listUpdates(db: Database, q: UpdatesQuery, now = new Date()): Promise<repo.UpdateRow[]> {
  const start = date('start_date', q.start_date);
  const endDate = date('end_date', q.end_date);
  const end = endDate && q.end_date?.length === 10 ? new Date(endDate.getTime() + DAY_MS - 1) : endDate;
  const to = end ?? now;
  const from = start ?? new Date(to.getTime() - UPDATES_WINDOW_HOURS * 3_600_000);
  if (from.getTime() > to.getTime()) throw bad('start_date must not be after end_date.');
  if (to.getTime() - from.getTime() > DEFAULT_WINDOW_DAYS * DAY_MS) {
    throw bad(`start_date and end_date may span at most ${DEFAULT_WINDOW_DAYS} days.`);
  }
  return repo.listUpdates(db, {
    from: from.toISOString(),
    to: to.toISOString(),
    visibility: visibility(ANONYMOUS),
    limit: MAX_UPDATES,
  });
}

function single(form: Form, name: string): string | undefined {
  const value = form[name];
  if (Array.isArray(value)) throw bad(`${name} may be given once.`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Inbound: POST /servicerequestupdates (an authority's system pushes status back)

/**
 * An update from an authority, with the Open311 key made for it. It moves the incident as
 * the authority says (authorities.inbound.ts: the same path as their signed webhooks and our
 * polling), once per update_id.
 */
export async function postUpdate(db: Database, form: Form): Promise<{ update_id: string }> {
  const holder = await keyHolder(db, typeof form.api_key === 'string' ? form.api_key : undefined);
  const authority = holder?.authorityId ? await findAuthority(db, holder.authorityId) : null;
  if (!authority) throw new Open311Error(403, "api_key is missing, not valid, or not an authority's key.");
  const field = (name: string, max: number, required: boolean): string | undefined => {
    const value = form[name];
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
      if (required) throw bad(`${name} is required.`);
      return undefined;
    }
    if (typeof value !== 'string') throw bad(`${name} must be given once.`);
    if ([...value].length > max) throw bad(`${name} must be at most ${max} characters.`);
    return value.trim();
  };
  const update = {
    update_id: field('update_id', 200, true)!,
    service_request_id: field('service_request_id', 200, true)!,
    status: field('status', 64, true)!,
    description: field('description', 4000, false),
  };
  try {
    await applyUpdate(db, authority, update);
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found') {
      throw new Open311Error(404, `No request ${update.service_request_id} was sent to ${authority.name}.`);
    }
    if (err instanceof AppError && err.code === 'bad_request') throw bad(`Unknown status ${update.status}.`);
    if (err instanceof AppError && err.code === 'conflict') {
      throw bad(`The request cannot move to ${update.status} from where it is (${String(err.params.from)}).`);
    }
    throw err;
  }
  return { update_id: update.update_id };
}

// ---------------------------------------------------------------------------------------------
// media_url: the first photo of each request

/**
 * Signed links (MEDIA_URL_TTL_SECONDS) to the first photo of each incident, as a JPEG: the
 * same media the incident's public page shows (only public incidents are listed here at all).
 */
export async function photoUrls(
  db: Database,
  storage: BlobStorage,
  ttlSeconds: number,
  incidentIds: readonly string[],
): Promise<Map<string, string>> {
  if (incidentIds.length === 0) return new Map();
  const { rows } = await db.query<{ incident_id: string; key: string }>({
    name: 'open311.firstPhotos',
    text: `SELECT DISTINCT ON (m.incident_id) m.incident_id, v->>'key' AS key
           FROM media m CROSS JOIN LATERAL jsonb_array_elements(m.variants) v
           WHERE m.incident_id = ANY($1::uuid[]) AND m.kind = 'image' AND v->>'name' = 'display.jpg'
             AND m.hidden_at IS NULL
           ORDER BY m.incident_id, m.created_at, m.id`,
    values: [incidentIds],
  });
  const urls = await Promise.all(
    rows.map(async (r) => {
      const url = await storage.signedUrl(r.key, {
        contentType: 'image/jpeg',
        disposition: 'inline',
        expiresInSeconds: ttlSeconds,
      });
      return [r.incident_id, url] as const;
    }),
  );
  return new Map(urls);
}
