import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../../platform/db/database.js';
import { Problem } from '../../platform/http/problem.schema.js';
import { addVary } from '../../platform/http/vary.js';
import {
  AllFeedParams,
  AreaFeedQuery,
  CategoryFeedParams,
  CommunityFeedParams,
  FeedBody,
  FeedQuery,
  type FeedFormat,
} from './feeds.schemas.js';
import * as service from './feeds.service.js';

export interface FeedRouteDeps {
  db: Database;
  /** PUBLIC_URL: entries link to <PUBLIC_URL>/incidents/<reference> */
  publicUrl: string;
}

/**
 * Public feeds of the newest public reports, at /feeds:
 *   /feeds/incidents.rss|.atom                      every public report
 *   /feeds/communities/<id>.rss|.atom               a community (and its sub-communities)
 *   /feeds/categories/<slug>.rss|.atom              a category
 *   /feeds/area.rss|.atom?near=LON,LAT&radius=M     a circle (radius ≤ 50 km, default 1000 m)
 *   /feeds/area.rss|.atom?bbox=MINLON,MINLAT,MAXLON,MAXLAT
 * `?lang=en|af` (or Accept-Language) picks the language. ETag and Last-Modified answer 304.
 */
export async function feedRoutes(fastify: FastifyInstance, deps: FeedRouteDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const base = deps.publicUrl.replace(/\/+$/, '');
  const tags = ['feeds'];
  const response = { 200: FeedBody, 304: { type: 'null', description: 'Not modified' }, 400: Problem, 404: Problem };

  async function send(
    request: FastifyRequest,
    reply: FastifyReply,
    target: service.FeedTarget,
    format: FeedFormat,
  ): Promise<FastifyReply> {
    const feed = await service.buildFeed(db, target, { format, lang: request.lang, base, path: request.url });
    reply.header('etag', feed.etag).header('cache-control', 'public, max-age=300');
    addVary(reply, 'Accept-Language');
    if (feed.lastModified) reply.header('last-modified', feed.lastModified.toUTCString());
    if (service.notModified(feed, request.headers as Record<string, string | undefined>))
      return reply.status(304).send();
    return reply.type(feed.contentType).send(feed.body);
  }

  app.get(
    '/incidents.:format',
    {
      schema: {
        tags,
        summary: 'Every public report, newest 50',
        params: AllFeedParams,
        querystring: FeedQuery,
        response,
      },
    },
    (request, reply) => send(request, reply, { kind: 'all' }, request.params.format as FeedFormat),
  );

  app.get(
    '/communities/:id.:format',
    {
      schema: {
        tags,
        summary: 'A community’s public reports (its sub-communities’ too), newest 50',
        params: CommunityFeedParams,
        querystring: FeedQuery,
        response,
      },
    },
    (request, reply) =>
      send(request, reply, { kind: 'community', id: request.params.id }, request.params.format as FeedFormat),
  );

  app.get(
    '/categories/:slug.:format',
    {
      schema: {
        tags,
        summary: 'A category’s public reports, newest 50',
        params: CategoryFeedParams,
        querystring: FeedQuery,
        response,
      },
    },
    (request, reply) =>
      send(request, reply, { kind: 'category', slug: request.params.slug }, request.params.format as FeedFormat),
  );

  app.get(
    '/area.:format',
    {
      schema: {
        tags,
        summary:
          'Public reports in a circle (near + radius) or a box (bbox), newest 50; sensitive ones by their blurred place',
        params: AllFeedParams,
        querystring: AreaFeedQuery,
        response,
      },
    },
    (request, reply) => send(request, reply, { kind: 'area', ...request.query }, request.params.format as FeedFormat),
  );
}
