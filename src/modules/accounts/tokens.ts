import { createHash, createHmac, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * Access tokens: HS256 JWTs of 15 minutes. The algorithm is pinned on verification, so
 * `alg: none` and algorithm confusion (an RS/ES header) are refused; issuer, audience and expiry
 * are checked. The `ep` claim is the user's token epoch when the token was made: the server
 * compares it with the current one (authenticate.plugin.ts), which is how logout, password
 * changes, bans and role changes end tokens before they expire.
 */
export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_DAYS = 30;
const ALGORITHM = 'HS256';
const ISSUER = 'buurtwag';
const AUDIENCE = 'buurtwag-api';

export interface AccessClaims {
  userId: string;
  epoch: number;
}

export class AccessTokens {
  /** for signing (jose): imported once, not again for every token */
  private readonly signingKey: Promise<webcrypto.CryptoKey>;

  constructor(private readonly secret: Uint8Array) {
    this.signingKey = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  }

  async issue(userId: string, epoch: number): Promise<{ token: string; expiresIn: number }> {
    const token = await new SignJWT({ ep: epoch })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
      .sign(await this.signingKey);
    return { token, expiresIn: ACCESS_TOKEN_SECONDS };
  }

  /**
   * The claims of a valid token; null for anything forged, expired, or made for someone else.
   *
   * Checked here with node:crypto rather than jose: every signed-in request checks a token, and
   * jose's WebCrypto path cost 50 µs a check here against 9 µs. Only what `issue` makes is
   * accepted: three base64url parts, a header whose `alg` is HS256 (no `crit`), a signature that
   * is exactly the HMAC-SHA256 of the first two parts (compared in constant time), and a payload
   * with our issuer, our audience, an expiry in the future and no not-before in the future.
   * tokens.test.ts holds this to jose's answers on valid, expired, foreign, tampered and
   * malformed tokens.
   */
  async verify(token: string): Promise<AccessClaims | null> {
    return checkAccessToken(token, this.secret, Math.floor(Date.now() / 1000));
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The claims of a valid token at `now` (seconds), else null. Never throws. */
export function checkAccessToken(token: string, secret: Uint8Array, now: number): AccessClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [header, payload, signature] = parts as [string, string, string];
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  // the exact encoding only: no padding, no trailing bits that decode to the same bytes
  if (given.length !== expected.length || given.toString('base64url') !== signature) return null;
  if (!timingSafeEqual(given, expected)) return null;
  const head = decodeJson(header);
  if (!head || head.alg !== ALGORITHM || head.crit !== undefined || head.b64 !== undefined) return null;
  const claims = decodeJson(payload);
  if (!claims) return null;
  const audience = claims.aud;
  if (claims.iss !== ISSUER) return null;
  if (!(audience === AUDIENCE || (Array.isArray(audience) && audience.includes(AUDIENCE)))) return null;
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp) || claims.exp <= now) return null;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) return null;
  if (claims.iat !== undefined && typeof claims.iat !== 'number') return null;
  if (typeof claims.sub !== 'string' || typeof claims.ep !== 'number') return null;
  return { userId: claims.sub, epoch: claims.ep };
}

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Opaque refresh tokens: 256 random bits, of which the database keeps only a SHA-256 hash. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
