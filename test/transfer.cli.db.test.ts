import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childDatabaseUrl, useTestDatabase } from './helpers/database.js';
import { runCli } from './helpers/cli.js';

/**
 * `import` and `export` as operators run them: real processes, the configuration from the
 * environment (embedded: a DATA_DIR of its own; postgres: a schema of its own).
 */
const t = useTestDatabase();
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  dir = `/tmp/bwx-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(dir, { recursive: true });
  env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: `${dir}/data`, RATE_LIMITS: 'off' };
  const url = await childDatabaseUrl(t.current, 'transfer');
  if (url) env.DATABASE_URL = url;
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'title,description,category,status,lon,lat,created_at,resolved_at';

describe('import and export on the command line', () => {
  it('imports the good rows, reports the bad ones and exits 1; exports them again', { timeout: 240_000 }, async () => {
    const file = `${dir}/history.csv`;
    fs.writeFileSync(
      file,
      [
        HEADER,
        'Leaking pipe,Old report,water-leak,resolved,28.05,-26.2,2025-05-01T08:00:00Z,2025-05-03T08:00:00Z',
        'x,,water-leak,reported,28.05,-26.2,2025-05-01T08:00:00Z,',
        '=cmd|calc,Formula title,pothole,reported,28.06,-26.21,2025-05-02T08:00:00Z,',
      ].join('\n'),
    );
    const imported = await runCli(['import', '--file', file], env);
    expect(imported.code, imported.stderr).toBe(1);
    const report = JSON.parse(imported.stdout);
    expect(report).toEqual({
      rows: 3,
      imported: 2,
      failed: 1,
      dryRun: false,
      errors: [{ row: 3, field: 'title', message: 'must be 3 to 255 characters' }],
    });
    expect(imported.stderr).toMatch(/import \[#+/);

    const out = `${dir}/out.csv`;
    const exported = await runCli(['export', '--format', 'csv', '--status', 'resolved,reported', '--out', out], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/export \[#+-*\] 100% 2\/2/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id,reference,title,/);
    expect(lines.join('\n')).toContain(',Leaking pipe,Old report,water-leak,');
    // made safe on the way out
    expect(lines.join('\n')).toContain(`,'=cmd|calc,Formula title,`);

    const geojson = await runCli(['export', '--format', 'geojson', '--status', 'resolved'], env);
    expect(geojson.code, geojson.stderr).toBe(0);
    const doc = JSON.parse(geojson.stdout);
    expect(doc.type).toBe('FeatureCollection');
    expect(doc.features).toHaveLength(1);
    expect(doc.features[0].geometry).toEqual({ type: 'Point', coordinates: [28.05, -26.2] });
    expect(doc.features[0].properties.status).toBe('resolved');
  });

  it(
    'checks a file without writing on --dry-run, and exits 0 when every row is good',
    { timeout: 240_000 },
    async () => {
      const file = `${dir}/good.geojson`;
      fs.writeFileSync(
        file,
        JSON.stringify({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              geometry: { type: 'Point', coordinates: [28.07, -26.22] },
              properties: { title: 'Dry run only', category: 'pothole', createdAt: '2025-06-01T00:00:00Z' },
            },
          ],
        }),
      );
      const checked = await runCli(['import', '--file', file, '--dry-run'], env);
      expect(checked.code, checked.stderr).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ rows: 1, imported: 0, failed: 0, dryRun: true, errors: [] });
      const exported = await runCli(['export', '--format', 'csv'], env);
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).not.toContain('Dry run only');

      const bad = await runCli(['export', '--format', 'xml'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--format must be csv or geojson');
    },
  );
});
