import { isAdmin, type Actor } from '../identity/actor.js';

/** Categories are global: only admins create, edit or deactivate them. */
export function canManageCategories(actor: Actor): boolean {
  return isAdmin(actor);
}
