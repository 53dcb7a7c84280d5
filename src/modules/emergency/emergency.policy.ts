import { isStaffOf, type Actor } from '../identity/actor.js';

/** Acknowledging an emergency alert: staff of the incident's community, or admin. */
export function canAcknowledgeAlert(actor: Actor, incident: { communityId: string | null }): boolean {
  return isStaffOf(actor, incident.communityId);
}

/** Going on duty: the community's own responders and moderators (an admin is alerted at level 3 anyway). */
export function canGoOnDuty(actor: Actor, communityId: string): actor is Actor & { userId: string } {
  return actor.userId !== null && actor.roles.some((r) => r.role !== 'admin' && r.communityId === communityId);
}

/** Seeing an incident's alert: as acknowledging it. */
export const canSeeAlert = canAcknowledgeAlert;
