import type { Lang } from '../../i18n/i18n.js';
import { ANONYMOUS, type Actor } from '../identity/actor.js';
import { canSeeExactLocation, canSeeInternalNotes, canView } from '../incidents/incidents.policy.js';
import {
  blurredPoint,
  presentationFacts,
  presentIncident,
  presentTimelineEvent,
} from '../incidents/incidents.presenter.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import { eventName, type Box, type Channel } from './realtime.protocol.js';
import type { WireEvent } from './realtime.repository.js';

/** What the hub needs of a socket (ws's WebSocket has it). */
export interface Socket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  /** always a text frame (`binary: false`), even from a Buffer */
  send(data: string | Buffer, options: { binary: boolean }): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

const OPEN = 1;

export interface Subscription {
  channel: Channel;
  /** the incident a subscription by reference resolved to */
  incidentId?: string;
  /** events up to this seq were sent (or were before the subscription): later copies are skipped */
  sentUpTo: number;
  /** while the missed events are read from the database, live ones wait here */
  waiting: WireEvent[] | null;
}

/** One connection: who it is now, what it listens to. */
export class Client {
  actor: Actor = ANONYMOUS;
  /** the token epoch it authenticated with: a logout or password change ends it */
  epoch: number | null = null;
  readonly subs = new Map<string, Subscription>();
  alive = true;

  constructor(
    readonly socket: Socket,
    public lang: Lang,
  ) {}
}

export interface HubOptions {
  /** bytes a socket may have unsent before it counts as a slow consumer and is closed (1013) */
  maxBufferedBytes: number;
}

/**
 * The sockets of this node and what they listen to. `deliver` takes events in seq order and
 * sends each to every socket whose user may see it now (the incidents policy decides, with the
 * user's current roles), once per socket, presented for that user.
 */
export class Hub {
  private readonly clients = new Set<Client>();
  private readonly byIncident = new Map<string, Set<Client>>();
  private readonly byCommunity = new Map<string, Set<Client>>();
  private readonly byFollower = new Map<string, Set<Client>>();
  private readonly withBoxes = new Set<Client>();

  /** events handed to this node's fan-out since start (the metrics' events/s) */
  deliveredEvents = 0;

  constructor(private readonly options: HubOptions) {}

  get size(): number {
    return this.clients.size;
  }

  add(client: Client): void {
    this.clients.add(client);
  }

  remove(client: Client): void {
    for (const name of [...client.subs.keys()]) this.unsubscribe(client, name);
    this.clients.delete(client);
  }

  all(): Client[] {
    return [...this.clients];
  }

  /** Distinct signed-in users with a socket here (their state is re-checked every few seconds). */
  userIds(): string[] {
    const ids = new Set<string>();
    for (const c of this.clients) if (c.actor.userId !== null) ids.add(c.actor.userId);
    return [...ids];
  }

  clientsOf(userId: string): Client[] {
    return [...this.clients].filter((c) => c.actor.userId === userId);
  }

  subscribe(client: Client, sub: Subscription): void {
    client.subs.set(sub.channel.name, sub);
    const ch = sub.channel;
    if (ch.kind === 'incident') addTo(this.byIncident, sub.incidentId!, client);
    else if (ch.kind === 'community') addTo(this.byCommunity, ch.id, client);
    else if (ch.kind === 'me') addTo(this.byFollower, client.actor.userId!, client);
    else this.withBoxes.add(client);
  }

  unsubscribe(client: Client, name: string): boolean {
    const sub = client.subs.get(name);
    if (!sub) return false;
    client.subs.delete(name);
    const ch = sub.channel;
    if (ch.kind === 'incident') removeFrom(this.byIncident, sub.incidentId!, client);
    else if (ch.kind === 'community') removeFrom(this.byCommunity, ch.id, client);
    else if (ch.kind === 'me') {
      for (const [userId, set] of this.byFollower) if (set.has(client)) removeFrom(this.byFollower, userId, client);
    } else if (![...client.subs.values()].some((s) => s.channel.kind === 'bbox')) this.withBoxes.delete(client);
    return true;
  }

  /** Events in seq order, to every socket that listens and may see them. */
  deliver(events: readonly WireEvent[]): void {
    this.deliveredEvents += events.length;
    for (const event of events) this.deliverOne(event);
  }

