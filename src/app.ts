import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.js';
import type { Database } from './platform/db/database.js';
import { registerErrorHandling } from './platform/http/error-handler.js';
import { registerHardening } from './platform/http/hardening.js';
import { registerRateLimits, type RateLimits } from './platform/http/rate-limit.js';
import { registerCompression } from './platform/http/compression.js';
import type { Cache } from './platform/cache/cache.js';
import { registerHttpCache } from './platform/cache/http-cache.js';
import { cacheNamespace, openCache } from './platform/cache/open.js';
import { mapRoutes } from './modules/map/map.routes.js';
import { countedChangeStamp } from './modules/map/map.repository.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { registerDenialAudit } from './modules/audit/audit-denials.plugin.js';
import { categoryRoutes } from './modules/categories/categories.routes.js';
import { communityRoutes } from './modules/communities/communities.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { registerAuthentication } from './modules/identity/authenticate.plugin.js';
import { emergencyRoutes } from './modules/emergency/emergency.routes.js';
import { registerRequestContext } from './modules/identity/request-context.plugin.js';
import { UserStateCache } from './modules/identity/user-state-cache.js';
import { accountRoutes } from './modules/accounts/accounts.routes.js';
import { AccessTokens } from './modules/accounts/tokens.js';
import { loadJwtSecret } from './platform/secrets.js';
import { incidentRoutes } from './modules/incidents/incidents.routes.js';
import { startPublicCopyRenderer } from './modules/incidents/incidents.public-copies.js';
import { bulkRoutes } from './modules/incidents/incidents.bulk.routes.js';
import { duplicateRoutes } from './modules/duplicates/duplicates.routes.js';
import { statsRoutes } from './modules/stats/stats.routes.js';
import { exportRoutes } from './modules/exports/exports.routes.js';
import { templateRoutes } from './modules/templates/templates.routes.js';
import { slaRoutes } from './modules/sla/sla.routes.js';
import { mediaRoutes } from './modules/media/media.routes.js';
import { conversationRoutes } from './modules/conversation/conversation.routes.js';
import { moderationRoutes } from './modules/moderation/moderation.routes.js';
import { open311Routes } from './modules/open311/open311.routes.js';
import { authorityRoutes } from './modules/authorities/authorities.routes.js';
import { authorityHookRoutes } from './modules/authorities/authorities.hooks.routes.js';
import { webhookRoutes } from './modules/webhooks/webhooks.routes.js';
import { open311KeyRoutes } from './modules/open311/open311-keys.routes.js';
import { notificationRoutes } from './modules/notifications/notifications.routes.js';
import { attachLiveNotifications } from './modules/notifications/notifications.live.js';
import { deriveUnsubscribeKey } from './modules/notifications/notifications.unsubscribe.js';
import { loadVapidKeys } from './modules/notifications/notifications.webpush.js';
import { privacyRoutes } from './modules/privacy/privacy.routes.js';
import { alertRoutes } from './modules/alerts/alerts.routes.js';
import { feedRoutes } from './modules/feeds/feeds.routes.js';
import websocket from '@fastify/websocket';
import { createRealtime, type Realtime, type RealtimeOptions } from './modules/realtime/realtime.js';
import { MAX_CLIENT_MESSAGE_BYTES, PER_MESSAGE_DEFLATE, realtimeRoutes } from './modules/realtime/realtime.routes.js';
import type { Bus } from './platform/bus/bus.js';
import { FileSystemStorage } from './platform/storage/filesystem.js';
import { fileRoutes } from './platform/storage/files.routes.js';
import type { BlobStorage } from './platform/storage/storage.js';
import { serializeError, serializeRequest } from './platform/http/log-serializers.js';
import { createMetrics, metricsAccess, registerMetrics } from './platform/metrics/metrics.js';
import { mediaOrigin, WEB_DIST, webAppRoutes } from './platform/http/web-app.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** token maker and the per-node user-state cache (tests and the CLI reach them here) */
    identity: { tokens: AccessTokens; userState: UserStateCache };
    /** this node's sockets and live fan-out */
    realtime: Realtime;
    /** where this node counts requests for its abuse limits right now (tests wait for Redis) */
    rateLimits: RateLimits;
  }
}

