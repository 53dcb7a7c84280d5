import type { IncidentDraft } from '../api/client';

/**
 * Reports waiting to be sent, kept in IndexedDB with their photos so they survive a closed tab or
 * a restarted phone. The id is the report's Idempotency-Key: sending it twice (a retry after a
 * lost answer) creates one incident.
 */
export interface OutboxItem {
  id: string;
  draft: IncidentDraft;
  /** compressed JPEGs, not yet uploaded */
  photos: Blob[];
  /** how many photos went up already (after the incident was created) */
  photosSent: number;
  /** set once the server made the incident */
  incidentId: string | null;
  reference: string | null;
  createdAt: number;
  /** the server refused it (not a network problem): shown, kept until discarded */
  error: string | null;
}

const DB = 'buurtwag';
const STORE = 'outbox';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const changed = new EventTarget();

export function onOutboxChange(listener: () => void): () => void {
  changed.addEventListener('change', listener);
  return () => changed.removeEventListener('change', listener);
}

function notify() {
  changed.dispatchEvent(new Event('change'));
}

export async function putItem(item: OutboxItem): Promise<void> {
  await run('readwrite', (s) => s.put(item));
  notify();
}

export async function removeItem(id: string): Promise<void> {
  await run('readwrite', (s) => s.delete(id));
  notify();
}

export async function listItems(): Promise<OutboxItem[]> {
  const items = await run<OutboxItem[]>('readonly', (s) => s.getAll() as IDBRequest<OutboxItem[]>);
  return items.sort((a, b) => a.createdAt - b.createdAt);
}

export function newItem(draft: IncidentDraft, photos: Blob[], now = Date.now()): OutboxItem {
  return {
    id: crypto.randomUUID(),
    draft,
    photos,
    photosSent: 0,
    incidentId: null,
    reference: null,
    createdAt: now,
    error: null,
  };
}
