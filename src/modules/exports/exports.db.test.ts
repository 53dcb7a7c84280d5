import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, as, json, useTestApp } from '../../../test/helpers/app.js';
import type { Actor } from '../identity/actor.js';
import { CsvReader } from './exports.csv.js';
import { importIncidents, type ImportRecord } from './imports.service.js';

/** CSV and GeoJSON exports (who, what each row shows, formula-safe cells, streaming) and imports. */
const h = useTestApp();
const inject = (options: InjectOptions) => h.current.app.inject(options);
const query = <R extends object = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  h.current.t.db.query<R>({ text, values });

const POTHOLE = 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396';
const CRIME = '2a2a2bac-6c2c-43aa-9055-331961a12d78';
const A = '00000000-0000-4000-8000-0000000e0a01';
const C = '00000000-0000-4000-8000-0000000e0c01'; // inside A
const B = '00000000-0000-4000-8000-0000000e0b01';
const MOD_A = '00000000-0000-4000-8000-0000000e0d01';
const RESIDENT = '00000000-0000-4000-8000-0000000e0d02';

const EXACT_A: [number, number] = [18.2012345, -33.8012345];
const EXACT_C: [number, number] = [18.1234567, -33.8765432];
const ADMIN_ACTOR: Actor = { userId: ADMIN, roles: [{ role: 'admin', communityId: null }] };

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const reader = new CsvReader();
  reader.push(text, (r) => rows.push(r));
  reader.end((r) => rows.push(r));
  return rows;
}

async function report(payload: Record<string, unknown>): Promise<string> {
  const res = await inject({ method: 'POST', url: '/api/v1/incidents', headers: await as(RESIDENT), payload });
  expect(res.statusCode, res.body).toBe(201);
  return json(res).id as string;
}

let formula: string, sensitiveA: string, sensitiveC: string;

beforeAll(async () => {
  await query(
    `INSERT INTO communities (id, slug, name, boundary, area_m2, parent_id) VALUES
       ($1, 'export-a', 'Export A', ST_Multi(ST_MakeEnvelope(18.0, -34.0, 18.3, -33.7, 4326)), 1000, NULL),
       ($3, 'export-b', 'Export B', ST_Multi(ST_MakeEnvelope(19.0, -34.0, 19.1, -33.9, 4326)), 1000, NULL),
       ($2, 'export-c', 'Export C', ST_Multi(ST_MakeEnvelope(18.1, -33.9, 18.15, -33.85, 4326)), 10, $1)`,
    [A, C, B],
  );
  await query('UPDATE categories SET sensitive = true WHERE id = $1', [CRIME]);
  formula = await report({
    title: '=HYPERLINK("http://evil.example")',
    description: '+1+2, "quoted"\nsecond line',
    categoryId: POTHOLE,
    location: { type: 'Point', coordinates: [18.2, -33.8] },
    address: '@SUM(A1)',
  });
  sensitiveA = await report({
    title: '-minus first',
    description: '\tTab first',
    categoryId: CRIME,
    anonymous: true,
    location: { type: 'Point', coordinates: EXACT_A },
  });
  sensitiveC = await report({
    title: 'Suspicious car',
    description: '',
    categoryId: CRIME,
    anonymous: true,
    location: { type: 'Point', coordinates: EXACT_C },
  });
  await report({
    title: 'Pothole in B',
    description: '',
    categoryId: POTHOLE,
    location: { type: 'Point', coordinates: [19.05, -33.95] },
  });
});

const exportUrl = (qs: string) => `/api/v1/incidents/export?${qs}`;

