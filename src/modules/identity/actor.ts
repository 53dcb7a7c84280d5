import { AppError } from '../../platform/http/errors.js';

/**
 * Who is acting. Every service takes an explicit actor, so the HTTP layer, the CLI, jobs and
 * (later) the WebSocket and Open311 all pass through the same permission checks.
 */
export type StaffRole = 'moderator' | 'responder';

export type RoleGrant = { role: 'admin'; communityId: null } | { role: StaffRole; communityId: string };

export interface Actor {
  /** null when signed out */
  userId: string | null;
  roles: readonly RoleGrant[];
}

export const ANONYMOUS: Actor = Object.freeze({ userId: null, roles: Object.freeze([]) });

export function isAdmin(actor: Actor): boolean {
  return actor.roles.some((r) => r.role === 'admin');
}

/** Is the actor moderator or responder of this community, or admin? */
export function isStaffOf(actor: Actor, communityId: string | null): boolean {
  if (isAdmin(actor)) return true;
  if (communityId === null) return false;
  return actor.roles.some((r) => r.role !== 'admin' && r.communityId === communityId);
}

/** A refused action on something the actor may see: 401 when signed out, else 403. */
export function refusal(actor: Actor): AppError {
  return actor.userId === null
    ? new AppError('unauthorized', 'error.unauthorized.detail')
    : new AppError('forbidden', 'error.forbidden.detail');
}
