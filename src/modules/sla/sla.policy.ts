import { isAdmin, isStaffOf, refusal, type Actor } from '../identity/actor.js';

/**
 * SLA targets and how late incidents are: working information for staff, not for the public.
 * Admins set targets; any staff member reads them; an incident's due dates and lateness show to
 * staff of its community.
 */
export function canManageSla(actor: Actor): boolean {
  return isAdmin(actor);
}

export function canReadSlaTargets(actor: Actor): boolean {
  return actor.userId !== null && actor.roles.length > 0;
}

export function canSeeIncidentSla(actor: Actor, incident: { communityId: string | null }): boolean {
  return isStaffOf(actor, incident.communityId);
}

/**
 * Where an `overdue` list filter may look: everywhere for admins, the actor's own communities for
 * other staff (a filter on lateness would otherwise tell the lateness of other communities'
 * public incidents); nobody else may filter on it (401 signed out, 403 otherwise).
 */
export function overdueScope(actor: Actor): { kind: 'all' } | { kind: 'communities'; ids: string[] } {
  if (isAdmin(actor)) return { kind: 'all' };
  const ids = [...new Set(actor.roles.flatMap((r) => (r.role === 'admin' ? [] : [r.communityId])))];
  if (ids.length === 0) throw refusal(actor);
  return { kind: 'communities', ids };
}