  private deliverOne(wire: WireEvent): void {
    const incident = wire.incident;
    const targets = new Map<Client, string[]>();
    const add = (clients: Set<Client> | undefined, channel: (c: Client) => string | null) => {
      for (const c of clients ?? []) {
        const name = channel(c);
        if (name === null) continue;
        const list = targets.get(c);
        if (list) list.push(name);
        else targets.set(c, [name]);
      }
    };
    add(this.byIncident.get(incident.id), (c) => incidentChannelOf(c, incident.id));
    if (incident.community_id)
      add(this.byCommunity.get(incident.community_id), () => `community:${incident.community_id}`);
    for (const follower of wire.followers) add(this.byFollower.get(follower), () => 'me');
    for (const c of this.withBoxes) {
      for (const sub of c.subs.values()) {
        if (sub.channel.kind === 'bbox' && inBox(pointFor(c.actor, incident), sub.channel.box)) {
          add(new Set([c]), () => sub.channel.name);
        }
      }
    }
    if (targets.size === 0) return;

    const shared = new Map<string, string | Buffer>();
    for (const [client, names] of targets) {
      if (!mayReceive(client.actor, wire)) continue;
      const fresh: string[] = [];
      for (const name of names) {
        const sub = client.subs.get(name);
        if (!sub || sub.sentUpTo >= wire.seq) continue;
        if (sub.waiting) {
          sub.waiting.push(wire);
          continue;
        }
        sub.sentUpTo = wire.seq;
        fresh.push(name);
      }
      if (fresh.length > 0) this.send(client, message(client, wire, fresh, shared));
    }
  }

  /** Sends what a subscription missed, then what arrived meanwhile, and turns it live. */
  catchUp(client: Client, sub: Subscription, missed: readonly WireEvent[]): void {
    const waiting = sub.waiting ?? [];
    sub.waiting = null;
    for (const wire of [...missed, ...waiting]) {
      if (wire.seq <= sub.sentUpTo || !mayReceive(client.actor, wire)) continue;
      if (sub.channel.kind === 'bbox' && !inBox(pointFor(client.actor, wire.incident), sub.channel.box)) continue;
      sub.sentUpTo = wire.seq;
      this.send(client, message(client, wire, [sub.channel.name], new Map()));
    }
  }

  send(client: Client, frame: string | Buffer): void {
    const socket = client.socket;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      // a slow consumer: its queue is full, it gets no more (it can resume with `since`)
      socket.close(1013, 'too slow; reconnect and resume');
      return;
    }
    socket.send(frame, { binary: false });
  }

  closeAll(code: number, reason: string): void {
    for (const c of this.clients) c.socket.close(code, reason);
  }
}

/** What this user may see of this event right now: the same rules as GET over HTTP. */
export function mayReceive(actor: Actor, wire: WireEvent): boolean {
  const facts = presentationFacts(wire.incident);
  if (!canView(actor, facts)) return false;
  return !wire.event.internal || canSeeInternalNotes(actor, facts);
}

/** The point a viewer may know: a sensitive incident's blurred one, so a tiny box reveals nothing. */
function pointFor(actor: Actor, row: IncidentRow): [number, number] {
  return canSeeExactLocation(actor, presentationFacts(row)) ? [row.lon, row.lat] : blurredPoint(row.lon, row.lat);
}

function inBox([lon, lat]: [number, number], [minLon, minLat, maxLon, maxLat]: Box): boolean {
  return lon >= minLon && lon <= maxLon && lat >= minLat && lat <= maxLat;
}

function incidentChannelOf(client: Client, incidentId: string): string | null {
  for (const sub of client.subs.values()) if (sub.incidentId === incidentId) return sub.channel.name;
  return null;
}

/**
 * The frame for this client about this event (`shared` belongs to this one event). Viewers with no
 * role who did not report the incident all see the same thing (per language and channels), so
 * their frame is made and UTF-8 encoded once per event and shared: a fan-out to thousands of
 * residents costs one presentation and one encoding, not thousands.
 */
function message(
  client: Client,
  wire: WireEvent,
  channels: string[],
  shared: Map<string, string | Buffer>,
): string | Buffer {
  const actor = client.actor;
  const plain = actor.roles.length === 0 && (actor.userId === null || actor.userId !== wire.incident.reporter_id);
  const channelsJson = JSON.stringify(channels);
  const key = plain ? `${client.lang}|${channelsJson}` : null;
  const cached = key === null ? undefined : shared.get(key);
  if (cached !== undefined) return cached;
  const event = { ...wire.event, created_at: new Date(wire.event.created_at) };
  const body = JSON.stringify({
    incident: presentIncident(wire.incident, actor, client.lang),
    event: presentTimelineEvent(event, wire.incident, actor),
  });
  const text =
    `{"type":"${eventName(wire.event.type)}","seq":${wire.seq},"channels":${channelsJson},` +
    `"at":${JSON.stringify(wire.event.created_at)},${body.slice(1)}`;
  if (key === null) return text;
  const frame = Buffer.from(text);
  shared.set(key, frame);
  return frame;
}

function addTo(map: Map<string, Set<Client>>, key: string, client: Client): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(client);
}

function removeFrom(map: Map<string, Set<Client>>, key: string, client: Client): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(client);
  if (set.size === 0) map.delete(key);
}
