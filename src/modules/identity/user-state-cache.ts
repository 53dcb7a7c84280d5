import type { Database } from '../../platform/db/database.js';
import { loadUserState } from '../accounts/accounts.repository.js';
import type { RoleGrant } from './actor.js';

/**
 * What an authenticated request needs to know about its user beyond the token: the current token
 * epoch, whether the account is banned, and its roles. Kept per node for TTL_MS, so a logout,
 * password change, ban or role change made on another node takes effect within that time (the
 * node that made the change forgets the entry at once).
 */
export const USER_STATE_TTL_MS = 30_000;

export interface UserState {
  epoch: number;
  banned: boolean;
  roles: RoleGrant[];
}

export class UserStateCache {
  private readonly entries = new Map<string, { state: UserState | null; at: number }>();

  constructor(
    private readonly db: Database,
    private readonly ttlMs = USER_STATE_TTL_MS,
  ) {}

  async get(userId: string): Promise<UserState | null> {
    const now = Date.now();
    const hit = this.entries.get(userId);
    if (hit && now - hit.at < this.ttlMs) return hit.state;
    const state = await loadUserState(this.db, userId);
    if (this.entries.size > 50_000) this.entries.clear(); // bounded memory; a refill is cheap
    this.entries.set(userId, { state, at: now });
    return state;
  }

  forget(userId: string): void {
    this.entries.delete(userId);
  }
}
