import { isAdmin, type Actor } from '../identity/actor.js';

/**
 * The audit trail holds every user's actions, addresses and request ids: admins read it, nobody
 * else. Nobody changes it (the database refuses; see migration 0003).
 */
export function canReadAudit(actor: Actor): boolean {
  return isAdmin(actor);
}
