import type { Database } from '../../platform/db/database.js';
import type { Bus } from '../../platform/bus/bus.js';
import type { Lang } from '../../i18n/i18n.js';
import type { AccessTokens } from '../accounts/tokens.js';
import { findVisible } from '../incidents/incidents.service.js';
import { Fanout, Sequencer, type RealtimeLog } from './realtime.events.js';
import { Client, Hub, type Socket, type Subscription } from './realtime.hub.js';
import { parseChannel, parseClientMessage, type Channel } from './realtime.protocol.js';
import * as repo from './realtime.repository.js';

export interface RealtimeOptions {
  /** how often the users behind open sockets are re-checked (bans, role changes, logouts) */
  userCheckMs: number;
  /** ping interval; a socket that did not answer the previous ping is dropped */
  heartbeatMs: number;
  /** how often the database is asked for events the bus did not bring */
  pollMs: number;
  /** how often this node looks for committed events nobody has sequenced yet */
  sweepMs: number;
  maxSubscriptions: number;
  /** client messages per second (a burst of twice as many is allowed) */
  messagesPerSecond: number;
  maxBufferedBytes: number;
  /** missed events a resuming subscription may be sent; more means `resync` */
  maxMissed: number;
}

export const DEFAULT_REALTIME_OPTIONS: RealtimeOptions = {
  userCheckMs: 4_000,
  heartbeatMs: 30_000,
  pollMs: 1_000,
  sweepMs: 1_000,
  maxSubscriptions: 50,
  messagesPerSecond: 20,
  maxBufferedBytes: 1024 * 1024,
  maxMissed: 500,
};

/** A resume further back than this many events is answered with `resync`. */
const MAX_RESUME_DISTANCE = 100_000;

export interface Realtime {
  readonly hub: Hub;
  /** Takes over a new socket: its messages, its subscriptions, its end. */
  accept(socket: Socket & SocketEvents, context: AcceptContext): void;
  start(): Promise<void>;
  /** Closes every socket with 1001 (going away) and stops the timers. */
  close(): Promise<void>;
}

export interface AcceptContext {
  lang: Lang;
  /** signed in by a Bearer header on the upgrade */
  userId: string | null;
  /** that user's token epoch (looked up after the upgrade: listeners must attach at once) */
  epoch: Promise<number | null> | null;
}

export interface SocketEvents {
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'pong', listener: () => void): unknown;
  ping(): void;
}

/**
 * Live updates. Writes flag their transaction (appendEvents); after COMMIT the sequencer gives the
 * events their place in commit order and announces them; each node's fan-out hands them to its
 * sockets in that order, exactly once, each as the socket's user may see it over HTTP now.
 */
