import { createHmac } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { json, useTestApp } from '../../../test/helpers/app.js';
import { loadJwtSecret } from '../../platform/secrets.js';
import { commonPasswordCount } from './passwords.js';

const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const PASSWORD = 'correct horse battery staple';

async function register(email: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  return inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password, displayName: 'Naledi', ...extra },
  });
}
const login = (email: string, password = PASSWORD) =>
  inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
const me = (token: string) => inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** A JWT signed with the app's real key (or another), for forging tests. */
function sign(header: object, payload: object, key: Uint8Array | string = loadJwtSecret(h.current.config)): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

describe('register and sign in', () => {
  it('registers, signs in with any case of the email, and shows /me', async () => {
    const res = await register('Naledi.Mokoena@Example.org', PASSWORD, { locale: 'af' });
    expect(res.statusCode, res.body).toBe(201);
    const session = json(res);
    expect(session.user).toMatchObject({
      email: 'naledi.mokoena@example.org',
      displayName: 'Naledi',
      locale: 'af',
      roles: [{ role: 'resident', communityId: null }],
    });
    expect(session.expiresIn).toBe(900);
    expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const signedIn = await login('  NALEDI.mokoena@example.ORG ');
    expect(signedIn.statusCode).toBe(200);
    const profile = await me(json(signedIn).accessToken);
    expect(profile.statusCode).toBe(200);
    expect(json(profile).id).toBe(session.user.id);

    const stored = await h.current.t.db.query<{ password_hash: string }>({
      text: 'SELECT password_hash FROM users WHERE id = $1',
      values: [session.user.id],
    });
    expect(stored.rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('refuses a taken email whatever its case, short and common passwords', async () => {
    await register('taken@example.org');
    const again = await register('TAKEN@example.org');
    expect(again.statusCode).toBe(409);
    const short = await register('short@example.org', 'abc12345');
    expect(short.statusCode).toBe(400);
    expect(json(short).errors[0]).toEqual({ path: '/body/password', message: 'must be at least 10 characters' });
    const common = await register('common@example.org', 'Password123');
    expect(common.statusCode).toBe(400);
    expect(json(common).errors[0].path).toBe('/body/password');
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
    const af = await inject({
      method: 'POST',
      url: '/api/v1/auth/register?lang=af',
      payload: { email: 'x@example.org', password: 'qwertyuiop', displayName: 'X' },
    });
    expect(json(af).errors[0].message).toContain('algemeenste');
  });

  it('answers an unknown email exactly like a wrong password, in about the same time', async () => {
    await register('timing@example.org');
    const unknown = await login('nobody-here@example.org', 'whatever password');
    const wrong = await login('timing@example.org', 'whatever password');
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.body.replace(/"detail":"[^"]*"/, '')).toBe(wrong.body.replace(/"detail":"[^"]*"/, ''));
    expect(json(unknown).detail).toBe(json(wrong).detail);
    // medians of interleaved attempts: both verify one argon2 hash (~45 ms here); without the
    // decoy hash an unknown email would answer in about a millisecond
    const runs: Record<string, number[]> = { unknown: [], wrong: [] };
    for (let i = 0; i < 7; i++) {
      for (const [name, email] of [
        ['unknown', 'nobody-here@example.org'],
        ['wrong', 'timing@example.org'],
      ] as const) {
        const start = performance.now();
        await login(email, 'whatever password');
        runs[name]!.push(performance.now() - start);
      }
    }
    // Only the direction that load cannot fake: an unknown email costs a hash too (a busy machine
    // makes both slower, never the decoy-free path slow; comparing the two medians flaked in CI).
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[3]!;
    expect(median(runs.unknown!)).toBeGreaterThan(5);
    expect(median(runs.wrong!)).toBeGreaterThan(5);
  });
});

describe('tokens', () => {
  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const first = json(await register('rotate@example.org'));
    const second = json(
      await inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: first.refreshToken } }),
    );
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const third = json(
      await inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: second.refreshToken } }),
    );
    // the thief replays the first token: refused, and the family is gone, third included
    const replay = await inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    });
    expect(replay.statusCode).toBe(401);
    const legit = await inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: third.refreshToken },
    });
    expect(legit.statusCode).toBe(401);
    const { rows } = await h.current.t.db.query({
      text: `SELECT 1 FROM audit_log WHERE action = 'auth.refresh.reuse' AND entity_id = $1`,
      values: [first.user.id],
    });
    expect(rows.length).toBe(1);
    // a sign-in elsewhere is another family and still works
    expect((await login('rotate@example.org')).statusCode).toBe(200);
  });

  it('ends access tokens on logout and on a password change', async () => {
    const session = json(await register('logout@example.org'));
    expect((await me(session.accessToken)).statusCode).toBe(200);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refreshToken: session.refreshToken } }))
        .statusCode,
    ).toBe(204);
    expect((await me(session.accessToken)).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: session.refreshToken } }))
        .statusCode,
    ).toBe(401);

    const again = json(await login('logout@example.org'));
    const other = json(await login('logout@example.org'));
    const change = await inject({
      method: 'POST',
      url: '/api/v1/me/password',
      headers: { authorization: `Bearer ${again.accessToken}` },
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    });
    expect(change.statusCode).toBe(204);
    expect((await me(again.accessToken)).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: other.refreshToken } }))
        .statusCode,
    ).toBe(401);
    expect((await login('logout@example.org')).statusCode).toBe(401);
    expect((await login('logout@example.org', 'a brand new passphrase')).statusCode).toBe(200);
  });

  it('refuses forged, expired, foreign and misplaced tokens', async () => {
    const session = json(await register('forge@example.org'));
    const [header, payload] = session.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      `${header}.${b64({ ...claims, sub: '00000000-0000-4000-8000-0000000000ad' })}.${session.accessToken.split('.')[2]}`, // tampered
      `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`, // alg: none
      sign({ alg: 'HS256', typ: 'JWT' }, claims, 'some other secret'), // wrong key
      sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 3600, exp: now - 60 }), // expired
      sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'someone-else' }), // wrong audience
      sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'evil' }), // wrong issuer
      sign({ alg: 'HS512', typ: 'JWT' }, claims), // another algorithm
      'not-a-jwt',
    ];
    for (const token of forged) {
      const res = await me(token);
      expect(res.statusCode, token).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    // the same claims, properly signed, are accepted: the refusals above are about the forgery
    expect((await me(sign({ alg: 'HS256', typ: 'JWT' }, claims))).statusCode).toBe(200);
    expect((await inject({ url: '/api/v1/me', headers: { authorization: `Basic ${b64('a:b')}` } })).statusCode).toBe(
      401,
    );
    const inUrl = await inject({ url: `/api/v1/incidents?access_token=${session.accessToken}` });
    expect(inUrl.statusCode).toBe(400);
    expect(json(inUrl).detail).toContain('Authorization header');
  });

  it('applies role changes and bans to live tokens', async () => {
    const session = json(await register('roles@example.org'));
    const { db } = h.current.t;
    const admin = () =>
      inject({
        method: 'POST',
        url: '/api/v1/categories',
        headers: { authorization: `Bearer ${session.accessToken}` },
        payload: { slug: `c-${Date.now()}`, name: { en: 'C' } },
      });
    expect((await admin()).statusCode).toBe(403);
    await db.query({ text: `INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')`, values: [session.user.id] });
    // another node made the change: this node sees it when its cache entry expires (30 s);
    // here the cache is cleared to stand for that
    h.current.app.identity.userState.forget(session.user.id);
    expect((await admin()).statusCode).toBe(201);
    await db.query({ text: 'UPDATE users SET banned_at = now() WHERE id = $1', values: [session.user.id] });
    h.current.app.identity.userState.forget(session.user.id);
    expect((await me(session.accessToken)).statusCode).toBe(401);
    expect((await login('roles@example.org')).statusCode).toBe(401);
  });
});

