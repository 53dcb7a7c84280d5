/**
 * Prints EXPLAIN (ANALYZE, BUFFERS) for the exact SQL the API runs on its hot paths, against a
 * seeded database: `DATABASE_URL=… npx tsx bench/explain.ts` (or DATA_DIR=… for embedded).
 * The repository functions run unchanged; a wrapper turns each statement into an EXPLAIN.
 */
import { loadConfig } from '../src/config.js';
import type { Queryable, QueryResult, Sql } from '../src/platform/db/database.js';
import { openDatabase } from '../src/platform/db/open.js';
import * as incidents from '../src/modules/incidents/incidents.repository.js';
import * as copies from '../src/modules/incidents/incidents.public-copies.repository.js';
import { visibility } from '../src/modules/incidents/incidents.policy.js';
import { ANONYMOUS } from '../src/modules/identity/actor.js';
import { parseListQuery } from '../src/modules/incidents/incidents.service.js';

const config = loadConfig();
const db = await openDatabase(config, console);

function explaining(label: string): Queryable {
  return {
    async query<R extends object>(sql: Sql): Promise<QueryResult<R>> {
      const { rows } = await db.query<{ 'QUERY PLAN': string }>({
        text: `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql.text}`,
        values: sql.values,
      });
      process.stdout.write(`\n### ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
      return { rows: [], rowCount: 0 };
    },
  };
}

// what the API makes of `?sort=-createdAt&limit=51` for a visitor; each query below changes it
const base: incidents.ListFilter = parseListQuery(ANONYMOUS, { sort: '-createdAt', limit: 51 });

const { rows: sample } = await db.query<{ id: string; reference: string; reporter_id: string }>({
  text: 'SELECT id, reference, reporter_id FROM incidents ORDER BY id LIMIT 1 OFFSET 5000',
});
const one = sample[0];
if (!one) throw new Error('seed the database first: npm run cli -- seed --incidents 1000000');
// warm the caches so the plans show steady-state timings (the old and the public-copy paths)
for (let i = 0; i < 2; i++) {
  await incidents.listIncidents(db, {
    ...base,
    near: { lon: 28.0473, lat: -26.2041, radius: 1000 },
    statuses: ['reported', 'acknowledged'],
    sort: 'distance',
  });
}

await incidents.findIncidentById(explaining('W3 GET /incidents/:id (by id)'), one.id);
await incidents.findIncidentByReference(explaining('GET /incidents/:reference'), one.reference);
await incidents.listIncidents(
  explaining('W2 near=28.0473,-26.2041 radius=1000 status=reported,acknowledged limit=50 (nearest first)'),
  {
    ...base,
    near: { lon: 28.0473, lat: -26.2041, radius: 1000 },
    statuses: ['reported', 'acknowledged'],
    sort: 'distance',
  },
);
await incidents.listIncidents(
  explaining('W4 bbox of ~2 km, limit=200 (default: nearest the middle of the box first)'),
  {
    ...base,
    bbox: [28.03, -26.21, 28.05, -26.192],
    sort: 'distance',
    limit: 201,
  },
);
// What a signed-out visitor's W2 and W4 actually run: the public copies (incidents.public-copies.ts)
await copies.listPublic(
  explaining('W2 for a visitor: public copies near=28.0473,-26.2041 radius=1000 status=reported,acknowledged limit=50'),
  {
    area: { kind: 'near', lon: 28.0473, lat: -26.2041, radius: 1000 },
    statuses: ['reported', 'acknowledged'],
    priorities: null,
    categorySlugs: null,
    after: null,
    limit: 51,
  },
);
await copies.listPublic(explaining('W4 for a visitor: public copies bbox of ~2 km, limit=200'), {
  area: { kind: 'box', box: [28.03, -26.21, 28.05, -26.192] },
  statuses: null,
  priorities: null,
  categorySlugs: null,
  after: null,
  limit: 201,
});
// W5, the map's pins: newest first in the box. The repository picks one of two plans from the
// planner's estimate of the box; both are shown, the chosen one first.
const mapBox: [number, number, number, number] = [28.03, -26.21, 28.05, -26.192];
const chosen = await incidents.chooseNewestInBoxPlan(db, mapBox, 201);
for (const plan of [chosen, chosen === 'box-index' ? 'created-index' : 'box-index'] as const) {
  await incidents.listIncidents(
    explaining(`W5 bbox of ~2 km, limit=200, sort=-createdAt: ${plan}${plan === chosen ? ' (chosen)' : ''}`),
    { ...base, bbox: mapBox, limit: 201 },
    plan,
  );
}
await incidents.listIncidents(explaining('list newest first, no filter (first page)'), base);
await incidents.listIncidents(explaining('list sort=-priority status=reported'), {
  ...base,
  sort: '-priority',
  statuses: ['reported'],
});
await incidents.listIncidents(explaining('reporter=me (signed-in reporter)'), {
  ...base,
  reporterId: one.reporter_id,
  visibility: visibility({ userId: one.reporter_id, roles: [] }),
});
await incidents.listIncidents(explaining('q=water (title search)'), { ...base, q: { text: 'water', reference: null } });
const { rows: meta } = await db.query<{ n: string }>({
  text: `EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM incidents WHERE metadata @> '{"source": "seed"}'`,
});
process.stdout.write(`\n### metadata containment (GIN)\n${meta.map((r) => Object.values(r)[0]).join('\n')}\n`);
await db.close();
