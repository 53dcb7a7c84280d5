import { isAdmin, isStaffOf, type Actor } from '../identity/actor.js';

/** Communities and their boundaries are public; only admins create, change or delete them. */
export function canManageCommunities(actor: Actor): boolean {
  return isAdmin(actor);
}

/** Who works a community is for its own staff (to assign to each other) and admins, not the public. */
export function canListCommunityStaff(actor: Actor, communityId: string): boolean {
  return isStaffOf(actor, communityId);
}
