import type { FastifyInstance } from 'fastify';
import { AppError } from '../../platform/http/errors.js';
import type { AccessTokens } from '../accounts/tokens.js';
import type { UserStateCache } from './user-state-cache.js';

/**
 * Turns `Authorization: Bearer <access token>` into request.actor. No header: the anonymous
 * actor. A header that is not a valid, current token: 401 (never silently anonymous, so a client
 * with an expired token learns to refresh). Tokens in the URL are refused: URLs end up in logs,
 * histories and Referer headers.
 */
const TOKEN_PARAMS = ['access_token', 'accessToken', 'token', 'jwt'];

export function registerAuthentication(
  app: FastifyInstance,
  deps: { tokens: AccessTokens; userState: UserStateCache },
): void {
  app.addHook('onRequest', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query && TOKEN_PARAMS.some((p) => p in query)) {
      throw new AppError('bad_request', 'error.token_in_url.detail');
    }
    const header = request.headers.authorization;
    if (header === undefined) return;
    // a route with its own Bearer scheme (/metrics: METRICS_TOKEN) checks it itself
    if (request.routeOptions.config?.ownBearer) return;
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    if (!match) throw new AppError('unauthorized', 'error.token_invalid.detail');
    const claims = await deps.tokens.verify(match[1]!);
    if (!claims) throw new AppError('unauthorized', 'error.token_invalid.detail');
    const state = await deps.userState.get(claims.userId);
    if (!state || state.banned || state.epoch !== claims.epoch) {
      throw new AppError('unauthorized', 'error.token_invalid.detail');
    }
    request.actor = { userId: claims.userId, roles: state.roles };
  });
}
