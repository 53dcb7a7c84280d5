import type { Incident } from '../api/client';
import { accessToken } from '../auth/session';
import { currentLang } from '../i18n/I18nProvider';

/** An event from GET /api/v1/ws (API.md, Realtime). */
export interface LiveEvent {
  type: string;
  seq?: number;
  channels?: string[];
  incident?: Incident;
  event?: { id: string; type: string } & Record<string, unknown>;
  at?: string;
  channel?: string;
}
type Listener = (event: LiveEvent) => void;

/**
 * One WebSocket for the whole page, shared by every view that wants live updates. It signs in
 * when there is a session, subscribes to the channels that have listeners, reconnects with
 * backoff, and after a reconnect asks for what it missed (`since` the last seq) — or tells the
 * listeners to reload (`resync`) when the gap is too old.
 */
class LiveConnection {
  private socket: WebSocket | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly lastSeq = new Map<string, number>();
  private retryMs = 1_000;
  private timer: ReturnType<typeof setTimeout> | null = null;

  subscribe(channel: string, listener: Listener): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.send({ type: 'subscribe', channel, ...this.since(channel) });
    }
    set.add(listener);
    this.ensureOpen();
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.listeners.delete(channel);
        this.lastSeq.delete(channel);
        this.send({ type: 'unsubscribe', channel });
      }
    };
  }

  /** After sign-in or sign-out: start again as the new user. */
  reconnect(): void {
    this.socket?.close(1000);
    this.socket = null;
    this.ensureOpen();
  }

  private since(channel: string): { since?: number } {
    const seq = this.lastSeq.get(channel);
    return seq === undefined ? {} : { since: seq };
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private ensureOpen(): void {
    if (this.socket || this.listeners.size === 0 || this.timer) return;
    const url = new URL(`/api/v1/ws?lang=${currentLang()}`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = async () => {
      this.retryMs = 1_000;
      const token = await accessToken().catch(() => null);
      if (this.socket !== socket) return;
      if (token) socket.send(JSON.stringify({ type: 'auth', token }));
      for (const channel of this.listeners.keys()) {
        socket.send(JSON.stringify({ type: 'subscribe', channel, ...this.since(channel) }));
      }
    };
    socket.onmessage = (message) => {
      let event: LiveEvent;
      try {
        event = JSON.parse(String(message.data)) as LiveEvent;
      } catch {
        return;
      }
      const channels = event.channels ?? (event.channel ? [event.channel] : []);
      for (const channel of channels) {
        if (event.seq !== undefined) this.lastSeq.set(channel, event.seq);
        for (const listener of this.listeners.get(channel) ?? []) listener(event);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.listeners.size === 0) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.ensureOpen();
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 30_000);
    };
  }
}

export const live = new LiveConnection();
