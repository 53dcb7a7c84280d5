import type { Actor } from '../identity/actor.js';

/**
 * Who may do what with personal data: a person, signed in, over their own data only (export,
 * erasure, consents). No role reaches another person's export or erases their account here:
 * staff act on content (moderation), not on whole people.
 */
export function canManageOwnData(actor: Actor): boolean {
  return actor.userId !== null;
}
