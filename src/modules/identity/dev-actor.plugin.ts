import type { FastifyInstance } from 'fastify';
import type { Database } from '../../platform/db/database.js';
import type { Actor, RoleGrant } from './actor.js';

/**
 * DEVELOPMENT ONLY: the acting user comes from request headers until accounts and tokens exist.
 *   X-Dev-User: <uuid>                            acts as that user (created on first sight)
 *   X-Dev-Roles: admin | moderator:<communityId> | responder:<communityId>, comma-separated
 * The config refuses DEV_ACTOR with NODE_ENV=production, and buildApp only registers this when
 * config.devActor is on; the identity work replaces it with real authentication.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerDevActor(app: FastifyInstance, db: Database): void {
  const known = new Set<string>();
  app.addHook('onRequest', async (request) => {
    const userHeader = request.headers['x-dev-user'];
    if (typeof userHeader !== 'string' || !UUID.test(userHeader)) return;
    const userId = userHeader.toLowerCase();
    if (!known.has(userId)) {
      await db.query({
        text: `INSERT INTO users (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
        values: [userId, `Dev user ${userId.slice(0, 8)}`],
      });
      known.add(userId);
    }
    request.actor = { userId, roles: parseRoles(request.headers['x-dev-roles']) } satisfies Actor;
  });
}

function parseRoles(header: string | string[] | undefined): RoleGrant[] {
  if (typeof header !== 'string') return [];
  const roles: RoleGrant[] = [];
  for (const part of header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    if (part === 'admin') roles.push({ role: 'admin', communityId: null });
    const [role, communityId] = part.split(':');
    if ((role === 'moderator' || role === 'responder') && communityId && UUID.test(communityId)) {
      roles.push({ role, communityId: communityId.toLowerCase() });
    }
  }
  return roles;
}
