import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks 1.0 (https://www.standardwebhooks.com), symmetric signatures: what a
 * receiver's off-the-shelf library (or Svix's) verifies without code of its own.
 *
 *   webhook-id:        the message's id, the same on every retry (the receiver's dedupe key)
 *   webhook-timestamp: unix seconds when this attempt was signed
 *   webhook-signature: "v1,<base64 HMAC-SHA256 of `${id}.${timestamp}.${payload}`>", one per
 *                      secret, space-separated
 *
 * Several secrets sign at once so that a secret can be rotated without a gap: the new one is
 * added, the receiver switches at its own pace, the old one is dropped. A secret is written
 * "whsec_" + base64 of the key bytes; the HMAC key is the decoded bytes, not the text.
 */

const SECRET_PREFIX = 'whsec_';
/** the spec's bounds for a symmetric key: 24 to 64 bytes */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const NEW_SECRET_BYTES = 32;
const SIGNATURE_BYTES = 32;
const DEFAULT_TOLERANCE_SECONDS = 300;

export interface WebhookMessage {
  id: string;
  /** unix seconds */
  timestamp: number;
  /** the exact body sent: the signature covers these bytes, so no re-serialising after signing */
  payload: string;
}

// a type, not an interface, so that it passes as the plain header record verifyWebhook takes
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(NEW_SECRET_BYTES).toString('base64')}`;
}

export function signWebhook(message: WebhookMessage, secrets: readonly string[]): WebhookHeaders {
  if (secrets.length === 0) throw new TypeError('signWebhook needs at least one secret');
  if (!Number.isSafeInteger(message.timestamp) || message.timestamp < 0) {
    throw new TypeError(`a webhook timestamp is whole unix seconds, not ${message.timestamp}`);
  }
  if (message.id === '') throw new TypeError('a webhook needs an id');
  const timestamp = String(message.timestamp);
  const signatures = secrets.map(
    (secret) => `v1,${signature(secretKey(secret), message.id, timestamp, message.payload).toString('base64')}`,
  );
  return { 'webhook-id': message.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}

export interface VerifyOptions {
  /** how far the timestamp may be from now, either way; default 300 s */
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * True when any v1 signature in the headers matches any of the secrets and the timestamp is
 * within the tolerance (a replayed old message, or one dated ahead to outlive the window, is
 * refused). Headers as Node gives them: lower-case names, a value or a list of values.
 */
export function verifyWebhook(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  payload: string,
  secrets: readonly string[],
  options: VerifyOptions = {},
): boolean {
  const id = singleHeader(headers, 'webhook-id');
  const timestamp = singleHeader(headers, 'webhook-timestamp');
  const signatures = singleHeader(headers, 'webhook-signature');
  if (id === null || id === '' || timestamp === null || signatures === null) return false;
  if (!/^\d{1,15}$/.test(timestamp)) return false;

  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) return false;

  const offered = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'))
    .filter((bytes) => bytes.length === SIGNATURE_BYTES);
  const expected = secrets.map((secret) => signature(secretKey(secret), id, timestamp, payload));
  // constant-time per comparison; which pair matched is no secret
  return expected.some((mine) => offered.some((theirs) => timingSafeEqual(mine, theirs)));
}

function signature(key: Buffer, id: string, timestamp: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`, 'utf8').digest();
}

/** the key bytes of a "whsec_…" secret; anything else is a configuration mistake and throws */
function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError('a webhook secret starts with "whsec_"');
  const encoded = secret.slice(SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters that are not base64: re-encoding catches a mangled secret
  const canonical = key.toString('base64');
  if (canonical.replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new TypeError('a webhook secret is "whsec_" followed by base64');
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new TypeError(`a webhook secret holds ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${key.length}`);
  }
  return key;
}

function singleHeader(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
): string | null {
  const value = headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  if (value === undefined) return null;
  if (typeof value === 'string') return value;
  // a header sent twice is not something a genuine sender does
  return value.length === 1 ? (value[0] ?? null) : null;
}
