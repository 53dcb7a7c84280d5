import type { Redis, RedisOptions } from 'ioredis';
import { ioredis } from '../ioredis.js';
import { TopicHandlers, type Bus, type BusHandler, type BusLogger } from './bus.js';

export interface RedisBusOptions {
  /** namespace of the channels: topic "t" travels on channel prefix + "t" (tests use their own) */
  prefix?: string;
  log: BusLogger;
}

/** the longest publish() waits for Redis before it says false */
const PUBLISH_TIMEOUT_MS = 200;
/**
 * Publishes sent and not yet answered. Reached only when Redis accepts writes and answers
 * nothing; past it publish() says false at once, so a hung Redis cannot grow our memory.
 */
const MAX_PENDING_PUBLISHES = 10_000;
const SUBSCRIBE_TIMEOUT_MS = 2_000;
/** a connection with commands waiting and no byte from Redis for this long is dropped and redialled */
const SOCKET_TIMEOUT_MS = 3_000;
/**
 * A subscriber only listens, so a connection that died without a FIN or RST (a host gone, a
 * NAT entry expired) would look healthy forever: a PING now and then makes the socket timeout
 * above notice.
 */
const HEARTBEAT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;
const QUIT_TIMEOUT_MS = 250;

/**
 * Redial for as long as the process lives, at most a second apart, so delivery resumes within
 * about a second of Redis coming back (ioredis' default backs off to 5 s).
 */
function retryStrategy(attempt: number): number {
  return Math.min(attempt * 100, 1_000);
}

/**
 * The bus between nodes, over Redis pub/sub. Two connections, because a subscriber connection
 * carries a stream of pushes and a publish behind a burst of them would wait its turn (and on
 * RESP2 a subscribed connection may not publish at all).
 *
 * Publisher: never waits for Redis. Without a connection publish() says false at once (no
 * offline queue); a publish in flight when the connection drops fails at once (no retries, no
 * resend after reconnect: a late duplicate is worse than a gap the database fills); one that Redis
 * does not answer says false after PUBLISH_TIMEOUT_MS. ioredis holds such a command until the
 * socket timeout drops the connection; MAX_PENDING_PUBLISHES bounds what it holds meanwhile.
 *
 * Subscriber: we keep its channels ourselves (autoResubscribe off). ioredis' autoResubscribe
 * gives no signal when the channels are back, and onResume must fire only then, or the realtime
 * layer could fill its gap from the database just before the subscription takes hold and miss
 * what falls in between. Worse, with fail-fast settings (maxRetriesPerRequest 0) a connection
 * that drops again while its resubscribe is in flight loses the channels for good, and the
 * rejected SUBSCRIBE is a promise nobody holds, so Node's unhandled-rejection rule kills the
 * process (seen with ioredis 6.0.0; bus.test.ts covers the case). Here every new connection
 * starts empty and is brought in line with the topics that have handlers (`sync`); once it is,
 * messages flow, state() is 'up', and, if this is not the first connection, onResume fires.
 */
export class RedisBus implements Bus {
  readonly kind = 'redis';
  private readonly prefix: string;
  private readonly log: BusLogger;
  private readonly handlers: TopicHandlers;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly resumeListeners = new Set<{ listener: () => void }>();
  private readonly heartbeat: NodeJS.Timeout;
  /** channels subscribed on the subscriber's current connection, as Redis confirmed */
  private subscribed = new Set<string>();
  /** counts the subscriber's connections, so an answer from an old one is not taken for the new */
  private connection = 0;
  private syncing = false;
  private syncWanted = false;
  /** the subscriber's current connection is subscribed to every topic that has handlers */
  private delivering = false;
  private hasDelivered = false;
  private pendingPublishes = 0;
  private publishFailureLogged = false;
  /** the state last logged: transitions are logged once, however many redials an outage takes */
  private announced: 'up' | 'down' | null = null;
  private lastError: unknown = undefined;
  private closed = false;

  constructor(url: string, options: RedisBusOptions) {
    this.prefix = options.prefix ?? 'buurtwag:bus:';
    this.log = options.log;
    this.handlers = new TopicHandlers(options.log);
    const common: RedisOptions = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      retryStrategy,
      // nothing waits for a connection: publish() and sync() check for one themselves
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    };
    const { Redis } = ioredis();
    this.publisher = new Redis(url, {
      ...common,
      connectionName: 'buurtwag-bus-pub',
    });
    this.subscriber = new Redis(url, {
      ...common,
      connectionName: 'buurtwag-bus-sub',
      commandTimeout: SUBSCRIBE_TIMEOUT_MS,
      autoResubscribe: false,
    });

