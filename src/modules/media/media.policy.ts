import { isAdmin, isStaffOf, type Actor } from '../identity/actor.js';
import type { IncidentFacts } from '../incidents/incidents.policy.js';

/**
 * Who may do what with an incident's files. Seeing them follows seeing the incident
 * (incidents.policy canView): whoever may fetch the incident may list its files and open them.
 */

/** Adding files: the reporter and the staff of its community (API.md). */
export function canUpload(actor: Actor, incident: IncidentFacts): boolean {
  if (actor.userId !== null && incident.reporterId === actor.userId) return true;
  return isStaffOf(actor, incident.communityId);
}

/** Removing a file: whoever added it, and the staff of its community. */
export function canDelete(actor: Actor, incident: IncidentFacts, media: { uploaderId: string | null }): boolean {
  if (actor.userId !== null && media.uploaderId === actor.userId) return true;
  return isStaffOf(actor, incident.communityId);
}

/** The untouched upload may hold the GPS position and the camera's serial: admins only, audited. */
export function canSeeOriginal(actor: Actor): boolean {
  return isAdmin(actor);
}