describe('GET /incidents/export', () => {
  it('lets staff of the community (and admins) export, and nobody else', async () => {
    expect((await inject({ url: exportUrl(`communityId=${A}`) })).statusCode).toBe(401);
    expect((await inject({ url: exportUrl(`communityId=${A}`), headers: await as(RESIDENT) })).statusCode).toBe(403);
    const mod = await as(MOD_A, `moderator:${A}`);
    expect((await inject({ url: exportUrl(''), headers: mod })).statusCode).toBe(403);
    expect((await inject({ url: exportUrl(`communityId=${B}`), headers: mod })).statusCode).toBe(403);
    expect((await inject({ url: exportUrl(`communityId=${A}&format=xlsx`), headers: mod })).statusCode).toBe(400);
    const ok = await inject({ url: exportUrl(`communityId=${A}`), headers: mod });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/csv/);
    expect(ok.headers['content-disposition']).toMatch(/attachment; filename="incidents-.*\.csv"/);
    const { rows } = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'incident.export' AND actor_id = $1`,
      [MOD_A],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('writes CSV that no spreadsheet runs, with what the exporter may see of each row', async () => {
    const res = await inject({ url: exportUrl(`communityId=${A}`), headers: await as(MOD_A, `moderator:${A}`) });
    const [header, ...rows] = parseCsv(res.body);
    const col = (name: string) => header!.indexOf(name);
    const byId = new Map(rows.map((r) => [r[col('id')], r]));
    // A and C (nested in A); not B
    expect([...byId.keys()].sort()).toEqual([formula, sensitiveA, sensitiveC].sort());

    const f = byId.get(formula)!;
    expect(f[col('title')]).toBe(`'=HYPERLINK("http://evil.example")`);
    expect(f[col('description')]).toBe(`'+1+2, "quoted"\nsecond line`);
    expect(f[col('address')]).toBe(`'@SUM(A1)`);
    const s = byId.get(sensitiveA)!;
    expect(s[col('title')]).toBe(`'-minus first`);
    expect(s[col('description')]).toBe(`'\tTab first`);
    // staff of A: the exact point and the anonymous reporter; numbers are not escaped
    expect([Number(s[col('lon')]), Number(s[col('lat')])]).toEqual(EXACT_A);
    expect(s[col('lat')]).toBe('-33.8012345');
    expect(s[col('reporter_id')]).toBe(RESIDENT);
    expect(s[col('location_blurred')]).toBe('false');
    // C is nested in A, but its staff are others: blurred, reporter withheld, as the API shows it
    const c = byId.get(sensitiveC)!;
    expect(c[col('location_blurred')]).toBe('true');
    expect(Number(c[col('lon')])).not.toBe(EXACT_C[0]);
    expect(c[col('reporter_id')]).toBe('');
    expect(c[col('reporter_name')]).toBe('');
    expect(res.body).not.toContain('18.1234567');
  });

  it('writes valid GeoJSON (RFC 7946): a FeatureCollection of Points', async () => {
    const res = await inject({ url: exportUrl(`format=geojson`), headers: await as(ADMIN, 'admin') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/geo+json');
    const doc = JSON.parse(res.body);
    expect(doc.type).toBe('FeatureCollection');
    expect(doc.features.length).toBeGreaterThanOrEqual(4);
    for (const f of doc.features) {
      expect(f.type).toBe('Feature');
      expect(f.geometry.type).toBe('Point');
      expect(f.geometry.coordinates).toHaveLength(2);
      const [lon, lat] = f.geometry.coordinates;
      expect(Math.abs(lon)).toBeLessThanOrEqual(180);
      expect(Math.abs(lat)).toBeLessThanOrEqual(90);
      expect(f.properties.location).toBeUndefined();
      expect(f.id).toBe(f.properties.id);
    }
    // the admin sees the exact point of a sensitive report
    const c = doc.features.find((f: { id: string }) => f.id === sensitiveC);
    expect(c.geometry.coordinates).toEqual(EXACT_C);
  });

  it('streams a few thousand rows in pages, oldest first, each once', async () => {
    await query(
      `INSERT INTO incidents (reference, title, location, community_id, category_id, created_at, updated_at)
       SELECT 'BW-EXP' || lpad(g::text, 5, '0'), 'Bulk ' || g, ST_SetSRID(ST_MakePoint(19.05, -33.95), 4326), $1, $2,
              '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 minute',
              '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 minute'
       FROM generate_series(1, 2500) g`,
      [B, POTHOLE],
    );
    const res = await inject({ url: exportUrl(`communityId=${B}&q=Bulk`), headers: await as(ADMIN, 'admin') });
    expect(res.statusCode).toBe(200);
    const [header, ...rows] = parseCsv(res.body);
    expect(rows).toHaveLength(2500);
    const ids = rows.map((r) => r[header!.indexOf('id')]);
    expect(new Set(ids).size).toBe(2500);
    const created = rows.map((r) => r[header!.indexOf('created_at')]!);
    expect([...created].sort()).toEqual(created);
    expect(rows[0]![header!.indexOf('title')]).toBe('Bulk 1');
    expect(rows[2499]![header!.indexOf('title')]).toBe('Bulk 2500');
  });
});

describe('importIncidents', () => {
  const csv = [
    'title,description,category,status,priority,lon,lat,address,created_at,acknowledged_at,resolved_at',
    'Old pothole,Fixed long ago,pothole,resolved,high,18.2,-33.8,1 Main Rd,2025-01-10T08:00:00Z,2025-01-10T10:00:00Z,2025-01-12T08:00:00Z',
    'Bad one,,no-such-category,reported,,18.2,-95,,2025-01-10T08:00:00Z,,',
    'Resolved without a date,,pothole,resolved,,18.2,-33.8,,2025-01-10T08:00:00Z,,',
    '"Water, everywhere","Line one\nline two, with a comma",pothole,reported,low,18.21,-33.81,,2025-02-01T00:00:00Z,,',
    'From the future,,pothole,reported,,18.2,-33.8,,2031-01-01T00:00:00Z,,',
  ].join('\n');

  async function* records(text: string): AsyncGenerator<{ row: number; record: ImportRecord }> {
    const rows: Array<{ row: number; record: ImportRecord }> = [];
    let header: string[] | null = null;
    const reader = new CsvReader();
    const take = (cells: string[], line: number) => {
      if (!header) header = cells;
      else rows.push({ row: line, record: Object.fromEntries(header.map((h, i) => [h, cells[i]])) as ImportRecord });
    };
    reader.push(text, take);
    reader.end(take);
    yield* rows;
  }
  const now = new Date('2026-06-01T00:00:00Z');

  it('checks every row, reports each problem with its row and field, and inserts nothing on a dry run', async () => {
    const before = await query<{ n: number }>('SELECT count(*)::int AS n FROM incidents');
    const report = await importIncidents(h.current.t.db, ADMIN_ACTOR, records(csv), {
      dryRun: true,
      source: 'history.csv',
      now,
    });
    expect(report).toEqual({
      rows: 5,
      imported: 0,
      failed: 3,
      dryRun: true,
      errors: [
        { row: 3, field: 'category', message: 'no category "no-such-category"' },
        { row: 3, field: 'lat', message: 'must be a number from -90 to 90' },
        { row: 4, field: 'resolved_at', message: 'is required' },
        // the row before spans two lines: this one starts on line 7
        { row: 7, field: 'created_at', message: 'lies in the future' },
      ],
    });
    const after = await query<{ n: number }>('SELECT count(*)::int AS n FROM incidents');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('inserts the valid rows with their history and an "imported" event, and skips the others', async () => {
    const report = await importIncidents(h.current.t.db, ADMIN_ACTOR, records(csv), {
      dryRun: false,
      source: 'history.csv',
      now,
    });
    expect(report).toMatchObject({ rows: 5, imported: 2, failed: 3 });
    const { rows } = await query<{
      id: string;
      title: string;
      status: string;
      priority: string;
      community_id: string;
      created_at: Date;
      acknowledged_at: Date | null;
      resolved_at: Date | null;
      description: string;
    }>(
      `SELECT id, title, status, priority, community_id, created_at, acknowledged_at, resolved_at, description
       FROM incidents WHERE title IN ('Old pothole', 'Water, everywhere', 'Bad one', 'Resolved without a date') ORDER BY title`,
    );
    expect(rows.map((r) => r.title)).toEqual(['Old pothole', 'Water, everywhere']);
    const [old, water] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(old).toMatchObject({ status: 'resolved', priority: 'high', community_id: A });
    expect(old.created_at.toISOString()).toBe('2025-01-10T08:00:00.000Z');
    expect(old.acknowledged_at!.toISOString()).toBe('2025-01-10T10:00:00.000Z');
    expect(old.resolved_at!.toISOString()).toBe('2025-01-12T08:00:00.000Z');
    expect(water).toMatchObject({
      status: 'reported',
      acknowledged_at: null,
      description: 'Line one\nline two, with a comma',
    });
    const events = await query<{ type: string; data: { row: number; source: string } }>(
      'SELECT type, data FROM incident_events WHERE incident_id = $1 ORDER BY id',
      [old.id],
    );
    expect(events.rows).toEqual([{ type: 'imported', data: { source: 'history.csv', row: 2 } }]);
    const jobs = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM jobs WHERE payload->>'incidentId' = ANY($1::text[])`,
      [[old.id, water.id]],
    );
    expect(jobs.rows[0]!.n).toBe(0);
    // the statistics see the history: resolved in two days
    const stats = json(
      await inject({
        url: `/api/v1/stats?communityId=${A}&since=2025-01-01T00:00:00Z&until=2025-03-01T00:00:00Z`,
        headers: await as(ADMIN, 'admin'),
      }),
    );
    expect(stats.byStatus).toMatchObject({ resolved: 1, reported: 1 });
    expect(stats.timeToResolve).toMatchObject({ count: 1, medianSeconds: 172800 });
  });

  it('is for admins only', async () => {
    const resident: Actor = { userId: RESIDENT, roles: [] };
    await expect(
      importIncidents(h.current.t.db, resident, records(csv), { dryRun: true, source: 'x' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
});
