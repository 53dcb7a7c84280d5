import { isAdmin, isStaffOf, type Actor } from '../identity/actor.js';

/**
 * Who may see statistics of what. Counts over private reports are staff knowledge: a moderator
 * or responder sees their own communities (with those nested inside), an admin everything. The
 * public summary and the heat map show public reports only, to anyone.
 */
export type StatsScope = { kind: 'all' } | { kind: 'communities'; ids: string[] };

/** null: not allowed (the caller answers 401 or 403) */
export function statsScope(actor: Actor, communityId: string | null): StatsScope | null {
  if (communityId !== null) return isStaffOf(actor, communityId) ? { kind: 'communities', ids: [communityId] } : null;
  if (isAdmin(actor)) return { kind: 'all' };
  const own = [...new Set(actor.roles.flatMap((r) => (r.role === 'admin' ? [] : [r.communityId])))];
  return own.length > 0 ? { kind: 'communities', ids: own } : null;
}
