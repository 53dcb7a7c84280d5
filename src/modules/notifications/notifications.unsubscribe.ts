import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { PREFERENCE_KINDS, type PreferenceKind } from './notifications.rules.js';

/**
 * One-click unsubscribe tokens (RFC 8058): who, which channel, which kind (or all of them),
 * HMAC-signed with a key derived from the server's secret, so the link works without signing in
 * and every node can check it. Nothing is stored; a token stays valid (unsubscribing twice is
 * harmless, and links in old mails should keep working).
 */
export interface UnsubscribeClaim {
  userId: string;
  channel: 'email';
  kind: PreferenceKind | 'all';
}

const INFO = 'buurtwag unsubscribe v1';

export function deriveUnsubscribeKey(serverSecret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', serverSecret, new Uint8Array(0), INFO, 32));
}

/** 16 bytes of user id, 1 byte of kind, 16 bytes of HMAC-SHA256: 44 characters, fit for a path. */
export function signUnsubscribe(key: Uint8Array, claim: UnsubscribeClaim): string {
  const body = Buffer.concat([
    Buffer.from(claim.userId.replace(/-/g, ''), 'hex'),
    Buffer.from([KINDS.indexOf(claim.kind)]),
  ]);
  return Buffer.concat([body, mac(key, body)]).toString('base64url');
}

/** The claim, or null for anything altered, truncated or made up. */
export function verifyUnsubscribe(key: Uint8Array, token: string): UnsubscribeClaim | null {
  if (!/^[A-Za-z0-9_-]{44}$/.test(token)) return null;
  const raw = Buffer.from(token, 'base64url');
  const body = raw.subarray(0, 17);
  if (!timingSafeEqual(raw.subarray(17), mac(key, body))) return null;
  const kind = KINDS[body[16]!];
  if (kind === undefined) return null;
  const hex = body.subarray(0, 16).toString('hex');
  const userId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { userId, channel: 'email', kind };
}

// new kinds go at the end: a token names its kind by position
const KINDS: ReadonlyArray<UnsubscribeClaim['kind']> = ['all', ...PREFERENCE_KINDS];

function mac(key: Uint8Array, body: Buffer): Buffer {
  // 128 bits: plenty against forgery, and the link stays short
  return createHmac('sha256', key).update(body).digest().subarray(0, 16);
}
