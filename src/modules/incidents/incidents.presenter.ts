import { pick, type Lang } from '../../i18n/i18n.js';
import { canSeeHiddenComments } from '../conversation/conversation.policy.js';
import type { Actor } from '../identity/actor.js';
import { canSeeHiddenFlag } from '../moderation/moderation.policy.js';
import { canSeeIncidentSla } from '../sla/sla.policy.js';
import { presentIncidentSla } from '../sla/sla.presenter.js';
import type { TimelineEventRow } from '../timeline/timeline.repository.js';
import { canSeeExactLocation, canSeeReporter, canView, type IncidentFacts } from './incidents.policy.js';
import type { IncidentRow } from './incidents.repository.js';
import type { Incident, TimelineItem } from './incidents.schemas.js';

/**
 * The whitelist of what an incident shows, per viewer. Privacy rules apply here and only here:
 * the reporter of an anonymous report, and the exact location (and address) of a sensitive one.
 */
// ~250 m cells: 0.00225° of latitude; longitude cells as wide in degrees, which is ~225 m at 26°S
export const BLUR_CELL_DEG = 0.00225;

/** What the policy needs to decide what a viewer may see of an incident row. */
export function presentationFacts(row: IncidentRow): IncidentFacts & { sensitive: boolean; anonymous: boolean } {
  return {
    communityId: row.community_id,
    reporterId: row.reporter_id,
    isPublic: row.is_public,
    hidden: row.hidden,
    sensitive: row.sensitive,
    anonymous: row.anonymous,
  };
}

export function presentIncident(row: IncidentRow, viewer: Actor, lang: Lang): Incident {
  // one facts object per row: lists present up to 200 rows per request
  const facts = presentationFacts(row);
  const exact = canSeeExactLocation(viewer, facts);
  const showReporter = canSeeReporter(viewer, facts);
  const incident: Incident = {
    id: row.id,
    reference: row.reference,
    title: row.title,
    description: row.description,
    category: { id: row.category_id, slug: row.category_slug, name: pick(row.category_name, lang) },
    priority: row.priority,
    status: row.status,
    location: {
      type: 'Point',
      coordinates: exact ? [row.lon, row.lat] : [blur(row.lon), blur(row.lat)],
    },
    address: exact ? row.address : null,
    communityId: row.community_id,
    reporter: showReporter && row.reporter_id ? { id: row.reporter_id, displayName: row.reporter_name ?? '' } : null,
    assignee: row.assignee_id ? { id: row.assignee_id, displayName: row.assignee_name ?? '' } : null,
    isPublic: row.is_public,
    requiresAuthority: row.requires_authority,
    authority: row.authority_id ? { id: row.authority_id, name: row.authority_name ?? '' } : null,
    metadata: row.metadata,
    duplicateOf: duplicateOf(row, viewer),
    locationBlurred: !exact,
    version: row.version,
    confirmations: row.confirmations,
    pendingApproval: row.pending_approval ?? false,
    // staff only: a shadow-banned reporter must not learn that nobody else sees their reports
    ...(canSeeHiddenFlag(viewer, facts) ? { hidden: row.hidden } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  // targets and lateness are staff working information
  if (canSeeIncidentSla(viewer, facts)) incident.sla = presentIncidentSla(row);
  if (row.distance !== undefined && row.distance !== null) {
    // a precise distance would give a blurred location away by trilateration
    incident.distance = exact ? Math.round(row.distance * 10) / 10 : Math.round(row.distance / 250) * 250;
  }
  return incident;
}

/** The incident this one was merged into, when the viewer may see that one (a private report stays unnamed). */
function duplicateOf(row: IncidentRow, viewer: Actor): Incident['duplicateOf'] {
  const target = row.duplicate_of_target;
  if (!row.duplicate_of || !target) return null;
  const visible = canView(viewer, {
    communityId: target.community_id,
    reporterId: target.reporter_id,
    isPublic: target.is_public,
    hidden: target.hidden,
  });
  return visible ? { id: row.duplicate_of, reference: target.reference } : null;
}

/** Where a viewer who may not see the exact location is told the incident is. */
export function blurredPoint(lon: number, lat: number): [number, number] {
  return [blur(lon), blur(lat)];
}

function blur(deg: number): number {
  return Math.round((Math.floor(deg / BLUR_CELL_DEG) * BLUR_CELL_DEG + BLUR_CELL_DEG / 2) * 1e6) / 1e6;
}

export function presentTimelineEvent(event: TimelineEventRow, incident: IncidentRow, viewer: Actor): TimelineItem {
  const facts = {
    communityId: incident.community_id,
    reporterId: incident.reporter_id,
    isPublic: incident.is_public,
    hidden: incident.hidden,
  };
  // The reporter's own actions would unmask an anonymous report.
  const hideActor =
    incident.anonymous &&
    event.actor_id !== null &&
    event.actor_id === incident.reporter_id &&
    !canSeeReporter(viewer, { ...facts, anonymous: true });
  // A hidden comment keeps its place in the thread; its words and the reason are for staff.
  // (Rows that crossed a bus as JSON carry the time as a string, and older ones none at all.)
  const hiddenAt = event.hidden_at ? new Date(event.hidden_at) : null;
  const staff = hiddenAt !== null && canSeeHiddenComments(viewer, facts);
  return {
    id: String(event.id),
    type: event.type,
    actor: !hideActor && event.actor_id ? { id: event.actor_id, displayName: event.actor_name ?? '' } : null,
    data: hiddenAt === null || staff ? event.data : { body: null },
    internal: event.internal,
    createdAt: event.created_at.toISOString(),
    hidden:
      hiddenAt === null ? null : { at: hiddenAt.toISOString(), reason: staff ? (event.hidden_reason ?? null) : null },
  };
}
