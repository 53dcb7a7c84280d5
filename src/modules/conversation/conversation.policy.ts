import { isStaffOf, type Actor } from '../identity/actor.js';
import { canSeeInternalNotes, type IncidentFacts } from '../incidents/incidents.policy.js';

/**
 * Who may do what in the conversation on an incident. Taking part follows seeing the incident
 * (incidents.policy canView, checked by findVisible): whoever may see it and is signed in may
 * comment, confirm and follow.
 */

/** Comments, "me too" and following need a person behind them. */
export function canParticipate(actor: Actor): boolean {
  return actor.userId !== null;
}

/** Notes only staff read are written by staff of its community (and admins). */
export function canWriteInternalNote(actor: Actor, incident: IncidentFacts): boolean {
  return canParticipate(actor) && canSeeInternalNotes(actor, incident);
}

/** Hiding and unhiding comments: moderators and responders of its community, and admins. */
export function canModerateComments(actor: Actor, incident: IncidentFacts): boolean {
  return isStaffOf(actor, incident.communityId);
}

/** A hidden comment's body and the reason it was hidden: whoever may moderate it. */
export function canSeeHiddenComments(actor: Actor, incident: IncidentFacts): boolean {
  return canModerateComments(actor, incident);
}

/** A reporter's own "me too" would count them twice. */
export function canConfirm(actor: Actor, incident: IncidentFacts): boolean {
  return canParticipate(actor) && incident.reporterId !== actor.userId;
}