    // Without an 'error' listener ioredis prints every failed redial to stderr; an error event
    // with no listener at all would crash the process. Errors come once per redial: only state
    // changes are logged (announce).
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (err: Error) => {
        this.lastError = err;
        this.announce();
      });
    }
    this.publisher.on('ready', () => this.announce());
    this.publisher.on('close', () => this.announce());
    this.subscriber.on('ready', () => this.subscriberReady());
    this.subscriber.on('close', () => this.subscriberLost());
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel.startsWith(this.prefix)) this.handlers.deliver(channel.slice(this.prefix.length), message);
    });

    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async publish(topic: string, message: string): Promise<boolean> {
    if (this.closed || this.publisher.status !== 'ready') return false;
    if (this.pendingPublishes >= MAX_PENDING_PUBLISHES) return false;
    this.pendingPublishes += 1;
    // counted until ioredis lets go of the command (an answer, or the connection dropped), not
    // until we stop waiting: that is what it holds in memory
    const sent = this.publisher.publish(this.prefix + topic, message).finally(() => (this.pendingPublishes -= 1));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), PUBLISH_TIMEOUT_MS)),
    );
    try {
      if ((await Promise.race([sent, timedOut])) === 'timeout') {
        sent.catch(() => undefined);
        this.publishFailed(new Error(`Redis did not answer within ${PUBLISH_TIMEOUT_MS} ms`), topic);
        return false;
      }
      this.publishFailureLogged = false;
      return true;
    } catch (err) {
      // a lost connection is logged once, as a state change (announce); an error reply is not
      if (err instanceof ioredis().ReplyError) this.publishFailed(err, topic);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    if (this.closed) return () => undefined;
    const { first, remove } = this.handlers.add(topic, handler);
    if (first) this.requestSync();
    return () => {
      if (remove()) this.requestSync();
    };
  }

  state(): 'up' | 'down' {
    const up =
      !this.closed && this.delivering && this.subscriber.status === 'ready' && this.publisher.status === 'ready';
    return up ? 'up' : 'down';
  }

  onResume(listener: () => void): () => void {
    const registration = { listener };
    this.resumeListeners.add(registration);
    return () => void this.resumeListeners.delete(registration);
  }

  /** Quits both connections; never waits more than QUIT_TIMEOUT_MS, even with Redis gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.handlers.clear();
    this.resumeListeners.clear();
    await Promise.all([quit(this.publisher), quit(this.subscriber)]);
  }

  /** logged once until a publish goes through again: a slow Redis would otherwise flood the log */
  private publishFailed(err: unknown, topic: string): void {
    if (this.publishFailureLogged) return;
    this.publishFailureLogged = true;
    this.log.warn({ err, topic }, 'bus: publish failed; further failures are not logged until one succeeds');
  }

  private subscriberReady(): void {
    if (this.closed) return;
    // a new connection: nothing is subscribed on it yet
    this.connection += 1;
    this.subscribed = new Set();
    this.requestSync();
  }

  private subscriberLost(): void {
    this.delivering = false;
    this.announce();
  }

  private requestSync(): void {
    this.syncWanted = true;
    if (!this.syncing) void this.sync();
  }

  /**
   * Subscribes and unsubscribes until the subscriber's channels are those of the topics with
   * handlers. One pass at a time; a change made meanwhile asks for another pass. Never rejects.
   */
  private async sync(): Promise<void> {
    this.syncing = true;
    try {
      while (this.syncWanted && !this.closed && this.subscriber.status === 'ready') {
        this.syncWanted = false;
        const connection = this.connection;
        const wanted = new Set(this.handlers.topics().map((topic) => this.prefix + topic));
        const add = [...wanted].filter((channel) => !this.subscribed.has(channel));
        const drop = [...this.subscribed].filter((channel) => !wanted.has(channel));
        try {
          if (add.length > 0) await this.subscriber.subscribe(...add);
          if (drop.length > 0) await this.subscriber.unsubscribe(...drop);
        } catch (err) {
          // a connection that cannot subscribe delivers nothing: start over on a fresh one
          if (connection === this.connection && !this.closed && this.subscriber.status === 'ready') {
            this.lastError = err;
            this.subscriber.disconnect(true);
            return;
          }
          // the connection was lost (it is being redialled) or replaced (its successor asked for a pass)
          continue;
        }
        // answers from a connection since replaced say nothing about the new one
        if (connection !== this.connection) continue;
        for (const channel of add) this.subscribed.add(channel);
        for (const channel of drop) this.subscribed.delete(channel);
      }
      if (!this.syncWanted && !this.closed && this.subscriber.status === 'ready') this.nowDelivering();
    } finally {
      this.syncing = false;
    }
  }

  private nowDelivering(): void {
    if (this.delivering) return;
    this.delivering = true;
    const resumed = this.hasDelivered;
    this.hasDelivered = true;
    this.announce();
    if (!resumed) return;
    for (const { listener } of [...this.resumeListeners]) {
      try {
        listener();
      } catch (err) {
        this.log.error({ err }, 'bus: a resume listener threw');
      }
    }
  }

  private beat(): void {
    if (this.subscriber.status !== 'ready') return;
    // the answer does not matter: an unanswered PING trips the socket timeout, which redials
    this.subscriber.ping().catch(() => undefined);
  }

  private announce(): void {
    if (this.closed) return;
    const now = this.state();
    if (now === this.announced) return;
    // still connecting for the first time, and nothing has failed yet: not an outage
    if (now === 'down' && this.announced === null && this.lastError === undefined) return;
    this.announced = now;
    if (now === 'up') {
      this.lastError = undefined;
      this.log.info({}, 'bus: Redis connected, realtime messages flow between nodes');
    } else {
      // no error when Redis closed the connection itself (a crash, a restart): the redials' errors come later
      const detail = this.lastError === undefined ? {} : { err: this.lastError };
      this.log.warn(detail, 'bus: Redis unreachable, realtime messages are dropped until it is back');
    }
  }
}

/** QUIT when connected (Redis lets go of the client at once), then drop the connection whatever came of it. */
async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
    await Promise.race([connection.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  // also stops redialling when Redis is down (QUIT is refused without a connection)
  connection.disconnect();
}