describe('bans', () => {
  const reportAs = async (token: string, title: string) => {
    const categories = json(await inject({ url: '/api/v1/categories' })).items;
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        title,
        description: '',
        categoryId: categories[0].id,
        location: { type: 'Point', coordinates: [25.6, -33.96] },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return json(res).id as string;
  };

  it('keeps the reports of a banned domain hidden from everyone but the reporter and staff', async () => {
    const spammer = json(await register('deals@spam.example'));
    const before = await reportAs(spammer.accessToken, 'Cheap watches before the ban');
    const { changeBanListCli } = await import('./accounts.service.js');
    const result = await changeBanListCli(h.current.t.db, 'add', {
      kind: 'domain',
      value: '@Spam.Example',
      reason: 'spam',
    });
    expect(result).toEqual({ changed: true, hiddenReports: 1 });
    const after = await reportAs(spammer.accessToken, 'Cheap watches after the ban');
    for (const id of [before, after]) {
      expect((await inject({ url: `/api/v1/incidents/${id}` })).statusCode).toBe(404);
      expect(
        (await inject({ url: `/api/v1/incidents/${id}`, headers: { authorization: `Bearer ${spammer.accessToken}` } }))
          .statusCode,
      ).toBe(200);
      const admin = await (
        await import('../../../test/helpers/app.js')
      ).as('00000000-0000-4000-8000-0000000000ad', 'admin');
      expect((await inject({ url: `/api/v1/incidents/${id}`, headers: admin })).statusCode).toBe(200);
    }
    const list = json(await inject({ url: '/api/v1/incidents?near=25.6,-33.96&radius=100' }));
    expect(list.items).toEqual([]);
  });

  it('ends a banned account’s sign-ins and hides its reports', async () => {
    const vandal = json(await register('vandal@example.org'));
    const id = await reportAs(vandal.accessToken, 'Something rude');
    const { setBannedCli } = await import('./accounts.service.js');
    expect((await setBannedCli(h.current.t.db, 'VANDAL@example.org', true, 'abuse')).hiddenReports).toBe(1);
    h.current.app.identity.userState.forget(vandal.user.id);
    expect((await me(vandal.accessToken)).statusCode).toBe(401);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: vandal.refreshToken } }))
        .statusCode,
    ).toBe(401);
    expect((await login('vandal@example.org')).statusCode).toBe(401);
    expect((await inject({ url: `/api/v1/incidents/${id}` })).statusCode).toBe(404);
    await setBannedCli(h.current.t.db, 'vandal@example.org', false, null);
    expect((await login('vandal@example.org')).statusCode).toBe(200);
  });
});