export interface AppDeps {
  config: Config;
  db: Database;
  /** media files: the filesystem under DATA_DIR/media, or S3 */
  storage: BlobStorage;
  /** realtime fan-out between nodes: in-process, or Redis */
  bus: Bus;
  /** the public read paths' response cache; opened from the config when absent (Redis or memory) */
  cache?: Cache;
  /** tests shorten the realtime timers */
  realtimeOptions?: Partial<RealtimeOptions>;
  isDraining?: () => boolean;
  /** where the request logs go (stdout when absent); the privacy canary test reads them */
  logStream?: NodeJS.WritableStream;
  /** false: this node renders no public copies (a test renders them itself, step by step) */
  renderPublicCopies?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Builds the HTTP app: plugins, error mapping, every module. Listening is the caller's job. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db, storage, bus } = deps;
  const app = Fastify({
    logger: {
      level: config.log.level,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
      // no client address, no query string, no driver error details (they repeat row values)
      serializers: { req: serializeRequest, err: serializeError },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    // a request id from nginx is kept, anything else is replaced
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    trustProxy: config.http.trustProxy === false ? false : [...config.http.trustProxy],
    bodyLimit: 1024 * 1024,
    // Node 20 closes slow (slowloris) connections only on this check cycle
    connectionTimeout: 0,
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    http: { connectionsCheckingInterval: 5_000, headersTimeout: 15_000 },
    ajv: {
      customOptions: {
        // unknown fields are an error (400), never silently dropped
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: true,
      },
    },
  });

  registerRequestContext(app);
  registerErrorHandling(app);
  // before any route: hardening keeps the route table for 405s and the /docs CSP
  await registerHardening(app, { corsOrigins: [...config.http.corsOrigins] });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Buurtwag API',
        version: '1.0.0',
        description: 'Report, triage and follow what goes wrong in a community. Errors are RFC 9457 problem+json.',
      },
      servers: [{ url: config.http.publicUrl }],
      tags: [
        { name: 'identity', description: 'Accounts and sign-in' },
        { name: 'incidents', description: 'Reports on the map' },
        { name: 'media', description: 'Photos, video and documents on incidents' },
        { name: 'conversation', description: 'Comments, moderation, "me too" and following' },
        { name: 'moderation', description: 'Hiding, redaction, pre-moderation, bans and the moderation history' },
        { name: 'realtime', description: 'Live updates over WebSocket' },
        { name: 'notifications', description: 'In-app notifications, email and Web Push preferences, unsubscribe' },
        { name: 'emergency', description: 'Emergency alerts: on duty, acknowledging, escalation' },
        { name: 'authorities', description: 'Councils and utilities that reports are forwarded to' },
        { name: 'feeds', description: 'RSS 2.0 and Atom 1.0 feeds of public reports, at /feeds' },
        { name: 'open311', description: 'Open311 GeoReport v2 (XML and JSON), for councils and their systems' },
        { name: 'admin', description: 'Administration: the audit trail' },
        { name: 'privacy', description: 'Your data: export, erasure, consents' },
        { name: 'categories', description: 'What can be reported' },
        { name: 'communities', description: 'Areas with their own staff' },
        { name: 'stats', description: 'Statistics, the heat map and public transparency summaries' },
        { name: 'operations', description: 'Health and readiness' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // the server's secret: signs access tokens, and (through derived keys) webhooks to authorities
  const serverSecret = loadJwtSecret(config);
  const identity = { tokens: new AccessTokens(serverSecret), userState: new UserStateCache(db) };
  app.decorate('identity', identity);
  registerAuthentication(app, identity);
  registerDenialAudit(app, db);
  app.decorate(
    'rateLimits',
    registerRateLimits(app, { enabled: config.rateLimits, redisUrl: config.redis?.url ?? null, log: app.log }),
  );
  // keyed by database and schema: deployments (and test schemas) sharing one Redis never share entries
  const cache = deps.cache ?? openCache(config, app.log, config.redis ? await cacheNamespace(db) : 'local');
  if (!deps.cache) app.addHook('onClose', async () => cache.close());
  registerHttpCache(app, cache, { incidentStamp: () => countedChangeStamp(db) });
  // after the cache's hooks: its ETags and 304s are over the bytes as they are
  if (config.http.compression) registerCompression(app);

  const realtime = createRealtime({ db, bus, tokens: identity.tokens, log: app.log, options: deps.realtimeOptions });
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: PER_MESSAGE_DEFLATE },
    // before the server waits for its connections to end: every socket is told 1001 (going
    // away), where the plugin's default would close them without a code
    preClose: async function (this: FastifyInstance) {
      await realtime.close();
      this.websocketServer.close();
    },
  });
  await realtime.start();
  app.decorate('realtime', realtime);
  // before the routes: its onResponse hook times every one of them
  const metrics = createMetrics({ db, sockets: realtime.hub });
  app.decorate('metrics', metrics);
  registerMetrics(app, metrics, metricsAccess(config.metrics, config.env === 'production'));
  // new in-app notifications reach this node's `me` sockets (the notifier may run in a worker)
  const stopLiveNotifications = attachLiveNotifications({ hub: realtime.hub, bus, db, log: app.log });
  app.addHook('onClose', async () => stopLiveNotifications());

  // every node renders the public copies the public map's list reads (they share the queue)
  if (deps.renderPublicCopies !== false) {
    const publicCopies = startPublicCopyRenderer(db, app.log);
    app.addHook('onClose', async () => publicCopies.stop());
  }

  await app.register(healthRoutes, { db, storage, bus, isDraining: deps.isDraining ?? (() => false) });
  // embedded mode serves media files itself, through signed URLs (S3 serves its own)
  if (storage instanceof FileSystemStorage) await app.register(fileRoutes, { storage });
  await app.register(
    async (api) => {
      await api.register(accountRoutes, { db, ...identity, termsVersion: config.privacy.termsVersion });
      await api.register(auditRoutes, { db });
      await api.register(categoryRoutes, { db });
      await api.register(communityRoutes, { db });
      await api.register(incidentRoutes, { db });
      await api.register(mapRoutes, { db });
      await api.register(bulkRoutes, { db });
      await api.register(duplicateRoutes, { db });
      await api.register(statsRoutes, { db });
      await api.register(exportRoutes, { db });
      await api.register(templateRoutes, { db });
      await api.register(slaRoutes, { db });
      await api.register(mediaRoutes, { db, storage, config: config.media });
      await api.register(conversationRoutes, { db });
      await api.register(moderationRoutes, { db, storage, config: config.media, userState: identity.userState });
      await api.register(authorityRoutes, { db });
      await api.register(authorityHookRoutes, { db, signingKey: serverSecret });
      await api.register(webhookRoutes, { db, signingKey: serverSecret });
      await api.register(open311KeyRoutes, { db });
      await api.register(emergencyRoutes, { db });
      await api.register(notificationRoutes, {
        db,
        unsubscribeKey: deriveUnsubscribeKey(serverSecret),
        vapidPublicKey: loadVapidKeys(config).publicKey,
        allowHttpPush: config.env !== 'production',
      });
      await api.register(alertRoutes, { db, unsubscribeKey: deriveUnsubscribeKey(serverSecret) });
      await api.register(privacyRoutes, {
        db,
        storage,
        bus,
        userState: identity.userState,
        publicUrl: config.http.publicUrl,
        termsVersion: config.privacy.termsVersion,
      });
      await api.register(realtimeRoutes, {
        realtime,
        allowedOrigins: [new URL(config.http.publicUrl).origin, ...config.http.corsOrigins],
        userState: identity.userState,
      });
    },
    { prefix: '/api/v1' },
  );
  // the web app at / (every path that no module claims is one of its pages)
  await app.register(webAppRoutes, { distDir: WEB_DIST, web: config.web, mediaOrigin: mediaOrigin(config) });
  await app.register(feedRoutes, { prefix: '/feeds', db, publicUrl: config.http.publicUrl });
  await app.register(open311Routes, {
    prefix: '/open311/v2',
    db,
    publicUrl: config.http.publicUrl,
    storage,
    mediaUrlTtlSeconds: config.media.urlTtlSeconds,
  });
  return app;
}
