import { isAdmin, isStaffOf, type Actor } from '../identity/actor.js';

/**
 * Exports hold whole reports, private ones included: staff of the community asked for (with the
 * communities nested in it), admins anything. Which fields each row shows (the reporter, an exact
 * location) is still decided per row by the incident policy, as the API shows them.
 */
export function canExport(actor: Actor, communityId: string | null): boolean {
  if (isAdmin(actor)) return true;
  return communityId !== null && isStaffOf(actor, communityId);
}

/** Importing history writes reports nobody made through the app: admins (and the CLI) only. */
export function canImport(actor: Actor): boolean {
  return isAdmin(actor);
}
