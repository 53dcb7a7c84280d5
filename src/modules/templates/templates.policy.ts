import { isAdmin, type Actor } from '../identity/actor.js';

/** Response templates are global, like categories: admins write them. */
export function canManageTemplates(actor: Actor): boolean {
  return isAdmin(actor);
}

/** Staff pick a template when they move an incident, so every staff member may read them. */
export function canReadTemplates(actor: Actor): boolean {
  return actor.userId !== null && actor.roles.length > 0;
}
