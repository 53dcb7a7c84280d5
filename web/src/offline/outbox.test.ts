// @vitest-environment node
// (Node's own Blob, FormData and fetch types: IndexedDB, via fake-indexeddb, clones with Node's structuredClone)
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listItems, newItem, putItem } from './outbox';
import { flushOutbox, sendItem } from './sender';

const draft = {
  title: 'Pothole on Main Road',
  description: '',
  categoryId: 'be1d7ea6-fcec-4aec-8154-25c3fb4c7396',
  location: { type: 'Point' as const, coordinates: [28.05, -26.2] as [number, number] },
};
const photo = () => new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' });

interface Call {
  method: string;
  url: string;
  idempotencyKey: string | null;
}

function fakeServer(options: { offline?: boolean } = {}) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    if (options.offline) throw new TypeError('Failed to fetch');
    const url = new URL(request.url).pathname;
    calls.push({ method: request.method, url, idempotencyKey: request.headers.get('idempotency-key') });
    if (url === '/api/v1/incidents') {
      return Response.json({ id: '11111111-1111-4111-8111-111111111111', reference: 'BW-TEST1234' }, { status: 201 });
    }
    if (url.endsWith('/media')) return Response.json({ id: 'm' }, { status: 201 });
    return new Response(null, { status: 404 });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

describe('the outbox of reports made offline', () => {
  beforeEach(async () => {
    indexedDB.deleteDatabase('buurtwag');
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('keeps a report (with its photos) while the network is down, and sends it once, with its key, later', async () => {
    const item = newItem(draft, [photo(), photo()]);
    await putItem(item);

    fakeServer({ offline: true });
    expect((await sendItem(item, 'x')).kind).toBe('queued');
    const kept = await listItems();
    expect(kept).toHaveLength(1);
    expect(kept[0]!.photos).toHaveLength(2);

    const calls = fakeServer();
    expect(await flushOutbox('x')).toBe(1);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/v1/incidents',
      'POST /api/v1/incidents/11111111-1111-4111-8111-111111111111/media',
      'POST /api/v1/incidents/11111111-1111-4111-8111-111111111111/media',
    ]);
    expect(calls[0]!.idempotencyKey).toBe(item.id);
    expect(await listItems()).toEqual([]);

    // nothing left: a second flush sends nothing
    expect(await flushOutbox('x')).toBe(0);
    expect(calls).toHaveLength(3);
  });

  it('sends an item once when the form and the online-again flush try at the same time', async () => {
    const item = newItem(draft, []);
    await putItem(item);
    const calls = fakeServer();
    const [a, b] = await Promise.all([sendItem(item, 'x'), flushOutbox('x')]);
    expect(a.kind).toBe('sent');
    expect(b).toBe(1);
    expect(calls.filter((c) => c.url === '/api/v1/incidents')).toHaveLength(1);
  });

  it('does not upload photos again after the incident was made (a retry goes on where it stopped)', async () => {
    const item = {
      ...newItem(draft, [photo(), photo()]),
      incidentId: '22222222-2222-4222-8222-222222222222',
      reference: 'BW-X',
      photosSent: 1,
    };
    await putItem(item);
    const calls = fakeServer();
    await flushOutbox('x');
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/incidents/22222222-2222-4222-8222-222222222222/media']);
  });
});
