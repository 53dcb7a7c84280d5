import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens, ACCESS_TOKEN_SECONDS, checkAccessToken } from './tokens.js';

/**
 * The access-token check is our own (node:crypto, for speed); jose is the reference. Every
 * token below is judged by both, and the two must agree on valid, expired, foreign, tampered and
 * malformed tokens. Where they may differ (encodings jose tolerates), ours must be the stricter.
 */
const secret = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');
const otherSecret = new TextEncoder().encode('another-secret-of-at-least-32-bytes!');
const now = Math.floor(Date.now() / 1000);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (input: string, key = secret) => createHmac('sha256', key).update(input).digest('base64url');

/** A token signed by hand, so headers and claims jose would refuse to make can be tried. */
function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, key = secret): string {
  const signingInput = `${b64(header)}.${b64(claims)}`;
  return `${signingInput}.${hmac(signingInput, key)}`;
}

const good = { sub: 'user-1', ep: 3, iss: 'buurtwag', aud: 'buurtwag-api', iat: now, exp: now + 600 };
const hs256 = { alg: 'HS256', typ: 'JWT' };

async function joseSays(token: string): Promise<{ userId: string; epoch: number } | null> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'buurtwag',
      audience: 'buurtwag-api',
      currentDate: new Date(now * 1000),
    });
    if (typeof payload.sub !== 'string' || typeof payload.ep !== 'number') return null;
    return { userId: payload.sub, epoch: payload.ep };
  } catch {
    return null;
  }
}

const cases: Array<[string, string]> = [
  ['valid', handMade(hs256, good)],
  ['valid, no typ', handMade({ alg: 'HS256' }, good)],
  ['valid, audience in a list', handMade(hs256, { ...good, aud: ['other', 'buurtwag-api'] })],
  ['valid, not-before passed', handMade(hs256, { ...good, nbf: now - 5 })],
  ['expired', handMade(hs256, { ...good, exp: now - 1 })],
  ['expires this second', handMade(hs256, { ...good, exp: now })],
  ['expiry not a number', handMade(hs256, { ...good, exp: String(now + 600) })],
  ['not yet valid', handMade(hs256, { ...good, nbf: now + 60 })],
  ['iat not a number', handMade(hs256, { ...good, iat: 'yesterday' })],
  ['wrong issuer', handMade(hs256, { ...good, iss: 'someone-else' })],
  ['no issuer', handMade(hs256, { ...good, iss: undefined })],
  ['wrong audience', handMade(hs256, { ...good, aud: 'another-api' })],
  ['audience list without ours', handMade(hs256, { ...good, aud: ['a', 'b'] })],
  ['no subject', handMade(hs256, { ...good, sub: undefined })],
  ['no epoch', handMade(hs256, { ...good, ep: undefined })],
  ['epoch as a string', handMade(hs256, { ...good, ep: '3' })],
  ['alg none', `${b64({ alg: 'none' })}.${b64(good)}.`],
  ['alg none, signed anyway', handMade({ alg: 'none' }, good)],
  ['alg RS256 header, HMAC signature', handMade({ alg: 'RS256' }, good)],
  ['alg HS512 header', handMade({ alg: 'HS512' }, good)],
  ['crit header', handMade({ ...hs256, crit: ['exp'] }, good)],
  ['b64 false', handMade({ ...hs256, b64: false, crit: ['b64'] }, good)],
  ['signed with another secret', handMade(hs256, good, otherSecret)],
  [
    'header not JSON',
    (() => {
      const h = Buffer.from('{not json').toString('base64url');
      return `${h}.${b64(good)}.${hmac(`${h}.${b64(good)}`)}`;
    })(),
  ],
  [
    'payload not JSON',
    (() => {
      const p = Buffer.from('nope').toString('base64url');
      return `${b64(hs256)}.${p}.${hmac(`${b64(hs256)}.${p}`)}`;
    })(),
  ],
  [
    'payload an array',
    (() => {
      const p = b64([good]);
      return `${b64(hs256)}.${p}.${hmac(`${b64(hs256)}.${p}`)}`;
    })(),
  ],
  ['empty', ''],
  ['two parts', `${b64(hs256)}.${b64(good)}`],
  ['four parts', `${handMade(hs256, good)}.x`],
  ['not base64url', `${b64(hs256)}.${b64(good)}.+/==`],
];

describe('access token check', () => {
  it.each(cases)('agrees with jose: %s', async (_name, token) => {
    expect(checkAccessToken(token, secret, now)).toEqual(await joseSays(token));
  });

  it('accepts what it should, and refuses the rest (the table is not all refusals)', () => {
    const accepted = cases.filter(([, token]) => checkAccessToken(token, secret, now) !== null).map(([n]) => n);
    expect(accepted).toEqual(['valid', 'valid, no typ', 'valid, audience in a list', 'valid, not-before passed']);
  });

  it('refuses every single-character change to a valid token', () => {
    const token = handMade(hs256, good);
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const swapped = token[i] === 'A' ? 'B' : 'A';
      const tampered = token.slice(0, i) + swapped + token.slice(i + 1);
      // including the signature's last character, whose two unused bits jose would overlook
      expect(checkAccessToken(tampered, secret, now)).toBeNull();
      refused++;
    }
    expect(refused).toBe(token.length - 2);
  });

  it('is stricter than jose on a token without an expiry: it never issues one', async () => {
    const endless = handMade(hs256, { ...good, exp: undefined });
    expect(await joseSays(endless)).not.toBeNull();
    expect(checkAccessToken(endless, secret, now)).toBeNull();
  });

  it('is stricter than jose on signature encodings that decode to the same bytes', () => {
    const token = handMade(hs256, good);
    expect(checkAccessToken(token, secret, now)).not.toBeNull();
    expect(checkAccessToken(`${token}=`, secret, now)).toBeNull();
    // a 32-byte signature is 43 base64url characters; the last holds 2 unused bits
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(checkAccessToken(token.slice(0, -1) + sibling, secret, now)).toBeNull();
  });

  it('checks what AccessTokens issues, under the same secret only', async () => {
    const tokens = new AccessTokens(secret);
    const { token, expiresIn } = await tokens.issue('user-9', 7);
    expect(expiresIn).toBe(ACCESS_TOKEN_SECONDS);
    expect(await tokens.verify(token)).toEqual({ userId: 'user-9', epoch: 7 });
    expect(await joseSays(token)).toEqual({ userId: 'user-9', epoch: 7 });
    expect(await new AccessTokens(otherSecret).verify(token)).toBeNull();
    expect(checkAccessToken(token, secret, now + ACCESS_TOKEN_SECONDS + 1)).toBeNull();
  });

  it('refuses a token jose signs with a different algorithm', async () => {
    const token = await new SignJWT({ ep: 1 })
      .setProtectedHeader({ alg: 'HS384' })
      .setSubject('user-1')
      .setIssuer('buurtwag')
      .setAudience('buurtwag-api')
      .setExpirationTime('10m')
      .sign(secret);
    expect(checkAccessToken(token, secret, now)).toBeNull();
  });
});