describe('audit of security events', () => {
  it('records authorization denials with actor, route and address', async () => {
    const session = json(await register('denied@example.org'));
    const res = await inject({
      method: 'POST',
      url: '/api/v1/categories',
      headers: { authorization: `Bearer ${session.accessToken}` },
      payload: { slug: 'nope', name: { en: 'No' } },
    });
    expect(res.statusCode).toBe(403);
    const { rows } = await h.current.t.db.query<{ entity_id: string; ip: string; request_id: string }>({
      text: `SELECT entity_id, ip, request_id FROM audit_log WHERE action = 'authz.denied' AND actor_id = $1`,
      values: [session.user.id],
    });
    expect(rows).toEqual([
      { entity_id: 'POST /api/v1/categories', ip: '127.0.0.1', request_id: res.headers['x-request-id'] },
    ]);
  });

  it('records sign-ins and failures without passwords or tokens', async () => {
    await register('audited@example.org');
    await login('audited@example.org');
    await login('audited@example.org', 'wrong password here');
    const { rows } = await h.current.t.db.query<{ action: string; data: unknown; ip: string | null }>({
      text: `SELECT action, data FROM audit_log WHERE action LIKE 'auth.%' OR action = 'user.register' ORDER BY id`,
    });
    const actions = rows.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.register', 'auth.login.success', 'auth.login.failure']));
    const text = JSON.stringify(rows);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('wrong password here');
    expect(text).not.toContain('audited@example.org');
  });
});
