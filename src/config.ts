import { isIP } from 'node:net';
import path from 'node:path';

/**
 * The one configuration object, read from the environment once at start. Nothing else in the
 * code reads process.env. Every bad variable is reported at once, not the first one only.
 */
export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string;
    /**
     * Proxies whose X-Forwarded-For is believed (addresses or CIDRs, or 'loopback'); false: none.
     * Never "any": a client could then claim any address and slip past the rate limits.
     */
    readonly trustProxy: readonly string[] | false;
    /** origins allowed by CORS, exact scheme://host[:port] */
    readonly corsOrigins: readonly string[];
    /** Brotli or gzip for the clients that ask (src/platform/http/compression.ts); off leaves it to a proxy */
    readonly compression: boolean;
  };
  readonly log: { readonly level: string };
  readonly dataDir: string;
  readonly db:
    | { readonly kind: 'embedded'; readonly poolSize: number }
    | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number };
  readonly redis: { readonly url: string } | null;
  readonly s3: {
    readonly endpoint: string | null;
    readonly bucket: string;
    readonly accessKey: string;
    readonly secretKey: string;
    readonly region: string;
    /** server-side encryption on every object written: 'AES256', 'aws:kms', or none */
    readonly sse: 'AES256' | 'aws:kms' | null;
    readonly kmsKeyId: string | null;
    /** the host browsers reach the bucket at, when it differs from S3_ENDPOINT (presigned URLs only) */
    readonly publicEndpoint: string | null;
  } | null;
  readonly media: {
    /** keep the untouched upload (admins only, audited); off: only re-encoded variants exist */
    readonly keepOriginals: boolean;
    /** how long a media URL works */
    readonly urlTtlSeconds: number;
    /** per user, over the last 24 hours */
    readonly dailyQuotaFiles: number;
    readonly dailyQuotaBytes: number;
  };
  readonly outbound: {
    /**
     * Addresses or CIDRs that forwarding to authorities may reach although they are not public
     * (an authority on a private network); everything else private, loopback or link-local is
     * refused at connect time.
     */
    readonly allowAddresses: readonly string[];
  };
  readonly smtpUrl: string | null;
  /** what the web app is told at load (the page's map tiles and address search) */
  readonly web: {
    /** a Leaflet tile URL template ({z}/{x}/{y}); the map keeps a plain background when tiles fail */
    readonly tileUrl: string;
    readonly tileAttribution: string;
    /** address search: a Nominatim-compatible server, or none (GPS and pin only) */
    readonly geocoder: { readonly kind: 'nominatim'; readonly url: string } | { readonly kind: 'off' };
  };
  readonly notifications: {
    /** the From of every mail: MAIL_FROM, default "Buurtwag <no-reply@PUBLIC_URL's host>" */
    readonly mailFrom: string;
    /**
     * VAPID keys for Web Push (base64url: the raw P-256 public point, the private scalar) and the
     * contact they name; null: made once and kept in DATA_DIR/vapid.json. Several nodes must share
     * them (a browser's subscription is bound to the public key), so set them in production.
     */
    readonly vapid: { readonly publicKey: string; readonly privateKey: string; readonly subject: string } | null;
    /** more mails than this to one person within the window and the rest wait for one digest */
    readonly digestThreshold: number;
    readonly digestWindowSeconds: number;
  };
  readonly emergency: {
    /** minutes without an acknowledgement before an emergency alert goes to the next level */
    readonly escalationMinutes: number;
    /**
     * The last level: an external emergency system's receiver, signed per Standard Webhooks with
     * the "whsec_…" secret, through the outbound policy; null: the ladder ends with the admins.
     */
    readonly webhook: { readonly url: string; readonly secret: string } | null;
  };
  readonly jwtSecret: string | null;
  readonly rateLimits: boolean;
  /** run the job runner inside `serve` (always in embedded mode) */
  readonly jobsInProcess: boolean;
  readonly metrics: {
    /** /metrics wants `Authorization: Bearer <token>` (METRICS_TOKEN) */
    readonly token: string | null;
    /** /metrics is also served, unprotected, on this port only (METRICS_PORT): keep it off the internet */
    readonly port: number | null;
  };
  /**
   * Start although server Postgres has fsync, synchronous_commit or full_page_writes off
   * (ALLOW_UNSAFE_DURABILITY): acknowledged writes could then be lost in a crash.
   */
  readonly allowUnsafeDurability: boolean;
  readonly privacy: {
    /** the terms and privacy notice in force; registration records its acceptance */
    readonly termsVersion: string;
    /** accounts unused this long are anonymized by the retention job */
    readonly inactiveAccountYears: number;
    /** hidden reports of banned or ban-listed accounts are purged after this many days */
    readonly hiddenSpamDays: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'off', 'no'].includes(raw)) return false;
    problems.push(`${name} must be on or off, got "${raw}"`);
    return fallback;
  };
  /** A comma-separated list; unset or off: undefined. */
  const list = (name: string): string[] | undefined => {
    const raw = str(name);
    if (raw === undefined || ['off', 'false', 'no', '0'].includes(raw.toLowerCase())) return undefined;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
        return undefined;
      }
      return raw;
    } catch {
      problems.push(`${name} is not a valid URL`);
      return undefined;
    }
  };

  const nodeEnv = str('NODE_ENV') ?? 'development';
  let appEnv: Config['env'] = 'development';
  if (nodeEnv === 'production' || nodeEnv === 'test' || nodeEnv === 'development') appEnv = nodeEnv;
  else problems.push(`NODE_ENV must be development, test or production, got "${nodeEnv}"`);
  const production = appEnv === 'production';

  const port = int('PORT', 3000, 0, 65535);
  const host = str('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1');
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`;

  const logLevel = str('LOG_LEVEL') ?? (appEnv === 'test' ? 'silent' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }

  const trustProxy = list('TRUST_PROXY');
  if (trustProxy?.some((i) => ['on', 'true', 'yes', '1', '*'].includes(i.toLowerCase()))) {
    problems.push('TRUST_PROXY must list the proxies (addresses, CIDRs or loopback), not trust every client');
  }
  const corsOrigins = list('CORS_ORIGINS') ?? [];
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ORIGINS: "${origin}" is not scheme://host[:port]`);
    }
  }

  const outboundAllow = list('OUTBOUND_ALLOW_ADDRESSES') ?? [];
  for (const entry of outboundAllow) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      problems.push(`OUTBOUND_ALLOW_ADDRESSES: "${entry}" is not an IP address or CIDR`);
    }
  }

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  // 4: measured best on 2 cores (W3 5,596 → 6,578 req/s against 10); raise it with the cores
  const poolSize = int('DATABASE_POOL_SIZE', 4, 1, 200);

  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);

  const s3Names = ['S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const;
  const anyS3 = [...s3Names, 'S3_ENDPOINT'].some((n) => str(n) !== undefined);
  let s3: Config['s3'] = null;
  if (anyS3) {
    const missing = s3Names.filter((n) => str(n) === undefined);
    if (missing.length > 0) problems.push(`S3 storage needs ${missing.join(', ')} as well`);
    s3 = {
      endpoint: url('S3_ENDPOINT', ['http:', 'https:']) ?? null,
      bucket: str('S3_BUCKET') ?? '',
      accessKey: str('S3_ACCESS_KEY') ?? '',
      secretKey: str('S3_SECRET_KEY') ?? '',
      region: str('S3_REGION') ?? 'us-east-1',
      sse: null,
      kmsKeyId: str('S3_SSE_KMS_KEY_ID') ?? null,
      publicEndpoint: url('S3_PUBLIC_ENDPOINT', ['http:', 'https:']) ?? null,
    };
    const sse = str('S3_SSE');
    if (sse === 'AES256' || sse === 'aws:kms') s3 = { ...s3, sse };
    else if (sse !== undefined) problems.push(`S3_SSE must be AES256 or aws:kms, got "${sse}"`);
    if (s3.kmsKeyId !== null && sse !== 'aws:kms') problems.push('S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms');
  }

  const media: Config['media'] = {
    keepOriginals: bool('MEDIA_KEEP_ORIGINALS', false),
    urlTtlSeconds: int('MEDIA_URL_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    dailyQuotaFiles: int('MEDIA_DAILY_QUOTA_FILES', 50, 1, 100_000),
    dailyQuotaBytes: int('MEDIA_DAILY_QUOTA_MB', 500, 1, 1_000_000) * 1024 * 1024,
  };

  const termsVersion = str('TERMS_VERSION') ?? '2026-11';
  if (!/^[A-Za-z0-9._-]{1,50}$/.test(termsVersion)) {
    problems.push('TERMS_VERSION must be 1 to 50 letters, digits, dots, dashes or underscores');
  }
  const privacy: Config['privacy'] = {
    termsVersion,
    inactiveAccountYears: int('RETENTION_INACTIVE_ACCOUNT_YEARS', 3, 1, 100),
    hiddenSpamDays: int('RETENTION_HIDDEN_SPAM_DAYS', 90, 1, 36_500),
  };

  const vapidPublic = str('VAPID_PUBLIC_KEY');
  const vapidPrivate = str('VAPID_PRIVATE_KEY');
  const base64url = /^[A-Za-z0-9_-]+$/;
  if ((vapidPublic === undefined) !== (vapidPrivate === undefined)) {
    problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together');
  } else if (vapidPublic !== undefined && (!base64url.test(vapidPublic) || !base64url.test(vapidPrivate ?? ''))) {
    problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be base64url');
  }
  // each node would make its own keys, and browsers subscribed on one node would get nothing from the others
  if (production && vapidPublic === undefined && vapidPrivate === undefined) {
    problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are required when NODE_ENV=production');
  }
  const mailFrom = str('MAIL_FROM') ?? `Buurtwag <no-reply@${new URL(publicUrl).hostname}>`;
  if (/[\r\n]/.test(mailFrom) || !/@/.test(mailFrom)) problems.push('MAIL_FROM must be one address');
  const notifications: Config['notifications'] = {
    mailFrom,
    vapid:
      vapidPublic && vapidPrivate
        ? {
            publicKey: vapidPublic,
            privateKey: vapidPrivate,
            subject: str('VAPID_SUBJECT') ?? `mailto:${mailFrom.replace(/^.*<|>.*$/g, '')}`,
          }
        : null,
    digestThreshold: int('NOTIFY_DIGEST_THRESHOLD', 5, 1, 1000),
    digestWindowSeconds: int('NOTIFY_DIGEST_WINDOW_SECONDS', 900, 10, 86_400),
  };

  const emergencyUrl = url('EMERGENCY_WEBHOOK_URL', ['http:', 'https:']);
  const emergencySecret = str('EMERGENCY_WEBHOOK_SECRET');
  if (
    emergencyUrl !== undefined &&
    (emergencySecret === undefined || !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(emergencySecret))
  ) {
    problems.push('EMERGENCY_WEBHOOK_URL needs EMERGENCY_WEBHOOK_SECRET ("whsec_" and base64 of 24 to 64 bytes)');
  }
  const emergency: Config['emergency'] = {
    escalationMinutes: int('EMERGENCY_ESCALATION_MINUTES', 5, 1, 1440),
    webhook: emergencyUrl && emergencySecret ? { url: emergencyUrl, secret: emergencySecret } : null,
  };

  const geocoderKind = str('GEOCODER') ?? 'nominatim';
  if (geocoderKind !== 'nominatim' && geocoderKind !== 'off') problems.push('GEOCODER must be nominatim or off');
  const web: Config['web'] = {
    tileUrl: str('MAP_TILE_URL') ?? 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    tileAttribution: str('MAP_TILE_ATTRIBUTION') ?? '© OpenStreetMap contributors',
    geocoder:
      geocoderKind === 'off'
        ? { kind: 'off' }
        : { kind: 'nominatim', url: url('GEOCODER_URL', ['http:', 'https:']) ?? 'https://nominatim.openstreetmap.org' },
  };
  if (!/^https?:\/\/[^\s"]+$/.test(web.tileUrl)) problems.push('MAP_TILE_URL must be an http(s) URL template');

  const jwtSecret = str('JWT_SECRET') ?? null;
  if (production && jwtSecret === null) problems.push('JWT_SECRET is required when NODE_ENV=production');
  if (jwtSecret !== null && jwtSecret.length < 32) problems.push('JWT_SECRET must be at least 32 characters');

  const metricsToken = str('METRICS_TOKEN') ?? null;
  if (metricsToken !== null && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    problems.push('METRICS_TOKEN must be at least 16 characters without spaces');
  }
  const metricsPort = str('METRICS_PORT') === undefined ? null : int('METRICS_PORT', 0, 1, 65535);
  if (metricsPort !== null && metricsPort === port) problems.push('METRICS_PORT must differ from PORT');

  const config: Config = {
    env: appEnv,
    http: {
      host,
      port,
      publicUrl,
      trustProxy: trustProxy ?? false,
      corsOrigins,
      compression: bool('HTTP_COMPRESSION', true),
    },
    log: { level: logLevel },
    dataDir: path.resolve(str('DATA_DIR') ?? './data'),
    db: databaseUrl ? { kind: 'postgres', url: databaseUrl, poolSize } : { kind: 'embedded', poolSize },
    redis: redisUrl ? { url: redisUrl } : null,
    s3,
    media,
    outbound: { allowAddresses: outboundAllow },
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']) ?? null,
    web,
    notifications,
    emergency,
    jwtSecret,
    rateLimits: bool('RATE_LIMITS', true),
    jobsInProcess: databaseUrl ? bool('JOBS_IN_PROCESS', false) : true,
    metrics: { token: metricsToken, port: metricsPort },
    allowUnsafeDurability: bool('ALLOW_UNSAFE_DURABILITY', false),
    privacy,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
