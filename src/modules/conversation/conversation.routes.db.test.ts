import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import { followersOf } from './conversation.repository.js';
import { COMMENT_MAX_CHARS } from './conversation.schemas.js';

/**
 * The conversation on an incident over HTTP: comments and internal notes, comment moderation,
 * "me too" and following.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const REPORTER = '00000000-0000-4000-8000-00000000c001';
const NEIGHBOUR = '00000000-0000-4000-8000-00000000c002';
const MODERATOR = '00000000-0000-4000-8000-00000000c003';
const RESPONDER = '00000000-0000-4000-8000-00000000c004';
const ELSEWHERE = '00000000-0000-4000-8000-00000000c005';
const READER = '00000000-0000-4000-8000-00000000c006';
const COMMUNITY = '00000000-0000-4000-8000-00000000cc01';
const OTHER_COMMUNITY = '00000000-0000-4000-8000-00000000cc02';

const reporter = () => as(REPORTER);
const neighbour = () => as(NEIGHBOUR);
const moderator = () => as(MODERATOR, `moderator:${COMMUNITY}`);
const responder = () => as(RESPONDER, `responder:${COMMUNITY}`);
const elsewhere = () => as(ELSEWHERE, `moderator:${OTHER_COMMUNITY}`);
const admin = () => as(ADMIN, 'admin');

let categoryId: string;
beforeAll(async () => {
  const res = await inject({ url: '/api/v1/categories' });
  categoryId = json(res).items.find((c: { slug: string }) => c.slug === 'pothole').id;
  // a community around the test point, so its moderator and responder are staff of what is reported here
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2)
     VALUES ($1, 'conversation-test', 'Conversation test', ST_Multi(ST_MakeEnvelope(28.0, -26.3, 28.1, -26.1, 4326)), 1)`,
    [COMMUNITY],
  );
});

async function createIncident(user = REPORTER, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(user),
    payload: {
      title: 'Streetlight out on Church Street',
      description: 'Dark since Tuesday',
      categoryId,
      location: { type: 'Point', coordinates: [28.0473, -26.2041] },
      ...overrides,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id;
}

const comment = async (incident: string, headers: Record<string, string>, payload: unknown) =>
  inject({ method: 'POST', url: `/api/v1/incidents/${incident}/comments`, headers, payload: payload as object });

const timeline = async (incident: string, headers: Record<string, string> = {}) => {
  const res = await inject({ url: `/api/v1/incidents/${incident}/timeline`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return json(res).items as Array<Record<string, any>>;
};

const moderate = async (
  incident: string,
  eventId: string,
  action: 'hide' | 'unhide',
  headers: Record<string, string>,
  payload: unknown = { reason: 'Personal insults' },
) =>
  inject({
    method: 'POST',
    url: `/api/v1/incidents/${incident}/comments/${eventId}/${action}`,
    headers,
    payload: payload as object,
  });

const following = async (headers: Record<string, string>, qs = '') => {
  const res = await inject({ url: `/api/v1/me/following${qs}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return json(res) as { items: Array<{ id: string }>; nextCursor: string | null };
};

async function audit(action: string, entityId: string) {
  const { rows } = await query<{ actor_id: string; data: Record<string, unknown> }>(
    'SELECT actor_id, data FROM audit_log WHERE action = $1 AND entity_id = $2 ORDER BY id',
    [action, entityId],
  );
  return rows;
}

describe('POST /incidents/:id/comments', () => {
  it('adds a comment to the timeline, in the shape the timeline lists, and audits it without the words', async () => {
    const incident = await createIncident();
    const res = await comment(incident, await neighbour(), { body: '  Same on my corner.  ' });
    expect(res.statusCode, res.body).toBe(201);
    const item = json(res);
    expect(item).toEqual({
      id: expect.stringMatching(/^\d+$/),
      type: 'comment',
      actor: { id: NEIGHBOUR, displayName: expect.any(String) },
      data: { body: 'Same on my corner.' },
      internal: false,
      createdAt: expect.any(String),
      hidden: null,
    });
    // everyone who may see the incident reads it, signed in or not
    expect((await timeline(incident)).find((e) => e.id === item.id)).toEqual(item);

    const rows = await audit('comment.create', item.id);
    expect(rows).toEqual([{ actor_id: NEIGHBOUR, data: { incidentId: incident, internal: false } }]);
    expect(JSON.stringify(rows)).not.toContain('corner');
  });

  it('works by reference too', async () => {
    const incident = await createIncident();
    const { reference } = json(await inject({ url: `/api/v1/incidents/${incident}` }));
    const res = await comment(reference, await neighbour(), { body: 'By reference' });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('is 401 signed out (with WWW-Authenticate), 404 on an incident the caller may not see', async () => {
    const incident = await createIncident();
    const signedOut = await comment(incident, {}, { body: 'Hello' });
    expect(signedOut.statusCode).toBe(401);
    expect(signedOut.headers['www-authenticate']).toBe('Bearer');

    const hidden = await createIncident(REPORTER, { isPublic: false });
    expect((await comment(hidden, await neighbour(), { body: 'Hello' })).statusCode).toBe(404);
    expect((await comment(hidden, {}, { body: 'Hello' })).statusCode).toBe(404);
    expect((await comment(hidden, await elsewhere(), { body: 'Hello' })).statusCode).toBe(404);
    // the reporter and the community's staff may see it, so they may talk about it
    expect((await comment(hidden, await reporter(), { body: 'Any news?' })).statusCode).toBe(201);
    expect((await comment(hidden, await moderator(), { body: 'Looking into it' })).statusCode).toBe(201);
    expect((await comment('00000000-0000-4000-8000-000000000000', await neighbour(), { body: 'x' })).statusCode).toBe(
      404,
    );
  });

  it('takes internal notes from staff of its community only, and shows them to staff only', async () => {
    const incident = await createIncident();
    const note = { body: 'Crew booked for Thursday', internal: true };
    for (const [who, headers] of [
      ['resident', await neighbour()],
      ['reporter', await reporter()],
      ['moderator elsewhere', await elsewhere()],
    ] as const) {
      const res = await comment(incident, headers, note);
      expect(res.statusCode, who).toBe(403);
    }
    expect((await comment(incident, {}, note)).statusCode).toBe(401);

    const byModerator = await comment(incident, await moderator(), note);
    expect(byModerator.statusCode, byModerator.body).toBe(201);
    expect(json(byModerator)).toMatchObject({ type: 'internal_note', internal: true, actor: { id: MODERATOR } });
    expect(json(byModerator).data).toEqual({ body: 'Crew booked for Thursday' });
    expect((await comment(incident, await responder(), note)).statusCode).toBe(201);
    expect((await comment(incident, await admin(), note)).statusCode).toBe(201);
    // internal: false is an ordinary comment, from anyone
    expect(json(await comment(incident, await neighbour(), { body: 'Thanks', internal: false })).type).toBe('comment');

    const notes = (items: Array<Record<string, any>>) => items.filter((e) => e.type === 'internal_note').length;
    expect(notes(await timeline(incident, await neighbour()))).toBe(0);
    expect(notes(await timeline(incident, await reporter()))).toBe(0);
    expect(notes(await timeline(incident))).toBe(0);
    expect(notes(await timeline(incident, await elsewhere()))).toBe(0);
    expect(notes(await timeline(incident, await moderator()))).toBe(3);
    expect(notes(await timeline(incident, await admin()))).toBe(3);
    const publicBody = (await inject({ url: `/api/v1/incidents/${incident}/timeline` })).body;
    expect(publicBody).not.toContain('Crew booked');
  });

  it('holds the body to 1..5000 characters once trimmed, with localized errors', async () => {
    const incident = await createIncident();
    const headers = await neighbour();

    const empty = await comment(incident, headers, { body: '' });
    expect(empty.statusCode).toBe(400);
    expect(json(empty).errors).toEqual([{ path: '/body/body', message: 'must be at least 1 characters' }]);

    const blank = await comment(incident, { ...headers, 'accept-language': 'af' }, { body: ' \n\t  ' });
    expect(blank.statusCode).toBe(400);
    expect(blank.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(blank.headers['content-language']).toBe('af');
    expect(json(blank).errors).toEqual([
      { path: '/body/body', message: 'mag nie leeg wees of net uit spasies bestaan nie' },
    ]);

    const long = await comment(incident, headers, { body: 'a'.repeat(COMMENT_MAX_CHARS + 1) });
    expect(long.statusCode).toBe(400);
    expect(json(long).errors).toEqual([{ path: '/body/body', message: 'must be at most 5000 characters' }]);
    const longAf = await comment(incident, { ...headers, 'accept-language': 'af' }, { body: 'é'.repeat(5001) });
    expect(json(longAf).errors).toEqual([{ path: '/body/body', message: 'mag hoogstens 5000 karakters lank wees' }]);

    // 5000 characters (not bytes) are fine, and so is whitespace around them
    const full = await comment(incident, headers, { body: `\n  ${'é'.repeat(COMMENT_MAX_CHARS)}  \n` });
    expect(full.statusCode, full.body).toBe(201);
    expect(json(full).data.body).toHaveLength(COMMENT_MAX_CHARS);

    expect((await comment(incident, headers, { body: 'ok', extra: 1 })).statusCode).toBe(400);
    expect((await comment(incident, headers, { body: { text: 'x' } })).statusCode).toBe(400);
    expect((await comment(incident, headers, {})).statusCode).toBe(400);
    const events = await query(`SELECT 1 FROM incident_events WHERE incident_id = $1 AND type = 'comment'`, [incident]);
    expect(events.rows).toHaveLength(1);
  });

  it('makes the commenter a follower', async () => {
    const incident = await createIncident();
    expect((await following(await as(READER))).items.map((i) => i.id)).not.toContain(incident);
    expect((await comment(incident, await as(READER), { body: 'Following this' })).statusCode).toBe(201);
    expect((await following(await as(READER))).items.map((i) => i.id)).toContain(incident);
  });

  it('answers a retried post with the first answer (Idempotency-Key), and 409 for another comment', async () => {
    const incident = await createIncident();
    const headers = { ...(await neighbour()), 'idempotency-key': `comment-${incident}` };
    const first = await comment(incident, headers, { body: 'Only once' });
    const again = await comment(incident, headers, { body: 'Only once' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(json(again)).toEqual(json(first));
    expect((await comment(incident, headers, { body: 'Something else' })).statusCode).toBe(409);
    const { rows } = await query(`SELECT 1 FROM incident_events WHERE incident_id = $1 AND type = 'comment'`, [
      incident,
    ]);
    expect(rows).toHaveLength(1);
  });

  it('keeps an anonymous reporter unnamed on their own comments, except to themself and staff', async () => {
    const incident = await createIncident(REPORTER, { anonymous: true });
    const item = json(await comment(incident, await reporter(), { body: 'More detail' }));
    const find = async (headers: Record<string, string>) =>
      (await timeline(incident, headers)).find((e) => e.id === item.id);
    expect((await find({}))!.actor).toBeNull();
    expect((await find(await neighbour()))!.actor).toBeNull();
    expect((await find(await reporter()))!.actor).toMatchObject({ id: REPORTER });
    expect((await find(await moderator()))!.actor).toMatchObject({ id: REPORTER });
  });
});

describe('hiding and unhiding comments', () => {
  it('is for staff of its community and admins: 401 signed out, 403 for everyone else', async () => {
    const incident = await createIncident();
    const id = json(await comment(incident, await neighbour(), { body: 'Rude words' })).id;
    const matrix: Array<[string, () => Promise<Record<string, string>>, number]> = [
      ['signed out', async () => ({}), 401],
      ['the reporter', reporter, 403],
      ['the author', neighbour, 403],
      ['another resident', () => as(READER), 403],
      ['a moderator elsewhere', elsewhere, 403],
      ['the moderator', moderator, 200],
      ['a responder', responder, 200],
      ['an admin', admin, 200],
    ];
    for (const [who, headers, status] of matrix) {
      const hide = await moderate(incident, id, 'hide', await headers());
      expect(hide.statusCode, `${who} hides`).toBe(status);
      const unhide = await moderate(incident, id, 'unhide', await headers());
      expect(unhide.statusCode, `${who} unhides`).toBe(status);
    }
    const { rows } = await query<{ actor_id: string; data: { reason: string } }>(
      `SELECT actor_id, data FROM audit_log WHERE action = 'comment.hide' AND entity_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.actor_id)).toEqual([MODERATOR, RESPONDER, ADMIN]);
  });

  it('is 404 for what is not a comment of that incident', async () => {
    const incident = await createIncident();
    const other = await createIncident();
    const elsewhereComment = json(await comment(other, await neighbour(), { body: 'On the other one' })).id;
    const note = json(await comment(incident, await moderator(), { body: 'Staff only', internal: true })).id;
    const created = (await timeline(incident)).find((e) => e.type === 'created')!.id as string;
    for (const eventId of [elsewhereComment, note, created, '999999999']) {
      const res = await moderate(incident, eventId, 'hide', await moderator());
      expect(res.statusCode, eventId).toBe(404);
      expect(json(res).detail).toBe(`No comment ${eventId} on this incident.`);
    }
    expect((await moderate(incident, 'abc', 'hide', await moderator())).statusCode).toBe(400);
    // a private incident stays a 404 for whoever may not see it, whatever they ask of it
    const hidden = await createIncident(REPORTER, { isPublic: false });
    const onHidden = json(await comment(hidden, await reporter(), { body: 'x' })).id;
    expect((await moderate(hidden, onHidden, 'hide', await neighbour())).statusCode).toBe(404);
    expect((await moderate(hidden, onHidden, 'hide', await moderator())).statusCode).toBe(200);
  });

  it('wants a reason of 3..500 characters to hide', async () => {
    const incident = await createIncident();
    const id = json(await comment(incident, await neighbour(), { body: 'Meh' })).id;
    const headers = await moderator();
    expect((await moderate(incident, id, 'hide', headers, {})).statusCode).toBe(400);
    const short = await moderate(incident, id, 'hide', headers, { reason: 'ab' });
    expect(json(short).errors).toEqual([{ path: '/body/reason', message: 'must be at least 3 characters' }]);
    const padded = await moderate(incident, id, 'hide', { ...headers, 'accept-language': 'af' }, { reason: '  ab  ' });
    expect(padded.statusCode).toBe(400);
    expect(json(padded).errors).toEqual([{ path: '/body/reason', message: 'moet minstens 3 karakters lank wees' }]);
    expect((await moderate(incident, id, 'hide', headers, { reason: 'x'.repeat(501) })).statusCode).toBe(400);
    expect((await moderate(incident, id, 'hide', headers, { reason: 'x'.repeat(500) })).statusCode).toBe(200);
  });

  it('shows staff the body and the reason, everyone else only that a comment was hidden', async () => {
    const incident = await createIncident();
    const id = json(await comment(incident, await neighbour(), { body: 'Phone number 082 555 0101' })).id;
    const hide = await moderate(incident, id, 'hide', await moderator(), { reason: 'Personal information' });
    expect(hide.statusCode, hide.body).toBe(200);
    expect(json(hide)).toMatchObject({
      id,
      data: { body: 'Phone number 082 555 0101' },
      hidden: { at: expect.any(String), reason: 'Personal information' },
    });

    for (const [who, headers] of [
      ['signed out', {}],
      ['the author', await neighbour()],
      ['the reporter', await reporter()],
      ['a moderator elsewhere', await elsewhere()],
    ] as const) {
      const res = await inject({ url: `/api/v1/incidents/${incident}/timeline`, headers });
      expect(res.body, who).not.toContain('082 555');
      expect(res.body, who).not.toContain('Personal information');
      const item = json(res).items.find((e: { id: string }) => e.id === id);
      expect(item, who).toMatchObject({
        type: 'comment',
        actor: { id: NEIGHBOUR },
        data: { body: null },
        hidden: { at: json(hide).hidden.at, reason: null },
      });
    }
    for (const headers of [await moderator(), await responder(), await admin()]) {
      const item = (await timeline(incident, headers)).find((e) => e.id === id);
      expect(item).toMatchObject({
        data: { body: 'Phone number 082 555 0101' },
        hidden: { reason: 'Personal information' },
      });
    }

    // the timeline says that it happened, not why
    const events = await timeline(incident);
    const hiddenEvent = events.find((e) => e.type === 'comment_hidden');
    expect(hiddenEvent).toMatchObject({ actor: { id: MODERATOR }, data: { commentId: id }, hidden: null });

    // hiding it again changes nothing
    expect((await moderate(incident, id, 'hide', await admin(), { reason: 'Again' })).statusCode).toBe(200);
    expect((await timeline(incident)).filter((e) => e.type === 'comment_hidden')).toHaveLength(1);
    expect(await audit('comment.hide', id)).toEqual([
      { actor_id: MODERATOR, data: { incidentId: incident, reason: 'Personal information' } },
    ]);

    const unhide = await moderate(incident, id, 'unhide', await responder(), { reason: 'Number was a business line' });
    expect(unhide.statusCode, unhide.body).toBe(200);
    expect(json(unhide)).toMatchObject({ data: { body: 'Phone number 082 555 0101' }, hidden: null });
    const after = await timeline(incident);
    expect(after.find((e) => e.id === id)).toMatchObject({ data: { body: 'Phone number 082 555 0101' }, hidden: null });
    expect(after.find((e) => e.type === 'comment_unhidden')).toMatchObject({
      actor: { id: RESPONDER },
      data: { commentId: id },
    });
    expect(await audit('comment.unhide', id)).toEqual([
      { actor_id: RESPONDER, data: { incidentId: incident, reason: 'Number was a business line' } },
    ]);
    // unhiding without a body, or a visible comment: fine, and nothing recorded
    expect((await moderate(incident, id, 'unhide', await moderator(), undefined)).statusCode).toBe(200);
    expect(await audit('comment.unhide', id)).toHaveLength(1);
  });
});

describe('"me too" confirmations', () => {
  const confirm = async (incident: string, headers: Record<string, string>, method: 'POST' | 'DELETE' = 'POST') =>
    inject({ method, url: `/api/v1/incidents/${incident}/confirmations`, headers });

  it('counts each person once, shows the count on the incident and the timeline, but not who', async () => {
    const incident = await createIncident();
    const first = await confirm(incident, await neighbour());
    expect(first.statusCode, first.body).toBe(201);
    expect(json(first)).toEqual({ confirmations: 1, confirmed: true });
    const again = await confirm(incident, await neighbour());
    expect(again.statusCode).toBe(200);
    expect(json(again)).toEqual({ confirmations: 1, confirmed: true });
    expect(json(await confirm(incident, await as(READER)))).toEqual({ confirmations: 2, confirmed: true });

    expect(json(await inject({ url: `/api/v1/incidents/${incident}` })).confirmations).toBe(2);
    const listed = json(await inject({ url: '/api/v1/incidents?near=28.0473,-26.2041&radius=50&limit=200' }));
    expect(listed.items.find((i: { id: string }) => i.id === incident).confirmations).toBe(2);

    const confirmed = (await timeline(incident, await admin())).filter((e) => e.type === 'confirmed');
    expect(confirmed.map((e) => [e.actor, e.data])).toEqual([
      [null, { confirmations: 1 }],
      [null, { confirmations: 2 }],
    ]);
    const { rows } = await query(`SELECT actor_id FROM incident_events WHERE incident_id = $1 AND type = 'confirmed'`, [
      incident,
    ]);
    expect(rows).toEqual([{ actor_id: null }, { actor_id: null }]);
  });

  it('starts at 0 in the incident JSON of a new report', async () => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: await reporter(),
      payload: {
        title: 'New one',
        description: '',
        categoryId,
        location: { type: 'Point', coordinates: [28.0473, -26.2041] },
      },
    });
    expect(json(res).confirmations).toBe(0);
  });

  it('refuses the reporter with a localized 409', async () => {
    const incident = await createIncident();
    const res = await confirm(incident, await reporter());
    expect(res.statusCode).toBe(409);
    expect(json(res).detail).toBe('You reported this incident yourself: only other people can confirm it.');
    const af = await confirm(incident, { ...(await reporter()), 'accept-language': 'af' });
    expect(json(af)).toMatchObject({ status: 409, title: 'Konflik' });
    expect(json(af).detail).toBe('Jy het hierdie voorval self aangemeld: net ander mense kan dit bevestig.');
    expect(json(await inject({ url: `/api/v1/incidents/${incident}` })).confirmations).toBe(0);
  });

  it('takes a confirmation back, idempotently, without a timeline event', async () => {
    const incident = await createIncident();
    await confirm(incident, await neighbour());
    await confirm(incident, await as(READER));
    const before = (await timeline(incident, await admin())).length;
    const res = await confirm(incident, await neighbour(), 'DELETE');
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ confirmations: 1, confirmed: false });
    expect(json(await confirm(incident, await neighbour(), 'DELETE'))).toEqual({ confirmations: 1, confirmed: false });
    expect(json(await confirm(incident, await moderator(), 'DELETE'))).toEqual({ confirmations: 1, confirmed: false });
    expect((await timeline(incident, await admin())).length).toBe(before);
    expect(json(await inject({ url: `/api/v1/incidents/${incident}` })).confirmations).toBe(1);
    // and again
    expect(json(await confirm(incident, await neighbour()))).toEqual({ confirmations: 2, confirmed: true });
  });

  it('is 401 signed out and 404 where the incident is not visible', async () => {
    const incident = await createIncident();
    expect((await confirm(incident, {})).statusCode).toBe(401);
    expect((await confirm(incident, {}, 'DELETE')).statusCode).toBe(401);
    const hidden = await createIncident(REPORTER, { isPublic: false });
    expect((await confirm(hidden, await neighbour())).statusCode).toBe(404);
    expect((await confirm(hidden, await neighbour(), 'DELETE')).statusCode).toBe(404);
    expect((await confirm(hidden, await moderator())).statusCode).toBe(201);
  });

  it('ends at 10 after 10 people confirm at once', async () => {
    const incident = await createIncident();
    const people = Array.from(
      { length: 10 },
      (_, i) => `00000000-0000-4000-8000-00000000d${String(i).padStart(3, '0')}`,
    );
    const headers = await Promise.all(people.map((p) => as(p)));
    const results = await Promise.all(headers.map((hd) => confirm(incident, hd)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    expect(results.map((r) => json(r).confirmations).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(json(await inject({ url: `/api/v1/incidents/${incident}` })).confirmations).toBe(10);
    const { rows } = await query<{ n: number }>(
      'SELECT count(*)::int AS n FROM incident_confirmations WHERE incident_id = $1',
      [incident],
    );
    expect(rows[0]!.n).toBe(10);
  });

  it('makes the confirmer a follower', async () => {
    const incident = await createIncident();
    const person = '00000000-0000-4000-8000-00000000e001';
    await confirm(incident, await as(person));
    expect((await following(await as(person))).items.map((i) => i.id)).toEqual([incident]);
  });
});

describe('following', () => {
  const follow = async (incident: string, headers: Record<string, string>, method: 'PUT' | 'DELETE' = 'PUT') =>
    inject({ method, url: `/api/v1/incidents/${incident}/follow`, headers });

  it('makes the reporter a follower of the report, in the same statement', async () => {
    const person = '00000000-0000-4000-8000-00000000e101';
    const incident = await createIncident(person);
    expect((await following(await as(person))).items.map((i) => i.id)).toEqual([incident]);
    expect(await followersOf(h.current.t.db, [incident, '00000000-0000-4000-8000-000000000000'])).toEqual(
      new Map([
        [incident, [person]],
        ['00000000-0000-4000-8000-000000000000', []],
      ]),
    );
  });

  it('follows and unfollows idempotently', async () => {
    const person = '00000000-0000-4000-8000-00000000e201';
    const incident = await createIncident();
    for (let i = 0; i < 2; i++) {
      const res = await follow(incident, await as(person));
      expect(res.statusCode, res.body).toBe(204);
      expect(res.body).toBe('');
    }
    expect((await following(await as(person))).items.map((i) => i.id)).toEqual([incident]);
    expect((await followersOf(h.current.t.db, [incident])).get(incident)!.sort()).toEqual([REPORTER, person].sort());
    for (let i = 0; i < 2; i++) expect((await follow(incident, await as(person), 'DELETE')).statusCode).toBe(204);
    expect((await following(await as(person))).items).toEqual([]);
    expect((await followersOf(h.current.t.db, [incident])).get(incident)).toEqual([REPORTER]);
  });

  it('is 401 signed out and 404 where the incident is not visible', async () => {
    const incident = await createIncident();
    expect((await follow(incident, {})).statusCode).toBe(401);
    expect((await follow(incident, {}, 'DELETE')).statusCode).toBe(401);
    expect((await inject({ url: '/api/v1/me/following' })).statusCode).toBe(401);
    const hidden = await createIncident(REPORTER, { isPublic: false });
    expect((await follow(hidden, await neighbour())).statusCode).toBe(404);
    expect((await follow(hidden, await moderator())).statusCode).toBe(204);
  });

  it('lists what the person follows, newest follow first, page by page, and only what they may still see', async () => {
    const person = '00000000-0000-4000-8000-00000000e301';
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await createIncident());
    // followed in another order than made
    const order = [made[2]!, made[0]!, made[4]!, made[1]!, made[3]!];
    for (const id of order) expect((await follow(id, await as(person))).statusCode).toBe(204);
    const newestFirst = [...order].reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await following(await as(person), `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);
    expect((await following(await as(person))).items[0]).toMatchObject({ id: order[4], confirmations: 0 });

    // made private by staff: no longer listed to this person, still to staff who follow it
    const patch = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${order[4]}`,
      headers: await moderator(),
      payload: { isPublic: false },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect((await following(await as(person))).items.map((i) => i.id)).toEqual(newestFirst.slice(1));

    const bad = await inject({ url: '/api/v1/me/following?cursor=nonsense', headers: await as(person) });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).errors).toEqual([{ path: '/query/cursor', message: 'is not a valid cursor for this query' }]);
    expect((await inject({ url: '/api/v1/me/following?limit=0', headers: await as(person) })).statusCode).toBe(400);
  });
});
