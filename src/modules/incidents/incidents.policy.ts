import { isAdmin, isStaffOf, type Actor } from '../identity/actor.js';

/**
 * Who may do what with an incident: the one place these rules live. Services ask it for single
 * incidents, and the list query takes its `visibility` so lists show exactly what a fetch would.
 */
export interface IncidentFacts {
  communityId: string | null;
  reporterId: string | null;
  isPublic: boolean;
  /** kept from the public (a banned reporter's reports): staff and the reporter still see it */
  hidden: boolean;
}

export function canView(actor: Actor, incident: IncidentFacts): boolean {
  if (incident.isPublic && !incident.hidden) return true;
  if (actor.userId !== null && incident.reporterId === actor.userId) return true;
  return isStaffOf(actor, incident.communityId);
}

/** Status, priority, assignment, category and visibility: staff of its community, or admin. */
export function canTriage(actor: Actor, incident: IncidentFacts): boolean {
  return isStaffOf(actor, incident.communityId);
}

/** Moderation: hiding an incident from the public, or showing it again: staff of its community, or admin. */
export function canHide(actor: Actor, incident: IncidentFacts): boolean {
  return isStaffOf(actor, incident.communityId);
}

/** The reporter of an anonymous report is known only to staff of its community (and to themself). */
export function canSeeReporter(actor: Actor, incident: IncidentFacts & { anonymous: boolean }): boolean {
  if (!incident.anonymous) return true;
  if (actor.userId !== null && incident.reporterId === actor.userId) return true;
  return isStaffOf(actor, incident.communityId);
}

/** Exact location of a sensitive incident: staff of its community and the reporter. */
export function canSeeExactLocation(actor: Actor, incident: IncidentFacts & { sensitive: boolean }): boolean {
  if (!incident.sensitive) return true;
  if (actor.userId !== null && incident.reporterId === actor.userId) return true;
  return isStaffOf(actor, incident.communityId);
}

export function canSeeInternalNotes(actor: Actor, incident: IncidentFacts): boolean {
  return isStaffOf(actor, incident.communityId);
}

/** Signed in; or signed out where the community of the point allows anonymous reporting. */
export function canCreate(actor: Actor, community: { anonymousReporting: boolean } | null): boolean {
  return actor.userId !== null || community?.anonymousReporting === true;
}

/** Title, description and location: the reporter, while nobody has acted on the report yet. */
export function canEditContent(actor: Actor, incident: IncidentFacts & { status: string }): boolean {
  return actor.userId !== null && incident.reporterId === actor.userId && incident.status === 'reported';
}

/** Deleting an incident for good: admins, and the reporter withdrawing it before anyone acted. */
export function canDelete(actor: Actor, incident: IncidentFacts & { status: string }): boolean {
  if (isAdmin(actor)) return true;
  return actor.userId !== null && incident.reporterId === actor.userId && incident.status === 'reported';
}

/** The rows a list may contain for this actor, as a predicate the repository turns into SQL. */
export type Visibility = { kind: 'all' } | { kind: 'public'; orReporterId: string | null; orCommunityIds: string[] };

export function visibility(actor: Actor): Visibility {
  if (isAdmin(actor)) return { kind: 'all' };
  const communities = actor.roles.flatMap((r) => (r.role === 'admin' ? [] : [r.communityId]));
  return { kind: 'public', orReporterId: actor.userId, orCommunityIds: [...new Set(communities)] };
}
