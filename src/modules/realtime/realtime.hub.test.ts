import { describe, expect, it } from 'vitest';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { Client, Hub, type Socket } from './realtime.hub.js';
import type { WireEvent } from './realtime.repository.js';

class FakeSocket implements Socket {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  readyState = 1;
  closed: { code: number; reason: string } | null = null;
  send(data: string | Buffer): void {
    this.sent.push(String(data));
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

const COMMUNITY = '00000000-0000-4000-8000-0000000000c1';

function incident(overrides: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id: '00000000-0000-4000-8000-0000000000e1',
    reference: 'BW-7K3Q9D2M',
    title: 'Pothole',
    description: 'Deep',
    lon: 28.0473,
    lat: -26.2041,
    address: '1 Main Road',
    community_id: COMMUNITY,
    reporter_id: '00000000-0000-4000-8000-0000000000a1',
    reporter_name: 'Thandi',
    anonymous: false,
    category_id: '00000000-0000-4000-8000-0000000000f1',
    category_slug: 'pothole',
    category_name: { en: 'Pothole', af: 'Slaggat' },
    sensitive: false,
    priority: 'medium',
    status: 'reported',
    assignee_id: null,
    assignee_name: null,
    metadata: {},
    is_public: true,
    hidden: false,
    requires_authority: false,
    version: 1,
    confirmations: 0,
    created_at: '2026-11-26T10:00:00.000000Z',
    updated_at: '2026-11-26T10:00:00.000000Z',
    ...overrides,
  } as IncidentRow;
}

function wire(seq: number, row = incident(), internal = false): WireEvent {
  return {
    seq,
    event: {
      id: seq,
      incident_id: row.id,
      type: internal ? 'internal_note' : 'comment',
      actor_id: null,
      actor_name: null,
      data: { body: `comment ${seq}` },
      internal,
      hidden_at: null,
      hidden_reason: null,
      created_at: '2026-11-26T10:00:00.000Z',
    },
    incident: row,
    followers: [],
  };
}

function subscribed(hub: Hub, lang: 'en' | 'af' = 'en', sentUpTo = 0): { client: Client; socket: FakeSocket } {
  const socket = new FakeSocket();
  const client = new Client(socket, lang);
  hub.add(client);
  hub.subscribe(client, {
    channel: { kind: 'community', id: COMMUNITY, name: `community:${COMMUNITY}` },
    sentUpTo,
    waiting: null,
  });
  return { client, socket };
}

describe('Hub', () => {
  it('sends each event once per socket, in its language, and never one it already sent', () => {
    const hub = new Hub({ maxBufferedBytes: 1_000_000 });
    const en = subscribed(hub, 'en');
    const af = subscribed(hub, 'af', 2);
    hub.deliver([wire(1), wire(2), wire(3)]);
    hub.deliver([wire(3)]);
    const parse = (s: FakeSocket) => s.sent.map((m) => JSON.parse(m) as Record<string, any>);
    expect(parse(en.socket).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(parse(af.socket).map((m) => m.seq)).toEqual([3]);
    expect(parse(en.socket)[0]).toMatchObject({
      type: 'incident.commented',
      channels: [`community:${COMMUNITY}`],
      incident: { category: { name: 'Pothole' } },
      event: { data: { body: 'comment 1' } },
    });
    expect(parse(af.socket)[0]!.incident.category.name).toBe('Slaggat');
  });

  it('keeps private incidents and internal notes from those who may not see them', () => {
    const hub = new Hub({ maxBufferedBytes: 1_000_000 });
    const resident = subscribed(hub);
    resident.client.actor = { userId: '00000000-0000-4000-8000-0000000000a9', roles: [] };
    const staff = subscribed(hub);
    staff.client.actor = {
      userId: '00000000-0000-4000-8000-0000000000a8',
      roles: [{ role: 'moderator', communityId: COMMUNITY }],
    };
    hub.deliver([wire(1, incident({ is_public: false })), wire(2, incident(), true), wire(3)]);
    expect(resident.socket.sent.map((m) => JSON.parse(m).seq)).toEqual([3]);
    expect(staff.socket.sent.map((m) => JSON.parse(m).seq)).toEqual([1, 2, 3]);
  });

  it('closes a slow consumer with 1013 once its queue is full, and sends it nothing more', () => {
    const hub = new Hub({ maxBufferedBytes: 10_000 });
    const slow = subscribed(hub);
    const fast = subscribed(hub);
    hub.deliver([wire(1)]);
    slow.socket.bufferedAmount = 20_000; // the client stopped reading
    hub.deliver([wire(2), wire(3)]);
    expect(slow.socket.closed).toEqual({ code: 1013, reason: expect.stringMatching(/slow/) });
    expect(slow.socket.sent).toHaveLength(1);
    expect(fast.socket.sent).toHaveLength(3);
  });

  it('holds live events while a resume reads the database, then sends both in order without repeats', () => {
    const hub = new Hub({ maxBufferedBytes: 1_000_000 });
    const socket = new FakeSocket();
    const client = new Client(socket, 'en');
    hub.add(client);
    const sub = {
      channel: { kind: 'community' as const, id: COMMUNITY, name: `community:${COMMUNITY}` },
      sentUpTo: 10,
      waiting: [] as WireEvent[],
    };
    hub.subscribe(client, sub);
    hub.deliver([wire(13), wire(14)]); // live, while the missed ones are being read
    expect(socket.sent).toEqual([]);
    hub.catchUp(client, sub, [wire(11), wire(12), wire(13)]);
    hub.deliver([wire(15)]);
    expect(socket.sent.map((m) => JSON.parse(m).seq)).toEqual([11, 12, 13, 14, 15]);
  });
});
