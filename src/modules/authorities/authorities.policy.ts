import { isAdmin, type Actor } from '../identity/actor.js';

/** Authorities hold delivery secrets and decide where reports go: admins only, reading too. */
export function canManageAuthorities(actor: Actor): boolean {
  return isAdmin(actor);
}

/** Forwarding that failed for good, and sending it again: admins only. */
export function canManageForwarding(actor: Actor): boolean {
  return isAdmin(actor);
}
