import { isAdmin, type Actor } from '../identity/actor.js';

/**
 * Who may manage accounts: listing them and granting or taking away roles reaches across every
 * community, so admins only. (Bans are the moderation module's, with the same rule.)
 */
export function canManageAccounts(actor: Actor): boolean {
  return isAdmin(actor);
}
