import type { FastifyInstance } from 'fastify';
import { AppError } from '../../platform/http/errors.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import type { Realtime } from './realtime.js';

/** Client frames larger than this close the socket (1009): the protocol's messages are tiny. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

/**
 * `GET /api/v1/ws`: the WebSocket upgrade. Browsers are held to the allowed origins (the app's
 * own and CORS_ORIGINS), since a WebSocket is not covered by CORS; clients without an Origin
 * header (apps, servers) pass. A Bearer header signs the socket in at once; browsers send
 * `{"type":"auth"}` as their first message instead (tokens never go in URLs).
 */
export async function realtimeRoutes(
  app: FastifyInstance,
  deps: { realtime: Realtime; allowedOrigins: readonly string[]; userState: UserStateCache },
): Promise<void> {
  const allowed = new Set(deps.allowedOrigins);
  app.get(
    '/ws',
    {
      websocket: true,
      config: { rateLimitClass: 'read' },
      schema: { tags: ['realtime'], summary: 'Live updates over WebSocket (see the Realtime section of the API)' },
      onRequest: async (request) => {
        const origin = request.headers.origin;
        if (origin !== undefined && !allowed.has(origin)) throw new AppError('forbidden', 'error.forbidden.detail');
      },
    },
    (socket, request) => {
      const userId = request.actor.userId;
      const epoch = userId === null ? null : deps.userState.get(userId).then((s) => s?.epoch ?? null);
      deps.realtime.accept(socket, { lang: request.lang, userId, epoch });
    },
  );
}
