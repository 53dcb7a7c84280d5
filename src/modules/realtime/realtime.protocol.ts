/**
 * The WebSocket protocol (API.md "Realtime"). Client → server, JSON text frames:
 *   {"type":"auth","token":"<access token>"}
 *   {"type":"subscribe","channel":"incident:ID" | "community:ID" | "bbox:MINLON,MINLAT,MAXLON,MAXLAT" | "me", "since"?: seq}
 *   {"type":"unsubscribe","channel":"…"}
 *   {"type":"ping"}
 * Server → client:
 *   {"type":"incident.created" | "incident.updated" | "incident.commented" | …, "seq", "channels", "at", "incident", "event"}
 *   {"type":"subscribed","channel","seq"} · {"type":"unsubscribed","channel"} · {"type":"auth.ok","userId"}
 *   {"type":"resync","channel","seq"}: the gap since `since` is too old or too big; fetch the
 *     state over REST and carry on from `seq`
 *   {"type":"error","code","message","channel"?} · {"type":"pong"}
 * `seq` is the event's place in commit order (one sequence for all channels); a client keeps the
 * last one per channel and passes it as `since` when it subscribes again after a reconnect.
 */
export type Box = [number, number, number, number];

export type Channel =
  | { kind: 'incident'; ref: string; name: string }
  | { kind: 'community'; id: string; name: string }
  | { kind: 'bbox'; box: Box; name: string }
  | { kind: 'me'; name: 'me' };

export type ClientMessage =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; channel: string; since: number | null }
  | { type: 'unsubscribe'; channel: string }
  | { type: 'ping' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REFERENCE = /^[A-Za-z0-9-]{4,64}$/;

export function parseClientMessage(raw: string): ClientMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'auth':
      return typeof m.token === 'string' && m.token.length <= 4096 ? { type: 'auth', token: m.token } : null;
    case 'subscribe': {
      if (typeof m.channel !== 'string' || m.channel.length > 200) return null;
      const since = m.since ?? null;
      if (since !== null && !(typeof since === 'number' && Number.isSafeInteger(since) && since >= 0)) return null;
      return { type: 'subscribe', channel: m.channel, since };
    }
    case 'unsubscribe':
      return typeof m.channel === 'string' && m.channel.length <= 200
        ? { type: 'unsubscribe', channel: m.channel }
        : null;
    case 'ping':
      return { type: 'ping' };
    default:
      return null;
  }
}

export function parseChannel(name: string): Channel | null {
  if (name === 'me') return { kind: 'me', name: 'me' };
  const colon = name.indexOf(':');
  if (colon < 0) return null;
  const kind = name.slice(0, colon);
  const rest = name.slice(colon + 1);
  switch (kind) {
    case 'incident':
      return UUID.test(rest) || REFERENCE.test(rest) ? { kind: 'incident', ref: rest, name } : null;
    case 'community':
      return UUID.test(rest)
        ? { kind: 'community', id: rest.toLowerCase(), name: `community:${rest.toLowerCase()}` }
        : null;
    case 'bbox': {
      const parts = rest.split(',').map((p) => p.trim());
      if (parts.length !== 4 || parts.some((p) => p === '' || !Number.isFinite(Number(p)))) return null;
      const box = parts.map(Number) as Box;
      const [minLon, minLat, maxLon, maxLat] = box;
      if (minLon < -180 || maxLon > 180 || minLat < -90 || maxLat > 90 || minLon >= maxLon || minLat >= maxLat) {
        return null;
      }
      return { kind: 'bbox', box, name };
    }
    default:
      return null;
  }
}

/** The event names clients see, from the timeline's types. */
export function eventName(timelineType: string): string {
  switch (timelineType) {
    case 'created':
      return 'incident.created';
    case 'comment':
    case 'internal_note':
      return 'incident.commented';
    case 'confirmed':
      return 'incident.confirmed';
    case 'media_added':
    case 'media_removed':
      return 'incident.media';
    case 'comment_hidden':
    case 'comment_unhidden':
      return 'incident.moderated';
    case 'reporter_erased':
      return 'incident.reporter_erased';
    default:
      return 'incident.updated';
  }
}
