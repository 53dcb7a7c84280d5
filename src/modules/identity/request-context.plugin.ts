import type { FastifyInstance } from 'fastify';
import { negotiateLang, type Lang } from '../../i18n/i18n.js';
import { ANONYMOUS, type Actor } from './actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
    lang: Lang;
  }
}

/**
 * Every request starts anonymous, in the language it asked for (`?lang=`, then Accept-Language),
 * and answers with its Content-Language and request id. Authentication, when registered after
 * this, replaces the actor.
 */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('lang', 'en' as Lang);
  app.addHook('onRequest', async (request, reply) => {
    request.actor = ANONYMOUS;
    const query = request.query as Record<string, unknown> | undefined;
    request.lang = negotiateLang(query?.lang, request.headers['accept-language']);
    reply.header('content-language', request.lang);
    reply.header('x-request-id', request.id);
  });
}