export function createRealtime(deps: {
  db: Database;
  bus: Bus;
  tokens: AccessTokens;
  log: RealtimeLog;
  options?: Partial<RealtimeOptions>;
}): Realtime {
  const { db, bus, tokens, log } = deps;
  const options = { ...DEFAULT_REALTIME_OPTIONS, ...deps.options };
  const hub = new Hub({ maxBufferedBytes: options.maxBufferedBytes });
  const fanout = new Fanout(db, bus, (events) => hub.deliver(events), log);
  const sequencer = new Sequencer(db, bus, (events) => fanout.accept(events), log);
  const timers: NodeJS.Timeout[] = [];
  let stopCommitListener: (() => void) | null = null;

  async function checkUsers(): Promise<void> {
    const ids = hub.userIds();
    if (ids.length === 0) return;
    const states = await repo.userStates(db, ids);
    for (const id of ids) {
      const state = states.get(id);
      for (const client of hub.clientsOf(id)) {
        if (!state || state.banned || state.epoch !== client.epoch) {
          client.socket.close(1008, 'session ended; sign in again');
          hub.remove(client);
        } else {
          // the next event is judged with the roles as they are now
          client.actor = { userId: id, roles: state.roles };
        }
      }
    }
  }

  function heartbeat(): void {
    for (const client of hub.all()) {
      if (!client.alive) {
        client.socket.terminate();
        hub.remove(client);
        continue;
      }
      client.alive = false;
      (client.socket as Socket & SocketEvents).ping();
    }
  }

  function accept(socket: Socket & SocketEvents, context: AcceptContext) {
    const client = new Client(socket, context.lang);
    if (context.userId !== null) client.actor = { userId: context.userId, roles: [] };
    hub.add(client);
    const send = (message: object) => hub.send(client, JSON.stringify(message));
    let tokensLeft = options.messagesPerSecond * 2;
    let refilledAt = Date.now();
    // one message at a time, in order: a subscribe finishes before the next message is read
    let queue: Promise<void> = Promise.resolve();

    socket.on('pong', () => (client.alive = true));
    socket.on('close', () => hub.remove(client));
    socket.on('message', (data, isBinary) => {
      const now = Date.now();
      tokensLeft = Math.min(
        options.messagesPerSecond * 2,
        tokensLeft + ((now - refilledAt) / 1000) * options.messagesPerSecond,
      );
      refilledAt = now;
      if (tokensLeft < 1) {
        socket.close(1008, 'too many messages');
        return;
      }
      tokensLeft -= 1;
      if (isBinary) {
        send({ type: 'error', code: 'bad_message', message: 'Send JSON text frames.' });
        return;
      }
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      queue = queue
        .then(() => handle(client, text, send))
        .catch((err: unknown) => {
          log.warn({ err }, 'realtime message failed');
          send({ type: 'error', code: 'unavailable', message: 'Try again shortly.' });
        });
    });
    // the user's roles, now (the upgrade only proved who they are); messages wait for this
    if (context.epoch !== null) {
      const epoch = context.epoch;
      queue = queue.then(async () => {
        client.epoch = await epoch;
        await refreshClient(client);
      });
    }
  }

  async function refreshClient(client: Client): Promise<void> {
    const userId = client.actor.userId;
    if (userId === null) return;
    const state = (await repo.userStates(db, [userId])).get(userId);
    if (!state || state.banned || state.epoch !== client.epoch) {
      client.socket.close(1008, 'session ended; sign in again');
      return;
    }
    client.actor = { userId, roles: state.roles };
  }

  async function handle(client: Client, text: string, send: (m: object) => void): Promise<void> {
    const message = parseClientMessage(text);
    if (message === null) {
      send({ type: 'error', code: 'bad_message', message: 'Not a message this server understands.' });
      return;
    }
    switch (message.type) {
      case 'ping':
        send({ type: 'pong' });
        return;
      case 'auth': {
        const claims = await tokens.verify(message.token);
        if (!claims || (client.actor.userId !== null && client.actor.userId !== claims.userId)) {
          send({ type: 'error', code: 'unauthorized', message: 'The token is not valid here.' });
          return;
        }
        client.actor = { userId: claims.userId, roles: [] };
        client.epoch = claims.epoch;
        await refreshClient(client);
        if (client.socket.readyState === 1) send({ type: 'auth.ok', userId: claims.userId });
        return;
      }
      case 'unsubscribe': {
        const removed = hub.unsubscribe(client, parseChannel(message.channel)?.name ?? message.channel);
        send(
          removed
            ? { type: 'unsubscribed', channel: message.channel }
            : { type: 'error', code: 'not_subscribed', channel: message.channel },
        );
        return;
      }
      case 'subscribe':
        return subscribe(client, message.channel, message.since, send);
    }
  }

  async function subscribe(
    client: Client,
    name: string,
    since: number | null,
    send: (m: object) => void,
  ): Promise<void> {
    const channel = parseChannel(name);
    if (channel === null) {
      send({ type: 'error', code: 'bad_channel', channel: name, message: 'Unknown channel.' });
      return;
    }
    if (client.subs.has(channel.name)) {
      send({ type: 'subscribed', channel: channel.name, seq: fanout.seq });
      return;
    }
    if (client.subs.size >= options.maxSubscriptions) {
      client.socket.close(1008, 'too many subscriptions');
      return;
    }
    const sub: Subscription = { channel, sentUpTo: fanout.seq, waiting: since === null ? null : [] };
    if (channel.kind === 'me' && client.actor.userId === null) {
      send({ type: 'error', code: 'unauthorized', channel: name, message: 'Sign in (auth) first.' });
      return;
    }
    if (channel.kind === 'incident') {
      // the same answer as GET /incidents/:id: a private incident's existence is not revealed
      try {
        sub.incidentId = (await findVisible(db, client.actor, channel.ref)).id;
      } catch {
        send({ type: 'error', code: 'not_found', channel: name, message: 'No incident you may see.' });
        return;
      }
    }
    hub.subscribe(client, sub);
    if (since === null) {
      send({ type: 'subscribed', channel: channel.name, seq: sub.sentUpTo });
      return;
    }
    // resume: what was missed comes from the database; live events wait meanwhile
    sub.sentUpTo = since;
    const now = fanout.seq;
    const missed =
      now - since > MAX_RESUME_DISTANCE
        ? null
        : await repo.loadMissed(db, where(channel, sub, client), since, options.maxMissed);
    if (missed === null || missed.length > options.maxMissed) {
      sub.sentUpTo = Math.max(now, ...(sub.waiting ?? []).map((e) => e.seq));
      sub.waiting = null;
      send({ type: 'resync', channel: channel.name, seq: sub.sentUpTo });
      return;
    }
    send({ type: 'subscribed', channel: channel.name, seq: since });
    hub.catchUp(client, sub, missed);
  }

  return {
    hub,
    accept,
    async start() {
      await fanout.start();
      stopCommitListener = db.onCommit('timeline', () => sequencer.kick());
      // a tick is skipped while the previous one still runs: a slow database gets no pile-up
      const every = (ms: number, fn: () => unknown) => {
        let running = false;
        timers.push(
          setInterval(() => {
            if (running) return;
            running = true;
            Promise.resolve()
              .then(fn)
              .catch((err: unknown) => log.warn({ err }, 'realtime timer failed'))
              .finally(() => (running = false));
          }, ms).unref(),
        );
      };
      every(options.pollMs, () => fanout.poll());
      every(options.sweepMs, () => sequencer.sweep());
      every(options.userCheckMs, checkUsers);
      every(options.heartbeatMs, heartbeat);
      sequencer.kick();
    },
    async close() {
      for (const t of timers) clearInterval(t);
      stopCommitListener?.();
      hub.closeAll(1001, 'server shutting down');
      // what is in flight may finish, but shutdown does not wait on a stuck database for long
      await Promise.race([
        Promise.all([sequencer.close(), fanout.close()]),
        new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
      ]);
    },
  };
}

function where(channel: Channel, sub: Subscription, client: Client): Parameters<typeof repo.loadMissed>[1] {
  switch (channel.kind) {
    case 'incident':
      return { incidentId: sub.incidentId! };
    case 'community':
      return { communityId: channel.id };
    case 'bbox':
      return { box: channel.box };
    case 'me':
      return { followerId: client.actor.userId! };
  }
}
