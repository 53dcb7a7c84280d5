/**
 * Area alert matching at scale: N circle alerts (default 100,000) and N/10 community alerts spread
 * over a region, then the recipient query the notifier runs for one new incident
 * (AREA_ALERT_MATCH_SQL), for 200 random incidents. Prints the plan (the GiST index on
 * area_alerts.area must be in it) and the time per incident.
 *
 *   npx tsx bench/area-alerts.ts --postgres postgres://postgres@127.0.0.1:5432/DBNAME [--alerts 100000]
 * (an empty database: the script migrates it and leaves its rows behind)
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/platform/db/migrate.js';
import { openDatabase } from '../src/platform/db/open.js';
import { AREA_ALERT_MATCH_SQL } from '../src/modules/alerts/alerts.matching.js';

const { values } = parseArgs({
  options: { alerts: { type: 'string', default: '100000' }, postgres: { type: 'string' } },
});
if (!values.postgres) throw new Error('--postgres URL is required');
const N = Number(values.alerts);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: values.postgres });
const db = await openDatabase(config, quiet, { applicationName: 'bench-area-alerts' });
await migrate(db);

// a 1°×1° region (~100 km × 110 km) split into 100 communities
const [X, Y] = [28, -26.5];
await db.query({
  text: `INSERT INTO users (id, email, display_name)
         SELECT gen_random_uuid(), 'bench-' || g || '@test.invalid', 'Bench ' || g FROM generate_series(1, $1) g`,
  values: [N],
});
await db.query({
  text: `INSERT INTO communities (id, slug, name, boundary, area_m2)
         SELECT gen_random_uuid(), 'bench-' || gx || '-' || gy, 'Bench ' || gx || gy,
                ST_Multi(ST_MakeEnvelope($1 + gx * 0.1, $2 + gy * 0.1, $1 + gx * 0.1 + 0.1, $2 + gy * 0.1 + 0.1, 4326)), 1
         FROM generate_series(0, 9) gx, generate_series(0, 9) gy`,
  values: [X, Y],
});
const started = Date.now();
await db.query({
  text: `WITH u AS (SELECT id, row_number() OVER () AS n FROM users WHERE email LIKE 'bench-%'),
         p AS (SELECT id, ST_SetSRID(ST_MakePoint($1 + random(), $2 + random()), 4326) AS c,
                      (50 + random() * 4950)::int AS r FROM u)
         INSERT INTO area_alerts (user_id, center, radius_m, area, frequency)
         SELECT id, c, r, ST_Expand(c, r * 1.01 / (111320 * cos(radians(ST_Y(c)))), r * 1.01 / 110574), 'immediate' FROM p`,
  values: [X, Y],
});
await db.query({
  text: `INSERT INTO area_alerts (user_id, community_id, frequency)
         SELECT u.id, (SELECT id FROM communities WHERE slug LIKE 'bench-%' ORDER BY random() + u.n * 0 LIMIT 1), 'immediate'
         FROM (SELECT id, row_number() OVER () AS n FROM users WHERE email LIKE 'bench-%' LIMIT $1) u`,
  values: [Math.floor(N / 10)],
});
await db.query({ text: 'ANALYZE area_alerts' });
await db.query({ text: 'ANALYZE communities' });
console.log(`${N} circle + ${Math.floor(N / 10)} community alerts made in ${Date.now() - started} ms`);

const category = (await db.query<{ id: string }>({ text: 'SELECT id FROM categories LIMIT 1' })).rows[0]!.id;
const match = (lon: number, lat: number) => ({
  text: `WITH i AS (SELECT ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326) AS location,
                           $3::uuid AS category_id, NULL::uuid AS reporter_id)
         SELECT count(*)::int AS n FROM i CROSS JOIN LATERAL (${AREA_ALERT_MATCH_SQL}) m`,
  values: [lon, lat, category],
});
const plan = await db.query<{ 'QUERY PLAN': string }>({
  ...match(X + 0.5, Y + 0.5),
  text: `EXPLAIN ${match(X + 0.5, Y + 0.5).text}`,
});
const planText = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
console.log(planText);
console.log(`GiST index on area_alerts.area used: ${planText.includes('area_alerts_area_gist')}`);

let total = 0;
const times: number[] = [];
for (let k = 0; k < 200; k++) {
  const t0 = performance.now();
  const { rows } = await db.query<{ n: number }>(match(X + Math.random(), Y + Math.random()));
  times.push(performance.now() - t0);
  total += rows[0]!.n;
}
times.sort((a, b) => a - b);
console.log(
  `200 incidents: ${(total / 200).toFixed(0)} matching alerts each on average; ` +
    `median ${times[100]!.toFixed(2)} ms, p95 ${times[190]!.toFixed(2)} ms per incident`,
);
await db.close();
