import type { CursorKey, ListSort } from './incidents.repository.js';

/**
 * Opaque cursors: base64url JSON of the sort and the last row's sort key. A cursor made for one
 * sort is refused for another, since its key would mean something else there.
 */
interface CursorPayload {
  s: ListSort;
  k: CursorKey;
}

const SHAPES: Record<ListSort, Array<'string' | 'number'>> = {
  distance: ['number', 'string'],
  '-createdAt': ['string', 'string'],
  createdAt: ['string', 'string'],
  '-priority': ['string', 'string', 'string'],
};

export function encodeCursor(sort: ListSort, key: CursorKey): string {
  return Buffer.from(JSON.stringify({ s: sort, k: key } satisfies CursorPayload)).toString('base64url');
}

export function decodeCursor(cursor: string, sort: ListSort): CursorKey | null {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!payload || typeof payload !== 'object') return null;
  const { s, k } = payload as Partial<CursorPayload>;
  if (s !== sort || !Array.isArray(k)) return null;
  const shape = SHAPES[sort];
  if (k.length !== shape.length || k.some((v, i) => typeof v !== shape[i])) return null;
  const id = k[k.length - 1] as string;
  if (!/^[0-9a-f-]{36}$/.test(id)) return null;
  // timestamps are re-parsed by Postgres; refuse anything that is not a plain timestamp text
  const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?|Z)$/;
  if (sort === 'distance' && !Number.isFinite(k[0])) return null;
  if (sort === '-priority' && !['low', 'medium', 'high', 'critical'].includes(k[0] as string)) return null;
  const stamp = sort === '-priority' ? k[1] : k[0];
  if (sort !== 'distance' && !TIMESTAMP.test(String(stamp))) return null;
  return k;
}
