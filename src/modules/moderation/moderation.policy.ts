import { isAdmin, type Actor } from '../identity/actor.js';
import { canHide, type IncidentFacts } from '../incidents/incidents.policy.js';

/**
 * Who may moderate. Two tiers, on purpose:
 *
 * - Hiding and showing again (incidents, comments, photos): the staff of the incident's community
 *   (moderators and responders) and admins. It was already the rule for comments and bulk hiding,
 *   responders meet abusive content first (on site, in triage), and it undoes cleanly.
 * - Decisions that cannot be undone or that publish: redacting text (the old words are gone for
 *   good), approving or rejecting a held report, and reading the moderation history: moderators
 *   of the incident's community and admins. Responders fix what is reported; they do not judge
 *   what may be said.
 * - Accounts and the ban list reach across every community: admins only.
 */

/** Moderator of this community (not merely responder), or admin. */
export function isModeratorOf(actor: Actor, communityId: string | null): boolean {
  if (isAdmin(actor)) return true;
  if (communityId === null) return false;
  return actor.roles.some((r) => r.role === 'moderator' && r.communityId === communityId);
}

/** Hiding an incident or a photo from the public, or showing it again (the incidents rule). */
export function canHideContent(actor: Actor, incident: IncidentFacts): boolean {
  return canHide(actor, incident);
}

/** Replacing the words of an incident or a comment for good. */
export function canRedact(actor: Actor, incident: IncidentFacts): boolean {
  return isModeratorOf(actor, incident.communityId);
}

/** Publishing or rejecting a report held by pre-moderation. */
export function canDecideApproval(actor: Actor, incident: IncidentFacts): boolean {
  return isModeratorOf(actor, incident.communityId);
}

/** Banning and unbanning accounts, and the ban list of emails and domains. */
export function canManageBans(actor: Actor): boolean {
  return isAdmin(actor);
}

/**
 * The moderation history: admins all of it (bans included); a moderator that of their
 * communities. `null` means every community the actor moderates.
 */
export function canReadHistory(actor: Actor, communityId: string | null): boolean {
  if (isAdmin(actor)) return true;
  if (communityId === null) return moderatedCommunities(actor).length > 0;
  return isModeratorOf(actor, communityId);
}

/** The communities whose history and queue a non-admin may read. */
export function moderatedCommunities(actor: Actor): string[] {
  return [...new Set(actor.roles.flatMap((r) => (r.role === 'moderator' ? [r.communityId] : [])))];
}

/** A hidden photo: the staff of its community, admins, and whoever uploaded it (marked hidden). */
export function canSeeHiddenMedia(
  actor: Actor,
  incident: IncidentFacts,
  media: { uploaderId: string | null },
): boolean {
  if (actor.userId !== null && media.uploaderId === actor.userId) return true;
  return canHideContent(actor, incident);
}

/** Why a photo was hidden: whoever may hide it. */
export function canSeeHideReason(actor: Actor, incident: IncidentFacts): boolean {
  return canHideContent(actor, incident);
}

/** Whether an incident is hidden, and why: staff (a shadow-banned reporter must not learn it). */
export function canSeeHiddenFlag(actor: Actor, incident: IncidentFacts): boolean {
  return canHideContent(actor, incident);
}
