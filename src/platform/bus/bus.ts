/**
 * The pub/sub bus that carries realtime updates between nodes: an event raised on one node
 * reaches the WebSocket clients of every node. It is a doorbell with a payload, not a log: the
 * database holds the events, and the realtime layer fills any gap from it (after `onResume`, or
 * by polling while `state()` is 'down'). So the bus may drop messages while Redis is away, but it
 * never hangs, throws into its callers, or buffers without bound.
 *
 * Two sides: memory.ts (embedded mode, one process) and redis.ts (several nodes); open.ts picks.
 */
export interface Bus {
  readonly kind: 'memory' | 'redis';
  /**
   * Sends to every subscriber of `topic` on every node (this one included). Resolves false, fast
   * (≤ ~250 ms), when it could not be sent; never rejects.
   */
  publish(topic: string, message: string): Promise<boolean>;
  /**
   * Registers a handler; returns an unsubscribe. Handlers of one topic get messages in publish
   * order (per publisher). A throwing handler must not break delivery to others.
   */
  subscribe(topic: string, handler: (message: string) => void): () => void;
  /** whether messages flow right now (health, and whether the realtime layer should poll the database more often) */
  state(): 'up' | 'down';
  /**
   * Called each time delivery resumes after an outage (the subscriber connection is back and
   * resubscribed): the realtime layer then fills its gap from the database. Returns an unsubscribe.
   */
  onResume(listener: () => void): () => void;
  close(): Promise<void>;
}

export type BusHandler = (message: string) => void;

/** pino's and Fastify's loggers fit, and so does `console` */
export interface BusLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The handlers of each topic, shared by both buses. Each subscribe() is its own registration, so
 * the same function subscribed twice is called twice and each unsubscribe removes one.
 */
export class TopicHandlers {
  private readonly byTopic = new Map<string, Set<{ handler: BusHandler }>>();

  constructor(private readonly log: BusLogger) {}

  /** `remove` reports whether that was the topic's last handler (Redis then unsubscribes). */
  add(topic: string, handler: BusHandler): { first: boolean; remove: () => boolean } {
    let registrations = this.byTopic.get(topic);
    const first = registrations === undefined;
    if (!registrations) {
      registrations = new Set();
      this.byTopic.set(topic, registrations);
    }
    const registration = { handler };
    registrations.add(registration);
    let removed = false;
    return {
      first,
      remove: () => {
        // a second call of the same unsubscribe must not take the topic away from others
        if (removed) return false;
        removed = true;
        const current = this.byTopic.get(topic);
        if (!current?.delete(registration) || current.size > 0) return false;
        this.byTopic.delete(topic);
        return true;
      },
    };
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  clear(): void {
    this.byTopic.clear();
  }

  /** Calls every handler of the topic; one that throws is logged and the others still run. */
  deliver(topic: string, message: string): void {
    const registrations = this.byTopic.get(topic);
    if (!registrations) return;
    // a copy: a handler may subscribe or unsubscribe while we go through them
    for (const { handler } of [...registrations]) {
      try {
        handler(message);
      } catch (err) {
        this.log.error({ err, topic }, 'bus: a message handler threw');
      }
    }
  }
}
