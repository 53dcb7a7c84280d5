import { pick, type Lang } from '../../i18n/i18n.js';
import { sortAttributes } from '../categories/categories.presenter.js';
import type { CategoryRow } from '../categories/categories.repository.js';
import { LIST_DATATYPES } from '../categories/categories.schemas.js';
import { ANONYMOUS } from '../identity/actor.js';
import { presentIncident } from '../incidents/incidents.presenter.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import type { Status } from '../incidents/incidents.schemas.js';
import type { UpdateRow } from './open311.repository.js';

/**
 * GeoReport v2 shapes, field for field in the spec's order. Whitelists like every presenter:
 * nothing about the reporter ever appears, and an incident's location and address are what the
 * public sees (presentIncident for the anonymous viewer: blurred for sensitive categories).
 */
export const DESCRIPTION_MAX = 4000;

const OPEN: ReadonlySet<Status> = new Set(['reported', 'acknowledged', 'in_progress']);

export function open311Status(status: Status): 'open' | 'closed' {
  return OPEN.has(status) ? 'open' : 'closed';
}

/** W3C / ISO 8601 in UTC to the second: `2026-11-26T14:41:25Z` (Postgres gives microseconds). */
export function w3cDate(rfc3339: string): string {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) throw new Error(`not a date: ${rfc3339}`);
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function presentService(row: CategoryRow, lang: Lang) {
  return {
    service_code: row.slug,
    service_name: pick(row.name, lang),
    description: pick(row.description, lang),
    metadata: row.attributes.length > 0,
    type: 'realtime',
    // categories have neither yet; the fields stay, empty, for clients that expect them
    keywords: null,
    group: null,
  };
}

export function presentServiceDefinition(row: CategoryRow, lang: Lang) {
  return {
    service_code: row.slug,
    attributes: sortAttributes(row.attributes).map((a, index) => ({
      // every attribute is a question for the person reporting (none is informational only)
      variable: true,
      code: a.code,
      datatype: a.datatype,
      required: a.required,
      datatype_description: null,
      // the spec's order starts at 1 and has no gaps
      order: index + 1,
      description: pick(a.description, lang),
      ...(LIST_DATATYPES.includes(a.datatype)
        ? { values: (a.values ?? []).map((v) => ({ key: v.key, name: pick(v.name, lang) })) }
        : {}),
    })),
  };
}

/** `mediaUrl`: a signed link to its first photo (JPEG, what every Open311 client can show), if any. */
export function presentRequest(
  row: IncidentRow,
  lang: Lang,
  extendedStatuses: boolean,
  mediaUrl: string | null = null,
) {
  // the public's view of the incident decides what the location and address may show
  const seen = presentIncident(row, ANONYMOUS, lang);
  const [long, lat] = seen.location.coordinates;
  return {
    service_request_id: row.reference,
    status: extendedStatuses ? row.status : open311Status(row.status),
    status_notes: null,
    service_name: seen.category.name,
    service_code: row.category_slug,
    description: requestDescription(row.title, row.description),
    agency_responsible: row.authority_name ?? null,
    service_notice: null,
    requested_datetime: w3cDate(row.created_at),
    updated_datetime: w3cDate(row.updated_at),
    expected_datetime: null,
    address: seen.address,
    address_id: null,
    zipcode: null,
    lat,
    long,
    media_url: mediaUrl,
  };
}

/**
 * Title, a blank line, the description; at most 4,000 characters (whole code points). A report
 * made over Open311 has its title from the description's first line: the description alone then.
 */
export function requestDescription(title: string, description: string): string {
  const stem = title.endsWith('…') ? title.slice(0, -1) : title;
  const text =
    description.trim() === '' ? title : description.startsWith(stem) ? description : `${title}\n\n${description}`;
  const chars = Array.from(text);
  return chars.length <= DESCRIPTION_MAX ? text : chars.slice(0, DESCRIPTION_MAX).join('');
}

/** The answer to POST /requests and GET /tokens/{token}: the id and the token (the incident's uuid). */
export function presentPosted(posted: { reference: string; token: string }, withNotice: boolean) {
  return {
    service_request_id: posted.reference,
    token: posted.token,
    ...(withNotice ? { service_notice: null, account_id: null } : {}),
  };
}

/**
 * mySociety's extended statuses (FixMyStreet's Open311 updates), the nearest to each of ours.
 * FixMyStreet turns them into its own states: fixed, investigating, action scheduled and so on.
 */
export const UPDATE_STATUS: Readonly<Record<Status, string>> = {
  reported: 'open',
  acknowledged: 'investigating',
  in_progress: 'in_progress',
  resolved: 'fixed',
  closed: 'closed',
  rejected: 'no_further_action',
  duplicate: 'duplicate',
};

export function presentUpdate(row: UpdateRow) {
  return {
    update_id: row.id,
    service_request_id: row.reference,
    status: UPDATE_STATUS[row.status] ?? 'open',
    updated_datetime: w3cDate(new Date(row.created_at).toISOString()),
    // a status change has no words of its own: absent is null (an empty element in XML)
    description: row.body ?? null,
    media_url: null,
  };
}
