import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { createUserCli } from '../accounts/accounts.service.js';
import { FORWARD_JOB } from '../authorities/authorities.jobs.js';

/**
 * Moderation over HTTP: hiding incidents and files, redaction, pre-moderation, bans and the
 * moderation history, with who may do each.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const REPORTER = '00000000-0000-4000-8000-00000000e001';
const NEIGHBOUR = '00000000-0000-4000-8000-00000000e002';
const MODERATOR = '00000000-0000-4000-8000-00000000e003';
const RESPONDER = '00000000-0000-4000-8000-00000000e004';
const ELSEWHERE = '00000000-0000-4000-8000-00000000e005';
const COMMUNITY = '00000000-0000-4000-8000-00000000ee01';
const OTHER_COMMUNITY = '00000000-0000-4000-8000-00000000ee02';
const HELD = '00000000-0000-4000-8000-00000000ee03';

const reporter = () => as(REPORTER);
const neighbour = () => as(NEIGHBOUR);
const moderator = () => as(MODERATOR, `moderator:${COMMUNITY},moderator:${HELD}`);
const responder = () => as(RESPONDER, `responder:${COMMUNITY},responder:${HELD}`);
const elsewhere = () => as(ELSEWHERE, `moderator:${OTHER_COMMUNITY}`);
const admin = () => as(ADMIN, 'admin');

const POINT: [number, number] = [28.0473, -26.2041];
const HELD_POINT: [number, number] = [28.25, -26.2041];

let categoryId: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categoryId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2) VALUES
       ($1, 'moderation-test', 'Moderation test', ST_Multi(ST_MakeEnvelope(28.0, -26.3, 28.1, -26.1, 4326)), 1),
       ($2, 'moderation-held', 'Held for approval', ST_Multi(ST_MakeEnvelope(28.2, -26.3, 28.3, -26.1, 4326)), 1)`,
    [COMMUNITY, HELD],
  );
});

async function report(
  options: { user?: string; at?: [number, number]; title?: string; description?: string; key?: string } = {},
): Promise<{ id: string; reference: string; body: Record<string, unknown> }> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: { ...(await as(options.user ?? REPORTER)), ...(options.key ? { 'idempotency-key': options.key } : {}) },
    payload: {
      title: options.title ?? 'Broken streetlight on Church Street',
      description: options.description ?? 'Dark since Tuesday',
      categoryId,
      location: { type: 'Point', coordinates: options.at ?? POINT },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = json(res);
  return { id: body.id, reference: body.reference, body };
}

const post = async (url: string, headers: Record<string, string>, payload?: unknown) =>
  inject({
    method: 'POST',
    url: `/api/v1${url}`,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const get = (url: string, headers: Record<string, string> = {}) => inject({ url: `/api/v1${url}`, headers });
const ids = (res: LightMyRequestResponse) => (json(res).items as Array<{ id: string }>).map((i) => i.id);
const nearHere = `/incidents?near=${POINT.join(',')}&radius=2000&limit=200`;

async function history(headers: Record<string, string>, params = ''): Promise<LightMyRequestResponse> {
  return get(`/admin/moderation${params}`, headers);
}
type HistoryItem = {
  id: string;
  action: string;
  actor: { id: string } | null;
  target: { type: string; id: string };
  incident: { id: string; reference: string } | null;
  communityId: string | null;
  reason: string | null;
  createdAt: string;
};

describe('hiding and showing an incident', () => {
  let incident: { id: string; reference: string };
  beforeAll(async () => {
    incident = await report();
  });

  it('refuses residents (403), the signed-out (401) and moderators of another community (403)', async () => {
    const body = { reason: 'Shows a face' };
    expect((await post(`/incidents/${incident.id}/hide`, await neighbour(), body)).statusCode).toBe(403);
    expect((await post(`/incidents/${incident.id}/hide`, {}, body)).statusCode).toBe(401);
    expect((await post(`/incidents/${incident.id}/hide`, await elsewhere(), body)).statusCode).toBe(403);
    expect((await post(`/incidents/${incident.id}/hide`, await reporter(), body)).statusCode).toBe(403);
    // a reason is required to hide
    expect((await post(`/incidents/${incident.id}/hide`, await moderator(), {})).statusCode).toBe(400);
  });

  it('hides it from the public; staff and the reporter still see it, only staff see that it is hidden', async () => {
    const res = await post(`/incidents/${incident.reference}/hide`, await moderator(), { reason: 'Shows a face' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toMatchObject({ id: incident.id, hidden: true, pendingApproval: false });

    expect((await get(`/incidents/${incident.id}`)).statusCode).toBe(404);
    expect((await get(`/incidents/${incident.id}`, await neighbour())).statusCode).toBe(404);
    expect((await get(`/incidents/${incident.id}`, await elsewhere())).statusCode).toBe(404);
    expect(ids(await get(nearHere))).not.toContain(incident.id);
    expect(ids(await get(nearHere, await neighbour()))).not.toContain(incident.id);
    expect(ids(await get(nearHere, await moderator()))).toContain(incident.id);
    // Open311 lists only what the public may see
    const open311 = await inject({ url: `/open311/v2/requests/${incident.reference}.json` });
    expect(open311.statusCode).toBe(404);

    const own = await get(`/incidents/${incident.id}`, await reporter());
    expect(own.statusCode).toBe(200);
    expect(json(own)).not.toHaveProperty('hidden');

    // the timeline says so to staff only, with the reason
    const staffTimeline = json(await get(`/incidents/${incident.id}/timeline`, await moderator())).items;
    expect(staffTimeline).toContainEqual(
      expect.objectContaining({ type: 'hidden', internal: true, data: { reason: 'Shows a face' } }),
    );
    const ownTimeline = json(await get(`/incidents/${incident.id}/timeline`, await reporter())).items;
    expect(ownTimeline.map((e: { type: string }) => e.type)).not.toContain('hidden');
  });

  it('hiding a hidden incident records nothing more; a moderator elsewhere cannot even find it', async () => {
    await post(`/incidents/${incident.id}/hide`, await moderator(), { reason: 'Again' });
    const items = json(await history(await moderator(), `?incidentId=${incident.id}`)).items as HistoryItem[];
    expect(items.map((i) => i.action)).toEqual(['incident.hide']);
    expect((await post(`/incidents/${incident.id}/unhide`, await elsewhere())).statusCode).toBe(404);
  });

  it('shows it again (responders may hide and show too)', async () => {
    const res = await post(`/incidents/${incident.id}/unhide`, await responder(), { reason: 'Face blurred now' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).hidden).toBe(false);
    expect((await get(`/incidents/${incident.id}`)).statusCode).toBe(200);
    expect(ids(await get(nearHere))).toContain(incident.id);
    // without a body at all
    expect((await post(`/incidents/${incident.id}/hide`, await responder(), { reason: 'Once more' })).statusCode).toBe(
      200,
    );
    expect((await post(`/incidents/${incident.id}/unhide`, await responder())).statusCode).toBe(200);
  });

  it('every step is on the audit trail and the history', async () => {
    const items = json(await history(await moderator(), `?incidentId=${incident.reference}`)).items as HistoryItem[];
    expect(items.map((i) => i.action)).toEqual([
      'incident.unhide',
      'incident.hide',
      'incident.unhide',
      'incident.hide',
    ]);
    expect(items[3]).toMatchObject({
      actor: { id: MODERATOR },
      target: { type: 'incident', id: incident.id },
      incident: { id: incident.id, reference: incident.reference },
      communityId: COMMUNITY,
      reason: 'Shows a face',
    });
    expect(items[2]).toMatchObject({ actor: { id: RESPONDER }, reason: 'Face blurred now' });
    const { rows } = await query<{ action: string }>(
      `SELECT action FROM audit_log WHERE entity_id = $1 AND action LIKE 'incident.%hide' ORDER BY id`,
      [incident.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['incident.hide', 'incident.unhide', 'incident.hide', 'incident.unhide']);
  });
});

describe('hiding a photo', () => {
  let incident: { id: string; reference: string };
  const mediaId = randomUUID();
  const mediaUrl = () => `/incidents/${incident.id}/media/${mediaId}`;

  beforeAll(async () => {
    incident = await report();
    // a stored photo's row; the presenter only signs its keys
    const variant = (name: string, type: string) => ({
      name,
      key: `${mediaId}/${name}`,
      contentType: type,
      size: 10,
      width: 4,
      height: 3,
    });
    await query(
      `INSERT INTO media (id, incident_id, uploader_id, kind, content_type, size, width, height, variants)
       VALUES ($1, $2, $3, 'image', 'image/webp', 10, 4, 3, $4)`,
      [
        mediaId,
        incident.id,
        REPORTER,
        JSON.stringify([variant('display.webp', 'image/webp'), variant('display.jpg', 'image/jpeg')]),
      ],
    );
  });

  it('refuses residents and moderators of another community; 404 for a missing file', async () => {
    expect((await post(`${mediaUrl()}/hide`, await neighbour(), { reason: 'Plates visible' })).statusCode).toBe(403);
    expect((await post(`${mediaUrl()}/hide`, await elsewhere(), { reason: 'Plates visible' })).statusCode).toBe(403);
    const missing = `/incidents/${incident.id}/media/${randomUUID()}/hide`;
    expect((await post(missing, await moderator(), { reason: 'Plates visible' })).statusCode).toBe(404);
  });

  it('is gone for the public, and marked hidden for the uploader and staff', async () => {
    expect(ids(await get(`/incidents/${incident.id}/media`))).toEqual([mediaId]);
    const before = json(await inject({ url: `/open311/v2/requests/${incident.reference}.json` }));
    expect(before[0].media_url).toEqual(expect.any(String));
    const res = await post(`${mediaUrl()}/hide`, await moderator(), { reason: 'Plates visible' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).hidden).toMatchObject({ reason: 'Plates visible' });

    for (const headers of [{}, await neighbour(), await elsewhere()]) {
      expect(ids(await get(`/incidents/${incident.id}/media`, headers))).toEqual([]);
      expect((await get(mediaUrl(), headers)).statusCode).toBe(404);
    }
    // Open311's media_url is the first photo the public may see: none now
    const open311 = json(await inject({ url: `/open311/v2/requests/${incident.reference}.json` }));
    expect(open311[0].media_url ?? null).toBeNull();

    const own = json(await get(`/incidents/${incident.id}/media`, await reporter())).items;
    expect(own).toHaveLength(1);
    expect(own[0].hidden).toMatchObject({ reason: null });
    expect(own[0].hidden.at).toEqual(expect.any(String));
    const staff = json(await get(mediaUrl(), await moderator()));
    expect(staff.hidden).toMatchObject({ reason: 'Plates visible' });
  });

  it('shows it again, and both steps are in the history', async () => {
    const res = await post(`${mediaUrl()}/unhide`, await moderator());
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).hidden).toBeNull();
    expect(ids(await get(`/incidents/${incident.id}/media`))).toEqual([mediaId]);
    const items = json(await history(await moderator(), `?incidentId=${incident.id}`)).items as HistoryItem[];
    expect(items.map((i) => [i.action, i.target.type, i.target.id])).toEqual([
      ['media.unhide', 'media', mediaId],
      ['media.hide', 'media', mediaId],
    ]);
  });
});

describe('redaction', () => {
  const SECRET_TITLE = 'Call Thabo on 082 555 0199 about the hole';
  const SECRET_TEXT = 'He lives at 14 Jacaranda Lane, thabo.secret@example.com';
  let incident: { id: string; reference: string };
  let commentId: string;
  const key = `redact-${randomUUID()}`;

  beforeAll(async () => {
    incident = await report({ title: SECRET_TITLE, description: SECRET_TEXT, key });
    const res = await post(
      `/incidents/${incident.id}/comments`,
      { ...(await neighbour()), 'idempotency-key': key },
      {
        body: `Ring ${SECRET_TITLE}`,
      },
    );
    expect(res.statusCode, res.body).toBe(201);
    commentId = json(res).id;
  });

  it('is for moderators of its community and admins: not residents, responders or moderators elsewhere', async () => {
    const body = { field: 'title', text: 'Pothole', reason: 'Phone number' };
    expect((await post(`/incidents/${incident.id}/redact`, await neighbour(), body)).statusCode).toBe(403);
    expect((await post(`/incidents/${incident.id}/redact`, await reporter(), body)).statusCode).toBe(403);
    expect((await post(`/incidents/${incident.id}/redact`, await responder(), body)).statusCode).toBe(403);
    expect((await post(`/incidents/${incident.id}/redact`, await elsewhere(), body)).statusCode).toBe(403);
    const comment = `/incidents/${incident.id}/comments/${commentId}/redact`;
    expect((await post(comment, await responder(), { text: 'x', reason: 'Phone number' })).statusCode).toBe(403);
    // a title keeps the title's rules
    expect(
      (await post(`/incidents/${incident.id}/redact`, await moderator(), { ...body, text: ' a ' })).statusCode,
    ).toBe(400);
  });

  it('leaves no trace of the old words anywhere the API answers', async () => {
    const title = await post(`/incidents/${incident.id}/redact`, await moderator(), {
      field: 'title',
      text: 'Pothole [phone number removed]',
      reason: 'Phone number',
    });
    expect(title.statusCode, title.body).toBe(200);
    expect(json(title).title).toBe('Pothole [phone number removed]');
    const description = await post(`/incidents/${incident.id}/redact`, await admin(), {
      field: 'description',
      text: '[address removed]',
      reason: 'Home address',
    });
    expect(json(description).description).toBe('[address removed]');
    const comment = await post(`/incidents/${incident.id}/comments/${commentId}/redact`, await moderator(), {
      text: '[removed]',
      reason: 'Phone number',
    });
    expect(comment.statusCode, comment.body).toBe(200);
    expect(json(comment).data).toMatchObject({ body: '[removed]', redacted: true });

    const answers = [
      await get(`/incidents/${incident.id}`),
      await get(`/incidents/${incident.id}`, await admin()),
      await get(`/incidents/${incident.id}/timeline`),
      await get(`/incidents/${incident.id}/timeline`, await admin()),
      await get(nearHere, await admin()),
      await get(`/incidents?q=Thabo`),
      await inject({ url: `/open311/v2/requests/${incident.reference}.json` }),
      await get(`/admin/audit?limit=200`, await admin()),
      await history(await admin()),
      // a retried create and comment replay their stored answers: with the new words
      await inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: { ...(await reporter()), 'idempotency-key': key },
        payload: {
          title: SECRET_TITLE,
          description: SECRET_TEXT,
          categoryId,
          location: { type: 'Point', coordinates: POINT },
        },
      }),
      await post(
        `/incidents/${incident.id}/comments`,
        { ...(await neighbour()), 'idempotency-key': key },
        {
          body: `Ring ${SECRET_TITLE}`,
        },
      ),
    ];
    for (const res of answers) {
      expect(res.statusCode, res.body).toBeLessThan(300);
      for (const secret of ['555 0199', 'Jacaranda', 'thabo.secret', 'Thabo']) expect(res.body).not.toContain(secret);
    }
    expect(ids(await get('/incidents?q=Thabo'))).toEqual([]);
    const timeline = json(await get(`/incidents/${incident.id}/timeline`)).items as Array<{
      type: string;
      data: object;
    }>;
    expect(timeline.filter((e) => e.type === 'redacted').map((e) => e.data)).toEqual([
      { field: 'title' },
      { field: 'description' },
    ]);
    expect(timeline.map((e) => e.type)).toContain('comment_redacted');
    // nor in the database behind it
    const { rows } = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT title || description AS t FROM incidents
         UNION ALL SELECT data::text FROM incident_events
         UNION ALL SELECT data::text FROM audit_log
         UNION ALL SELECT response::text FROM idempotency_keys
         UNION ALL SELECT coalesce(reason, '') FROM moderation_actions) AS texts
       WHERE t LIKE '%555 0199%' OR t LIKE '%Jacaranda%'`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('stands: the reporter cannot write the removed words back, staff still can edit', async () => {
    const current = json(await get(`/incidents/${incident.id}`, await reporter()));
    expect(current.status).toBe('reported');
    const rewrite = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: { ...(await reporter()), 'content-type': 'application/json' },
      payload: { title: SECRET_TITLE },
    });
    expect(rewrite.statusCode, rewrite.body).toBe(409);
    expect(json(rewrite).detail).toContain('redacted');
    expect(json(await get(`/incidents/${incident.id}`)).title).toBe('Pothole [phone number removed]');
    const triage = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: { ...(await moderator()), 'content-type': 'application/json' },
      payload: { priority: 'high' },
    });
    expect(triage.statusCode, triage.body).toBe(200);
  });

  it('is on the history with its reason', async () => {
    const items = json(await history(await moderator(), `?incidentId=${incident.id}`)).items as HistoryItem[];
    expect(items.map((i) => [i.action, i.reason])).toEqual([
      ['comment.redact', 'Phone number'],
      ['incident.redact', 'Home address'],
      ['incident.redact', 'Phone number'],
    ]);
  });
});

describe('pre-moderation', () => {
  it('is a community setting that only admins change', async () => {
    const patch = { premoderation: true };
    const refused = await inject({
      method: 'PATCH',
      url: `/api/v1/communities/${HELD}`,
      headers: await moderator(),
      payload: patch,
    });
    expect(refused.statusCode).toBe(403);
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/communities/${HELD}`,
      headers: await admin(),
      payload: patch,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).premoderation).toBe(true);
    expect(json(await get(`/communities/${HELD}`)).premoderation).toBe(true);
    expect(json(await get(`/communities/${COMMUNITY}`)).premoderation).toBe(false);
  });

  it('holds a new report: the reporter sees it pending, the public not at all, until a moderator approves', async () => {
    // an authority that takes reports from the held community: they reach it only once approved
    await query(
      `INSERT INTO authorities (slug, name, jurisdiction, area_m2, delivery)
       VALUES ('held-council', 'Held council', ST_Multi(ST_MakeEnvelope(28.2, -26.3, 28.3, -26.1, 4326)), 1, $1)`,
      [JSON.stringify({ kind: 'webhook', url: 'http://127.0.0.1:9/reports' })],
    );
    const forwards = async (id: string) =>
      (
        await query<{ n: number }>(
          `SELECT count(*)::int AS n FROM jobs WHERE name = $1 AND payload->>'incidentId' = $2`,
          [FORWARD_JOB, id],
        )
      ).rows[0]!.n;
    const held = await report({ at: HELD_POINT });
    expect(await forwards(held.id)).toBe(0);
    expect(held.body).toMatchObject({ pendingApproval: true, communityId: HELD });
    expect(held.body).not.toHaveProperty('hidden');
    expect(json(await get(`/incidents/${held.id}`, await reporter()))).toMatchObject({ pendingApproval: true });
    expect((await get(`/incidents/${held.id}`)).statusCode).toBe(404);
    expect((await get(`/incidents/${held.id}`, await neighbour())).statusCode).toBe(404);
    expect(ids(await get(`/incidents?near=${HELD_POINT.join(',')}&radius=1000`))).not.toContain(held.id);
    // a report elsewhere is not held
    expect((await report()).body).toMatchObject({ pendingApproval: false });

    // the moderators' queue
    expect(ids(await get('/admin/moderation/pending', await moderator()))).toContain(held.id);
    expect(ids(await get(`/admin/moderation/pending?communityId=${HELD}`, await admin()))).toContain(held.id);
    expect((await get(`/admin/moderation/pending?communityId=${HELD}`, await elsewhere())).statusCode).toBe(403);
    expect((await get('/admin/moderation/pending', await neighbour())).statusCode).toBe(403);
    expect(ids(await get('/admin/moderation/pending', await elsewhere()))).not.toContain(held.id);

    // showing it is not how it is published; responders and other communities' moderators may not decide
    expect((await post(`/incidents/${held.id}/unhide`, await moderator())).statusCode).toBe(409);
    expect((await post(`/incidents/${held.id}/approve`, await responder())).statusCode).toBe(403);
    expect((await post(`/incidents/${held.id}/approve`, await elsewhere())).statusCode).toBe(404);
    expect((await post(`/incidents/${held.id}/approve`, await reporter())).statusCode).toBe(403);

    const approved = await post(`/incidents/${held.id}/approve`, await moderator(), { reason: 'Looks fine' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(json(approved)).toMatchObject({ pendingApproval: false, hidden: false, status: 'reported' });
    expect(await forwards(held.id)).toBe(1);
    expect((await get(`/incidents/${held.id}`)).statusCode).toBe(200);
    expect(ids(await get('/admin/moderation/pending', await moderator()))).not.toContain(held.id);
    expect((await post(`/incidents/${held.id}/approve`, await moderator())).statusCode).toBe(409);
    const timeline = json(await get(`/incidents/${held.id}/timeline`)).items as Array<{ type: string }>;
    expect(timeline.map((e) => e.type)).toContain('approved');
  });

  it('rejecting keeps it hidden for good and marks it rejected for its reporter', async () => {
    const held = await report({ at: HELD_POINT, title: 'Buy cheap watches here' });
    expect((await post(`/incidents/${held.id}/reject`, await moderator(), {})).statusCode).toBe(400);
    const res = await post(`/incidents/${held.id}/reject`, await moderator(), { reason: 'Advertising' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toMatchObject({ pendingApproval: false, hidden: true, status: 'rejected' });
    expect((await get(`/incidents/${held.id}`)).statusCode).toBe(404);
    expect(json(await get(`/incidents/${held.id}`, await reporter()))).toMatchObject({
      status: 'rejected',
      pendingApproval: false,
    });
    const ownTimeline = json(await get(`/incidents/${held.id}/timeline`, await reporter())).items;
    expect(ownTimeline.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['approval_rejected', 'status_changed']),
    );
    const items = json(await history(await moderator(), `?communityId=${HELD}`)).items as HistoryItem[];
    expect(items.slice(0, 2).map((i) => [i.action, i.reason])).toEqual([
      ['incident.reject', 'Advertising'],
      ['incident.approve', 'Looks fine'],
    ]);
  });
});

describe('bans over the API', () => {
  const PASSWORD = 'correct horse battery staple';
  const email = `banned-${randomUUID().slice(0, 8)}@example.com`;
  let userId: string;
  const login = () => inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: PASSWORD } });

  beforeAll(async () => {
    userId = (await createUserCli(h.current.t.db, { email, password: PASSWORD, name: 'Banned', grant: null })).id;
  });

  it('is for admins only', async () => {
    for (const headers of [await moderator(), await neighbour()]) {
      expect((await post(`/admin/users/${userId}/ban`, headers, { reason: 'Spam' })).statusCode).toBe(403);
      expect((await get('/admin/bans', headers)).statusCode).toBe(403);
      expect((await post('/admin/bans', headers, { kind: 'domain', value: 'spam.example' })).statusCode).toBe(403);
    }
    expect((await post(`/admin/users/${userId}/ban`, {}, { reason: 'Spam' })).statusCode).toBe(401);
    expect((await post(`/admin/users/${randomUUID()}/ban`, await admin(), { reason: 'Spam' })).statusCode).toBe(404);
  });

  it('a ban ends sign-in and hides the account’s reports; unbanning lets it sign in again', async () => {
    expect((await login()).statusCode).toBe(200);
    const session = json(await login());
    const own = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { authorization: `Bearer ${session.accessToken}` },
      payload: { title: 'Buy now', description: '', categoryId, location: { type: 'Point', coordinates: POINT } },
    });
    expect(own.statusCode).toBe(201);

    const res = await post(`/admin/users/${userId}/ban`, await admin(), { reason: 'Spam' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ userId, banned: true, hiddenReports: 1 });
    expect((await login()).statusCode).toBe(401);
    // its access token ended with it
    expect((await get('/me', { authorization: `Bearer ${session.accessToken}` })).statusCode).toBe(401);
    expect((await get(`/incidents/${json(own).id}`)).statusCode).toBe(404);

    const lifted = await post(`/admin/users/${userId}/unban`, await admin());
    expect(json(lifted)).toEqual({ userId, banned: false, hiddenReports: 0 });
    expect((await login()).statusCode).toBe(200);

    const { rows } = await query<{ action: string; actor_id: string; data: { via: string; reason: string } }>(
      `SELECT action, actor_id, data FROM audit_log WHERE entity_id = $1 AND action LIKE 'user.%ban' ORDER BY id`,
      [userId],
    );
    expect(rows.map((r) => [r.action, r.actor_id, r.data.via, r.data.reason])).toEqual([
      ['user.ban', ADMIN, 'api', 'Spam'],
      ['user.unban', ADMIN, 'api', null],
    ]);
  });

  it('manages the ban list: reports from a listed domain stay hidden', async () => {
    expect((await post('/admin/bans', await admin(), { kind: 'domain', value: 'not a domain' })).statusCode).toBe(400);
    expect((await post('/admin/bans', await admin(), { kind: 'email', value: 'nobody' })).statusCode).toBe(400);
    const added = await post('/admin/bans', await admin(), { kind: 'domain', value: '@Spam.Example', reason: 'Spam' });
    expect(added.statusCode, added.body).toBe(201);
    const entry = json(added);
    expect(entry).toMatchObject({ kind: 'domain', value: 'spam.example', reason: 'Spam', hiddenReports: 0 });
    expect((await post('/admin/bans', await admin(), { kind: 'domain', value: 'spam.example' })).statusCode).toBe(200);
    expect(json(await get('/admin/bans', await admin())).items).toContainEqual(
      expect.objectContaining({ id: entry.id, value: 'spam.example' }),
    );

    const spammer = await createUserCli(h.current.t.db, {
      email: 'someone@spam.example',
      password: PASSWORD,
      name: 'Spammer',
      grant: null,
    });
    const spam = await report({ user: spammer.id });
    expect((await get(`/incidents/${spam.id}`)).statusCode).toBe(404);

    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/admin/bans/${entry.id}`, headers: await moderator() }))
        .statusCode,
    ).toBe(403);
    const removed = await inject({ method: 'DELETE', url: `/api/v1/admin/bans/${entry.id}`, headers: await admin() });
    expect(removed.statusCode).toBe(204);
    expect(
      (await inject({ method: 'DELETE', url: `/api/v1/admin/bans/${entry.id}`, headers: await admin() })).statusCode,
    ).toBe(404);
    expect(ids(await get('/admin/bans', await admin()))).not.toContain(entry.id);
  });

  it('an email ban keeps the address out of the audit trail and the moderation history', async () => {
    const address = 'Banned.Person@Example.org';
    const added = await post('/admin/bans', await admin(), { kind: 'email', value: address, reason: 'abuse' });
    expect(added.statusCode, added.body).toBe(201);
    const removed = await inject({
      method: 'DELETE',
      url: `/api/v1/admin/bans/${json(added).id}`,
      headers: await admin(),
    });
    expect(removed.statusCode).toBe(204);
    const { rows } = await h.current.t.db.query<{ text: string }>({
      text: `SELECT row_to_json(a)::text AS text FROM audit_log a WHERE action LIKE 'banlist.%'
             UNION ALL SELECT row_to_json(m)::text FROM moderation_actions m WHERE action LIKE 'banlist.%'`,
    });
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((r) => r.text.toLowerCase().includes('banned.person'))).toEqual([]);
    expect(rows.some((r) => r.text.includes('email-sha256:'))).toBe(true);
  });

  it('bans are in the admins’ history, not in a community’s', async () => {
    const items = json(await history(await admin(), '?limit=200')).items as HistoryItem[];
    const bans = items.filter((i) => i.action.startsWith('user.') || i.action.startsWith('banlist.'));
    expect(bans.map((i) => [i.action, i.target.type, i.communityId])).toEqual([
      ['banlist.remove', 'ban_list', null],
      ['banlist.add', 'ban_list', null],
      ['banlist.remove', 'ban_list', null],
      ['banlist.add', 'ban_list', null],
      ['user.unban', 'user', null],
      ['user.ban', 'user', null],
    ]);
    const theirs = json(await history(await moderator(), '?limit=200')).items as HistoryItem[];
    expect(theirs.some((i) => i.action.startsWith('user.') || i.action.startsWith('banlist.'))).toBe(false);
  });
});

describe('the moderation history', () => {
  it('holds comment hiding from the conversation module and merges too', async () => {
    const incident = await report();
    const original = await report();
    const comment = await post(`/incidents/${incident.id}/comments`, await neighbour(), { body: 'Rude words' });
    const commentId = json(comment).id;
    const hide = await post(`/incidents/${incident.id}/comments/${commentId}/hide`, await moderator(), {
      reason: 'Insults',
    });
    expect(hide.statusCode, hide.body).toBe(200);
    const merge = await post(`/incidents/${incident.id}/merge`, await moderator(), { into: original.id });
    expect(merge.statusCode, merge.body).toBe(200);
    const items = json(await history(await moderator(), `?incidentId=${incident.id}`)).items as HistoryItem[];
    expect(items.map((i) => [i.action, i.target.type, i.target.id, i.reason])).toEqual([
      ['incident.merge', 'incident', incident.id, null],
      ['comment.hide', 'comment', commentId, 'Insults'],
    ]);
  });

  it('holds bulk hiding; bulk showing does not publish a held report', async () => {
    const incident = await report();
    const held = await report({ at: HELD_POINT });
    const hide = await inject({
      method: 'POST',
      url: '/api/v1/incidents/bulk',
      headers: await moderator(),
      payload: { ids: [incident.id], action: { hidden: true } },
    });
    expect(hide.statusCode, hide.body).toBe(200);
    expect((await get(`/incidents/${incident.id}`)).statusCode).toBe(404);
    const items = json(await history(await moderator(), `?incidentId=${incident.id}`)).items as HistoryItem[];
    expect(items.map((i) => [i.action, i.actor?.id])).toEqual([['incident.hide', MODERATOR]]);

    const show = await inject({
      method: 'POST',
      url: '/api/v1/incidents/bulk',
      headers: await moderator(),
      payload: { ids: [held.id], action: { hidden: false } },
    });
    expect(json(show).results).toEqual([expect.objectContaining({ id: held.id, ok: false, status: 409 })]);
    expect((await get(`/incidents/${held.id}`)).statusCode).toBe(404);
  });

  it('is newest first, filtered and paged; readable by a community’s moderators and admins only', async () => {
    const all = json(await history(await moderator(), `?communityId=${COMMUNITY}&limit=200`)).items as HistoryItem[];
    expect(all.length).toBeGreaterThan(5);
    expect(all.every((i) => i.communityId === COMMUNITY)).toBe(true);
    const times = all.map((i) => i.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const first = json(await history(await moderator(), `?communityId=${COMMUNITY}&limit=2`));
    expect(first.items).toHaveLength(2);
    const second = json(
      await history(await moderator(), `?communityId=${COMMUNITY}&limit=2&cursor=${first.nextCursor}`),
    );
    expect([...first.items, ...second.items].map((i: HistoryItem) => i.id)).toEqual(all.slice(0, 4).map((i) => i.id));
    const hides = json(await history(await moderator(), `?communityId=${COMMUNITY}&action=incident.hide`)).items;
    expect(hides.every((i: HistoryItem) => i.action === 'incident.hide')).toBe(true);

    expect((await history(await neighbour())).statusCode).toBe(403);
    expect((await history({})).statusCode).toBe(401);
    expect((await history(await responder(), `?communityId=${COMMUNITY}`)).statusCode).toBe(403);
    expect((await history(await elsewhere(), `?communityId=${COMMUNITY}`)).statusCode).toBe(403);
    expect(json(await history(await elsewhere())).items).toEqual([]);
    // a public incident a moderator elsewhere may see, but whose history is not theirs
    const visible = await report();
    await post(`/incidents/${visible.id}/hide`, await moderator(), { reason: 'Checking' });
    await post(`/incidents/${visible.id}/unhide`, await moderator());
    expect((await history(await elsewhere(), `?incidentId=${visible.id}`)).statusCode).toBe(403);
    expect((await history(await responder(), `?incidentId=${visible.id}`)).statusCode).toBe(403);
    expect((await history(await moderator(), '?cursor=nonsense')).statusCode).toBe(400);
    const everything = json(await history(await admin(), '?limit=200')).items as HistoryItem[];
    expect(everything.length).toBeGreaterThan(all.length);
  });
});
