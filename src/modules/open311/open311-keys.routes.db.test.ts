import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, useTestApp } from '../../../test/helpers/app.js';

/** Open311 keys over HTTP for admins: made (the key shown once), listed without it, revoked; audited. */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);

const postRequest = (key: string) =>
  inject({
    method: 'POST',
    url: '/open311/v2/requests.json',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `api_key=${key}&service_code=nothing&lat=-26.2&long=28.05&description=x`,
  });

describe('/admin/open311/keys', () => {
  it('makes a key that works, lists it without the secret, revokes it', async () => {
    const headers = await as(ADMIN, 'admin');
    const made = await inject({
      method: 'POST',
      url: '/api/v1/admin/open311/keys',
      headers,
      payload: { name: 'City call centre' },
    });
    expect(made.statusCode).toBe(201);
    const { id, key } = json(made);
    expect(key).toMatch(/^bw311_/);
    // a live key gets past the key check (the request then fails on its unknown service)
    expect((await postRequest(key)).statusCode).not.toBe(403);

    const list = json(await inject({ url: '/api/v1/admin/open311/keys', headers }));
    const listed = list.items.find((k: any) => k.id === id);
    expect(listed).toMatchObject({ name: 'City call centre', authorityId: null, revokedAt: null });
    expect(JSON.stringify(list)).not.toContain(key);
    expect(key.startsWith(listed.prefix)).toBe(true);

    const revoked = await inject({ method: 'DELETE', url: `/api/v1/admin/open311/keys/${id}`, headers });
    expect(revoked.statusCode).toBe(204);
    expect((await postRequest(key)).statusCode).toBe(403);
    const after = json(await inject({ url: '/api/v1/admin/open311/keys', headers }));
    expect(after.items.find((k: any) => k.id === id).revokedAt).not.toBeNull();

    const { rows } = await h.current.t.db.query<{ action: string; actor_id: string; data: any }>({
      text: 'SELECT action, actor_id, data FROM audit_log WHERE entity_id = $1 ORDER BY id',
      values: [id],
    });
    expect(rows.map((r) => [r.action, r.actor_id, r.data.via])).toEqual([
      ['open311.key.create', ADMIN, 'api'],
      ['open311.key.revoke', ADMIN, 'api'],
    ]);
    expect(JSON.stringify(rows)).not.toContain(key);
  });

  it('refuses an unknown authority, an unknown key, and anyone but an admin', async () => {
    const headers = await as(ADMIN, 'admin');
    const unknownAuthority = await inject({
      method: 'POST',
      url: '/api/v1/admin/open311/keys',
      headers,
      payload: { name: 'x', authorityId: '33333333-3333-4333-8333-333333333333' },
    });
    expect(unknownAuthority.statusCode).toBe(400);
    const unknownKey = await inject({
      method: 'DELETE',
      url: '/api/v1/admin/open311/keys/33333333-3333-4333-8333-333333333333',
      headers,
    });
    expect(unknownKey.statusCode).toBe(404);
    const resident = await as(RESIDENT);
    expect((await inject({ url: '/api/v1/admin/open311/keys', headers: resident })).statusCode).toBe(403);
    expect(
      (await inject({ method: 'POST', url: '/api/v1/admin/open311/keys', headers: resident, payload: { name: 'x' } }))
        .statusCode,
    ).toBe(403);
    expect((await inject({ url: '/api/v1/admin/open311/keys' })).statusCode).toBe(401);
  });
});
