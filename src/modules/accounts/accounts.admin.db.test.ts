import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';

/**
 * The account's own language (PATCH /me), and accounts and roles for admins: the list, granting
 * and taking away moderator / responder / admin, each on the audit trail and in force at once.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const PASSWORD = 'correct horse battery staple';

async function register(email: string, displayName = 'Naledi') {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email, password: PASSWORD, displayName, locale: 'en' },
  });
  expect(res.statusCode).toBe(201);
  return json<{ accessToken: string; user: { id: string } }>(res);
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function auditOf(entityId: string, action: string) {
  const { rows } = await h.current.t.db.query<{ actor_id: string | null; data: any; before: any; after: any }>({
    text: 'SELECT actor_id, data, before, after FROM audit_log WHERE entity_id = $1 AND action = $2 ORDER BY id',
    values: [entityId, action],
  });
  return rows;
}

async function community(slug: string): Promise<string> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/communities',
    headers: await as(ADMIN, 'admin'),
    payload: {
      slug,
      name: `Ward ${slug}`,
      boundary: {
        type: 'Polygon',
        coordinates: [
          [
            [18.4, -33.9],
            [18.41, -33.9],
            [18.41, -33.91],
            [18.4, -33.91],
            [18.4, -33.9],
          ],
        ],
      },
    },
  });
  expect(res.statusCode).toBe(201);
  return json(res).id;
}

describe('PATCH /me', () => {
  it('keeps the language on the account: the next sign-in carries it', async () => {
    const { accessToken, user } = await register('lang@example.org');
    const res = await inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: bearer(accessToken),
      payload: { locale: 'af' },
    });
    expect(res.statusCode).toBe(200);
    expect(json(res).locale).toBe('af');
    const login = await inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'lang@example.org', password: PASSWORD },
    });
    expect(json(login).user.locale).toBe('af');
    const trail = await auditOf(user.id, 'user.update');
    expect(trail).toHaveLength(1);
    expect(trail[0]!.data).toEqual({ locale: 'af' });
  });

  it('changes the name, refuses a blank one or an unknown language, and needs a sign-in', async () => {
    const { accessToken, user } = await register('name@example.org');
    const ok = await inject({
      method: 'PATCH',
      url: '/api/v1/me',
      headers: bearer(accessToken),
      payload: { displayName: '  Thandi  ' },
    });
    expect(json(ok).displayName).toBe('Thandi');
    // the trail says the name changed, never what to
    expect((await auditOf(user.id, 'user.update'))[0]!.data).toEqual({ displayName: true });
    for (const payload of [{ displayName: '   ' }, { locale: 'fr' }, { email: 'x@example.org' }]) {
      const res = await inject({ method: 'PATCH', url: '/api/v1/me', headers: bearer(accessToken), payload });
      expect(res.statusCode).toBe(400);
    }
    const anonymous = await inject({ method: 'PATCH', url: '/api/v1/me', payload: { locale: 'af' } });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('accounts and roles (admin)', () => {
  it('lists accounts, newest first, found by email or name, with a total', async () => {
    await register('zanele.first@example.org', 'Zanele Mokoena');
    await register('pieter@example.org', 'Pieter Zanele-Botha');
    const headers = await as(ADMIN, 'admin');
    const found = json(await inject({ url: '/api/v1/admin/users?q=ZANELE', headers }));
    expect(found.total).toBe(2);
    expect(found.items.map((u: any) => u.email)).toEqual(['pieter@example.org', 'zanele.first@example.org']);
    expect(found.items[0]).toMatchObject({
      displayName: 'Pieter Zanele-Botha',
      locale: 'en',
      roles: [],
      banned: false,
    });
    expect(found.items[0]).not.toHaveProperty('passwordHash');
    const page2 = json(await inject({ url: '/api/v1/admin/users?q=zanele&limit=1&offset=1', headers }));
    expect(page2.items.map((u: any) => u.email)).toEqual(['zanele.first@example.org']);
    expect(page2.total).toBe(2);
    const past = json(await inject({ url: '/api/v1/admin/users?q=zanele&limit=1&offset=5', headers }));
    expect(past).toEqual({ items: [], total: 2 });
    const admins = json(await inject({ url: '/api/v1/admin/users?role=admin', headers }));
    expect(admins.items.map((u: any) => u.id)).toEqual([ADMIN]);
    expect(admins.items[0].roles).toEqual([{ role: 'admin', communityId: null }]);
  });

  it('grants a moderator role that works at once, takes it away again, both on the audit trail', async () => {
    const ward = await community('ward-roles');
    const { accessToken, user } = await register('mod@example.org');
    const headers = await as(ADMIN, 'admin');
    const history = () => inject({ url: `/api/v1/admin/moderation?communityId=${ward}`, headers: bearer(accessToken) });

    const granted = await inject({
      method: 'POST',
      url: `/api/v1/admin/users/${user.id}/roles`,
      headers,
      payload: { role: 'moderator', communityId: ward },
    });
    expect(granted.statusCode).toBe(200);
    expect(json(granted).roles).toEqual([{ role: 'moderator', communityId: ward }]);
    // the old access token ended with the change: the user signs in again and has the role
    expect((await history()).statusCode).toBe(401);
    const login = await inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'mod@example.org', password: PASSWORD },
    });
    const moderator = json(login).accessToken as string;
    expect(
      (await inject({ url: `/api/v1/admin/moderation?communityId=${ward}`, headers: bearer(moderator) })).statusCode,
    ).toBe(200);

    const again = await inject({
      method: 'POST',
      url: `/api/v1/admin/users/${user.id}/roles`,
      headers,
      payload: { role: 'moderator', communityId: ward },
    });
    expect(json(again).roles).toHaveLength(1);

    const revoked = await inject({
      method: 'POST',
      url: `/api/v1/admin/users/${user.id}/roles/revoke`,
      headers,
      payload: { role: 'moderator', communityId: ward },
    });
    expect(revoked.statusCode).toBe(200);
    expect(json(revoked).roles).toEqual([]);
    expect(
      (await inject({ url: `/api/v1/admin/moderation?communityId=${ward}`, headers: bearer(moderator) })).statusCode,
    ).toBe(401);

    const grants = await auditOf(user.id, 'role.grant');
    expect(grants).toHaveLength(1); // granting twice changed nothing the second time
    expect(grants[0]).toMatchObject({ actor_id: ADMIN, after: { role: 'moderator', communityId: ward } });
    const revokes = await auditOf(user.id, 'role.revoke');
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({ actor_id: ADMIN, before: { role: 'moderator', communityId: ward } });
  });

  it('checks the grant: a community for staff roles, none for admin, a known user; not your own admin role', async () => {
    const { user } = await register('checks@example.org');
    const headers = await as(ADMIN, 'admin');
    const grant = (id: string, payload: object, revoke = false) =>
      inject({ method: 'POST', url: `/api/v1/admin/users/${id}/roles${revoke ? '/revoke' : ''}`, headers, payload });
    const noCommunity = await grant(user.id, { role: 'responder' });
    expect(noCommunity.statusCode).toBe(400);
    expect(json(noCommunity).errors[0].path).toBe('/body/communityId');
    const unknownCommunity = await grant(user.id, {
      role: 'responder',
      communityId: '11111111-1111-4111-8111-111111111111',
    });
    expect(unknownCommunity.statusCode).toBe(400);
    const adminInCommunity = await grant(user.id, { role: 'admin', communityId: await community('ward-checks') });
    expect(adminInCommunity.statusCode).toBe(400);
    const unknownUser = await grant('22222222-2222-4222-8222-222222222222', { role: 'admin' });
    expect(unknownUser.statusCode).toBe(404);
    const own = await grant(ADMIN, { role: 'admin' }, true);
    expect(own.statusCode).toBe(409);

    const admin = await grant(user.id, { role: 'admin' });
    expect(json(admin).roles).toEqual([{ role: 'admin', communityId: null }]);
  });

  it('is for admins only', async () => {
    const { user } = await register('notadmin@example.org');
    for (const headers of [{}, await as(RESIDENT), await as(RESIDENT, `moderator:${crypto.randomUUID()}`)]) {
      const list = await inject({ url: '/api/v1/admin/users', headers });
      expect([401, 403]).toContain(list.statusCode);
      const grant = await inject({
        method: 'POST',
        url: `/api/v1/admin/users/${user.id}/roles`,
        headers,
        payload: { role: 'admin' },
      });
      expect([401, 403]).toContain(grant.statusCode);
    }
    expect(await auditOf(user.id, 'role.grant')).toEqual([]);
  });
});
