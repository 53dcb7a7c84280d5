import { describe, expect, it } from 'vitest';
import { clusterPoints } from './cluster';
import {
  clusterQuery,
  DEFAULT_FILTERS,
  inBounds,
  matchesFilters,
  normalizeReference,
  viewQuery,
  VIEW_LIMIT,
} from './query';

describe('clusterPoints', () => {
  it('groups points within one cell and keeps far ones apart', () => {
    const clusters = clusterPoints(
      [
        { x: 1, y: 1, item: 'a' },
        { x: 10, y: 20, item: 'b' },
        { x: 300, y: 300, item: 'c' },
      ],
      48,
    );
    expect(clusters).toHaveLength(2);
    const pair = clusters.find((c) => c.items.length === 2)!;
    expect(pair.items.sort()).toEqual(['a', 'b']);
    expect(pair.x).toBeCloseTo(5.5);
    expect(pair.y).toBeCloseTo(10.5);
  });
});

describe('viewQuery', () => {
  const bounds = { west: 28.01234567, south: -26.3, east: 28.1, north: -26.1 };
  it('asks for one box with a limit, never everything', () => {
    const q = viewQuery(bounds, DEFAULT_FILTERS, 0);
    expect(q.bbox).toBe('28.0123,-26.3,28.1,-26.1');
    expect(q.limit).toBe(VIEW_LIMIT);
    expect(q).not.toHaveProperty('status');
    expect(q).not.toHaveProperty('since');
  });
  it('clamps a zoomed-out world view to valid coordinates', () => {
    expect(viewQuery({ west: -400, south: -95, east: 400, north: 95 }, DEFAULT_FILTERS, 0).bbox).toBe(
      '-180,-90,180,90',
    );
  });
  it('adds the filters', () => {
    const now = Date.parse('2026-11-30T00:00:00Z');
    const q = viewQuery(bounds, { statuses: ['reported', 'in_progress'], category: 'pothole', sinceDays: 7 }, now);
    expect(q).toMatchObject({ status: 'reported,in_progress', category: 'pothole', since: '2026-11-23T00:00:00.000Z' });
  });
});

describe('live arrivals', () => {
  const incident = { status: 'reported' as const, category: { slug: 'pothole' }, createdAt: '2026-11-29T00:00:00Z' };
  const now = Date.parse('2026-11-30T00:00:00Z');
  it('match the filters in force', () => {
    expect(matchesFilters(incident, DEFAULT_FILTERS, now)).toBe(true);
    expect(matchesFilters(incident, { ...DEFAULT_FILTERS, statuses: ['resolved'] }, now)).toBe(false);
    expect(matchesFilters(incident, { ...DEFAULT_FILTERS, category: 'sewage' }, now)).toBe(false);
    expect(
      matchesFilters({ ...incident, createdAt: '2026-10-01T00:00:00Z' }, { ...DEFAULT_FILTERS, sinceDays: 30 }, now),
    ).toBe(false);
  });
  it('outside the view are left out', () => {
    const box = { west: 28, south: -27, east: 29, north: -26 };
    expect(inBounds(box, [28.5, -26.5])).toBe(true);
    expect(inBounds(box, [30, -26.5])).toBe(false);
  });
});

describe('normalizeReference', () => {
  it('accepts references as people type them', () => {
    expect(normalizeReference('bw-7k3q9d2m')).toBe('BW-7K3Q9D2M');
    expect(normalizeReference(' BW 7K3Q 9D2M ')).toBe('BW-7K3Q9D2M');
    expect(normalizeReference('7K3Q9D2M')).toBe('BW-7K3Q9D2M');
    expect(normalizeReference('pothole!')).toBeNull();
  });
});

describe('clusterQuery', () => {
  const bounds = { west: 27.71234567, south: -26.4, east: 28.4, north: -25.9 };
  it('asks for the box at the map’s zoom with the filters, and no limit', () => {
    const q = clusterQuery(bounds, { statuses: ['reported'], category: 'pothole', sinceDays: 0 }, 10.4, 0);
    expect(q).toEqual({ bbox: '27.7123,-26.4,28.4,-25.9', zoom: 10, status: 'reported', category: 'pothole' });
  });
  it('rounds `since` down to the hour, so the URL (and its cached answer) holds for an hour', () => {
    const at = (iso: string) => clusterQuery(bounds, { ...DEFAULT_FILTERS, sinceDays: 7 }, 12, Date.parse(iso)).since;
    expect(at('2026-11-30T10:05:00Z')).toBe('2026-11-23T10:00:00.000Z');
    expect(at('2026-11-30T10:59:59Z')).toBe('2026-11-23T10:00:00.000Z');
  });
});
