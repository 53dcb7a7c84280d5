import type { FastifyInstance } from 'fastify';
import { AppError } from '../../platform/http/errors.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import type { Realtime } from './realtime.js';

/** Client frames larger than this close the socket (1009): the protocol's messages are tiny. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

/**
 * permessage-deflate is negotiated, with small windows, but only frames of 8 KiB and more are
 * compressed. Measured with 1,000 sockets on one node (bench/realtime.ts): compressing every
 * event frame (1–2 KiB) cost ~85 KiB of zlib state per socket (+85 MB; 10,000 sockets would
 * pass 800 MB) and made a fan-out to all of them 6× slower (p99 239 ms against 40 ms), because
 * each copy is deflated on its own. Event frames are small; large ones still shrink.
 */
export const PER_MESSAGE_DEFLATE = {
  threshold: 8192,
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 10,
  clientMaxWindowBits: 10,
  zlibDeflateOptions: { memLevel: 4 },
} as const;

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
