import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './incidents.cursor.js';
import { newReference, normalizeReference, REFERENCE_PATTERN } from './incidents.references.js';
import { newestInBoxPlan } from './incidents.repository.js';
import { STATUS_MOVES } from './incidents.service.js';

describe('references', () => {
  it('are BW- and 8 unambiguous characters, and practically unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const ref = newReference();
      expect(ref).toMatch(REFERENCE_PATTERN);
      expect(ref).not.toMatch(/[ILOU]/);
      seen.add(ref);
    }
    expect(seen.size).toBe(20_000);
  });

  it('are read the way people type them', () => {
    expect(normalizeReference('bw-7k3q9d2m')).toBe('BW-7K3Q9D2M');
    expect(normalizeReference(' BW7K3Q9D2M ')).toBe('BW-7K3Q9D2M');
    expect(normalizeReference('BW-7K3Q9D2O')).toBe('BW-7K3Q9D20'); // O read as zero
    expect(normalizeReference('BW-7K3Q9D2')).toBeNull();
    expect(normalizeReference('hello')).toBeNull();
  });
});

describe('cursors', () => {
  it('round-trip and are refused for another sort or when malformed', () => {
    const key = ['2026-11-26 10:00:00.123456+00', '00000000-0000-4000-8000-000000000001'];
    const cursor = encodeCursor('-createdAt', key);
    expect(decodeCursor(cursor, '-createdAt')).toEqual(key);
    expect(decodeCursor(cursor, 'createdAt')).toBeNull();
    expect(decodeCursor('not base64 json', '-createdAt')).toBeNull();
    expect(decodeCursor(encodeCursor('-createdAt', ["'; DROP TABLE incidents; --", key[1]!]), '-createdAt')).toBeNull();
    expect(decodeCursor(encodeCursor('distance', [12.5, key[1]!]), 'distance')).toEqual([12.5, key[1]]);
    expect(decodeCursor(encodeCursor('-priority', ['urgent', key[0]!, key[1]!]), '-priority')).toBeNull();
  });
});

describe('status moves', () => {
  it('are exactly those of the contract', () => {
    expect(STATUS_MOVES).toEqual({
      reported: ['acknowledged', 'rejected', 'duplicate'],
      acknowledged: ['in_progress', 'rejected', 'duplicate'],
      in_progress: ['resolved'],
      resolved: ['closed', 'in_progress'],
      closed: [],
      rejected: [],
      duplicate: [],
    });
  });
});

describe('newest first within a box: which index', () => {
  it('reads the box index unless the box holds a tenth of the incidents or less than a page', () => {
    // a street map in a dense suburb of a million incidents: the box index
    expect(newestInBoxPlan(8_000, 1_000_000, 201)).toBe('box-index');
    expect(newestInBoxPlan(99_000, 1_000_000, 201)).toBe('box-index');
    // the whole city: walking the newest first finds a page after a few rows
    expect(newestInBoxPlan(100_000, 1_000_000, 201)).toBe('created-index');
    expect(newestInBoxPlan(1_000_000, 1_000_000, 201)).toBe('created-index');
    // fewer than a page in the box, no statistics, an empty table: the planner's own plan
    expect(newestInBoxPlan(150, 1_000_000, 201)).toBe('created-index');
    expect(newestInBoxPlan(null, 1_000_000, 201)).toBe('created-index');
    expect(newestInBoxPlan(0, 0, 201)).toBe('created-index');
  });
});
