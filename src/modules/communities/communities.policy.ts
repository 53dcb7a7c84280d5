import { isAdmin, type Actor } from '../identity/actor.js';

/** Communities and their boundaries are public; only admins create, change or delete them. */
export function canManageCommunities(actor: Actor): boolean {
  return isAdmin(actor);
}
