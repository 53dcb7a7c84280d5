import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, RESIDENT, RESIDENT_2, useTestApp } from '../../../test/helpers/app.js';

/**
 * Response templates: admin CRUD with validation, permissions and audit; applied on status moves
 * (PATCH and bulk) as a public comment in the reporter's language with placeholders filled in;
 * a template for another status or category is a 400 that changes nothing.
 */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const WATER = 'ffa6c8d8-de96-46b5-8eba-9c1cb21bc738';
const MODERATOR = '00000000-0000-4000-8000-00000000f001';
const COMMUNITY = '00000000-0000-4000-8000-00000000ff01';
const AF_REPORTER = RESIDENT_2;
const EN_REPORTER = RESIDENT;

const moderator = () => as(MODERATOR, `moderator:${COMMUNITY}`);
const admin = () => as(ADMIN, 'admin');

beforeAll(async () => {
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2)
     VALUES ($1, 'templates-test', 'Templates test', ST_Multi(ST_MakeEnvelope(18, -34.5, 19, -33.5, 4326)), 1)`,
    [COMMUNITY],
  );
  await as(AF_REPORTER);
  await as(EN_REPORTER);
  await query(`UPDATE users SET locale = 'af' WHERE id = $1`, [AF_REPORTER]);
});

const ACK_TEXT = {
  en: 'Thank you: {reference} ("{title}") is now {status}.',
  af: 'Dankie: {reference} ("{title}") is nou {status}.',
};

async function createTemplate(body: Record<string, unknown>) {
  const res = await inject({ method: 'POST', url: '/api/v1/admin/templates', headers: await admin(), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function report(user: string, categoryId = POTHOLE): Promise<{ id: string; reference: string }> {
  const res = await inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: await as(user),
    payload: {
      title: 'Hole by the school',
      description: '',
      categoryId,
      location: { type: 'Point', coordinates: [18.5, -33.9] },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

const comments = async (id: string) =>
  (json(await inject({ url: `/api/v1/incidents/${id}/timeline` })).items as Array<{ type: string; data: any }>).filter(
    (e) => e.type === 'comment',
  );

describe('admin CRUD', () => {
  it('admins write, staff read, nobody else', async () => {
    const body = { name: 'Acknowledged', status: 'acknowledged', text: ACK_TEXT };
    const post = async (headers: Record<string, string>) =>
      inject({ method: 'POST', url: '/api/v1/admin/templates', headers, payload: body });
    expect((await post({})).statusCode).toBe(401);
    expect((await post(await as(RESIDENT))).statusCode).toBe(403);
    expect((await post(await moderator())).statusCode).toBe(403);

    const created = await createTemplate(body);
    expect(created).toMatchObject({ name: 'Acknowledged', categoryId: null, status: 'acknowledged', text: ACK_TEXT });

    expect((await inject({ url: '/api/v1/admin/templates' })).statusCode).toBe(401);
    expect((await inject({ url: '/api/v1/admin/templates', headers: await as(RESIDENT) })).statusCode).toBe(403);
    const read = await inject({ url: `/api/v1/admin/templates/${created.id}`, headers: await moderator() });
    expect(read.statusCode).toBe(200);
    expect(json(read)).toEqual(created);

    for (const method of ['PATCH', 'DELETE'] as const) {
      const res = await inject({
        method,
        url: `/api/v1/admin/templates/${created.id}`,
        headers: await moderator(),
        ...(method === 'PATCH' ? { payload: { name: 'Mine now' } } : {}),
      });
      expect(res.statusCode).toBe(403);
    }
  });

  it('lists by status and by category (its own and the every-category ones)', async () => {
    const general = await createTemplate({ name: 'Resolved, general', status: 'resolved', text: ACK_TEXT });
    const pothole = await createTemplate({
      name: 'Resolved, pothole',
      status: 'resolved',
      categoryId: POTHOLE,
      text: ACK_TEXT,
    });
    const water = await createTemplate({
      name: 'Resolved, water',
      status: 'resolved',
      categoryId: WATER,
      text: ACK_TEXT,
    });
    const list = async (qs: string) =>
      (
        json(await inject({ url: `/api/v1/admin/templates?${qs}`, headers: await moderator() })).items as Array<{
          id: string;
        }>
      ).map((t) => t.id);
    const forPothole = await list(`status=resolved&categoryId=${POTHOLE}`);
    expect(forPothole).toEqual([general.id, pothole.id]);
    expect(await list('status=resolved')).toEqual(expect.arrayContaining([general.id, pothole.id, water.id]));
    expect(await list('status=rejected')).toEqual([]);
    expect((await inject({ url: '/api/v1/admin/templates?status=bogus', headers: await moderator() })).statusCode).toBe(
      400,
    );
  });

  it('changes and deletes, audited', async () => {
    const created = await createTemplate({ name: 'Rejected', status: 'rejected', text: ACK_TEXT });
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/admin/templates/${created.id}`,
      headers: await admin(),
      payload: {
        name: 'Rejected: not ours',
        text: { en: 'Not ours: {reference}.', af: "Nie ons s'n nie: {reference}." },
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(json(patched)).toMatchObject({ name: 'Rejected: not ours', status: 'rejected', categoryId: null });
    expect(json(patched).text.af).toBe("Nie ons s'n nie: {reference}.");

    const removed = await inject({
      method: 'DELETE',
      url: `/api/v1/admin/templates/${created.id}`,
      headers: await admin(),
    });
    expect(removed.statusCode).toBe(204);
    const again = await inject({ url: `/api/v1/admin/templates/${created.id}?lang=af`, headers: await admin() });
    expect(again.statusCode).toBe(404);
    expect(json(again).detail).toBe(`Geen antwoordsjabloon ${created.id} nie.`);

    const { rows } = await query<{ action: string; actor_id: string }>(
      `SELECT action, actor_id FROM audit_log WHERE entity_type = 'response_template' AND entity_id = $1 ORDER BY id`,
      [created.id],
    );
    expect(rows).toEqual([
      { action: 'template.create', actor_id: ADMIN },
      { action: 'template.update', actor_id: ADMIN },
      { action: 'template.delete', actor_id: ADMIN },
    ]);
  });

  it('refuses a template without both languages, too long, blank, with unknown placeholders, or for nothing', async () => {
    const headers = await admin();
    const attempt = async (payload: Record<string, unknown>) => {
      const res = await inject({ method: 'POST', url: '/api/v1/admin/templates?lang=af', headers, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      return json(res).errors as Array<{ path: string; message: string }>;
    };
    const base = { name: 'x', status: 'acknowledged' };
    expect((await attempt({ ...base, text: { en: 'Only English' } })).map((e) => e.path)).toContain('/body/text/af');
    expect((await attempt({ ...base, text: { en: 'x'.repeat(2001), af: 'ja' } })).map((e) => e.path)).toContain(
      '/body/text/en',
    );
    expect(await attempt({ ...base, text: { en: 'Fine', af: '   ' } })).toEqual([
      { path: '/body/text/af', message: 'mag nie leeg wees of net uit spasies bestaan nie' },
    ]);
    expect(await attempt({ ...base, text: { en: 'Dear {name}', af: 'Goed' } })).toEqual([
      { path: '/body/text/en', message: 'gebruik {name}; net {reference}, {title}, {status} kan ingevul word' },
    ]);
    expect(
      await attempt({ ...base, categoryId: '00000000-0000-4000-8000-000000000000', text: { en: 'a', af: 'b' } }),
    ).toEqual([{ path: '/body/categoryId', message: "is nie 'n bekende kategorie nie" }]);
    // nothing moves back to reported
    expect((await attempt({ name: 'x', status: 'reported', text: { en: 'a', af: 'b' } })).length).toBeGreaterThan(0);
    expect((await attempt({ name: '', status: 'closed', text: { en: 'a', af: 'b' } })).length).toBeGreaterThan(0);
  });
});

