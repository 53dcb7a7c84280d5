import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

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
  /**
   * The secret imported once. Given the bytes, jose imports a WebCrypto key again for every
   * token it signs or checks, which was ~7 % of the CPU of an authenticated create.
   */
  private readonly key: Promise<webcrypto.CryptoKey>;

  constructor(secret: Uint8Array) {
    this.key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async issue(userId: string, epoch: number): Promise<{ token: string; expiresIn: number }> {
    const token = await new SignJWT({ ep: epoch })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
      .sign(await this.key);
    return { token, expiresIn: ACCESS_TOKEN_SECONDS };
  }

  /** The claims of a valid token; null for anything forged, expired, or made for someone else. */
  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      if (typeof payload.sub !== 'string' || typeof payload.ep !== 'number') return null;
      return { userId: payload.sub, epoch: payload.ep };
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
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
