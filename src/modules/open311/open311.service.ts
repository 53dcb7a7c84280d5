import type { Database } from '../../platform/db/database.js';
import { ANONYMOUS } from '../identity/actor.js';
import { visibility } from '../incidents/incidents.policy.js';
import { normalizeReference } from '../incidents/incidents.references.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { MAX_RADIUS_M, STATUSES, type Status } from '../incidents/incidents.schemas.js';
import { findVisible } from '../incidents/incidents.service.js';
import { open311Status } from './open311.presenter.js';
import * as repo from './open311.repository.js';
import type { RequestsQuery } from './open311.schemas.js';

/**
 * The read side of GeoReport v2. Open311 is public: every call acts as the anonymous viewer and
 * goes through the incidents policy, so it shows exactly what a signed-out person sees.
 */

/** An answer in the spec's error format (`<errors><error><code>…`), with its HTTP status. */
export class Open311Error extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
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