describe('applied on a status move', () => {
  let ackTemplate: { id: string };
  let waterOnly: { id: string };
  beforeAll(async () => {
    ackTemplate = await createTemplate({ name: 'Ack for all', status: 'acknowledged', text: ACK_TEXT });
    waterOnly = await createTemplate({
      name: 'Water ack',
      status: 'acknowledged',
      categoryId: WATER,
      text: { en: 'Water team on it.', af: 'Waterspan is daarmee besig.' },
    });
  });

  const patch = async (id: string, payload: Record<string, unknown>, lang = 'en') =>
    inject({ method: 'PATCH', url: `/api/v1/incidents/${id}?lang=${lang}`, headers: await moderator(), payload });

  it("posts the text in the reporter's language, placeholders filled in, as a public comment", async () => {
    const af = await report(AF_REPORTER);
    const en = await report(EN_REPORTER);
    for (const incident of [af, en]) {
      const res = await patch(incident.id, { status: 'acknowledged', templateId: ackTemplate.id });
      expect(res.statusCode, res.body).toBe(200);
      expect(json(res).status).toBe('acknowledged');
    }
    const [afComment] = await comments(af.id);
    expect(afComment!.data.body).toBe(`Dankie: ${af.reference} ("Hole by the school") is nou Erken.`);
    const [enComment] = await comments(en.id);
    expect(enComment!.data.body).toBe(`Thank you: ${en.reference} ("Hole by the school") is now Acknowledged.`);

    // from the staff member who moved it, after the status change
    const timeline = json(await inject({ url: `/api/v1/incidents/${af.id}/timeline` })).items as Array<{
      type: string;
      actor: { id: string } | null;
    }>;
    const types = timeline.map((e) => e.type);
    expect(types.indexOf('comment')).toBeGreaterThan(types.indexOf('status_changed'));
    expect(timeline.find((e) => e.type === 'comment')!.actor?.id).toBe(MODERATOR);
  });

  it('posts nothing without templateId, even where a template matches', async () => {
    const incident = await report(AF_REPORTER);
    expect((await patch(incident.id, { status: 'acknowledged' })).statusCode).toBe(200);
    expect(await comments(incident.id)).toEqual([]);
  });

  it('a template for another status is a localized 400 and changes nothing', async () => {
    const resolvedTemplate = await createTemplate({ name: 'Done', status: 'resolved', text: ACK_TEXT });
    const incident = await report(EN_REPORTER);
    const res = await patch(incident.id, { status: 'acknowledged', templateId: resolvedTemplate.id }, 'af');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(json(res).detail).toBe(
      'Die antwoordsjabloon "Done" is vir skuiwe na Opgelos, maar hierdie verandering skuif die voorval na Erken.',
    );
    expect(json(res).errors).toEqual([
      { path: '/body/templateId', message: 'is vir skuiwe na Opgelos, nie na Erken nie' },
    ]);
    const after = json(await inject({ url: `/api/v1/incidents/${incident.id}` }));
    expect(after.status).toBe('reported');
    expect(await comments(incident.id)).toEqual([]);
  });

  it('refuses a template without a status move, an unknown one, or one for another category', async () => {
    const incident = await report(EN_REPORTER);
    const noMove = await patch(incident.id, { templateId: ackTemplate.id, priority: 'high' });
    expect(noMove.statusCode).toBe(400);
    expect(json(noMove).errors).toEqual([
      { path: '/body/templateId', message: 'needs a status change in the same request' },
    ]);
    const unknown = await patch(incident.id, {
      status: 'acknowledged',
      templateId: '00000000-0000-4000-8000-000000000000',
    });
    expect(json(unknown).errors).toEqual([{ path: '/body/templateId', message: 'is not a known response template' }]);
    const otherCategory = await patch(incident.id, { status: 'acknowledged', templateId: waterOnly.id });
    expect(otherCategory.statusCode).toBe(400);
    expect(json(otherCategory).detail).toBe(
      'The response template "Water ack" is for another category than this incident.',
    );
    // moved into that category in the same change, it fits
    const moved = await patch(incident.id, { status: 'acknowledged', categoryId: WATER, templateId: waterOnly.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await comments(incident.id)).map((c) => c.data.body)).toEqual(['Water team on it.']);
  });

  it('a resident cannot post a template', async () => {
    const incident = await report(EN_REPORTER);
    const res = await inject({
      method: 'PATCH',
      url: `/api/v1/incidents/${incident.id}`,
      headers: await as(EN_REPORTER),
      payload: { templateId: ackTemplate.id },
    });
    expect(res.statusCode).toBe(403);
  });

  it('bulk status moves post it per incident in each reporter’s language, failing items alone', async () => {
    const af = await report(AF_REPORTER);
    const en = await report(EN_REPORTER);
    const done = await report(EN_REPORTER);
    await patch(done.id, { status: 'rejected' });
    const res = await inject({
      method: 'POST',
      url: '/api/v1/incidents/bulk',
      headers: await moderator(),
      payload: { ids: [af.id, en.id, done.id], action: { status: 'acknowledged', templateId: ackTemplate.id } },
    });
    expect(res.statusCode, res.body).toBe(200);
    const results = json(res).results as Array<{ ok: boolean; status?: number }>;
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]!.status).toBe(409);
    expect((await comments(af.id)).map((c) => c.data.body)).toEqual([
      `Dankie: ${af.reference} ("Hole by the school") is nou Erken.`,
    ]);
    expect((await comments(en.id)).map((c) => c.data.body)).toEqual([
      `Thank you: ${en.reference} ("Hole by the school") is now Acknowledged.`,
    ]);
    expect(await comments(done.id)).toEqual([]);

    // a template for another status fails every item with a 400 and its reason
    const other = await report(EN_REPORTER);
    const wrong = await inject({
      method: 'POST',
      url: '/api/v1/incidents/bulk?lang=af',
      headers: await moderator(),
      payload: { ids: [other.id], action: { status: 'rejected', templateId: ackTemplate.id } },
    });
    const [item] = json(wrong).results as Array<{ ok: boolean; status: number; error: string }>;
    expect(item).toMatchObject({ ok: false, status: 400 });
    expect(item!.error).toContain('antwoordsjabloon "Ack for all"');
  });

  it('the audit trail names the template, not the words', async () => {
    const incident = await report(EN_REPORTER);
    await patch(incident.id, { status: 'acknowledged', templateId: ackTemplate.id });
    const { rows } = await query<{ data: { changes: Record<string, unknown> } }>(
      `SELECT data FROM audit_log WHERE action = 'incident.update' AND entity_id = $1`,
      [incident.id],
    );
    expect(rows[0]!.data.changes.comment).toEqual({ templateId: ackTemplate.id });
    expect(JSON.stringify(rows)).not.toContain('Hole by the school');
  });
});
