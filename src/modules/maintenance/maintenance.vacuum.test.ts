import { describe, expect, it } from 'vitest';
import type { Database } from '../../platform/db/database.js';
import type { JobRunner } from '../../platform/jobs/jobs.js';
import { registerMaintenanceJobs } from './maintenance.jobs.js';
import { needsOwnVacuum, tablesNeedingCare } from './maintenance.vacuum.js';

const table = (name: string, rows: number, dead: number, modifiedSinceAnalyze = 0) => ({
  schema: 'public',
  table: name,
  rows,
  dead,
  modifiedSinceAnalyze,
});

describe('tablesNeedingCare (autovacuum’s rule)', () => {
  it('vacuums past 50 + 20 % of the rows dead, analyzes past 50 + 10 % modified, most urgent first', () => {
    const care = tablesNeedingCare([
      table('quiet', 1_000_000, 150_000, 50_000), // under both thresholds (200,050 and 100,050)
      table('jobs', 0, 5_467), // 109 × its threshold
      table('incidents', 1_000_000, 250_000), // 1.25 ×
      table('stats', 100, 0, 200), // analyze only: 3.3 ×
      table('just_under', 100, 70, 60), // 70 is not past 70
    ]);
    expect(care.map((c) => [c.table, c.action])).toEqual([
      ['jobs', 'vacuum'],
      ['stats', 'analyze'],
      ['incidents', 'vacuum'],
    ]);
    expect(care[0]!.urgency).toBeCloseTo(5_467 / 50);
  });

  it('runs as a periodic job on both kinds of database', () => {
    const periodic = (kind: Database['kind']) => {
      const names: string[] = [];
      const runner = { register: () => undefined, every: (name: string) => names.push(name) };
      const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
      registerMaintenanceJobs(runner as unknown as JobRunner, { kind } as Database, quiet);
      return names;
    };
    expect(periodic('embedded')).toContain('maintenance.vacuum.v1');
    expect(periodic('postgres')).toContain('maintenance.vacuum.v1');
  });

  it('vacuums an embedded database always, a PostgreSQL only while its autovacuum is off', () => {
    expect(needsOwnVacuum('embedded', 'on')).toBe(true);
    expect(needsOwnVacuum('embedded', 'off')).toBe(true);
    expect(needsOwnVacuum('postgres', 'on')).toBe(false);
    expect(needsOwnVacuum('postgres', 'off')).toBe(true);
  });
});
